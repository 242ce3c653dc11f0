/**
 * Outgoing mail. With SMTP_URL: nodemailer over SMTP. Without it: each message is appended as a
 * JSON line to DATA_DIR/outbox.jsonl and logged (subject and recipient only), so embedded-mode
 * users can still complete an email login.
 */
import { appendFile, mkdir } from 'node:fs/promises'
import path from 'node:path'
import type { Transporter } from 'nodemailer'

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

export function createMailer(opts: {
  smtpUrl?: string
  from: string
  dataDir: string
  log: { info(o: object, m: string): void }
}): Mailer {
  if (opts.smtpUrl !== undefined) {
    const smtpUrl = opts.smtpUrl
    // nodemailer is loaded on the first message, not at start (issue 13: idle memory).
    let transporter: Promise<Transporter> | undefined
    return {
      transport: 'smtp',
      async send(msg) {
        transporter ??= import('nodemailer').then((m) => m.default.createTransport(smtpUrl))
        await (await transporter).sendMail({ from: opts.from, ...msg })
      },
      close: () =>
        void transporter?.then(
          (t) => t.close(),
          () => undefined
        )
    }
  }
  const file = path.join(opts.dataDir, 'outbox.jsonl')
  return {
    transport: 'outbox',
    async send(msg) {
      await mkdir(opts.dataDir, { recursive: true, mode: 0o700 })
      await appendFile(file, `${JSON.stringify({ from: opts.from, at: new Date().toISOString(), ...msg })}\n`, {
        mode: 0o600
      })
      opts.log.info({ to: msg.to, subject: msg.subject, outbox: file }, 'mail written to the outbox (SMTP_URL not set)')
    },
    close: () => undefined
  }
}
