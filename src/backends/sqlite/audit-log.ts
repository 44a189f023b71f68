/**
 * The audit log on SQLite: one append-only table (`audit_events`, migration list 'audit'),
 * written through the bundle's group committer so audit batches share the fsync of whatever else
 * commits with them: a batch of up to 16 rows as one INSERT of exactly its rows, larger ones 100
 * rows per INSERT statement. Indexed by time (queries and pruning), principal and session.
 * @module
 */
import type { AuditEventInput, AuditFilter, AuditLog, AuditPage } from '../../storage/audit-log.js'
import {
  AUDIT_COLUMNS,
  AUDIT_VALUE_COUNT,
  putAuditValues,
  auditEventOf,
  auditValues,
  auditWhere,
  type AuditRowDb,
} from '../relational/audit-rows.js'
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

const INSERT_INTO = `INSERT INTO audit_events
  (at, kind, action, account_id, principal, session, resource, decision, reason, source, detail)
  VALUES `
const ROW = '(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)'
const INSERT = INSERT_INTO + ROW
/**
 * Rows per multi-row INSERT: one statement step (and one bind) for 25 rows costs about an eighth
 * less per row than a step per row, and 100 rows (the recorder's batches are up to 1,000) about
 * 0.3 us less again; 1,100 parameters stay far below SQLite's limit (32,766).
 */
const CHUNK = 100
const INSERT_CHUNK = INSERT_INTO + Array.from({ length: CHUNK }, () => ROW).join(', ')
/**
 * A batch of at most this many rows (the usual one: the events of one loop turn) is ONE INSERT
 * statement of exactly its rows, run without a savepoint of its own (GroupCommit.runStatement):
 * a SAVEPOINT and a RELEASE per batch, and AUTOINCREMENT's read and write of sqlite_sequence per
 * row, cost more than the rows' b-tree inserts. One prepared statement per row count up to here.
 */
const SMALL = 16
const INSERT_SMALL: string[] = Array.from({ length: SMALL + 1 }, (_, n) =>
  n === 0 ? '' : INSERT_INTO + Array.from({ length: n }, () => ROW).join(', '),
)

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
    if (rows.length <= SMALL) {
      await this.commits.runStatement(() => {
        const values: unknown[] = new Array<unknown>(rows.length * AUDIT_VALUE_COUNT)
        for (let j = 0; j < rows.length; j++)
          putAuditValues(rows[j]!, values, j * AUDIT_VALUE_COUNT)
        prepare(this.db, INSERT_SMALL[rows.length]!).run(values)
      })
      return
    }
    await this.commits.run(() => {
      let i = 0
      if (rows.length >= CHUNK) {
        const chunk = prepare(this.db, INSERT_CHUNK)
        // One values array for every chunk: run() binds synchronously, so reusing it is safe.
        const values: unknown[] = new Array<unknown>(CHUNK * AUDIT_VALUE_COUNT)
        for (; i + CHUNK <= rows.length; i += CHUNK) {
          for (let j = 0; j < CHUNK; j++)
            putAuditValues(rows[i + j]!, values, j * AUDIT_VALUE_COUNT)
          chunk.run(values)
        }
      }
      if (i < rows.length) {
        const one = prepare(this.db, INSERT)
        for (; i < rows.length; i++) one.run(auditValues(rows[i]!))
      }
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
      .all(...w.params, page.limit, page.offset) as AuditRowDb[]
    return Promise.resolve({ events: rows.map(auditEventOf), total })
  }

  async prune(before: number): Promise<number> {
    return this.commits.run(
      () => prepare(this.db, 'DELETE FROM audit_events WHERE at < ?').run(before).changes,
    )
  }
}
