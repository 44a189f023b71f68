/**
 * `latchkey admin audit`: the audit trail (GET /api/admin/audit), newest first, filtered by
 * principal, session, action and time; a table by default, the server's JSON with --json.
 * @module
 */
import { parseArgs } from './args.js'
import { adminPath, loggedIn, type Io } from './client.js'
import { LIST_FLAGS, listPages, type Row } from './output.js'
import type { Column } from './table.js'

export const AUDIT_USAGE = `  admin audit [--principal P] [--session ASIA…] [--action A] [--since T] [--until T]
              [--customer C] [--limit N] [--offset N] [--all]
                                         the audit trail, newest first (T: ISO 8601 or epoch ms)`

const AUDIT_COLUMNS: readonly Column<Row>[] = [
  { header: 'TIME', get: (r) => r['time'] },
  { header: 'KIND', get: (r) => r['kind'] },
  { header: 'ACTION', get: (r) => r['action'] },
  { header: 'PRINCIPAL', get: (r) => r['principal'] ?? '' },
  { header: 'SESSION', get: (r) => r['session'] ?? '' },
  { header: 'RESOURCE', get: (r) => r['resource'] ?? '' },
  { header: 'DECISION', get: (r) => r['decision'] ?? '' },
  { header: 'REASON', get: (r) => r['reason'] ?? '' },
  { header: 'SOURCE', get: (r) => r['source'] ?? '' },
]

const FILTERS = [
  '--principal',
  '--session',
  '--action',
  '--since',
  '--until',
  '--customer',
] as const

export async function audit(argv: string[], io: Io): Promise<void> {
  const p = parseArgs(argv, { values: [...FILTERS, ...LIST_FLAGS], flags: ['--all'] })
  const query: Record<string, string | undefined> = {}
  for (const f of FILTERS) query[f.slice(2)] = p.values.get(f)
  await listPages(io, loggedIn(io), adminPath('audit'), query, p, AUDIT_COLUMNS)
}
