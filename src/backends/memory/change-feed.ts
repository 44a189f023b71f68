/**
 * The in-process change feed: publish fans out synchronously to every subscriber, in order, so on
 * one node a cache is invalidated before the write that changed it returns. Promises returned by
 * subscribers (reloads from the store) are tracked per sequence number for `applied()`.
 * Also the single-node feed of the SQLite bundle (one process holds the database exclusively).
 * @module
 */
import type { Change, ChangeFeed, ChangeSubscriber } from '../../storage/change-feed.js'

export class MemoryChangeFeed implements ChangeFeed {
  private readonly subscribers = new Set<ChangeSubscriber>()
  private seq = 0
  /** Reloads still running, by the sequence number of the change that started them. */
  private readonly pending = new Map<number, Promise<unknown>>()
  private onError: (err: unknown, c: Change) => void

  constructor(opts: { onError?: (err: unknown, c: Change) => void } = {}) {
    this.onError = opts.onError ?? (() => {})
  }

  /** One process: every change is applied before `publish` returns. */
  get current(): boolean {
    return true
  }

  publish(changes: readonly Change[]): number {
    for (const c of changes) {
      const seq = ++this.seq
      let waits: Promise<unknown>[] | undefined
      for (const s of this.subscribers) {
        let r: void | Promise<void>
        try {
          r = s.change(c, seq)
        } catch (err) {
          this.onError(err, c)
          continue
        }
        if (r !== undefined) (waits ??= []).push(r.catch((err: unknown) => this.onError(err, c)))
      }
      if (waits !== undefined) {
        const all = Promise.all(waits)
        this.pending.set(seq, all)
        void all.then(() => this.pending.delete(seq))
      }
    }
    return this.seq
  }

  head(): number {
    return this.seq
  }

  subscribe(s: ChangeSubscriber): () => void {
    this.subscribers.add(s)
    return () => void this.subscribers.delete(s)
  }

  async applied(seq: number, timeoutMs: number): Promise<boolean> {
    const waits = [...this.pending].filter(([s]) => s <= seq).map(([, p]) => p)
    if (waits.length === 0) return true
    let timer: NodeJS.Timeout | undefined
    const timeout = new Promise<false>((resolve) => {
      timer = setTimeout(() => resolve(false), timeoutMs)
      timer.unref()
    })
    try {
      return await Promise.race([Promise.all(waits).then(() => true as const), timeout])
    } finally {
      clearTimeout(timer)
    }
  }

  async close(): Promise<void> {
    await Promise.all(this.pending.values())
    this.subscribers.clear()
  }
}
