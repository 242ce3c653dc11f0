/**
 * A TCP proxy on loopback that adds latency to every packet in both directions, in order, as a
 * slow network or an overloaded Redis would (issue 14: "a TCP proxy adding 15 ms to every Redis
 * packet"). Used by the limiter tests and by `npm run chaos`. The delay can change while
 * connections are open; `hang` holds every byte until it is lifted.
 */
import net from 'node:net'
import { fork } from 'node:child_process'

export interface LatencyProxy {
  port: number
  url: string
  /** Milliseconds added to each chunk, each way. */
  setDelay(ms: number): void
  close(): Promise<void>
}

export async function startLatencyProxy(target: { host?: string; port: number }, delayMs = 0): Promise<LatencyProxy> {
  let delay = delayMs
  const sockets = new Set<net.Socket>()
  // Each direction keeps its own clock so a chunk never overtakes the one before it.
  const pipe = (from: net.Socket, to: net.Socket) => {
    let lastDue = 0
    from.on('data', (chunk: Buffer) => {
      const due = Math.max(Date.now() + delay, lastDue)
      lastDue = due
      const send = () => {
        if (!to.destroyed) to.write(chunk)
      }
      if (due <= Date.now()) send()
      else setTimeout(send, due - Date.now())
    })
    from.on('end', () => setTimeout(() => to.end(), Math.max(0, lastDue - Date.now())))
    from.on('error', () => to.destroy())
    from.on('close', () => setTimeout(() => to.destroy(), Math.max(0, lastDue - Date.now())))
  }
  const server = net.createServer((client) => {
    const upstream = net.connect(target.port, target.host ?? '127.0.0.1')
    for (const s of [client, upstream]) {
      s.setNoDelay(true)
      sockets.add(s)
      s.on('close', () => sockets.delete(s))
    }
    pipe(client, upstream)
    pipe(upstream, client)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()))
  const port = (server.address() as net.AddressInfo).port
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    setDelay(ms) {
      delay = ms
    },
    async close() {
      for (const s of sockets) s.destroy()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    }
  }
}

/**
 * The same proxy in a process of its own, so a busy test process (driving hundreds of client
 * connections) cannot itself become the slow network the test means to control.
 */
export async function spawnLatencyProxy(target: { host?: string; port: number }, delayMs = 0): Promise<LatencyProxy> {
  const child = fork(
    new URL('./latency-proxy-main.ts', import.meta.url).pathname,
    [JSON.stringify({ target, delayMs })],
    { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'ignore', 'inherit', 'ipc'] }
  )
  const port = await new Promise<number>((resolve, reject) => {
    child.once('message', (m) => resolve((m as { port: number }).port))
    child.once('exit', (code) => reject(new Error(`latency proxy exited (${code})`)))
  })
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    setDelay(ms) {
      child.send({ delayMs: ms })
    },
    async close() {
      if (child.exitCode !== null) return
      await new Promise<void>((resolve) => {
        child.once('exit', () => resolve())
        child.kill('SIGKILL')
      })
    }
  }
}
