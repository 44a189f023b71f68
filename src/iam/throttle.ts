/**
 * Login throttling: failures are counted per key (one key per user, one per client address)
 * in a sliding window; at `limit` failures the key is locked until the oldest failure in the
 * window ages out. Memory is bounded: each key keeps at most `limit` timestamps and the table
 * keeps at most `maxKeys` keys (oldest-touched evicted first).
 * @module
 */

export interface ThrottleOptions {
  readonly limit: number
  readonly windowMs: number
  readonly maxKeys: number
}

export const LOGIN_THROTTLE: ThrottleOptions = {
  limit: 10,
  windowMs: 15 * 60_000,
  maxKeys: 100_000,
}

export class FailureThrottle {
  private readonly opts: ThrottleOptions
  /** key → failure times, ascending; Map order = least recently touched first. */
  private readonly failures = new Map<string, number[]>()

  constructor(opts: ThrottleOptions = LOGIN_THROTTLE) {
    this.opts = opts
  }

  private recent(key: string, now: number): number[] {
    const list = this.failures.get(key)
    if (!list) return []
    const live = list.filter((t) => t > now - this.opts.windowMs)
    if (live.length === 0) this.failures.delete(key)
    else if (live.length !== list.length) this.failures.set(key, live)
    return live
  }

  /** Seconds until `key` may try again, or 0 when it is not locked. */
  retryAfter(key: string, now: number): number {
    const live = this.recent(key, now)
    if (live.length < this.opts.limit) return 0
    const oldest = live[live.length - this.opts.limit] ?? now
    return Math.max(1, Math.ceil((oldest + this.opts.windowMs - now) / 1000))
  }

  fail(key: string, now: number): void {
    const live = this.recent(key, now)
    live.push(now)
    if (live.length > this.opts.limit) live.splice(0, live.length - this.opts.limit)
    this.failures.delete(key)
    this.failures.set(key, live)
    while (this.failures.size > this.opts.maxKeys) {
      const first = this.failures.keys().next()
      if (first.done) break
      this.failures.delete(first.value)
    }
  }

  reset(key: string): void {
    this.failures.delete(key)
  }
}
