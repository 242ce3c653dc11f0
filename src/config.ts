/**
 * Configuration: read once from the environment, validated, frozen (STYLE.md "Config").
 * The table (src/config/table.ts) holds every variable; this entry keeps the one import path.
 */
import { variables } from './config/schema.js'
import { CONFIG_TABLE } from './config/table.js'

export { ConfigError, freezeConfig, loadConfig } from './config/load.js'
export type { Config, RateLimitFailureMode, TrustProxy } from './config/table.js'

/** Names of settings whose values must never be printed (the table's `secret` flag). */
export const SECRET_SETTINGS: string[] = variables(CONFIG_TABLE)
  .filter((v) => v.secret === true)
  .map((v) => v.env)
