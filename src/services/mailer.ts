/**
 * Outgoing mail. With SMTP_URL: nodemailer over SMTP. Without it: each message is appended as a
 * JSON line to DATA_DIR/outbox.jsonl and logged (subject and recipient only), so embedded-mode
 * users can still complete an email login.
 */
import { appendFile, mkdir } from 'node:fs/promises'
import path from 'node:path'
import nodemailer from 'nodemailer'

export interface MailMessage {
  to: string
  subject: string
  text: string
  html?: string
}

export interface Mailer {
  send(msg: MailMessage): Promise<void>
  readonly transport: 'smtp' | 'outbox'
  close(): void
}

export function createMailer(opts: { smtpUrl?: string; from: string; dataDir: string; log: { info(o: object, m: string): void } }): Mailer {
  if (opts.smtpUrl !== undefined) {
    const transporter = nodemailer.createTransport(opts.smtpUrl)
    return {
      transport: 'smtp',
      async send(msg) {
        await transporter.sendMail({ from: opts.from, ...msg })
      },
      close: () => transporter.close()
    }
  }
  const file = path.join(opts.dataDir, 'outbox.jsonl')
  return {
    transport: 'outbox',
    async send(msg) {
      await mkdir(opts.dataDir, { recursive: true, mode: 0o700 })
      await appendFile(file, `${JSON.stringify({ from: opts.from, at: new Date().toISOString(), ...msg })}\n`, { mode: 0o600 })
      opts.log.info({ to: msg.to, subject: msg.subject, outbox: file }, 'mail written to the outbox (SMTP_URL not set)')
    },
    close: () => undefined
  }
}
