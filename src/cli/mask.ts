/**
 * `config print` and the dashboard's Configuration: the effective configuration under the
 * environment variable names people set (issue 13), every variable the table marks `secret`
 * masked — a URL keeps all but its password, a list or map keeps its shape.
 */
import type { Config } from '../config.js'
import { variables, type Env, type Variable } from '../config/schema.js'
import { CONFIG_TABLE } from '../config/table.js'
import { rawReader } from '../config/load.js'

const VARIABLES = variables(CONFIG_TABLE)

function maskUrl(v: string): string {
  try {
    const u = new URL(v)
    if (u.password !== '') u.password = '***'
    return u.toString()
  } catch {
    return '***'
  }
}

/** A secret's printable form: nothing of the credential, enough to see what is configured. */
export function maskSecret(v: unknown, type: string): unknown {
  if (typeof v === 'string' && type.startsWith('url')) return maskUrl(v)
  if (Array.isArray(v)) return v.map(() => '***')
  if (v !== null && typeof v === 'object' && !Buffer.isBuffer(v))
    return Object.fromEntries(Object.keys(v).map((k) => [k, '***']))
  return '***'
}

function valueAt(config: Readonly<Config>, path: string): unknown {
  let v: unknown = config
  for (const key of path.split('.')) v = (v as Record<string, unknown> | undefined)?.[key]
  return v
}

/** The variable's effective value, masked if secret; undefined when unset and without a default. */
function printable(v: Variable, config: Readonly<Config>, env: Env | undefined): unknown {
  // A reader's input-only variable (OTEL_EXPORTER_OTLP_ENDPOINT…) is shown as given.
  const value = v.path !== undefined ? valueAt(config, v.path) : env === undefined ? undefined : rawReader(env)(v.env)
  if (value === undefined) return undefined
  return v.secret === true ? maskSecret(value, v.type) : value
}

/**
 * `{ HTTP_PORT: 8080, RATE_LIMIT_PUBLIC: 100, … }`: unset optional settings are left out. With
 * `env`, the variables a reader folds into another setting are shown as set too.
 */
export function maskedConfig(config: Readonly<Config>, env?: Env): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  for (const v of VARIABLES) {
    const value = printable(v, config, env)
    if (value !== undefined) out[v.env] = value
  }
  return out
}

export interface ConfigSource {
  name: string
  /** Masked like maskedConfig; undefined while unset. */
  value: unknown
  source: 'env' | 'default'
  unit?: string
}

/** Every variable of the table with its effective value and where it came from (`config print --sources`). */
export function configSources(config: Readonly<Config>, env: Env): ConfigSource[] {
  const raw = rawReader(env)
  return VARIABLES.map((v) => ({
    name: v.env,
    value: printable(v, config, env),
    source: raw(v.env) === undefined ? 'default' : 'env',
    unit: v.unit
  }))
}

/** NAME  VALUE  SOURCE, one variable a line (values as JSON, so a string and a number differ). */
export function formatSources(rows: ConfigSource[]): string {
  const cells = rows.map((r) => [
    r.name,
    r.value === undefined ? '(unset)' : `${JSON.stringify(r.value)}${r.unit === undefined ? '' : ` ${r.unit}`}`,
    r.source
  ])
  const widths = [0, 1].map((i) => Math.max(...cells.map((c) => c[i].length), i === 0 ? 4 : 5))
  return [['NAME', 'VALUE', 'SOURCE'], ...cells]
    .map((c) => `${c[0].padEnd(widths[0])}  ${c[1].padEnd(widths[1])}  ${c[2]}`.trimEnd())
    .join('\n')
}
