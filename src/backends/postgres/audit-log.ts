/**
 * The audit log on PostgreSQL: the cluster's one trail, whichever node served the request. A
 * batch is one multi-row INSERT (one round trip however many events it carries).
 * @module
 */
import type { AuditEventInput, AuditFilter, AuditLog, AuditPage } from '../../storage/audit-log.js'
import {
  AUDIT_COLUMNS,
  auditEventOf,
  auditValues,
  auditWhere,
  type AuditRowDb,
} from '../relational/audit-rows.js'
import { runMigrations, type PgDatabase } from './db.js'
import { PG_AUDIT_MIGRATIONS } from './migrations/audit.js'

/** Columns per row in the INSERT. */
const WIDTH = 11

export class PgAuditLog implements AuditLog {
  private readonly db: PgDatabase

  constructor(db: PgDatabase) {
    this.db = db
  }

  static async open(db: PgDatabase): Promise<PgAuditLog> {
    await runMigrations(db, 'audit', PG_AUDIT_MIGRATIONS)
    return new PgAuditLog(db)
  }

  async append(rows: readonly AuditEventInput[]): Promise<void> {
    if (rows.length === 0) return
    const values: unknown[] = []
    const tuples = rows.map((r, i) => {
      values.push(...auditValues(r))
      const ps = Array.from({ length: WIDTH }, (_, j) => `$${i * WIDTH + j + 1}`)
      return `(${ps.join(', ')})`
    })
    await this.db.query(
      `INSERT INTO audit_events (at, kind, action, account_id, principal, session, resource,
        decision, reason, source, detail) VALUES ${tuples.join(', ')}`,
      values,
    )
  }

  async query(f: AuditFilter, page: { limit: number; offset: number }): Promise<AuditPage> {
    const w = auditWhere(f, (i) => `$${i}`)
    const n = w.params.length
    const [count, rows] = await Promise.all([
      this.db.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM audit_events ${w.sql}`,
        w.params,
      ),
      this.db.query(
        `SELECT ${AUDIT_COLUMNS} FROM audit_events ${w.sql} ORDER BY at DESC, id DESC LIMIT $${n + 1} OFFSET $${n + 2}`,
        [...w.params, page.limit, page.offset],
      ),
    ])
    return {
      events: rows.rows.map((r) => auditEventOf(r as AuditRowDb)),
      total: count.rows[0]?.n ?? 0,
    }
  }

  async prune(before: number): Promise<number> {
    const r = await this.db.query('DELETE FROM audit_events WHERE at < $1', [before])
    return r.rowCount ?? 0
  }
}
