/**
 * `lucid-gateway doctor`: checks what a gateway needs (configuration, database, Redis, each
 * upstream, disk space, clock skew against the database, TLS certificate) and prints a table of
 * what is wrong with the fix. Exit code 1 when any check fails. The checks that do not touch the
 * database are in doctor-checks.ts.
 */
import { request } from 'undici'
import { ConfigError, loadConfig, type Config } from '../config.js'
import { openDb } from '../data/open-db.js'
import { embeddedLockHolder } from '../data/embedded-lock.js'
import { loadMigrations, schemaVersion } from '../data/migrate.js'
import { checkDisk, checkRedis, checkTls, checkUpstreams, type CheckResult } from './doctor-checks.js'
import { createDatabaseInfo } from '../data/repositories/database-info.js'

export type { CheckResult, CheckStatus } from './doctor-checks.js'

async function checkDatabase(config: Readonly<Config>): Promise<CheckResult[]> {
  const out: CheckResult[] = []
  if (config.databaseUrl === undefined) {
    const holder = await embeddedLockHolder(config.dataDir)
    if (holder !== undefined) {
      // The running gateway owns the embedded database: ask it instead of opening it twice.
      const ready = await request(`http://127.0.0.1:${config.httpPort}/ready`, {
        headersTimeout: 3_000,
        bodyTimeout: 3_000
      }).then(
        async (r) => {
          await r.body.dump()
          return r.statusCode
        },
        () => 0
      )
      const readyUrl = `http://127.0.0.1:${config.httpPort}/ready`
      if (ready === 200)
        out.push({
          check: 'database',
          status: 'ok',
          detail: `embedded, held by running gateway pid ${holder}, which reports ready`
        })
      // Nothing answering is most often that gateway listening on another HTTP_PORT than this
      // shell's: the database is in use (so it opened), not broken (issue 13: doctor blamed it).
      else if (ready === 0)
        out.push({
          check: 'gateway',
          status: 'warn',
          detail: `the embedded database is open in gateway pid ${holder}, but nothing answers ${readyUrl}`,
          fix: `run doctor with that gateway's HTTP_PORT (here HTTP_PORT=${config.httpPort}); if it is this port, look at the gateway's log`
        })
      else
        out.push({
          check: 'database',
          status: 'fail',
          detail: `embedded, held by gateway pid ${holder}, whose ${readyUrl} answered ${ready}`,
          fix: "look at that gateway's log; restart it"
        })
      return out
    }
  }
  let db
  try {
    db = await openDb(config)
  } catch (err) {
    return [
      {
        check: 'database',
        status: 'fail',
        detail: (err as Error).message,
        fix:
          config.databaseUrl === undefined
            ? `check DATA_DIR (${config.dataDir}) is writable`
            : 'start PostgreSQL or correct DATABASE_URL (host, port, user, database)'
      }
    ]
  }
  try {
    const latency = await db.ping()
    out.push({
      check: 'database',
      status: 'ok',
      detail: `${db.kind === 'embedded' ? 'embedded PGlite' : 'PostgreSQL'} ${await db.version()}, ${latency.toFixed(1)} ms`
    })
    const latest = (await loadMigrations()).length
    const current = await schemaVersion(db).catch(() => 0)
    out.push(
      current === latest
        ? { check: 'schema', status: 'ok', detail: `version ${current}` }
        : current < latest
          ? {
              check: 'schema',
              status: 'warn',
              detail: `version ${current}, this gateway needs ${latest}`,
              fix: 'run `lucid-gateway migrate` (the gateway also migrates at start)'
            }
          : {
              check: 'schema',
              status: 'fail',
              detail: `version ${current} is newer than this gateway (${latest})`,
              fix: 'upgrade the gateway'
            }
    )
    const t0 = Date.now()
    const serverMs = await createDatabaseInfo(db).serverTimeMs()
    const t1 = Date.now()
    const skew = serverMs - (t0 + t1) / 2
    const abs = Math.abs(skew)
    out.push({
      check: 'clock skew',
      status: abs > 5_000 ? 'fail' : abs > 1_000 ? 'warn' : 'ok',
      detail: `${skew >= 0 ? '+' : ''}${Math.round(skew)} ms against the database`,
      fix:
        abs > 1_000
          ? 'run NTP (chrony/systemd-timesyncd) on this host and the database host: token expiry and nonces depend on it'
          : undefined
    })
  } catch (err) {
    out.push({
      check: 'database',
      status: 'fail',
      detail: (err as Error).message,
      fix: 'start PostgreSQL or correct DATABASE_URL'
    })
  } finally {
    await db.close().catch(() => undefined)
  }
  return out
}

export async function runDoctor(env: NodeJS.ProcessEnv = process.env): Promise<CheckResult[]> {
  let config: Config
  try {
    config = loadConfig(env)
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err
    return err.problems.map((p) => ({
      check: 'configuration',
      status: 'fail',
      detail: p,
      fix: 'correct the setting in the environment or .env'
    }))
  }
  const results: CheckResult[] = [
    {
      check: 'configuration',
      status: 'ok',
      detail: `valid (${config.databaseUrl === undefined ? 'embedded' : 'PostgreSQL'}, ${config.workers} worker${config.workers > 1 ? 's' : ''})`
    }
  ]
  const [db, redis, upstreams, disk, tls] = await Promise.all([
    checkDatabase(config),
    checkRedis(config),
    checkUpstreams(config),
    checkDisk(config),
    checkTls(config)
  ])
  results.push(...db, redis, ...upstreams, ...disk)
  if (tls !== undefined) results.push(tls)
  return results
}

export function formatTable(results: CheckResult[]): string {
  const rows = [
    ['CHECK', 'STATUS', 'DETAIL', 'FIX'],
    ...results.map((r) => [r.check, r.status.toUpperCase(), r.detail, r.fix ?? ''])
  ]
  const widths = [0, 1, 2].map((i) => Math.min(60, Math.max(...rows.map((r) => r[i].length))))
  return rows
    .map((r) =>
      r
        .map((c, i) => (i < 3 ? c.padEnd(widths[i]) : c))
        .join('  ')
        .trimEnd()
    )
    .join('\n')
}
