// Child-process entry of spawnLatencyProxy: argv[2] is {target, delayMs}; messages {delayMs} change the delay.
import { startLatencyProxy } from './latency-proxy.js'

const { target, delayMs } = JSON.parse(process.argv[2] ?? '{}') as {
  target: { host?: string; port: number }
  delayMs: number
}
const proxy = await startLatencyProxy(target, delayMs)
process.on('message', (m) => proxy.setDelay((m as { delayMs: number }).delayMs))
process.on('disconnect', () => process.exit(0))
process.send?.({ port: proxy.port })
