/**
 * The vocabulary of the configuration table (table.ts): one `Setting` per environment variable,
 * each with its parser, default, unit and one-line doc, so the `Config` type, the loader,
 * `.env.example` and `config print` are all derived from the same entry (issue 16). The builders
 * of entries (`int`, `str`, `url`…) are in builders.ts.
 */

export type Env = Record<string, string | undefined>

/** Reads a variable as the loader sees it: trimmed, and an empty value counts as unset. */
export type Raw = (name: string) => string | undefined

/** What every entry may say beyond its parser and default. */
export interface Extra {
  /** The value's unit (ms, s, bytes, days…); inferred from the name's suffix when left out. */
  unit?: string
  /** A credential: `config print` and the dashboard never show it (a URL keeps all but its password). */
  secret?: boolean
  /** A sample value, shown commented out in `.env.example` (the variable has no useful default there). */
  example?: string
  /** The default as `.env.example` writes it (`NAME=shown`), when the parsed default is not that text. */
  shown?: string
}

export interface Setting<T> extends Extra {
  readonly kind: 'setting'
  readonly env: string
  /** int 0..65535, boolean, one of a|b, url, list, json, string… (for people; the parser decides). */
  readonly type: string
  readonly doc: string
  /** `.env.example` section, stamped by `section()`. */
  section?: string
  /** Default, or how to compute it from the other variables (e.g. DATA_DIR/backups). */
  readonly default: T | ((raw: Raw) => T)
  /**
   * Parses a set (non-empty, trimmed) value. A problem is pushed naming `env`, never thrown, so every
   * problem is reported at once; the value returned then only feeds the cross-field rules.
   */
  parse(v: string, env: string, problems: string[], def: T): T
}

/** A variable read by a typed reader (`Reader`) rather than by its own parser. */
export interface ReaderVar extends Extra {
  readonly env: string
  readonly doc: string
  readonly type: string
  /** The reader's result field that shows this variable's effective value (`config print`). */
  readonly field?: string
  section?: string
}

/** A group of settings produced by a small typed reader (tracing, Server-Timing), its variables listed. */
export interface Reader<T> {
  readonly kind: 'reader'
  read(env: Env, problems: string[]): T
  readonly vars: ReaderVar[]
}

export type Entry = Setting<unknown> | Reader<unknown>
export interface Table {
  readonly [key: string]: Entry | Table
}

type ValueOf<E> = E extends Setting<infer V> ? V : E extends Reader<infer V> ? V : E extends Table ? ConfigOf<E> : never
type Simplify<T> = { [K in keyof T]: T[K] } & {}
type OptionalKeys<T> = { [K in keyof T]: undefined extends ValueOf<T[K]> ? K : never }[keyof T]

/** The configuration object a table yields: `databaseUrl?: string`, `rateLimit: { public: number … }`. */
export type ConfigOf<T> = Simplify<
  { -readonly [K in Exclude<keyof T, OptionalKeys<T>>]: ValueOf<T[K]> } & {
    -readonly [K in OptionalKeys<T>]?: ValueOf<T[K]>
  }
>

export const isSetting = (e: unknown): e is Setting<unknown> => (e as Setting<unknown>)?.kind === 'setting'
export const isReader = (e: unknown): e is Reader<unknown> => (e as Reader<unknown>)?.kind === 'reader'

/** Stamps the `.env.example` section on every entry of `t` (nested groups included). */
export function section<T extends Table>(title: string, t: T): T {
  for (const e of Object.values(t)) {
    if (isSetting(e)) e.section = title
    else if (isReader(e)) for (const v of e.vars) v.section = title
    else section(title, e as Table)
  }
  return t
}

/** Every variable of the table in order, with the config path that holds its value (if any). */
export interface Variable extends Extra {
  env: string
  type: string
  doc: string
  section?: string
  /** `rateLimit.public`; undefined for a reader's input-only variables (OTEL_EXPORTER_OTLP_ENDPOINT). */
  path?: string
  /** The table entry, for a variable with a parser of its own (not one read by a `Reader`). */
  entry?: Setting<unknown>
}

export function variables(table: Table, prefix = ''): Variable[] {
  const out: Variable[] = []
  for (const [key, e] of Object.entries(table)) {
    const path = `${prefix}${key}`
    if (isSetting(e)) {
      const { env, type, doc, section, unit, secret, example, shown } = e
      out.push({ env, type, doc, section, unit, secret, example, shown, path, entry: e })
    } else if (isReader(e)) {
      for (const v of e.vars) out.push({ ...v, path: v.field === undefined ? undefined : `${path}.${v.field}` })
    } else {
      out.push(...variables(e as Table, `${path}.`))
    }
  }
  return out
}
