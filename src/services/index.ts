/**
 * The composition root of the service tier (issue 16): every service is built here from plain
 * dependencies (repositories, upstream clients, config, clock, logger), never from the Fastify
 * instance, and comes back with the list of background jobs it needs. src/plugins/services.ts
 * decorates the app with the result and registers the jobs; tests can call createServices
 * without a server.
 *
 * Moved so far: the manifest anchor service and its job (from routes/manifests). Still built in
 * route-file plugins, to move next: authServicePlugin, sessionsServicePlugin, backupServicePlugin,
 * volumeServicePlugin, operatorServicesPlugin (see docs/architecture.md).
 */
import type { SessionsRepository } from '../data/repositories/sessions.js'
import type { JobDefinition } from '../jobs/job-runner.js'
import type { UpstreamClient } from '../proxy/upstream-client.js'
import { anchorJob, createAnchorService, type AnchorService } from './anchor.js'

export interface ServiceDeps {
  repos: { sessions: SessionsRepository }
  upstreams: ReadonlyMap<string, UpstreamClient>
  config: { anchorPollIntervalMs: number }
  log: { warn(obj: object, msg: string): void }
}

export interface Services {
  anchors: AnchorService
}

export function createServices(deps: ServiceDeps): { services: Services; jobs: JobDefinition[] } {
  const anchors = createAnchorService({
    sessions: deps.repos.sessions,
    chainClient: () => deps.upstreams.get('lucid_blocks'),
    log: deps.log
  })
  return {
    services: { anchors },
    jobs: [anchorJob(anchors, deps.repos.sessions, deps.config.anchorPollIntervalMs)]
  }
}
