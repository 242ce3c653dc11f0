/**
 * SQL identifier quoting, written once: a name in double quotes with inner quotes doubled, so any
 * string is one identifier (PostgreSQL's quote_ident rule). Callers still validate names they
 * accept from a request; quoting is what makes a catalogue name safe to splice.
 */
export const quoteIdent = (s: string): string => `"${s.replace(/"/g, '""')}"`

/** `schema.table` with each part quoted. */
export const quoteQualified = (name: string): string => name.split('.').map(quoteIdent).join('.')

/** `schema.table` from its two parts, each quoted (a dot inside a part stays part of the name). */
export const quoteTable = (schema: string, table: string): string => `${quoteIdent(schema)}.${quoteIdent(table)}`
