/**
 * The builders the configuration table (table.ts) is written with: one function per kind of value,
 * each returning a `Setting` whose parser pushes a problem naming the variable instead of throwing,
 * so the loader reports every problem at once.
 */
import type { Env, Extra, Raw, Reader, ReaderVar, Setting } from './schema.js'

const UNITS: [RegExp, string][] = [
  [/_BYTES_PER_S$/, 'bytes/s'],
  [/_MS$/, 'ms'],
  [/_S$/, 's'],
  [/_BYTES$/, 'bytes'],
  [/_MB$/, 'MiB'],
  [/_DAYS$/, 'days']
]

function setting<T>(
  env: string,
  type: string,
  def: Setting<T>['default'],
  parse: Setting<T>['parse'],
  doc: string,
  more: Extra = {}
): Setting<T> {
  const unit = more.unit ?? UNITS.find(([re]) => re.test(env))?.[1]
  return { kind: 'setting', env, type, default: def, parse, doc, ...more, unit }
}

/** "a or b", "a, b or c", "one of a, b, c, d": the wording every enum problem has used. */
export function choices(values: readonly string[]): string {
  if (values.length > 3) return `one of ${values.join(', ')}`
  return values.length === 1 ? values[0] : `${values.slice(0, -1).join(', ')} or ${values[values.length - 1]}`
}

/** An integer in [min, max]; `def` may be computed from other variables. */
export function int(
  env: string,
  def: number | ((raw: Raw) => number),
  min: number,
  max: number,
  doc: string,
  more?: Extra
): Setting<number> {
  return setting(
    env,
    `int ${min}..${max}`,
    def,
    (v, name, problems, d) => {
      if (!/^-?\d+$/.test(v)) {
        problems.push(`${name} must be an integer, got "${v}"`)
        return d
      }
      const n = Number(v)
      if (n < min || n > max) problems.push(`${name} must be between ${min} and ${max}, got ${n}`)
      return n
    },
    doc,
    more
  )
}

/** An integer in [min, max] that is undefined while unset (and, with `zeroIsUnset`, when 0). */
export function optionalInt(
  env: string,
  min: number,
  max: number,
  doc: string,
  more: Extra & { zeroIsUnset?: boolean } = {}
): Setting<number | undefined> {
  const { zeroIsUnset, ...extra } = more
  const inner = int(env, min, min, max, doc)
  return setting<number | undefined>(
    env,
    inner.type,
    undefined,
    (v, name, problems) => {
      const n = inner.parse(v, name, problems, zeroIsUnset === true ? 0 : min)
      return zeroIsUnset === true && n === 0 ? undefined : n
    },
    doc,
    extra
  )
}

export function bool(env: string, def: boolean, doc: string, more?: Extra): Setting<boolean> {
  return setting(
    env,
    'boolean',
    def,
    (v, name, problems, d) => {
      if (/^(true|1|yes|on)$/i.test(v)) return true
      if (/^(false|0|no|off)$/i.test(v)) return false
      problems.push(`${name} must be true or false, got "${v}"`)
      return d
    },
    doc,
    more
  )
}

/** A string; `check` returns the problem (without the name) for a value it refuses. */
export function str<D extends string | undefined>(
  env: string,
  def: D | ((raw: Raw) => D),
  doc: string,
  more?: Extra & { check?: (v: string) => string | undefined; type?: string }
): Setting<string | D> {
  const { check, type, ...extra } = more ?? {}
  return setting<string | D>(
    env,
    type ?? 'string',
    def,
    (v, name, problems) => {
      const problem = check?.(v)
      if (problem !== undefined) problems.push(`${name} ${problem}`)
      return v
    },
    doc,
    extra
  )
}

export function oneOf<const V extends readonly string[]>(
  env: string,
  values: V,
  def: V[number],
  doc: string,
  more?: Extra
): Setting<V[number]> {
  return setting<V[number]>(
    env,
    values.join('|'),
    def,
    (v, name, problems, d) => {
      if ((values as readonly string[]).includes(v)) return v as V[number]
      problems.push(`${name} must be ${choices(values)}, got "${v}"`)
      return d
    },
    doc,
    more
  )
}

/** An absolute URL with one of `protocols`; unset by default. */
export function url(env: string, protocols: string[], doc: string, more?: Extra): Setting<string | undefined> {
  return setting<string | undefined>(
    env,
    `url (${protocols.join(' ')})`,
    undefined,
    (v, name, problems) => {
      try {
        const u = new URL(v)
        if (!protocols.includes(u.protocol))
          problems.push(`${name} must use ${protocols.join(' or ')}, got "${u.protocol}"`)
      } catch {
        problems.push(`${name} is not a valid URL`)
      }
      return v
    },
    doc,
    more
  )
}

/** Comma-separated; `check` returns the problem for an entry it refuses (`entry "x" <problem>`). */
export function list(
  env: string,
  def: string[],
  doc: string,
  more?: Extra & { check?: (entry: string) => string | undefined }
): Setting<string[]> {
  const { check, ...extra } = more ?? {}
  return setting(
    env,
    'list',
    def,
    (v, name, problems) => {
      const entries = v
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean)
      for (const e of entries) {
        const problem = check?.(e)
        if (problem !== undefined) problems.push(`${name} entry "${e}" ${problem}`)
      }
      return entries
    },
    doc,
    extra
  )
}

/** Anything else: the parser is given whole (it pushes its own problems, naming the variable). */
export function custom<T>(
  env: string,
  type: string,
  def: T | ((raw: Raw) => T),
  parse: Setting<T>['parse'],
  doc: string,
  more?: Extra
): Setting<T> {
  return setting(env, type, def, parse, doc, more)
}

export function reader<T>(read: (env: Env, problems: string[]) => T, vars: ReaderVar[]): Reader<T> {
  return { kind: 'reader', read, vars }
}
