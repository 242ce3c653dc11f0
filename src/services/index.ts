/**
 * The composition root of the service tier (issue 16): every service is built here from plain
 * dependencies (repositories, upstream clients, config, clock, logger), never from the Fastify
 * instance, and comes back with the list of background jobs it needs. src/plugins/services.ts
 * decorates the app with the result and registers the jobs; tests can call createServices
 * without a server.
 *
 * Moved so far: the manifest anchor service and its job (from routes/manifests) and the volume
 * service with its usage sampler (from routes/volumes). Still built in route-file plugins, to move
 * next: authServicePlugin, sessionsServicePlugin, backupServicePlugin, operatorServicesPlugin.
 */
import path from 'node:path'
import type { Db } from '../data/db.js'
import type { SessionsRepository } from '../data/repositories/sessions.js'
import type { JobDefinition } from '../jobs/job-runner.js'
import type { UpstreamClient } from '../proxy/upstream-client.js'
import { anchorJob, createAnchorService, type AnchorService } from './anchor.js'
import { createVolumeService, type VolumeService } from '../volumes/volumes.js'

export interface ServiceDeps {
  db: Db
  repos: { sessions: SessionsRepository }
  upstreams: ReadonlyMap<string, UpstreamClient>
  config: { anchorPollIntervalMs: number; volumesRoot: string; dataDir: string; backupDir: string; chunkStoreDir?: string }
  now: () => number
  log: { warn(obj: object, msg: string): void }
}

export interface Services {
  anchors: AnchorService
  volumes: VolumeService
}

export function createServices(deps: ServiceDeps): { services: Services; jobs: JobDefinition[] } {
  const anchors = createAnchorService({
    sessions: deps.repos.sessions,
    chainClient: () => deps.upstreams.get('lucid_blocks'),
    log: deps.log
  })
  const { config } = deps
  const volumes = createVolumeService({
    db: deps.db,
    root: config.volumesRoot,
    systemDirs: { chunks: config.chunkStoreDir ?? path.join(config.dataDir, 'chunks'), backups: config.backupDir },
    now: deps.now,
    sessionExists: (id) => deps.repos.sessions.exists(id)
  })
  return {
    services: { anchors, volumes },
    jobs: [
      anchorJob(anchors, deps.repos.sessions, config.anchorPollIntervalMs),
      { name: 'volume-usage', everyMs: 300_000, run: async () => void (await volumes.sample()) }
    ]
  }
}
