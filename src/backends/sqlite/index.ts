/**
 * The SQLite bundle: one process, one database file, opened as one object that owns the
 * connection, its single group committer and (under async durability) the WalSyncer that
 * acknowledges every batch. Nothing is looked up by connection any more, so which committer a
 * store uses and how large its batches get are decided here, once, before any store exists.
 *
 * The change feed is the in-process one: the server holds the database with an exclusive lock,
 * so every write to it is made by this process and fanning changes out in process reaches every
 * subscriber there is (an offline tool can only write while no server runs).
 * @module
 */
import { FsBlobStore, type BlobOption } from '../fs/blob-store.js'
import { CachedMetadataStore } from '../cached/metadata-store.js'
import { MemoryChangeFeed } from '../memory/change-feed.js'
import type { Stores } from '../../storage/stores.js'
import type { StorageTimings } from '../../storage/timings.js'
import { openDatabase, type Database } from './db.js'
import { GroupCommit } from './group-commit.js'
import { SqliteSharedLimits } from './shared-limits.js'
import { enableAsyncDurability, prepareClose, type WalSyncer } from './wal-sync.js'
import { SqliteMetadataStore } from './metadata-store.js'
import { SqliteIdentityStore } from './identity-store.js'
import { SqliteBlobLedger } from './blob-ledger.js'
import { SqliteAuditLog } from './audit-log.js'

export type SqliteOptions = BlobOption & SqliteTuning

export interface SqliteTuning {
  /** Hold the database lock for the connection's life (the server's own database). */
  readonly exclusive?: boolean
  /** Lock wait in ms, opening included (default 5000; 0 fails at once on a held database). */
  readonly busyTimeoutMs?: number
  /**
   * fsync off the event loop (wal-sync.ts): `synchronous=OFF` and the WAL fsynced on the thread
   * pool before a batch is acknowledged. File databases only; default false (synchronous=FULL).
   */
  readonly asyncDurability?: boolean
  /** With asyncDurability: checkpoint once the WAL reaches this size (default 64 MiB; tests). */
  readonly checkpointBytes?: number
  /** Flush the write queue early once it holds this many ops (default 512). */
  readonly maxBatch?: number
  /** The time at open (buckets start full then; expired cap counters are not loaded); default now. */
  readonly now?: number
  /** Where commit and fsync durations go (metrics); none by default. */
  readonly timings?: StorageTimings
}

/** The bundle, plus the connection itself for SQLite-only tooling and tests. */
export interface SqliteStores extends Stores {
  readonly db: Database
  readonly commits: GroupCommit
}

/**
 * Open the bundle. Async for one reason: the file blob store empties its temp directory (bodies of
 * puts a crash interrupted) before the first request, not lazily at the first write.
 */
export async function openSqlite(path: string, opts: SqliteOptions): Promise<SqliteStores> {
  const db = openDatabase(
    path,
    Object.assign(
      {},
      opts.exclusive !== undefined ? { exclusive: opts.exclusive } : {},
      opts.busyTimeoutMs !== undefined ? { busyTimeoutMs: opts.busyTimeoutMs } : {},
    ),
  )
  try {
    const file = path !== ':memory:' && path !== ''
    const syncer: WalSyncer | undefined =
      opts.asyncDurability === true && file
        ? enableAsyncDurability(
            db,
            path,
            opts.checkpointBytes !== undefined ? { checkpointBytes: opts.checkpointBytes } : {},
          )
        : undefined
    const commits = new GroupCommit(db, {
      syncer,
      ...(opts.timings !== undefined ? { timings: opts.timings } : {}),
      ...(opts.maxBatch !== undefined ? { maxBatch: opts.maxBatch } : {}),
    })
    // In-process fan-out is complete here: this process holds the database file exclusively, so
    // every write to it is made (and published) by this process.
    const changes = new MemoryChangeFeed()
    const metadata = new CachedMetadataStore(
      new SqliteMetadataStore(db, { commits, changes }),
      changes,
    )
    // After the metadata store: the ledger's triggers watch its tables.
    const ledger = new SqliteBlobLedger(db, { commits })
    const identity = SqliteIdentityStore.open(db, { changes, commits })
    // After the identity store: the held-session counts are rebuilt from its sessions table.
    const limits = SqliteSharedLimits.open(db, { commits, now: opts.now ?? Date.now() })
    const audit = SqliteAuditLog.open(db, commits)
    const blobs = opts.blobs ?? (await FsBlobStore.open(opts.blobDir))
    let closing: Promise<void> | undefined
    return {
      db,
      commits,
      metadata,
      identity,
      blobs,
      ledger,
      changes,
      limits,
      audit,
      ready: async () => {
        try {
          if (!db.open) return 'the database is closed'
          db.prepare('SELECT 1').get()
        } catch (e) {
          return `database: ${e instanceof Error ? e.message : String(e)}`
        }
        return blobs.probe()
      },
      close: () =>
        (closing ??= (async () => {
          await metadata.close()
          await commits.drain() // identity writes share the committer
          await changes.close()
          // Closing checkpoints the WAL into the database file: make that checkpoint fsync.
          prepareClose(db)
          await syncer?.close()
          db.close()
        })()),
    }
  } catch (e) {
    db.close()
    throw e
  }
}
