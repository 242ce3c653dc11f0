/**
 * The doctor's checks of what lies outside the database: Redis, each upstream, disk space under
 * the data directories and the TLS certificate. Each returns rows of the doctor's table.
 */
import { X509Certificate } from 'node:crypto'
import { readFile, statfs } from 'node:fs/promises'
import path from 'node:path'
import { Redis } from 'ioredis'
import { request } from 'undici'
import type { Config } from '../config.js'
import { loadProxyTable } from '../proxy/route-table.js'

export type CheckStatus = 'ok' | 'warn' | 'fail'

export interface CheckResult {
  check: string
  status: CheckStatus
  detail: string
  fix?: string
}

const UPSTREAM_SETTING: Record<string, string> = {
  lucid_blocks: 'BLOCKCHAIN_CORE_URL',
  tron_payment: 'TRON_PAYMENT_URL',
  node_management: 'NODE_SERVICE_URL'
}
const GiB = 1024 ** 3

export async function checkRedis(config: Readonly<Config>): Promise<CheckResult> {
  if (config.redisUrl === undefined && config.redisClusterNodes.length === 0) {
    return {
      check: 'redis',
      status: config.databaseUrl === undefined ? 'ok' : 'warn',
      detail: 'not configured: in-process state (one instance only)',
      fix: config.databaseUrl === undefined ? undefined : 'set REDIS_URL when running more than one instance'
    }
  }
  const url = config.redisUrl ?? `redis://${config.redisClusterNodes[0]}`
  const client = new Redis(url, {
    lazyConnect: true,
    connectTimeout: 2_000,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    enableOfflineQueue: false
  })
  client.on('error', () => undefined)
  try {
    await client.connect()
    const start = performance.now()
    await client.ping()
    const ms = performance.now() - start
    const info = await client.info('server')
    const version = /redis_version:(\S+)/.exec(info)?.[1] ?? '?'
    return { check: 'redis', status: 'ok', detail: `Redis ${version}, ${ms.toFixed(1)} ms` }
  } catch (err) {
    return {
      check: 'redis',
      status: 'fail',
      detail: `unreachable at ${new URL(url).host}: ${(err as Error).message}`,
      fix: 'start Redis or correct REDIS_URL; meanwhile limits run per instance (degraded) and revocations travel by database poll'
    }
  } finally {
    client.disconnect()
  }
}

export async function checkUpstreams(config: Readonly<Config>): Promise<CheckResult[]> {
  const out: CheckResult[] = []
  for (const svc of loadProxyTable(config).services) {
    for (const url of svc.urls) {
      const start = performance.now()
      try {
        const res = await request(`${url}${svc.healthPath}`, {
          headersTimeout: 3_000,
          bodyTimeout: 3_000,
          signal: AbortSignal.timeout(3_000)
        })
        await res.body.dump()
        const ms = (performance.now() - start).toFixed(0)
        out.push(
          res.statusCode < 500
            ? { check: `upstream ${svc.name}`, status: 'ok', detail: `${url} answered ${res.statusCode} in ${ms} ms` }
            : {
                check: `upstream ${svc.name}`,
                status: 'fail',
                detail: `${url}${svc.healthPath} answered ${res.statusCode}`,
                fix: `look at the ${svc.name} service's log`
              }
        )
      } catch (err) {
        out.push({
          check: `upstream ${svc.name}`,
          status: 'fail',
          detail: `${url}: ${(err as Error).message}`,
          fix: `start ${svc.name} or correct ${UPSTREAM_SETTING[svc.name] ?? 'PROXY_ROUTES_FILE'}; its routes answer 503 until then`
        })
      }
    }
  }
  return out
}

async function existingParent(dir: string): Promise<string> {
  let d = path.resolve(dir)
  for (;;) {
    try {
      await statfs(d)
      return d
    } catch {
      const up = path.dirname(d)
      if (up === d) return d
      d = up
    }
  }
}

export async function checkDisk(config: Readonly<Config>): Promise<CheckResult[]> {
  const dirs = new Map<string, string>([
    ['DATA_DIR', config.dataDir],
    ['CHUNK_STORE_DIR', config.chunkStoreDir ?? path.join(config.dataDir, 'chunks')],
    ['BACKUP_DIR', config.backupDir]
  ])
  const out: CheckResult[] = []
  for (const [setting, dir] of dirs) {
    const s = await statfs(await existingParent(dir))
    const free = s.bavail * s.bsize
    const status: CheckStatus = free < 0.1 * GiB ? 'fail' : free < 1 * GiB ? 'warn' : 'ok'
    out.push({
      check: `disk ${setting}`,
      status,
      detail: `${(free / GiB).toFixed(1)} GiB free at ${dir}`,
      fix: status === 'ok' ? undefined : `free space or point ${setting} at a larger volume`
    })
  }
  return out
}

export async function checkTls(config: Readonly<Config>): Promise<CheckResult | undefined> {
  if (config.sslCertPath === undefined) return undefined
  try {
    const cert = new X509Certificate(await readFile(config.sslCertPath))
    await readFile(config.sslKeyPath as string)
    const days = (Date.parse(cert.validTo) - Date.now()) / 86_400_000
    const status: CheckStatus = days < 0 ? 'fail' : days < 14 ? 'warn' : 'ok'
    return {
      check: 'tls certificate',
      status,
      detail: `${cert.subject.replace(/\n/g, ', ')}, expires ${new Date(cert.validTo).toISOString()} (${Math.floor(days)} days)`,
      fix: status === 'ok' ? undefined : 'renew the certificate, replace the files and send SIGHUP (no restart needed)'
    }
  } catch (err) {
    return {
      check: 'tls certificate',
      status: 'fail',
      detail: (err as Error).message,
      fix: 'check SSL_CERT_PATH and SSL_KEY_PATH point to readable PEM files'
    }
  }
}
