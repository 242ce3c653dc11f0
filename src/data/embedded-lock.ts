/**
 * Embedded PGlite is single-process: a second process opening the same directory would corrupt
 * it. The first opener writes its pid to DATA_DIR/pglite.lock; anyone else finds a live pid there
 * and is refused with a message that says what to do (issue 8: CLI commands never open a running
 * gateway's embedded database a second time). A lock left by a dead process is taken over.
 */
import { open, readFile, rm } from 'node:fs/promises'
import path from 'node:path'

export class EmbeddedDbInUseError extends Error {
  constructor(
    readonly pid: number,
    readonly dir: string
  ) {
    super(
      `the embedded database in ${dir} is in use by gateway process ${pid}. ` +
        'Stop that gateway first, or use its admin API (/api/v1/...) for this action; ' +
        'deployments on DATABASE_URL can run CLI commands while gateways are running.'
    )
    this.name = 'EmbeddedDbInUseError'
  }
}

function alive(pid: number): boolean {
  if (pid === process.pid) return false
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
}

export function embeddedLockPath(dataDir: string): string {
  return path.join(dataDir, 'pglite.lock')
}

/** The pid holding the embedded database, or undefined when nobody (alive) does. */
export async function embeddedLockHolder(dataDir: string): Promise<number | undefined> {
  try {
    const pid = Number((await readFile(embeddedLockPath(dataDir), 'utf8')).trim())
    return Number.isInteger(pid) && pid > 0 && alive(pid) ? pid : undefined
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw err
  }
}

/** Takes the lock or throws EmbeddedDbInUseError; returns its release. */
export async function acquireEmbeddedLock(dataDir: string): Promise<() => Promise<void>> {
  const file = embeddedLockPath(dataDir)
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fh = await open(file, 'wx', 0o600)
      await fh.writeFile(String(process.pid))
      await fh.close()
      return async () => {
        // Only remove our own lock.
        if ((await readFile(file, 'utf8').catch(() => '')).trim() === String(process.pid))
          await rm(file, { force: true })
      }
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err
      const holder = await embeddedLockHolder(dataDir)
      if (holder !== undefined) throw new EmbeddedDbInUseError(holder, dataDir)
      await rm(file, { force: true }) // stale: its process is gone
    }
  }
  throw new Error(`could not take the embedded database lock ${file}`)
}
