/**
 * One stand-in service as its own process, for docker-compose.dev.yml:
 *   node --import tsx scripts/stand-in.ts lucid_blocks 8084
 *   node --import tsx scripts/stand-in.ts tron_payment 8087
 * STANDIN_HOST=0.0.0.0 to be reachable from other containers.
 */
import { startEchoServer, startLucidBlocks } from '../test/support/stand-ins.js'

const [kind, portArg] = process.argv.slice(2)
const port = Number(portArg)
if (kind === undefined || !Number.isInteger(port) || port < 1 || port > 65535) {
  console.error('usage: stand-in.ts <lucid_blocks|tron_payment|node_management> <port>')
  process.exit(2)
}
const s =
  kind === 'lucid_blocks'
    ? await startLucidBlocks({ port, blockIntervalMs: 3_000 })
    : await startEchoServer({ name: kind, port })
console.log(`${kind} stand-in listening on ${s.url}`)
