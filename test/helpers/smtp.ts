/** A real SMTP listener on a loopback port that keeps every message it receives. */
import { SMTPServer } from 'smtp-server'

export interface ReceivedMail {
  to: string[]
  raw: string
}

export interface SmtpSink {
  url: string
  messages: ReceivedMail[]
  /** Waits for the next message to `to` (lower-cased), up to `timeoutMs`. */
  next(to: string, timeoutMs?: number): Promise<ReceivedMail>
  close(): Promise<void>
}

/** Undo quoted-printable soft line breaks and escapes so links and codes can be read. */
export function decodeQuotedPrintable(s: string): string {
  return s.replace(/=\r?\n/g, '').replace(/=([0-9A-F]{2})/g, (_m, h: string) => String.fromCharCode(parseInt(h, 16)))
}

export async function startSmtpSink(): Promise<SmtpSink> {
  const messages: ReceivedMail[] = []
  const waiters: { to: string; resolve: (m: ReceivedMail) => void }[] = []
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    onData(stream, session, callback) {
      let raw = ''
      stream.on('data', (d: Buffer) => (raw += d.toString('utf8')))
      stream.on('end', () => {
        const mail = {
          to: session.envelope.rcptTo.map((r) => r.address.toLowerCase()),
          raw: decodeQuotedPrintable(raw)
        }
        messages.push(mail)
        for (const w of [...waiters]) {
          if (mail.to.includes(w.to)) {
            waiters.splice(waiters.indexOf(w), 1)
            w.resolve(mail)
          }
        }
        callback()
      })
    }
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()))
  const port = (server.server.address() as { port: number }).port
  return {
    url: `smtp://127.0.0.1:${port}`,
    messages,
    next(to, timeoutMs = 5_000) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no mail to ${to} within ${timeoutMs} ms`)), timeoutMs)
        waiters.push({ to: to.toLowerCase(), resolve: (m) => (clearTimeout(timer), resolve(m)) })
      })
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve()))
  }
}

export function extract(mail: ReceivedMail): { code: string; token: string; link: string } {
  const code = /enter this code: (\d{6})/.exec(mail.raw)?.[1]
  const link = /(https?:\/\/[^\s"<]+token=[A-Za-z0-9_%-]+)/.exec(mail.raw)?.[1]
  if (code === undefined || link === undefined) throw new Error(`mail has no code or link:\n${mail.raw}`)
  return { code, link, token: decodeURIComponent(new URL(link).searchParams.get('token') as string) }
}
