/**
 * The loader: walks the table, then applies the rules across fields (STYLE.md "Config"). Every
 * violation is collected so an operator fixes them all in one go; every message names the
 * environment variable it is about (CONTRACT.md section 2).
 */
import { isReader, isSetting, type Env, type Raw, type Setting, type Table } from './schema.js'
import { CONFIG_TABLE, type Config } from './table.js'
import { RULES } from './rules.js'

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n  - ${problems.join('\n  - ')}`)
    this.name = 'ConfigError'
  }
}

/** Reads a variable as every parser sees it: trimmed, an empty value counting as unset. */
export function rawReader(env: Env): Raw {
  return (name) => {
    const v = env[name]
    return v === undefined || v.trim() === '' ? undefined : v.trim()
  }
}

/** The value of one entry: its default while unset, else what its parser makes of the value. */
export function readSetting<T>(s: Setting<T>, raw: Raw, problems: string[]): T {
  const def = typeof s.default === 'function' ? (s.default as (raw: Raw) => T)(raw) : s.default
  const v = raw(s.env)
  return v === undefined ? def : s.parse(v, s.env, problems, def)
}

function build(table: Table, env: Env, raw: Raw, problems: string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  for (const [key, e] of Object.entries(table)) {
    if (isSetting(e)) out[key] = readSetting(e, raw, problems)
    else if (isReader(e)) out[key] = e.read(env, problems)
    else out[key] = build(e as Table, env, raw, problems)
  }
  return out
}

/**
 * Build the configuration from an environment map. Throws ConfigError listing every problem.
 * Secrets missing in embedded mode are filled in later by `ensureEmbeddedSecrets`.
 */
export function loadConfig(env: Env = process.env): Config {
  const problems: string[] = []
  const raw = rawReader(env)
  const config = build(CONFIG_TABLE, env, raw, problems) as Config
  for (const rule of RULES) for (const p of rule.check?.(config, raw) ?? []) if (p !== false) problems.push(p)
  if (problems.length > 0) throw new ConfigError(problems)
  return config
}

export function freezeConfig(config: Config): Readonly<Config> {
  const deepFreeze = (o: object): void => {
    for (const v of Object.values(o))
      if (v && typeof v === 'object' && !Buffer.isBuffer(v) && !Object.isFrozen(v)) deepFreeze(v)
    Object.freeze(o)
  }
  deepFreeze(config)
  return config
}
