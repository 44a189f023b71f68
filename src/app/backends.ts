/**
 * Which engine holds the data: the one place that reads `databaseUrl` and picks a backend
 * bundle: SQLite by default (the data dir's `latchkey.db`), the PostgreSQL cluster stores for a
 * postgres:// URL. Object bodies go where `--blob-store` says (default: the data dir's
 * `objects/`): a directory the cluster nodes share, or an upstream S3 bucket. The tools' way into
 * the data dir or the cluster database (`latchkey admin …`, `latchkey migrate`) is here too, for
 * the same reason.
 * @module
 */
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import {
  isPostgresUrl,
  type Config,
  type FileBlobStoreConfig,
  type S3BlobStoreConfig,
} from '../config/config.js'
import type { Logger } from '../lib/logger.js'
import type { IdentityStore } from '../storage/identity-store.js'
import type { Stores } from '../storage/stores.js'
import type { StorageTimings } from '../storage/timings.js'
import { openSqlite } from '../backends/sqlite/index.js'
import { openPostgresStores, SHARED_TEMP_STALE_MS } from '../backends/postgres/index.js'
import { openPostgres, type PgDatabase } from '../backends/postgres/db.js'
import {
  openPostgresChangeFeed,
  type PostgresChangeFeed,
} from '../backends/postgres/change-feed.js'
import { PgIdentityStore } from '../backends/postgres/identity-store.js'
import { FsBlobStore } from '../backends/fs/blob-store.js'
import type { BlobStore } from '../storage/blob-store.js'
import { openDatabase, type Database } from '../backends/sqlite/db.js'
import { SqliteIdentityStore } from '../backends/sqlite/identity-store.js'

/** The SQLite database in the data dir. */
export const DATABASE_FILE = 'latchkey.db'

/** Where an `s3://` blob store spools bodies of unknown length (this node's own data dir). */
export const BLOB_SPOOL_DIR = 'blob-spool'

/**
 * `log` receives the shared change feed's warnings (a lost LISTEN connection, a resync);
 * `timings(backend)` is where the chosen backend reports commit and fsync durations (metrics).
 */
export async function openStores(
  config: Config,
  now: number,
  log?: Logger,
  timings?: (backend: 'sqlite' | 'postgres') => StorageTimings,
): Promise<Stores> {
  const url = config.databaseUrl
  const bs = config.blobStore
  // Loaded only when configured: file-mode nodes never load the AWS SDK.
  const s3 =
    bs.kind === 's3'
      ? await openS3BlobStore(bs, join(config.dataDir, BLOB_SPOOL_DIR), {
          // A streamed PUT idles upstream while its client does: outlast the client's timeout.
          socketTimeoutMs: Math.max(60, config.requestIdleTimeout + 30) * 1000,
          // Admission (--max-inflight) bounds the requests; a copy holds two connections.
          maxSockets: 2 * config.maxInFlight,
        })
      : undefined
  const blobs = s3 !== undefined ? { blobs: s3 } : { blobDir: (bs as FileBlobStoreConfig).dir }
  let stores: Stores
  try {
    stores =
      url !== undefined && isPostgresUrl(url)
        ? await openPostgresStores(
            url,
            Object.assign(
              {},
              blobs,
              { now },
              log !== undefined ? { log } : {},
              timings !== undefined ? { timings: timings('postgres') } : {},
            ),
          )
        : await openSqlite(
            join(config.dataDir, DATABASE_FILE),
            Object.assign(
              {},
              blobs,
              // One process owns a data dir; fsync runs on the thread pool (wal-sync.ts).
              { exclusive: true, asyncDurability: true, now },
              timings !== undefined ? { timings: timings('sqlite') } : {},
            ),
          )
  } catch (e) {
    s3?.close()
    throw e
  }
  if (s3 === undefined) return stores
  // Not awaited: a node starts (and serves what needs no blob store) while its upstream is down.
  void s3.probe().then((why) => {
    if (why !== undefined)
      log?.warn({ bucket: s3.bucket, reason: why }, 'the upstream S3 blob store does not answer')
  })
  const close = stores.close.bind(stores)
  // The bundles do not close a blob store they were given: its sockets go after them.
  return Object.assign(stores, {
    close: async () => {
      await close()
      s3.close()
    },
  })
}

/**
 * The blob store a `--blob-store` value names, for tools (`latchkey migrate`) that write into a
 * cluster's store without opening the rest of the stores. `shared`: other processes may be using
 * the store (only stale temp files are swept at open, as a cluster node does).
 */
export async function openBlobStore(
  store: Config['blobStore'],
  opts: { readonly shared: boolean; readonly spoolDir: string },
): Promise<BlobStore & { close?: () => void }> {
  if (store.kind === 's3') return openS3BlobStore(store, opts.spoolDir, {})
  return FsBlobStore.open(store.dir, opts.shared ? { staleTempMs: SHARED_TEMP_STALE_MS } : {})
}

/** The upstream-S3 blob store of an `s3://` setting (the AWS SDK is loaded only here). */
async function openS3BlobStore(
  bs: S3BlobStoreConfig,
  spoolDir: string,
  tuning: { readonly socketTimeoutMs?: number; readonly maxSockets?: number },
) {
  const { S3BlobStore } = await import('../backends/s3/blob-store.js')
  return S3BlobStore.open({
    bucket: bs.bucket,
    prefix: bs.prefix,
    region: bs.region,
    forcePathStyle: bs.forcePathStyle,
    spoolDir,
    ...tuning,
    ...(bs.endpoint !== undefined ? { endpoint: bs.endpoint } : {}),
    ...(bs.accessKeyId !== undefined && bs.secretAccessKey !== undefined
      ? { accessKeyId: bs.accessKeyId, secretAccessKey: bs.secretAccessKey }
      : {}),
  })
}

/**
 * The data dir's identity store for offline tools (`latchkey admin …`), which must not write
 * beside a running server. The server holds its database with an exclusive lock, so this fails
 * at once, with a line saying so, instead of waiting; while the tool runs, a server cannot start.
 */
export function openIdentityStoreOffline(dataDir: string): {
  store: IdentityStore
  close(): Promise<void>
} {
  const path = join(dataDir, DATABASE_FILE)
  if (!existsSync(path))
    throw new Error(`no Latchkey database in ${dataDir} (${DATABASE_FILE}): check --data-dir`)
  let db: Database | undefined
  try {
    // synchronous=FULL (no asyncDurability): each write is durable when its promise resolves.
    const opened = openDatabase(path, { exclusive: true, busyTimeoutMs: 0 })
    db = opened
    const store = SqliteIdentityStore.open(opened)
    return { store, close: async () => void opened.close() }
  } catch (e) {
    db?.close()
    throw lockedError(e, dataDir)
  }
}

/** How long a tool waits for the running nodes to apply its change (their caches reload). */
export const TOOL_APPLY_TIMEOUT_MS = 10_000

/**
 * A cluster's identity store for the tools (`latchkey admin … --database postgres://…`). Unlike
 * the data dir, the database is meant to be shared: nodes may be running, so the tool joins the
 * change feed like a node and its writes reach their caches. `settle()` resolves true once every
 * live node has applied what the tool published (false: some node did not answer within
 * TOOL_APPLY_TIMEOUT_MS; it resyncs when it reconnects).
 */
export async function openIdentityStoreShared(url: string): Promise<{
  store: IdentityStore
  settle(): Promise<boolean>
  close(): Promise<void>
}> {
  const db: PgDatabase = await openPostgres(url, { max: 2 })
  let feed: PostgresChangeFeed | undefined
  try {
    const changes = await openPostgresChangeFeed(db, { url })
    feed = changes
    const store = await PgIdentityStore.open(db, { changes })
    return {
      store,
      settle: () => changes.applied(changes.head(), TOOL_APPLY_TIMEOUT_MS),
      close: async () => {
        await changes.close() // flushes the outbox
        await db.close()
      },
    }
  } catch (e) {
    await feed?.close().catch(() => {})
    await db.close().catch(() => {})
    throw e
  }
}

/**
 * SQLITE_BUSY (also as the cause of a failed group commit) → the one line an operator needs;
 * anything else unchanged. `dataDir` is the data dir whose database was being opened or written.
 */
export function lockedError(e: unknown, dataDir: string): unknown {
  for (let c: unknown = e, depth = 0; c !== undefined && c !== null && depth < 4; depth++) {
    const code = (c as { code?: unknown }).code
    if (code === 'SQLITE_BUSY' || code === 'SQLITE_LOCKED')
      return new Error(
        `the database ${join(dataDir, DATABASE_FILE)} is locked: a Latchkey server is running on this data dir. Stop it first (this command works offline only)`,
      )
    c = (c as { cause?: unknown }).cause
  }
  return e
}
