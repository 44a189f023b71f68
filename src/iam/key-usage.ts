/**
 * When each access key was last used (the console's users page), kept without costing the
 * requests that use them: `note` runs after the answer is sent (compose's onRequestDone), only
 * touches memory, and lets a key through at most once a minute on this node; the noted times
 * are written in one batch a second later, off every request's path, and published on no feed
 * (nothing cached depends on them). A node that dies loses at most the last second's batch.
 * @module
 */
import type { Logger } from '../lib/logger.js'
import type { IdentityStore } from '../storage/identity-store.js'

/** A key's use is recorded at most this often (per node). */
export const KEY_USE_RESOLUTION_MS = 60_000
const FLUSH_DELAY_MS = 1000
/** Keys remembered for the once-a-minute check; past this the memory starts over. */
const MAX_REMEMBERED = 100_000

export class KeyUsage {
  private readonly store: Pick<IdentityStore, 'touchAccessKeys' | 'accessKeysLastUsed'>
  private readonly log: Logger
  /** Access key id → when this node last let a use through. */
  private readonly noted = new Map<string, number>()
  private pending = new Map<string, number>()
  private timer: ReturnType<typeof setTimeout> | undefined
  private flushing: Promise<void> = Promise.resolve()

  constructor(store: Pick<IdentityStore, 'touchAccessKeys' | 'accessKeysLastUsed'>, log: Logger) {
    this.store = store
    this.log = log
  }

  /** A request signed with `accessKeyId` was served at `now`. Synchronous, never throws. */
  note(accessKeyId: string, now: number): void {
    const last = this.noted.get(accessKeyId)
    if (last !== undefined && now - last < KEY_USE_RESOLUTION_MS && now >= last) return
    if (this.noted.size >= MAX_REMEMBERED) this.noted.clear()
    this.noted.set(accessKeyId, now)
    this.pending.set(accessKeyId, now)
    if (this.timer === undefined) {
      this.timer = setTimeout(() => void this.flush(), FLUSH_DELAY_MS)
      this.timer.unref?.()
    }
  }

  /** Write what is pending (also on shutdown). */
  flush(): Promise<void> {
    if (this.timer !== undefined) clearTimeout(this.timer)
    this.timer = undefined
    const batch = this.pending
    if (batch.size === 0) return this.flushing
    this.pending = new Map()
    this.flushing = this.flushing
      .then(() => this.store.touchAccessKeys(batch))
      .catch((err: unknown) =>
        this.log.warn({ err: (err as Error).message }, 'could not record access key use'),
      )
    return this.flushing
  }

  /** When each key was last used: the store's times, with this node's unwritten ones on top. */
  async lastUsed(): Promise<ReadonlyMap<string, number>> {
    const stored = await this.store.accessKeysLastUsed()
    if (this.pending.size === 0) return stored
    const out = new Map(stored)
    for (const [id, at] of this.pending) out.set(id, Math.max(out.get(id) ?? 0, at))
    return out
  }
}
