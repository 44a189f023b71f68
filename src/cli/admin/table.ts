/**
 * Human-readable output of the admin CLI: aligned columns with a header row, absent values as
 * `-`, and `(none)` for an empty list, so an operator reads the answer without jq. Scripts use
 * `--json`, which prints the server's JSON unchanged.
 * @module
 */

export interface Column<T> {
  readonly header: string
  readonly get: (row: T) => unknown
}

/** One cell's text: null/undefined → '-', booleans as yes/no, objects as compact JSON. */
export function cell(v: unknown): string {
  if (v === null || v === undefined || v === '') return '-'
  if (typeof v === 'boolean') return v ? 'yes' : 'no'
  if (typeof v === 'string') return v.replace(/[\r\n\t]/g, ' ')
  if (typeof v === 'number' || typeof v === 'bigint') return String(v)
  return JSON.stringify(v)
}

/** Lines of an aligned table (two spaces between columns, no trailing spaces). */
export function renderTable<T>(columns: readonly Column<T>[], rows: readonly T[]): string[] {
  if (rows.length === 0) return ['(none)']
  const cells = rows.map((r) => columns.map((c) => cell(c.get(r))))
  const widths = columns.map((c, i) =>
    Math.max(c.header.length, ...cells.map((row) => (row[i] ?? '').length)),
  )
  const line = (values: readonly string[]): string =>
    values
      .map((v, i) => v.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd()
  return [line(columns.map((c) => c.header)), ...cells.map(line)]
}

/** Lines of `key: value` pairs for one object, keys aligned. */
export function renderRecord(fields: readonly (readonly [string, unknown])[]): string[] {
  const w = Math.max(0, ...fields.map(([k]) => k.length))
  return fields.map(([k, v]) => `${`${k}:`.padEnd(w + 1)} ${cell(v)}`)
}
