/**
 * SqliteBlobLedger: the BlobLedger as one table in the metadata database. Its writes go through
 * the connection's shared group commit, so they batch with the metadata writes around them (a
 * blob-backed PUT adds one prepared INSERT to the batch before the upload and one DELETE to the
 * batch after the commit; an inline PUT over an inline object adds nothing). `due` is a read on
 * an index ordered by (state, at). The table has its own migration list ('blob-ledger'), so the
 * metadata store's migrations stay untouched.
 *
 * Blobs a metadata commit drops are recorded in the commit's own transaction, as the port
 * requires of a durable ledger: triggers on the metadata store's `objects` and `parts` tables
 * (a row deleted: the metadata store replaces a row by DELETE then INSERT, so a write to a new
 * key runs no trigger at all) add an intent for every blob ref in the old row's `body_ref`. A crash between the commit and `retire` therefore leaves an intent, which the
 * collector resolves by asking whether the blob is still referenced, instead of a leaked file.
 * They rely on the metadata store's body encoding (`{"k":"b","r":<ref>,…}`, nested in `"p"` for
 * multipart bodies): test/conformance and crash-safety.test.ts catch a change of it.
 * @module
 */
import {
  DEFAULT_ORPHAN_GRACE_MS,
  DEFAULT_RETIRE_GRACE_MS,
  type BlobLedger,
  type BlobLedgerDue,
  type BlobLedgerOptions,
  type LeaderRole,
} from '../../storage/blob-ledger.js'
import { StorageError } from '../../storage/errors.js'
import { prepare, runMigrations, type Database } from './db.js'
import { GroupCommit } from './group-commit.js'

export const MIGRATIONS: readonly string[] = [
  `CREATE TABLE IF NOT EXISTS blob_ledger (
    ref TEXT PRIMARY KEY,
    state INTEGER NOT NULL, -- 0 intent, 1 retired
    at INTEGER NOT NULL -- intent: recorded at; retired: deletable after (retired at + grace)
  ) WITHOUT ROWID;
  CREATE INDEX IF NOT EXISTS blob_ledger_due ON blob_ledger (state, at);`,
]

const INTENT = 0
const RETIRED = 1

/** Now in ms, inside SQL (the triggers have no application clock; intents only need an age). */
const SQL_NOW_MS = `CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)`

/** Intents for every blob ref in body_ref column `col` of the rows chosen by `from`. */
function intendRefsOf(col: string, from: string): string {
  return `INSERT OR IGNORE INTO blob_ledger (ref, state, at)
    SELECT j.value, ${INTENT}, ${SQL_NOW_MS} FROM ${from}, json_tree(${col}) AS j
    WHERE ${col} IS NOT NULL AND j.key = 'r' AND j.type = 'text';`
}

/**
 * AFTER DELETE only. Replacing a row is a DELETE then an INSERT in the metadata store, so these
 * see every dropped body, and an INSERT (the common write: a new key) runs no trigger. The first
 * two statements drop the BEFORE INSERT triggers an earlier build of this ledger created.
 */
const TRIGGERS = [
  'DROP TRIGGER IF EXISTS blob_ledger_object_replaced',
  'DROP TRIGGER IF EXISTS blob_ledger_part_replaced',
  `CREATE TRIGGER IF NOT EXISTS blob_ledger_object_deleted AFTER DELETE ON objects
    WHEN OLD.body_ref IS NOT NULL BEGIN
    ${intendRefsOf('OLD.body_ref', '(SELECT 1)')}
  END`,
  `CREATE TRIGGER IF NOT EXISTS blob_ledger_part_deleted AFTER DELETE ON parts
    WHEN OLD.body_ref IS NOT NULL BEGIN
    ${intendRefsOf('OLD.body_ref', '(SELECT 1)')}
  END`,
]

export class SqliteBlobLedger implements BlobLedger {
  private readonly db: Database
  private readonly commits: GroupCommit
  private readonly orphanGraceMs: number
  private readonly retireGraceMs: number

  /**
   * Open the ledger on `db`. Construct it after the metadata store (whose tables the triggers
   * watch); on a database without them (the ledger's own tests) there is nothing to watch.
   */
  constructor(db: Database, opts: BlobLedgerOptions & { readonly commits?: GroupCommit } = {}) {
    this.db = db
    runMigrations(db, 'blob-ledger', MIGRATIONS)
    const tables = db
      .prepare(
        "SELECT count(*) AS n FROM sqlite_master WHERE type = 'table' AND name IN ('objects', 'parts')",
      )
      .get() as { n: number }
    if (tables.n === 2) db.exec(TRIGGERS.join(';\n'))
    this.commits = opts.commits ?? new GroupCommit(db)
    this.orphanGraceMs = opts.orphanGraceMs ?? DEFAULT_ORPHAN_GRACE_MS
    this.retireGraceMs = opts.retireGraceMs ?? DEFAULT_RETIRE_GRACE_MS
  }

  private write(refs: readonly string[], sql: string, ...args: number[]): Promise<void> {
    if (refs.length === 0) return Promise.resolve()
    return this.commits.run(() => {
      const stmt = prepare(this.db, sql)
      for (const r of refs) stmt.run(r, ...args)
    })
  }

  intend(refs: readonly string[], now: number): Promise<void> {
    return this.write(
      refs,
      'INSERT OR IGNORE INTO blob_ledger (ref, state, at) VALUES (?, ?, ?)',
      INTENT,
      now,
    )
  }

  settle(refs: readonly string[]): Promise<void> {
    return this.write(refs, 'DELETE FROM blob_ledger WHERE ref = ? AND state = ?', INTENT)
  }

  retire(refs: readonly string[], now: number, graceMs = this.retireGraceMs): Promise<void> {
    return this.write(
      refs,
      'INSERT OR REPLACE INTO blob_ledger (ref, state, at) VALUES (?, ?, ?)',
      RETIRED,
      now + graceMs,
    )
  }

  due(now: number, limit: number): Promise<BlobLedgerDue> {
    try {
      const q = prepare(
        this.db,
        'SELECT ref FROM blob_ledger WHERE state = ? AND at < ? ORDER BY at LIMIT ?',
      )
      const refs = (state: number, cutoff: number): string[] =>
        (q.all(state, cutoff, limit) as { ref: string }[]).map((r) => r.ref)
      return Promise.resolve({
        orphans: refs(INTENT, now - this.orphanGraceMs),
        retired: refs(RETIRED, now),
      })
    } catch (err) {
      return Promise.reject(
        new StorageError('unavailable', 'blob ledger read failed', {}, { cause: err }),
      )
    }
  }

  forget(refs: readonly string[]): Promise<void> {
    return this.write(refs, 'DELETE FROM blob_ledger WHERE ref = ?')
  }

  /** One process holds this ledger: it always leads. */
  lead<T>(fn: () => Promise<T>, _role?: LeaderRole): Promise<T | undefined> {
    return fn()
  }
}
