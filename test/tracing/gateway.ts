/** Gateways listening on a loopback port with their access log captured, for the tracing tests. */
import { Writable } from 'node:stream'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import pino from 'pino'
import type { FastifyInstance } from 'fastify'
import { buildApp } from '../../src/app.js'
import { loggerOptions } from '../../src/logger.js'
import { testConfig } from '../helpers/app.js'
import { createTestDb, createTestStateStore } from '../helpers/stores.js'
import type { TestContext } from 'node:test'
import { login, type LoggedIn } from '../helpers/identity.js'
import { startOtlpReceiver, tracingEnv, type OtlpReceiver } from '../helpers/otlp-receiver.js'
import { startEchoServer, startLucidBlocks, type StandIn } from '../support/stand-ins.js'

export interface ListeningGateway {
  app: FastifyInstance
  /** http://127.0.0.1:port */
  base: string
  /** Every log line written so far, parsed. */
  lines: Record<string, unknown>[]
  close(): Promise<void>
}

export async function listeningGateway(env: Record<string, string>, now?: () => number): Promise<ListeningGateway> {
  const lines: Record<string, unknown>[] = []
  const sink = new Writable({
    write(chunk, _enc, cb) {
      for (const l of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(l))
      cb()
    }
  })
  const db = await createTestDb()
  const store = await createTestStateStore()
  const dataDir = await mkdtemp(path.join(tmpdir(), 'lucid-trace-'))
  const app = await buildApp(testConfig(dataDir, env), {
    db: db.db,
    stateStore: store.store,
    logger: pino(loggerOptions('info'), sink),
    now
  })
  await app.listen({ port: 0, host: '127.0.0.1' })
  return {
    app,
    base: `http://127.0.0.1:${(app.server.address() as { port: number }).port}`,
    lines,
    async close() {
      await app.close()
      await store.close()
      await db.close()
      await rm(dataDir, { recursive: true, force: true })
    }
  }
}

export interface TracedProxy {
  receiver: OtlpReceiver
  up: StandIn
  gw: ListeningGateway
  /** A logged-in user of the gateway. */
  li: LoggedIn
}

/** OTLP receiver + echo upstream (node management) + traced gateway + a user; closed after `t`. */
export async function tracedProxy(t: TestContext, env: Record<string, string> = {}): Promise<TracedProxy> {
  const receiver = await startOtlpReceiver()
  const up = await startEchoServer({ name: 'node_management' })
  const gw = await listeningGateway(tracingEnv(receiver, { NODE_SERVICE_URL: up.url, ...env }))
  t.after(async () => {
    await gw.close()
    await up.close()
    await receiver.close()
  })
  return { receiver, up, gw, li: await login(gw.app) }
}

/**
 * A traced gateway whose chain-sync job has run once against a lucid_blocks stand-in holding a
 * new block; returns the receiver and the block requests the job made. Closed after `t`.
 */
export async function chainSyncRun(t: TestContext, env: Record<string, string> = {}) {
  const receiver = await startOtlpReceiver()
  const chain = await startLucidBlocks({ blockIntervalMs: 60_000 })
  let clock = Date.now()
  const gw = await listeningGateway(
    tracingEnv(receiver, { ...env, BLOCKCHAIN_CORE_URL: chain.url, CHAIN_SYNC_INTERVAL_MS: '1000' }),
    () => clock
  )
  t.after(async () => {
    await gw.close()
    await chain.close()
    await receiver.close()
  })
  chain.mine()
  clock += 2_000
  await gw.app.jobs.tick()
  await gw.app.jobs.idle()
  return { receiver, calls: chain.requests.filter((r) => r.url.startsWith('/api/v1/chain/blocks')) }
}
