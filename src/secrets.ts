/**
 * Embedded mode only: generate the JWT secret and the data-encryption key on first start and keep
 * them under DATA_DIR, so `npm start` works from a fresh clone (issue 2, item 2). With
 * DATABASE_URL set loadConfig already refuses missing secrets: several instances must share them.
 */
import { randomBytes } from 'node:crypto'
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import path from 'node:path'
import type { Config } from './config.js'

interface StoredSecrets {
  jwt_secret_key?: string
  data_encryption_key?: string
}

export interface SecretsLogger {
  warn(obj: object, msg: string): void
}

export async function ensureEmbeddedSecrets(config: Config, log: SecretsLogger): Promise<Config> {
  if (config.databaseUrl !== undefined) return config
  if (config.jwtSecretKey !== undefined && config.dataEncryptionKey !== undefined) return config
  const file = path.join(config.dataDir, 'secrets.json')
  let stored: StoredSecrets = {}
  try {
    stored = JSON.parse(await readFile(file, 'utf8')) as StoredSecrets
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
  }
  let changed = false
  /** Generates the secret `setting` names unless the config or the file has it, and says so. */
  const generate = (setting: string, key: keyof StoredSecrets, configured: unknown, make: () => string) => {
    if (configured !== undefined || stored[key] !== undefined) return
    stored[key] = make()
    changed = true
    log.warn({ setting, file }, `${setting} not set: generated one and stored it under DATA_DIR (embedded mode only)`)
  }
  generate('JWT_SECRET_KEY', 'jwt_secret_key', config.jwtSecretKey, () => randomBytes(48).toString('base64url'))
  generate('DATA_ENCRYPTION_KEY', 'data_encryption_key', config.dataEncryptionKey, () =>
    randomBytes(32).toString('hex')
  )
  if (changed) {
    await mkdir(config.dataDir, { recursive: true, mode: 0o700 })
    await writeFile(file, JSON.stringify(stored, null, 2), { mode: 0o600 })
  }
  return {
    ...config,
    jwtSecretKey: config.jwtSecretKey ?? stored.jwt_secret_key,
    dataEncryptionKey: config.dataEncryptionKey ?? Buffer.from(stored.data_encryption_key as string, 'hex')
  }
}
