/**
 * Group commit for one SQLite connection: mutations are queued and run together in ONE
 * transaction on the next `setImmediate` tick (or as soon as `maxBatch` are waiting), so N
 * concurrent writes cost one WAL fsync instead of N. Each op runs in its own SAVEPOINT: an op
 * that throws is rolled back alone and rejects only its own promise. Every promise settles only
 * after COMMIT returned (durable with synchronous=FULL), in queue order.
 * One instance per connection, owned by the SQLite bundle (index.ts), so metadata and identity
 * writes batch together and the connection's WalSyncer (if any) acknowledges every batch.
 * @module
 */
import { StorageError } from '../../storage/errors.js'
import { secondsSince, type StorageTimings } from '../../storage/timings.js'
import { prepare, type Database } from './db.js'
import type { WalSyncer } from './wal-sync.js'

interface QueuedOp {
  readonly run: () => unknown
  readonly resolve: (v: unknown) => void
  readonly reject: (e: unknown) => void
}

export class GroupCommit {
  private readonly db: Database
  private readonly maxBatch: number
  private queue: QueuedOp[] = []
  private scheduled = false
  private readonly syncer: WalSyncer | undefined
  private readonly timings: StorageTimings | undefined
  /** Committed batches waiting for an fsync that starts after their COMMIT. */
  private unsynced: (() => void)[] = []
  private failUnsynced: ((e: unknown) => void)[] = []
  private syncing: Promise<void> | undefined
  /** True while a checkpoint's database fsync runs: no new transaction may start. */
  private holding = false

  /**
   * `syncer`: the WalSyncer of a connection under async durability (`enableAsyncDurability`);
   * without one, COMMIT itself must be durable (synchronous=FULL).
   */
  constructor(
    db: Database,
    opts: {
      readonly maxBatch?: number
      readonly syncer?: WalSyncer | undefined
      readonly timings?: StorageTimings
    } = {},
  ) {
    this.db = db
    this.maxBatch = Math.max(1, opts.maxBatch ?? 512)
    this.syncer = opts.syncer
    this.timings = opts.timings
  }

  /** Commit what is queued and wait until every committed batch is durable (close paths). */
  async drain(): Promise<void> {
    this.flush()
    while (this.syncing !== undefined) await this.syncing
  }

  /** fsync rounds: each takes every batch committed before it starts; loops while more arrive. */
  private startSync(): void {
    if (this.syncing !== undefined || this.syncer === undefined) return
    const syncer = this.syncer
    const round = async (): Promise<void> => {
      while (this.unsynced.length > 0) {
        const done = this.unsynced
        const fail = this.failUnsynced
        this.unsynced = []
        this.failUnsynced = []
        try {
          const t0 = performance.now()
          await syncer.sync()
          this.timings?.fsync(secondsSince(t0))
        } catch (err) {
          const e = new StorageError(
            'unavailable',
            'fsync of the write-ahead log failed',
            {},
            { cause: err },
          )
          for (const f of fail) f(e)
          continue
        }
        for (const d of done) d()
        await this.maybeCheckpoint(syncer)
      }
    }
    this.syncing = round().finally(() => {
      this.syncing = undefined
      if (this.unsynced.length > 0) this.startSync()
    })
  }

  /**
   * Checkpoint a large WAL without fsyncing on the event loop. Writes queue up meanwhile: no
   * transaction may restart the WAL before the database file is durable (wal-sync.ts). A failed
   * checkpoint leaves the WAL as it was; the next round tries again.
   */
  private async maybeCheckpoint(syncer: WalSyncer): Promise<void> {
    try {
      if (!(await syncer.needsCheckpoint())) return
    } catch {
      return
    }
    this.holding = true
    try {
      const t0 = performance.now()
      await syncer.checkpoint()
      this.timings?.fsync(secondsSince(t0))
    } catch {
      // keep the WAL; retried after the next fsync round
    } finally {
      this.holding = false
      this.flush()
    }
  }

  /** Queue `fn` (synchronous SQL only); resolves with its result once its batch committed. */
  run<T>(fn: () => T): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ run: fn, resolve: resolve as (v: unknown) => void, reject })
      if (this.queue.length >= this.maxBatch) this.flush()
      else if (!this.scheduled) {
        this.scheduled = true
        setImmediate(() => {
          this.scheduled = false
          this.flush()
        })
      }
    })
  }

  /** Commit everything queued now (close paths, tests). */
  flush(): void {
    // During a checkpoint's database fsync the queue waits; maybeCheckpoint flushes it after.
    if (this.holding) return
    const batch = this.queue
    this.queue = []
    if (batch.length === 0) return
    if (!this.db.open) {
      const closed = new StorageError('unavailable', 'database is closed')
      for (const op of batch) op.reject(closed)
      return
    }
    const outcomes: { ok: boolean; value: unknown }[] = []
    const t0 = performance.now()
    try {
      prepare(this.db, 'BEGIN IMMEDIATE').run()
      for (const op of batch) {
        prepare(this.db, 'SAVEPOINT op').run()
        try {
          const value = op.run()
          prepare(this.db, 'RELEASE op').run()
          outcomes.push({ ok: true, value })
        } catch (err) {
          prepare(this.db, 'ROLLBACK TO op').run()
          prepare(this.db, 'RELEASE op').run()
          outcomes.push({ ok: false, value: err })
        }
      }
      prepare(this.db, 'COMMIT').run()
      this.timings?.commit(secondsSince(t0))
    } catch (err) {
      if (this.db.inTransaction) {
        try {
          this.db.exec('ROLLBACK')
        } catch {
          // already rolled back by SQLite
        }
      }
      const failure = new StorageError('unavailable', 'commit failed', {}, { cause: err })
      for (const op of batch) op.reject(failure)
      return
    }
    const settle = (): void =>
      batch.forEach((op, i) => {
        const o = outcomes[i]
        if (o?.ok === true) op.resolve(o.value)
        else op.reject(o?.value)
      })
    if (this.syncer === undefined) {
      settle() // synchronous=FULL: COMMIT itself was durable
      return
    }
    this.unsynced.push(settle)
    this.failUnsynced.push((e) => {
      for (const op of batch) op.reject(e)
    })
    this.startSync()
  }
}
