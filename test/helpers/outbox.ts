import { readFile } from 'node:fs/promises'
import path from 'node:path'

export interface OutboxMail {
  to: string
  subject: string
  text: string
}

/** Every mail the gateway wrote to DATA_DIR/outbox.jsonl (no SMTP_URL) for `to`, oldest first. */
export async function mailsTo(dataDir: string, to: string): Promise<OutboxMail[]> {
  const text = await readFile(path.join(dataDir, 'outbox.jsonl'), 'utf8').catch(() => '')
  return text
    .trim()
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as OutboxMail)
    .filter((m) => m.to === to)
}

/** The 6-digit code of the last mail to `to`. */
export async function lastCode(dataDir: string, to: string): Promise<string> {
  const code = /enter this code: (\d{6})/.exec((await mailsTo(dataDir, to)).at(-1)?.text ?? '')?.[1]
  if (code === undefined) throw new Error(`no code mailed to ${to}`)
  return code
}
