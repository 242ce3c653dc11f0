/**
 * Named storage volumes (issue 7): directories under VOLUMES_ROOT with a quota and a status, plus
 * the two system volumes the gateway writes itself (`chunks`, `backups`), which live where their
 * settings point and can never be deleted. Names are validated and every path is checked to stay
 * inside its root. Usage is sampled into `volume_usage` by a job for the history endpoint.
 */
import { randomUUID } from 'node:crypto'
import { mkdir, open, readdir, readFile, rm, rmdir, stat, statfs } from 'node:fs/promises'
import path from 'node:path'
import type { Db } from '../data/db.js'
import { createVolumesRepository, type VolumeRow } from '../data/repositories/volumes.js'

export const VOLUME_NAME = '^[a-z0-9][a-z0-9_-]{0,62}$'
const NAME_RE = new RegExp(VOLUME_NAME)
const TEMP_AGE_MS = 3_600_000

export type { VolumeRow } from '../data/repositories/volumes.js'

export interface Usage {
  used_bytes: number
  files: number
}

export class VolumeError extends Error {
  constructor(
    readonly code: 'NOT_FOUND' | 'EXISTS' | 'IN_USE' | 'INVALID',
    message: string
  ) {
    super(message)
    this.name = 'VolumeError'
  }
}

async function walk(
  dir: string,
  visit: (file: string, size: number, mtimeMs: number) => Promise<void> | void
): Promise<void> {
  let entries
  try {
    entries = await readdir(dir, { withFileTypes: true })
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return
    throw err
  }
  for (const e of entries) {
    const p = path.join(dir, e.name)
    if (e.isDirectory()) await walk(p, visit)
    else if (e.isFile()) {
      const s = await stat(p).catch(() => undefined)
      if (s !== undefined) await visit(p, s.size, s.mtimeMs)
    }
  }
}

export function createVolumeService(opts: {
  db: Db
  root: string
  systemDirs: Record<string, string>
  now: () => number
  sessionExists: (id: string) => Promise<boolean>
}) {
  const repo = createVolumesRepository(opts.db)
  const root = path.resolve(opts.root)

  function dirOf(name: string): string {
    if (!NAME_RE.test(name)) throw new VolumeError('INVALID', `volume name must match ${VOLUME_NAME}`)
    const system = opts.systemDirs[name]
    if (system !== undefined) return path.resolve(system)
    const dir = path.resolve(root, name)
    if (path.dirname(dir) !== root) throw new VolumeError('INVALID', 'volume path escapes VOLUMES_ROOT')
    return dir
  }

  async function usage(name: string): Promise<Usage> {
    let used = 0
    let files = 0
    await walk(dirOf(name), (_f, size) => {
      used += size
      files++
    })
    return { used_bytes: used, files }
  }

  async function row(name: string): Promise<VolumeRow> {
    const found = await repo.find(name)
    if (found === null) throw new VolumeError('NOT_FOUND', `volume ${name} not found`)
    return found
  }

  return {
    dirOf,
    usage,
    get: row,

    /** Registers the system volumes (idempotent); their default quota is their filesystem's size. */
    async init(): Promise<void> {
      await mkdir(root, { recursive: true, mode: 0o700 })
      for (const [name, dir] of Object.entries(opts.systemDirs)) {
        await mkdir(dir, { recursive: true, mode: 0o700 })
        const fs = await statfs(dir)
        await repo.ensureSystem(name, Math.max(1, fs.blocks * fs.bsize))
      }
    },

    async list(): Promise<VolumeRow[]> {
      return repo.list()
    },

    async create(name: string, quotaBytes: number, actor: string | null): Promise<VolumeRow> {
      const dir = dirOf(name)
      if (opts.systemDirs[name] !== undefined) throw new VolumeError('EXISTS', `${name} is a system volume`)
      const created = await repo.insert(name, quotaBytes, actor)
      if (created === null) throw new VolumeError('EXISTS', `volume ${name} exists`)
      await mkdir(dir, { recursive: true, mode: 0o700 })
      return created
    },

    async update(name: string, patch: { status?: VolumeRow['status']; quota_bytes?: number }): Promise<VolumeRow> {
      const current = await row(name)
      if (patch.quota_bytes !== undefined) {
        const u = await usage(name)
        if (patch.quota_bytes < u.used_bytes)
          throw new VolumeError('INVALID', `quota ${patch.quota_bytes} is below the ${u.used_bytes} bytes in use`)
      }
      const updated = await repo.update(name, patch.status ?? current.status, patch.quota_bytes ?? current.quota_bytes)
      if (updated === null) throw new VolumeError('NOT_FOUND', `volume ${name} not found`)
      return updated
    },

    async remove(name: string): Promise<void> {
      const v = await row(name)
      if (v.system) throw new VolumeError('IN_USE', `${name} is a system volume the gateway writes to`)
      const u = await usage(name)
      if (u.files > 0)
        throw new VolumeError('IN_USE', `${name} holds ${u.files} files (${u.used_bytes} bytes): empty it first`)
      await repo.remove(name)
      await rm(dirOf(name), { recursive: true, force: true })
    },

    async history(name: string, sinceMs: number): Promise<{ sampled_at: Date; used_bytes: number; files: number }[]> {
      const rows = await repo.usageSince(name, new Date(opts.now() - sinceMs))
      return rows.map((r) => ({ sampled_at: r.sampled_at, used_bytes: Number(r.used_bytes), files: Number(r.files) }))
    },

    /** Samples every volume's usage and drops samples older than 31 days. */
    async sample(): Promise<number> {
      const at = new Date(opts.now())
      const vols = await this.list()
      for (const v of vols) {
        const u = await usage(v.name)
        await repo.recordUsage(v.name, at, u.used_bytes, u.files)
      }
      await repo.pruneUsage(new Date(opts.now() - 31 * 86_400_000))
      return vols.length
    },

    /** Free space from the filesystem and a write/fsync/read/delete round trip. */
    async health(name: string): Promise<{
      status: 'healthy' | 'degraded' | 'unhealthy'
      free_bytes: number
      total_bytes: number
      used_bytes: number
      quota_bytes: number
      write_test: { ok: boolean; latency_ms: number | null; error?: string }
    }> {
      const v = await row(name)
      const dir = dirOf(name)
      const fs = await statfs(dir)
      const u = await usage(name)
      const probe = path.join(dir, `.health-${randomUUID()}.tmp`)
      let writeTest: { ok: boolean; latency_ms: number | null; error?: string }
      const start = performance.now()
      try {
        const payload = randomUUID()
        const fh = await open(probe, 'w', 0o600)
        await fh.writeFile(payload)
        await fh.sync()
        await fh.close()
        if ((await readFile(probe, 'utf8')) !== payload) throw new Error('read back different bytes')
        writeTest = { ok: true, latency_ms: Math.round((performance.now() - start) * 100) / 100 }
      } catch (err) {
        writeTest = { ok: false, latency_ms: null, error: (err as Error).message }
      } finally {
        await rm(probe, { force: true })
      }
      const free = fs.bavail * fs.bsize
      const total = fs.blocks * fs.bsize
      const status = !writeTest.ok
        ? 'unhealthy'
        : free < 0.05 * total || u.used_bytes > 0.9 * v.quota_bytes
          ? 'degraded'
          : 'healthy'
      return {
        status,
        free_bytes: free,
        total_bytes: total,
        used_bytes: u.used_bytes,
        quota_bytes: v.quota_bytes,
        write_test: writeTest
      }
    },

    /**
     * Orphans: temporary files of interrupted writes older than an hour, and (chunks volume) the
     * directories of sessions the database no longer knows.
     */
    async cleanup(name: string): Promise<{ removed_files: number; freed_bytes: number }> {
      await row(name)
      const dir = dirOf(name)
      let removed = 0
      let freed = 0
      await walk(dir, async (file, size, mtime) => {
        if (/\.tmp$|\.partial$|[/\\]\.tmp-[0-9a-f-]{36}$/.test(file) && opts.now() - mtime > TEMP_AGE_MS) {
          await rm(file, { force: true })
          removed++
          freed += size
        }
      })
      if (name === 'chunks') {
        for (const shard of await readdir(dir).catch(() => [] as string[])) {
          if (!/^[0-9a-f]{2}$/.test(shard)) continue
          for (const sid of await readdir(path.join(dir, shard)).catch(() => [] as string[])) {
            if (!/^[0-9a-f-]{36}$/.test(sid) || (await opts.sessionExists(sid))) continue
            await walk(path.join(dir, shard, sid), (_f, size) => {
              removed++
              freed += size
            })
            await rm(path.join(dir, shard, sid), { recursive: true, force: true })
          }
          await rmdir(path.join(dir, shard)).catch(() => undefined)
        }
      }
      return { removed_files: removed, freed_bytes: freed }
    }
  }
}

export type VolumeService = ReturnType<typeof createVolumeService>
