/**
 * PgBlobLedger: the BlobLedger as one table in the cluster's PostgreSQL database, shared by every
 * node, so the one elected collector sees the intents and retirements of all of them. Each call
 * is one statement over an array of refs (`unnest`), autocommitted: durable when it resolves.
 * `due` reads an index ordered by (state, at).
 *
 * Blobs a metadata commit drops are recorded in the commit's own transaction, as the port
 * requires of a durable ledger: plpgsql AFTER DELETE triggers on the metadata store's `objects`
 * and `parts` tables (migrations/blob-ledger.ts) add an intent for every blob ref in the deleted
 * row's body_ref. The metadata store replaces rows by DELETE then INSERT, so a replacement is
 * seen and a write to a new key runs no trigger. The triggers are installed once the metadata
 * tables exist (open the metadata store first); a database without them has nothing to watch.
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
import { runMigrations, storageError, type PgDatabase } from './db.js'
import { BLOB_LEDGER_MIGRATIONS, BLOB_LEDGER_TRIGGER_MIGRATIONS } from './migrations/blob-ledger.js'

const INTENT = 0
const RETIRED = 1
/** The session advisory lock each elected job (BlobLedger.lead) holds for the length of a pass. */
const LEADER_LOCKS: Readonly<Record<LeaderRole, number>> = {
  collector: 7204519,
  lifecycle: 7204520,
  'audit-retention': 7204521,
}

export class PgBlobLedger implements BlobLedger {
  private readonly db: PgDatabase
  private readonly orphanGraceMs: number
  private readonly retireGraceMs: number

  private constructor(db: PgDatabase, opts: BlobLedgerOptions) {
    this.db = db
    this.orphanGraceMs = opts.orphanGraceMs ?? DEFAULT_ORPHAN_GRACE_MS
    this.retireGraceMs = opts.retireGraceMs ?? DEFAULT_RETIRE_GRACE_MS
  }

  /** Creates the table and, when the metadata tables exist, the triggers (each once). */
  static async open(db: PgDatabase, opts: BlobLedgerOptions = {}): Promise<PgBlobLedger> {
    await runMigrations(db, 'blob-ledger', BLOB_LEDGER_MIGRATIONS)
    const r = await db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM pg_tables
       WHERE schemaname = current_schema() AND tablename IN ('objects', 'parts')`,
    )
    if (r.rows[0]?.n === 2)
      await runMigrations(db, 'blob-ledger-triggers', BLOB_LEDGER_TRIGGER_MIGRATIONS)
    return new PgBlobLedger(db, opts)
  }

  private async write(refs: readonly string[], sql: string, ...args: unknown[]): Promise<void> {
    if (refs.length === 0) return
    await this.db.query(sql, [[...new Set(refs)], ...args])
  }

  intend(refs: readonly string[], now: number): Promise<void> {
    return this.write(
      refs,
      `INSERT INTO blob_ledger (ref, state, at) SELECT r, $2, $3 FROM unnest($1::text[]) AS r
       ON CONFLICT (ref) DO NOTHING`,
      INTENT,
      Math.floor(now),
    )
  }

  settle(refs: readonly string[]): Promise<void> {
    return this.write(
      refs,
      'DELETE FROM blob_ledger WHERE ref = ANY($1::text[]) AND state = $2',
      INTENT,
    )
  }

  retire(refs: readonly string[], now: number, graceMs = this.retireGraceMs): Promise<void> {
    return this.write(
      refs,
      `INSERT INTO blob_ledger (ref, state, at) SELECT r, $2, $3 FROM unnest($1::text[]) AS r
       ON CONFLICT (ref) DO UPDATE SET state = EXCLUDED.state, at = EXCLUDED.at`,
      RETIRED,
      Math.floor(now + graceMs),
    )
  }

  async due(now: number, limit: number): Promise<BlobLedgerDue> {
    const refs = async (state: number, cutoff: number): Promise<string[]> => {
      const r = await this.db.query<{ ref: string }>(
        'SELECT ref FROM blob_ledger WHERE state = $1 AND at < $2 ORDER BY at, ref LIMIT $3',
        [state, Math.ceil(cutoff), Math.max(0, Math.floor(limit))],
      )
      return r.rows.map((x) => x.ref)
    }
    return {
      orphans: await refs(INTENT, now - this.orphanGraceMs),
      retired: await refs(RETIRED, now),
    }
  }

  forget(refs: readonly string[]): Promise<void> {
    return this.write(refs, 'DELETE FROM blob_ledger WHERE ref = ANY($1::text[])')
  }

  /**
   * A session-level advisory lock on one pooled connection, held for the pass: nodes that find it
   * taken skip their turn, and a node that dies mid-pass loses its connection and with it the lead.
   */
  async lead<T>(fn: () => Promise<T>, role: LeaderRole = 'collector'): Promise<T | undefined> {
    const lock = LEADER_LOCKS[role]
    return this.db.session(async (client, markBroken) => {
      try {
        const got = await client.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1) AS ok', [
          lock,
        ])
        if (got.rows[0]?.ok !== true) return undefined
        try {
          return await fn()
        } finally {
          // Dropping the connection releases the lock too.
          await client.query('SELECT pg_advisory_unlock($1)', [lock]).catch(markBroken)
        }
      } catch (e) {
        throw storageError(e, 'collector lock')
      }
    })
  }
}
