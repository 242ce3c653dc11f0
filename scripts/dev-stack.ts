/**
 * `npm run dev:stack`: the gateway on embedded storage wired to local stand-ins for lucid_blocks
 * (a block every 3 s), the TRON payment service and node management (echo servers), so a
 * newcomer can try every route. Ports: STANDIN_BASE_PORT (default 18084) and up.
 */
import { startEchoServer, startLucidBlocks } from '../test/support/stand-ins.js'
import { startServer } from '../src/server.js'

const base = Number(process.env.STANDIN_BASE_PORT ?? 18084)
const chain = await startLucidBlocks({ port: base, blockIntervalMs: 3_000 })
const payments = await startEchoServer({ name: 'tron_payment', port: base + 1 })
const nodes = await startEchoServer({ name: 'node_management', port: base + 2 })

console.log(`lucid_blocks stand-in     ${chain.url}`)
console.log(`tron_payment stand-in     ${payments.url}`)
console.log(`node_management stand-in  ${nodes.url}`)

await startServer({
  ...process.env,
  BLOCKCHAIN_CORE_URL: chain.url,
  TRON_PAYMENT_URL: payments.url,
  NODE_SERVICE_URL: nodes.url,
  LUCID_ENV: process.env.LUCID_ENV ?? 'development',
  DATA_DIR: process.env.DATA_DIR ?? './data/dev'
})
console.log(`gateway                   http://localhost:${process.env.HTTP_PORT ?? 8080}  (docs at /docs)`)
