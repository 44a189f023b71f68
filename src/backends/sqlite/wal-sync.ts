/**
 * Durability off the event loop. With `synchronous=FULL`, SQLite fsyncs the WAL inside COMMIT,
 * which blocks the single JavaScript thread for the whole fsync (about 0.3 ms here) once per batch.
 * A connection opened with `asyncDurability` runs with `synchronous=OFF` instead and this module
 * makes the commits durable itself: after COMMIT returns, the WAL file is fsynced on libuv's thread
 * pool, and only then are the batch's callers resolved. A commit that lands while an fsync is in
 * flight waits for the next one (whose start follows its COMMIT), so every acknowledged write is
 * covered by an fsync that began after it was written.
 *
 * SQLite's own checkpoints would not sync the database file under `synchronous=OFF`, so automatic
 * checkpoints are disabled and `maybeCheckpoint` runs them with `synchronous=FULL` switched on for
 * the duration (SQLite then syncs the WAL and the database file before it resets the WAL).
 * `prepareClose` does the same before the connection closes (closing checkpoints and deletes the
 * WAL).
 * @module
 */
import { open, type FileHandle } from 'node:fs/promises'
import type { Database } from './db.js'

/** Checkpoint once the WAL has grown past this. */
const CHECKPOINT_BYTES = 64 * 1024 * 1024

export class WalSyncer {
  private readonly db: Database
  private readonly walPath: string
  private handle: FileHandle | undefined
  private opening: Promise<FileHandle> | undefined

  constructor(db: Database, dbPath: string) {
    this.db = db
    this.walPath = `${dbPath}-wal`
  }

  /** fsync the WAL file (on the thread pool). */
  async sync(): Promise<void> {
    const h = await this.fileHandle()
    await h.sync()
  }

  /** Checkpoint (synchronously, with full syncing) when the WAL is large. Call outside a transaction. */
  async maybeCheckpoint(): Promise<void> {
    const h = await this.fileHandle()
    const { size } = await h.stat()
    if (size < CHECKPOINT_BYTES || !this.db.open || this.db.inTransaction) return
    checkpointDurably(this.db)
  }

  async close(): Promise<void> {
    const h = this.handle
    this.handle = undefined
    this.opening = undefined
    await h?.close()
  }

  private fileHandle(): Promise<FileHandle> {
    if (this.handle !== undefined) return Promise.resolve(this.handle)
    this.opening ??= open(this.walPath, 'r').then((h) => (this.handle = h))
    return this.opening
  }
}

/** Copy the WAL into the database file and truncate it, syncing both (SQLite does the fsyncs). */
export function checkpointDurably(db: Database): void {
  db.pragma('synchronous = FULL')
  try {
    db.pragma('wal_checkpoint(TRUNCATE)')
  } finally {
    db.pragma('synchronous = OFF')
  }
}

/** Before `db.close()`: closing checkpoints and removes the WAL, which must then be synced. */
export function prepareClose(db: Database): void {
  if (db.open) db.pragma('synchronous = FULL')
}

const syncers = new WeakMap<Database, WalSyncer>()

export function registerWalSyncer(db: Database, s: WalSyncer): void {
  syncers.set(db, s)
}

export function walSyncerFor(db: Database): WalSyncer | undefined {
  return syncers.get(db)
}
