/**
 * Durability off the event loop. With `synchronous=FULL`, SQLite fsyncs the WAL inside COMMIT,
 * which blocks the single JavaScript thread for the whole fsync (about 0.3 ms here) once per batch.
 * A connection switched to `enableAsyncDurability` runs with `synchronous=OFF` instead and this module
 * makes the commits durable itself: after COMMIT returns, the WAL file is fsynced on libuv's thread
 * pool, and only then are the batch's callers resolved. A commit that lands while an fsync is in
 * flight waits for the next one (whose start follows its COMMIT), so every acknowledged write is
 * covered by an fsync that began after it was written.
 *
 * SQLite's own checkpoints would not sync the database file under `synchronous=OFF`, so automatic
 * checkpoints are disabled and the group committer runs them (`needsCheckpoint`, `checkpoint`)
 * without ever fsyncing on the event loop: a PASSIVE checkpoint copies the WAL into the database
 * file (no fsync under `synchronous=OFF`), the database file is then fsynced on the thread pool,
 * and the committer holds every new write transaction until that fsync is done. The first write
 * after it restarts the WAL from its beginning, overwriting frames whose pages are by then durable
 * in the database file; its own frames (and the new WAL header) are covered by the WAL fsync that
 * acknowledges it, as always. `prepareClose` switches `synchronous=FULL` on before the
 * connection closes (closing checkpoints and deletes the WAL, with SQLite's own syncs).
 *
 * The WAL file keeps its size across restarts (`journal_size_limit` only trims what a huge
 * transaction left beyond twice the threshold): SQLite's own trim, an ftruncate inside the first
 * COMMIT after every restart, and the regrowth of the file after it, stalled that COMMIT, and every
 * request behind it, for 40-170 ms of wall time at 4-15 ms of CPU in a sweep of 100k sessions
 * here; with the file kept, the slowest COMMIT took 6 ms. So the size no longer says how much is
 * left to checkpoint: `needsCheckpoint` reads the header of the frame at the threshold instead. A
 * frame belongs to the current WAL only if it carries the salts of the WAL header (SQLite's file
 * format: a restart writes new salts, so frames of earlier generations do not match).
 * @module
 */
import { fstatSync, readSync } from 'node:fs'
import { open, type FileHandle } from 'node:fs/promises'
import type { Database } from './db.js'

/** Checkpoint once the WAL holds this many bytes of frames. */
export const CHECKPOINT_BYTES = 64 * 1024 * 1024

/**
 * How often, at most, the WAL is probed for a checkpoint under the default threshold. Probing
 * after every fsync round (an fstat and two reads, ~1 us of CPU per AssumeRole in profile-sts)
 * bought nothing: 50 ms of the fastest measured WAL growth (~40 MB/s) is a few MB past 64 MiB.
 * A small threshold (tests, tools) is probed every round.
 */
export const PROBE_INTERVAL_MS = 50

/** The WAL file header's size, and each frame's header (SQLite's file format). */
const WAL_HEADER = 32
const FRAME_HEADER = 24

export interface WalSyncOptions {
  /** Checkpoint once the WAL holds this many bytes of frames (default CHECKPOINT_BYTES). */
  readonly checkpointBytes?: number
  /** Probe the WAL at most this often (default: PROBE_INTERVAL_MS, 0 below CHECKPOINT_BYTES). */
  readonly probeIntervalMs?: number
  /** Milliseconds, monotonic (tests inject a clock). */
  readonly now?: () => number
}

export class WalSyncer {
  private readonly db: Database
  private readonly walPath: string
  private readonly dbPath: string
  private readonly checkpointBytes: number
  private handle: FileHandle | undefined
  private opening: Promise<FileHandle> | undefined
  private dbHandle: FileHandle | undefined
  private readonly probe = Buffer.alloc(WAL_HEADER)
  private readonly probeIntervalMs: number
  private readonly now: () => number
  private lastProbe = Number.NEGATIVE_INFINITY

  constructor(db: Database, dbPath: string, opts: WalSyncOptions = {}) {
    this.db = db
    this.dbPath = dbPath
    this.walPath = `${dbPath}-wal`
    this.checkpointBytes = opts.checkpointBytes ?? CHECKPOINT_BYTES
    this.probeIntervalMs =
      opts.probeIntervalMs ?? (this.checkpointBytes >= CHECKPOINT_BYTES ? PROBE_INTERVAL_MS : 0)
    this.now = opts.now ?? (() => performance.now())
  }

  /**
   * fdatasync the WAL file (on the thread pool), as SQLite itself syncs its WAL on Linux: the
   * frames and whatever metadata reading them back needs (the size, the blocks of a grown file),
   * not the modification time. The WAL is kept at its size and rewritten in place after a
   * checkpoint, so a full fsync wrote the inode for the mtime alone, one more synchronous disk
   * write per batch.
   */
  async sync(): Promise<void> {
    const h = await this.fileHandle()
    await h.datasync()
  }

  /**
   * True when the current WAL holds frames up to the checkpoint threshold: the frame that ends
   * there carries the salts of the WAL header (see the module comment). Asked after every fsync
   * round, but probes at most every `probeIntervalMs` (false in between); it reads synchronously (an fstat, then two reads of a few bytes from the page
   * cache, microseconds): the thread pool's calls cost far more on the event loop in request,
   * promise and callback machinery.
   */
  async needsCheckpoint(): Promise<boolean> {
    const h = await this.fileHandle()
    if (!this.db.open || this.db.inTransaction) return false
    if (this.probeIntervalMs > 0) {
      const t = this.now()
      if (t - this.lastProbe < this.probeIntervalMs) return false
      this.lastProbe = t
    }
    if (fstatSync(h.fd).size < this.checkpointBytes) return false
    const b = this.probe
    if (readSync(h.fd, b, 0, WAL_HEADER, 0) < WAL_HEADER) return false
    const pageSize = b.readUInt32BE(8)
    const salts = b.readBigUInt64BE(16)
    if (pageSize < 512) return false
    const frame = pageSize + FRAME_HEADER
    const last = Math.max(0, Math.floor((this.checkpointBytes - WAL_HEADER) / frame) - 1)
    if (readSync(h.fd, b, 0, FRAME_HEADER, WAL_HEADER + last * frame) < FRAME_HEADER) return false
    return b.readBigUInt64BE(8) === salts
  }

  /**
   * Copy the WAL into the database file, then fsync that file on the thread pool. The caller must
   * start no write transaction until this resolves (see the module comment). Call it outside a
   * transaction, with every committed frame already in the WAL.
   */
  async checkpoint(): Promise<void> {
    this.db.pragma('wal_checkpoint(PASSIVE)')
    this.dbHandle ??= await open(this.dbPath, 'r')
    await this.dbHandle.sync()
  }

  async close(): Promise<void> {
    const h = this.handle
    const d = this.dbHandle
    this.handle = undefined
    this.dbHandle = undefined
    this.opening = undefined
    await h?.close()
    await d?.close()
  }

  private fileHandle(): Promise<FileHandle> {
    if (this.handle !== undefined) return Promise.resolve(this.handle)
    this.opening ??= open(this.walPath, 'r').then((h) => (this.handle = h))
    return this.opening
  }
}

/** Before `db.close()`: closing checkpoints and removes the WAL, which must then be synced. */
export function prepareClose(db: Database): void {
  if (db.open) db.pragma('synchronous = FULL')
}

/**
 * Switch an open file database to durability off the event loop: `synchronous=OFF`, no automatic
 * checkpoints, a bounded WAL, and the WalSyncer that must then acknowledge every commit (hand it
 * to the connection's one GroupCommit; `openSqlite` does). Returning the syncer, instead of
 * registering it somewhere, is what keeps the pragmas and their syncer from ever being separated.
 */
export function enableAsyncDurability(
  db: Database,
  path: string,
  opts: WalSyncOptions = {},
): WalSyncer {
  db.pragma('synchronous = OFF')
  db.pragma('wal_autocheckpoint = 0')
  // Kept at its size across restarts (the module comment); trimmed only after a huge transaction.
  db.pragma(`journal_size_limit = ${String(2 * (opts.checkpointBytes ?? CHECKPOINT_BYTES))}`)
  return new WalSyncer(db, path, opts)
}
