/**
 * The vocabulary of the configuration table (table.ts): one `Setting` per environment variable,
 * each with its parser, default, unit and one-line doc, so the `Config` type, the loader,
 * `.env.example` and `config print` are all derived from the same entry (issue 16).
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

const UNITS: [RegExp, string][] = [
  [/_BYTES_PER_S$/, 'bytes/s'],
  [/_MS$/, 'ms'],
  [/_S$/, 's'],
  [/_BYTES$/, 'bytes'],
  [/_MB$/, 'MiB'],
  [/_DAYS$/, 'days']
]

function setting<T>(env: string, type: string, def: Setting<T>['default'], parse: Setting<T>['parse'], doc: string, more: Extra = {}): Setting<T> {
  const unit = more.unit ?? UNITS.find(([re]) => re.test(env))?.[1]
  return { kind: 'setting', env, type, default: def, parse, doc, ...more, unit }
}

/** "a or b", "a, b or c", "one of a, b, c, d": the wording every enum problem has used. */
export function choices(values: readonly string[]): string {
  if (values.length > 3) return `one of ${values.join(', ')}`
  return values.length === 1 ? values[0] : `${values.slice(0, -1).join(', ')} or ${values[values.length - 1]}`
}

/** An integer in [min, max]; `def` may be computed from other variables. */
export function int(env: string, def: number | ((raw: Raw) => number), min: number, max: number, doc: string, more?: Extra): Setting<number> {
  return setting(env, `int ${min}..${max}`, def, (v, name, problems, d) => {
    if (!/^-?\d+$/.test(v)) {
      problems.push(`${name} must be an integer, got "${v}"`)
      return d
    }
    const n = Number(v)
    if (n < min || n > max) problems.push(`${name} must be between ${min} and ${max}, got ${n}`)
    return n
  }, doc, more)
}

/** An integer in [min, max] that is undefined while unset (and, with `zeroIsUnset`, when 0). */
export function optionalInt(env: string, min: number, max: number, doc: string, more: Extra & { zeroIsUnset?: boolean } = {}): Setting<number | undefined> {
  const { zeroIsUnset, ...extra } = more
  const inner = int(env, min, min, max, doc)
  return setting<number | undefined>(env, inner.type, undefined, (v, name, problems) => {
    const n = inner.parse(v, name, problems, zeroIsUnset === true ? 0 : min)
    return zeroIsUnset === true && n === 0 ? undefined : n
  }, doc, extra)
}

export function bool(env: string, def: boolean, doc: string, more?: Extra): Setting<boolean> {
  return setting(env, 'boolean', def, (v, name, problems, d) => {
    if (/^(true|1|yes|on)$/i.test(v)) return true
    if (/^(false|0|no|off)$/i.test(v)) return false
    problems.push(`${name} must be true or false, got "${v}"`)
    return d
  }, doc, more)
}

/** A string; `check` returns the problem (without the name) for a value it refuses. */
export function str<D extends string | undefined>(env: string, def: D | ((raw: Raw) => D), doc: string, more?: Extra & { check?: (v: string) => string | undefined; type?: string }): Setting<string | D> {
  const { check, type, ...extra } = more ?? {}
  return setting<string | D>(env, type ?? 'string', def, (v, name, problems) => {
    const problem = check?.(v)
    if (problem !== undefined) problems.push(`${name} ${problem}`)
    return v
  }, doc, extra)
}

export function oneOf<const V extends readonly string[]>(env: string, values: V, def: V[number], doc: string, more?: Extra): Setting<V[number]> {
  return setting<V[number]>(env, values.join('|'), def, (v, name, problems, d) => {
    if ((values as readonly string[]).includes(v)) return v as V[number]
    problems.push(`${name} must be ${choices(values)}, got "${v}"`)
    return d
  }, doc, more)
}

/** An absolute URL with one of `protocols`; unset by default. */
export function url(env: string, protocols: string[], doc: string, more?: Extra): Setting<string | undefined> {
  return setting<string | undefined>(env, `url (${protocols.join(' ')})`, undefined, (v, name, problems) => {
    try {
      const u = new URL(v)
      if (!protocols.includes(u.protocol)) problems.push(`${name} must use ${protocols.join(' or ')}, got "${u.protocol}"`)
    } catch {
      problems.push(`${name} is not a valid URL`)
    }
    return v
  }, doc, more)
}

/** Comma-separated; `check` returns the problem for an entry it refuses (`entry "x" <problem>`). */
export function list(env: string, def: string[], doc: string, more?: Extra & { check?: (entry: string) => string | undefined }): Setting<string[]> {
  const { check, ...extra } = more ?? {}
  return setting(env, 'list', def, (v, name, problems) => {
    const entries = v.split(',').map((s) => s.trim()).filter(Boolean)
    for (const e of entries) {
      const problem = check?.(e)
      if (problem !== undefined) problems.push(`${name} entry "${e}" ${problem}`)
    }
    return entries
  }, doc, extra)
}

/** Anything else: the parser is given whole (it pushes its own problems, naming the variable). */
export function custom<T>(env: string, type: string, def: T | ((raw: Raw) => T), parse: Setting<T>['parse'], doc: string, more?: Extra): Setting<T> {
  return setting(env, type, def, parse, doc, more)
}

export function reader<T>(read: (env: Env, problems: string[]) => T, vars: ReaderVar[]): Reader<T> {
  return { kind: 'reader', read, vars }
}

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
