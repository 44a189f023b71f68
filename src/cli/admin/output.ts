/**
 * What every admin subcommand shares once it has an answer: `--json` prints the server's JSON
 * as is, otherwise a table or a record; list commands page with --limit/--offset (the API's
 * x-next-offset says more remain, and the CLI says how to get them) or follow every page with
 * --all.
 * @module
 */
import { intFlag, type Parsed } from './args.js'
import type { AdminApi, Io } from './client.js'
import { renderRecord, renderTable, type Column } from './table.js'

export type Row = Record<string, unknown>

export const LIST_FLAGS = ['--limit', '--offset'] as const

/** Print `value` as JSON with --json, else the human lines. */
export function emit(io: Io, p: Parsed, value: unknown, human: () => readonly string[]): void {
  if (p.flags.has('--json')) io.out(JSON.stringify(value ?? null, null, 2))
  else for (const line of human()) io.out(line)
}

export function emitRecord(io: Io, p: Parsed, value: Row, fields: readonly string[]): void {
  emit(io, p, value, () => renderRecord(fields.map((f) => [f, value[f]] as const)))
}

/** GET a paginated list: one page (--limit/--offset) or, with --all, every page. */
export async function listPages(
  io: Io,
  api: AdminApi,
  path: string,
  query: Record<string, string | undefined>,
  p: Parsed,
  columns: readonly Column<Row>[],
): Promise<void> {
  const limit = intFlag(p, '--limit', 1, 1000)
  let offset = intFlag(p, '--offset', 0, Number.MAX_SAFE_INTEGER) ?? 0
  const all = p.flags.has('--all')
  const rows: Row[] = []
  let next: string | null = null
  let total: string | null = null
  for (;;) {
    const q = new URLSearchParams()
    for (const [k, v] of Object.entries(query)) if (v !== undefined) q.set(k, v)
    if (limit !== undefined) q.set('limit', String(limit))
    if (offset !== 0) q.set('offset', String(offset))
    const qs = q.toString()
    const a = await api.call('GET', qs === '' ? path : `${path}?${qs}`)
    rows.push(...(Array.isArray(a.json) ? (a.json as Row[]) : []))
    next = a.headers.get('x-next-offset')
    total = a.headers.get('x-total-count')
    if (!all || next === null || !/^\d+$/.test(next) || Number(next) <= offset) break
    offset = Number(next)
  }
  emit(io, p, rows, () => renderTable(columns, rows))
  if (!all && next !== null)
    io.err(`(${rows.length} of ${total ?? '?'} shown; next page: --offset ${next}, or --all)`)
}
