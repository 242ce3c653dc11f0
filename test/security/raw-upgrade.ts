/** A WebSocket handshake over a raw socket, so the test sees the 101 (or refusal) headers exactly. */
import net from 'node:net'
import { randomBytes } from 'node:crypto'

export interface UpgradeAnswer {
  status: number
  headers: Record<string, string[]>
  body: string
}

export function rawUpgrade(port: number, path: string, headers: Record<string, string> = {}): Promise<UpgradeAnswer> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1')
    const lines = [
      `GET ${path} HTTP/1.1`,
      `Host: ${headers.host ?? `127.0.0.1:${port}`}`,
      'Upgrade: websocket',
      'Connection: Upgrade',
      `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}`,
      'Sec-WebSocket-Version: 13',
      ...Object.entries(headers)
        .filter(([k]) => k !== 'host')
        .map(([k, v]) => `${k}: ${v}`)
    ]
    socket.write(`${lines.join('\r\n')}\r\n\r\n`)
    let text = ''
    const done = () => {
      socket.destroy()
      const end = text.indexOf('\r\n\r\n')
      const [first, ...rest] = text.slice(0, end === -1 ? text.length : end).split('\r\n')
      const out: Record<string, string[]> = {}
      for (const l of rest) {
        const i = l.indexOf(':')
        const name = l.slice(0, i).trim().toLowerCase()
        ;(out[name] ??= []).push(l.slice(i + 1).trim())
      }
      resolve({ status: Number(first.split(' ')[1]), headers: out, body: end === -1 ? '' : text.slice(end + 4) })
    }
    socket.on('data', (d) => {
      text += d.toString('latin1')
      // A 101 has no body; a refusal is closed by the gateway after its body.
      if (text.startsWith('HTTP/1.1 101') && text.includes('\r\n\r\n')) done()
    })
    socket.on('end', done)
    socket.on('error', reject)
    setTimeout(() => reject(new Error(`no answer to the upgrade of ${path}: ${JSON.stringify(text)}`)), 10_000).unref()
  })
}
