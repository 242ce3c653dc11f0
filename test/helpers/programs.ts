import { execFileSync } from 'node:child_process'
import { existsSync, readdirSync } from 'node:fs'

/** What these helpers need of a test context; `npm run chaos` passes its own. */
export interface HelperContext {
  skip(message?: string): void
  after(fn: () => unknown): void
}

/** Finds a system program; locally a missing one skips the test visibly, under CI=true it fails. */
export function findProgram(name: string, t: Pick<HelperContext, 'skip'>): string | null {
  const candidates = [name]
  if (name === 'initdb' || name === 'pg_ctl' || name === 'postgres') {
    const base = '/usr/lib/postgresql'
    if (existsSync(base))
      for (const v of readdirSync(base).sort().reverse()) candidates.push(`${base}/${v}/bin/${name}`)
  }
  for (const c of candidates) {
    try {
      if (c.includes('/')) {
        if (existsSync(c)) return c
      } else {
        return execFileSync('which', [c], { encoding: 'utf8' }).trim()
      }
    } catch {
      // not on PATH
    }
  }
  if (process.env.CI === 'true') throw new Error(`${name} is required in CI but was not found (.ci/run installs it)`)
  t.skip(`SKIPPED: ${name} is not installed on this machine`)
  return null
}

export function requireEnv(name: 'DATABASE_URL' | 'REDIS_URL', t: Pick<HelperContext, 'skip'>): string | null {
  const v = process.env[name]
  if (v !== undefined && v !== '') return v
  if (process.env.CI === 'true') throw new Error(`${name} must be set in CI (.ci/run exports it)`)
  t.skip(`SKIPPED: ${name} is not set; this suite needs a real server`)
  return null
}
