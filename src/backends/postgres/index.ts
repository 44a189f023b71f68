/**
 * The PostgreSQL bundle: the stores of one cluster node. Every node opens the same database and
 * the same blob store (a shared directory, or an upstream S3 bucket); nothing is held exclusively, so the change feed is the database's own
 * (an outbox plus LISTEN/NOTIFY, change-feed.ts): a write made on any node reaches the caches of
 * every node, and `applied()` lets an admin call wait until it has.
 *
 * One pool serves every store. Order matters at open — the feed first (every store publishes
 * there), then the metadata store (its migrations create the tables the blob ledger's triggers
 * watch), the identity store, then the shared limits (whose adoption reads the sessions table) —
 * and at close: the metadata store finishes its writes (they publish), the feed flushes and
 * leaves the nodes table, and only then does the pool end.
 * @module
 */
import { FsBlobStore, type BlobOption } from '../fs/blob-store.js'
import { CachedMetadataStore } from '../cached/metadata-store.js'
import type { Stores } from '../../storage/stores.js'
import type { Logger } from '../../lib/logger.js'
import type { StorageTimings } from '../../storage/timings.js'
import { openPostgres, type PgDatabase } from './db.js'
import { openPostgresChangeFeed, type PostgresChangeFeed } from './change-feed.js'
import { PgMetadataStore } from './metadata-store.js'
import { PgIdentityStore } from './identity-store.js'
import { PgSharedLimits } from './shared-limits.js'
import { PgAuditLog } from './audit-log.js'
import { PG_AUDIT_MIGRATIONS } from './migrations/audit.js'
import { PgBlobLedger } from './blob-ledger.js'
import { runMigrations } from './db.js'
import { CHANGE_FEED_MIGRATIONS, CHANGE_FEED_MIGRATIONS_NAME } from './migrations/change-feed.js'
import { METADATA_MIGRATIONS } from './migrations/metadata.js'
import { BLOB_LEDGER_MIGRATIONS, BLOB_LEDGER_TRIGGER_MIGRATIONS } from './migrations/blob-ledger.js'
import { PG_IDENTITY_MIGRATIONS } from './migrations/identity.js'
import { PG_SHARED_LIMITS_MIGRATIONS } from './migrations/shared-limits.js'
import { PG_SESSION_USAGE_MIGRATIONS } from './session-usage.js'

/**
 * Temp files (bodies being written) older than this are removed when a node opens the shared
 * blob directory: a put under way keeps its file's mtime fresh, the request idle timeout is far
 * shorter, so only leftovers of crashed nodes are this old.
 */
export const SHARED_TEMP_STALE_MS = 60 * 60 * 1000

/**
 * Every migration list of a cluster database, in the order openPostgresStores applies them (each
 * store runs its own list when it opens; this is the same set, for tools that need the schema
 * without opening the stores: `latchkey migrate` creates it before copying rows in).
 */
export async function runPostgresMigrations(db: PgDatabase): Promise<void> {
  await runMigrations(db, CHANGE_FEED_MIGRATIONS_NAME, CHANGE_FEED_MIGRATIONS)
  await runMigrations(db, 'metadata', METADATA_MIGRATIONS)
  await runMigrations(db, 'blob-ledger', BLOB_LEDGER_MIGRATIONS)
  await runMigrations(db, 'blob-ledger-triggers', BLOB_LEDGER_TRIGGER_MIGRATIONS)
  await runMigrations(db, 'identity', PG_IDENTITY_MIGRATIONS)
  await runMigrations(db, 'shared-limits', PG_SHARED_LIMITS_MIGRATIONS)
  await runMigrations(db, 'session-usage', PG_SESSION_USAGE_MIGRATIONS)
  await runMigrations(db, 'audit', PG_AUDIT_MIGRATIONS)
}

/**
 * The blob directory every node of the cluster shares, or a blob store opened by the caller (an
 * upstream S3: app/backends.ts); the bundle does not close a store it was given.
 */
export type PostgresOptions = BlobOption & PostgresTuning

export interface PostgresTuning {
  /** The time at open (an empty issuance-bucket table adopts the held-session counts then). */
  readonly now?: number
  /** This node's id in the change feed (random by default). */
  readonly nodeId?: string
  readonly log?: Logger
  /** Where transaction durations go (metrics). */
  readonly timings?: StorageTimings
}

export interface PostgresStores extends Stores {
  readonly db: PgDatabase
  readonly changes: PostgresChangeFeed
}

export async function openPostgresStores(
  url: string,
  opts: PostgresOptions,
): Promise<PostgresStores> {
  const db = await openPostgres(url, opts.timings !== undefined ? { timings: opts.timings } : {})
  let changes: PostgresChangeFeed | undefined
  let inner: PgMetadataStore | undefined
  try {
    changes = await openPostgresChangeFeed(db, {
      url,
      ...(opts.nodeId !== undefined ? { nodeId: opts.nodeId } : {}),
      ...(opts.log !== undefined ? { log: opts.log } : {}),
    })
    const feed = changes
    inner = await PgMetadataStore.open(db, { changes: feed })
    // Buckets cached (their writes wait until every node applied them); object records not: a
    // PUT on another node reaches this node's feed only after it has returned, and a GET here
    // right after it must see it (S3's read-after-write). A small GET reads one row.
    const metadata = new CachedMetadataStore(inner, feed, { objectEntries: 0 })
    // After the metadata store: the ledger's triggers watch its tables.
    const ledger = await PgBlobLedger.open(db)
    const identity = await PgIdentityStore.open(db, { changes: feed })
    // After the identity store: adoption reads its sessions table.
    const limits = await PgSharedLimits.open(db)
    await limits.adoptSessions(opts.now ?? Date.now())
    const audit = await PgAuditLog.open(db)
    const blobs =
      opts.blobs ?? (await FsBlobStore.open(opts.blobDir, { staleTempMs: SHARED_TEMP_STALE_MS }))
    let closing: Promise<void> | undefined
    return {
      db,
      metadata,
      identity,
      blobs,
      ledger,
      changes: feed,
      limits,
      audit,
      ready: async () => {
        try {
          await db.query('SELECT 1')
        } catch (e) {
          const cause = e instanceof Error && e.cause instanceof Error ? `: ${e.cause.message}` : ''
          return `database: ${e instanceof Error ? e.message : String(e)}${cause}`
        }
        return blobs.probe()
      },
      close: () =>
        (closing ??= (async () => {
          await metadata.close() // writes under way finish and publish
          await feed.close() // flushes the outbox, leaves the nodes table
          await db.close()
        })()),
    }
  } catch (e) {
    await inner?.close().catch(() => {})
    await changes?.close().catch(() => {})
    await db.close().catch(() => {})
    throw e
  }
}
