/**
 * The audit log on SQLite: one append-only table (`audit_events`, migration list 'audit'),
 * written through the bundle's group committer so audit batches share the fsync of whatever else
 * commits with them. Indexed by time (queries and pruning), principal and session.
 * @module
 */
import type {
  AuditEvent,
  AuditEventInput,
  AuditFilter,
  AuditLog,
  AuditPage,
} from '../../storage/audit-log.js'
import { prepare, runMigrations, type Database } from './db.js'
import type { GroupCommit } from './group-commit.js'

/** Append-only migration steps of the audit table. */
export const AUDIT_MIGRATIONS: readonly string[] = [
  `CREATE TABLE audit_events (
     id INTEGER PRIMARY KEY AUTOINCREMENT,
     at INTEGER NOT NULL,
     kind TEXT NOT NULL,
     action TEXT NOT NULL,
     account_id TEXT,
     principal TEXT,
     session TEXT,
     resource TEXT,
     decision TEXT,
     reason TEXT,
     source TEXT,
     detail TEXT
   );
   CREATE INDEX audit_events_at ON audit_events (at);
   CREATE INDEX audit_events_principal ON audit_events (principal, at);
   CREATE INDEX audit_events_session ON audit_events (session, at);`,
]

const INSERT = `INSERT INTO audit_events
  (at, kind, action, account_id, principal, session, resource, decision, reason, source, detail)
  VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`

interface Row {
  id: number
  at: number
  kind: string
  action: string
  account_id: string | null
  principal: string | null
  session: string | null
  resource: string | null
  decision: string | null
  reason: string | null
  source: string | null
  detail: string | null
}

/** A row as the port's event (absent columns left out: exactOptionalPropertyTypes). */
export function auditEventOf(r: Row): AuditEvent {
  return {
    id: Number(r.id),
    at: Number(r.at),
    kind: r.kind as AuditEvent['kind'],
    action: r.action,
    ...(r.account_id !== null ? { accountId: r.account_id } : {}),
    ...(r.principal !== null ? { principal: r.principal } : {}),
    ...(r.session !== null ? { session: r.session } : {}),
    ...(r.resource !== null ? { resource: r.resource } : {}),
    ...(r.decision !== null ? { decision: r.decision as 'allow' | 'deny' } : {}),
    ...(r.reason !== null ? { reason: r.reason } : {}),
    ...(r.source !== null ? { source: r.source } : {}),
    ...(r.detail !== null ? { detail: JSON.parse(r.detail) as Record<string, unknown> } : {}),
  }
}

/** The column values of an event, in INSERT's order. */
export function auditValues(e: AuditEventInput): unknown[] {
  return [
    e.at,
    e.kind,
    e.action,
    e.accountId ?? null,
    e.principal ?? null,
    e.session ?? null,
    e.resource ?? null,
    e.decision ?? null,
    e.reason ?? null,
    e.source ?? null,
    e.detail !== undefined ? JSON.stringify(e.detail) : null,
  ]
}

/** The WHERE clause of a filter; `ph(i)` spells the i-th placeholder (1-based). */
export function auditWhere(
  f: AuditFilter,
  ph: (i: number) => string,
): { sql: string; params: unknown[] } {
  const parts: string[] = []
  const params: unknown[] = []
  const add = (cond: (p: string) => string, v: unknown): void => {
    params.push(v)
    parts.push(cond(ph(params.length)))
  }
  if (f.principal !== undefined) add((p) => `principal = ${p}`, f.principal)
  if (f.session !== undefined) add((p) => `session = ${p}`, f.session)
  if (f.action !== undefined) add((p) => `action = ${p}`, f.action)
  if (f.since !== undefined) add((p) => `at >= ${p}`, f.since)
  if (f.until !== undefined) add((p) => `at < ${p}`, f.until)
  if (f.accountIds !== undefined) {
    if (f.accountIds.length === 0) parts.push('1 = 0')
    else {
      const ps = f.accountIds.map((id) => {
        params.push(id)
        return ph(params.length)
      })
      parts.push(`account_id IN (${ps.join(', ')})`)
    }
  }
  return { sql: parts.length > 0 ? `WHERE ${parts.join(' AND ')}` : '', params }
}

export const AUDIT_COLUMNS =
  'id, at, kind, action, account_id, principal, session, resource, decision, reason, source, detail'

export class SqliteAuditLog implements AuditLog {
  private readonly db: Database
  private readonly commits: GroupCommit

  private constructor(db: Database, commits: GroupCommit) {
    this.db = db
    this.commits = commits
  }

  static open(db: Database, commits: GroupCommit): SqliteAuditLog {
    runMigrations(db, 'audit', AUDIT_MIGRATIONS)
    return new SqliteAuditLog(db, commits)
  }

  async append(rows: readonly AuditEventInput[]): Promise<void> {
    if (rows.length === 0) return
    await this.commits.run(() => {
      const stmt = prepare(this.db, INSERT)
      for (const r of rows) stmt.run(...auditValues(r))
    })
  }

  query(f: AuditFilter, page: { limit: number; offset: number }): Promise<AuditPage> {
    const w = auditWhere(f, () => '?')
    const total = (
      this.db.prepare(`SELECT count(*) AS n FROM audit_events ${w.sql}`).get(...w.params) as {
        n: number
      }
    ).n
    const rows = this.db
      .prepare(
        `SELECT ${AUDIT_COLUMNS} FROM audit_events ${w.sql} ORDER BY at DESC, id DESC LIMIT ? OFFSET ?`,
      )
      .all(...w.params, page.limit, page.offset) as Row[]
    return Promise.resolve({ events: rows.map(auditEventOf), total })
  }

  async prune(before: number): Promise<number> {
    return this.commits.run(
      () => prepare(this.db, 'DELETE FROM audit_events WHERE at < ?').run(before).changes,
    )
  }
}
