/**
 * MemoryBlobLedger: the BlobLedger in two Maps, for unit tests and setups without a database.
 * Synchronous underneath (a blob-backed write costs two Map updates), so it adds nothing
 * measurable to the write path. Not durable: after a restart its intents are gone, so only use
 * it where the blobs are not durable either (MemoryBlobStore).
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

export class MemoryBlobLedger implements BlobLedger {
  /** ref → when the intent was recorded. */
  private readonly intents = new Map<string, number>()
  /** ref → when it may be deleted (retired at + grace). */
  private readonly retirements = new Map<string, number>()
  private readonly orphanGraceMs: number
  private readonly retireGraceMs: number

  constructor(opts: BlobLedgerOptions = {}) {
    this.orphanGraceMs = opts.orphanGraceMs ?? DEFAULT_ORPHAN_GRACE_MS
    this.retireGraceMs = opts.retireGraceMs ?? DEFAULT_RETIRE_GRACE_MS
  }

  intend(refs: readonly string[], now: number): Promise<void> {
    for (const r of refs) {
      if (!this.retirements.has(r) && !this.intents.has(r)) this.intents.set(r, now)
    }
    return Promise.resolve()
  }

  settle(refs: readonly string[]): Promise<void> {
    for (const r of refs) this.intents.delete(r)
    return Promise.resolve()
  }

  retire(refs: readonly string[], now: number, graceMs = this.retireGraceMs): Promise<void> {
    for (const r of refs) {
      this.intents.delete(r)
      this.retirements.set(r, now + graceMs)
    }
    return Promise.resolve()
  }

  due(now: number, limit: number): Promise<BlobLedgerDue> {
    return Promise.resolve({
      orphans: older(this.intents, now - this.orphanGraceMs, limit),
      retired: older(this.retirements, now, limit),
    })
  }

  forget(refs: readonly string[]): Promise<void> {
    for (const r of refs) {
      this.intents.delete(r)
      this.retirements.delete(r)
    }
    return Promise.resolve()
  }

  /** One process holds this ledger: it always leads. */
  lead<T>(fn: () => Promise<T>, _role?: LeaderRole): Promise<T | undefined> {
    return fn()
  }
}

/** Refs recorded strictly before `cutoff`, oldest first, at most `limit`. */
function older(m: ReadonlyMap<string, number>, cutoff: number, limit: number): string[] {
  return [...m]
    .filter(([, at]) => at < cutoff)
    .sort((a, b) => a[1] - b[1])
    .slice(0, limit)
    .map(([ref]) => ref)
}
