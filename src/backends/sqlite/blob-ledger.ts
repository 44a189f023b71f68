/**
 * SqliteBlobLedger: the BlobLedger as one table in the metadata database. Its writes go through
 * the connection's shared group commit, so they batch with the metadata writes around them (a
 * blob-backed PUT adds one prepared INSERT to the batch before the upload and one DELETE to the
 * batch after the commit; an inline PUT over an inline object adds nothing). `due` is a read on
 * an index ordered by (state, at). The table has its own migration list ('blob-ledger'), so the
 * metadata store's migrations stay untouched.
 * @module
 */
import {
  DEFAULT_ORPHAN_GRACE_MS,
  DEFAULT_RETIRE_GRACE_MS,
  type BlobLedger,
  type BlobLedgerDue,
  type BlobLedgerOptions,
} from '../../storage/blob-ledger.js'
import { StorageError } from '../../storage/errors.js'
import { prepare, runMigrations, type Database } from './db.js'
import { groupCommitFor, type GroupCommit } from './group-commit.js'

const MIGRATIONS: readonly string[] = [
  `CREATE TABLE IF NOT EXISTS blob_ledger (
    ref TEXT PRIMARY KEY,
    state INTEGER NOT NULL, -- 0 intent, 1 retired
    at INTEGER NOT NULL
  ) WITHOUT ROWID;
  CREATE INDEX IF NOT EXISTS blob_ledger_due ON blob_ledger (state, at);`,
]

const INTENT = 0
const RETIRED = 1

export class SqliteBlobLedger implements BlobLedger {
  private readonly db: Database
  private readonly commits: GroupCommit
  private readonly orphanGraceMs: number
  private readonly retireGraceMs: number

  constructor(db: Database, opts: BlobLedgerOptions = {}) {
    this.db = db
    runMigrations(db, 'blob-ledger', MIGRATIONS)
    this.commits = groupCommitFor(db)
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

  retire(refs: readonly string[], now: number): Promise<void> {
    return this.write(
      refs,
      'INSERT OR REPLACE INTO blob_ledger (ref, state, at) VALUES (?, ?, ?)',
      RETIRED,
      now,
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
        retired: refs(RETIRED, now - this.retireGraceMs),
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
}
