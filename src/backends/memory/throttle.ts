/**
 * Login throttling: failures are counted per key (one key per user, one per client address) in a
 * sliding window; at `limit` the key is locked until the oldest failure in the window ages out.
 *
 * Why attempts are reserved: a login spends tens of milliseconds in scrypt, and a check made
 * before the hash with a count recorded after it lets any number of parallel attempts through
 * (300 at once were all evaluated, and the right password among them won). So `reserve` counts an
 * attempt as a failure up front, synchronously and for every key at once (all or none), before
 * the caller awaits anything; the attempt then either `fail`s (it stays counted) or `succeed`s
 * (its reservation is released). In-flight attempts count toward the limit, so at most `limit`
 * attempts per key are ever evaluated within a window, however many arrive together.
 *
 * Memory is bounded: a key keeps at most `limit` failure times plus at most `limit` in-flight
 * attempts (a reservation is refused at the limit), and the table keeps at most `maxKeys` keys
 * (least recently touched evicted first). An attempt never settled (a caller bug) stops counting
 * after the window, like a failure.
 * @module
 */

import { LOGIN_THROTTLE, type ThrottleOptions } from '../../storage/shared-limits.js'
import { OldestFirst } from '../../lib/oldest-first.js'

export { LOGIN_THROTTLE, type ThrottleOptions }

/** One in-flight attempt (its start time); identity matters, several may share a time. */
interface Attempt {
  readonly at: number
}

interface KeyState {
  /** Failure times, ascending. */
  failures: number[]
  /** Attempts reserved and not yet settled, oldest first. */
  pending: Attempt[]
}

/** A reserved attempt: settle it exactly once (later calls do nothing). */
export interface LoginAttempt {
  /** The attempt failed: it stays counted, as a failure at `now`. */
  fail(now: number): void
  /** The attempt succeeded: its reservation is released (it never counts). */
  succeed(): void
}

export class FailureThrottle {
  private readonly opts: ThrottleOptions
  /** key → state; Map order = least recently touched first. */
  private readonly keys = new Map<string, KeyState>()
  /** Eviction's place in `keys` (lib/oldest-first.ts: no walk over deleted entries). */
  private readonly oldest = new OldestFirst<string>(this.keys)

  constructor(opts: ThrottleOptions = LOGIN_THROTTLE) {
    this.opts = opts
  }

  /** The key's state with entries older than the window dropped (undefined when empty). */
  private live(key: string, now: number): KeyState | undefined {
    const s = this.keys.get(key)
    if (!s) return undefined
    const from = now - this.opts.windowMs
    if (s.failures.length > 0 && (s.failures[0] as number) <= from)
      s.failures = s.failures.filter((t) => t > from)
    if (s.pending.length > 0 && (s.pending[0] as Attempt).at <= from)
      s.pending = s.pending.filter((a) => a.at > from)
    if (s.failures.length === 0 && s.pending.length === 0) {
      this.keys.delete(key)
      return undefined
    }
    return s
  }

  /** Move `key` to the most recently touched end, creating it; evict beyond maxKeys. */
  private touch(key: string, s: KeyState | undefined): KeyState {
    const state = s ?? { failures: [], pending: [] }
    this.keys.delete(key)
    this.keys.set(key, state)
    while (this.keys.size > this.opts.maxKeys) {
      const first = this.oldest.next()
      if (first === undefined) break
      this.keys.delete(first)
    }
    return state
  }

  /**
   * Seconds until `key` may try again, or 0 when it is not locked. Locked by failures: until the
   * oldest of the last `limit` ages out. Locked only because attempts are still being checked:
   * 1, since they settle within a password hash (and those that fail then lock it for longer).
   */
  retryAfter(key: string, now: number): number {
    const s = this.live(key, now)
    if (!s || s.failures.length + s.pending.length < this.opts.limit) return 0
    const oldest = s.failures[s.failures.length - this.opts.limit]
    if (oldest === undefined) return 1
    return Math.max(1, Math.ceil((oldest + this.opts.windowMs - now) / 1000))
  }

  /**
   * Reserve one attempt on every key, or on none: the attempt when no key is at its limit, else
   * the seconds to wait (the longest of the locked keys). Synchronous, so parallel callers are
   * counted one after another.
   */
  reserve(keys: readonly string[], now: number): LoginAttempt | number {
    let wait = 0
    for (const k of keys) wait = Math.max(wait, this.retryAfter(k, now))
    if (wait > 0) return wait
    const attempt: Attempt = { at: now }
    for (const k of keys) this.touch(k, this.live(k, now)).pending.push(attempt)
    let settled = false
    const settle = (failedAt: number | undefined): void => {
      if (settled) return
      settled = true
      for (const k of keys) {
        const s = this.keys.get(k)
        const i = s ? s.pending.indexOf(attempt) : -1
        if (s && i >= 0) s.pending.splice(i, 1)
        if (failedAt !== undefined) this.recordFailure(k, failedAt)
        else if (s && s.failures.length === 0 && s.pending.length === 0) this.keys.delete(k)
      }
    }
    return { fail: (t) => settle(t), succeed: () => settle(undefined) }
  }

  private recordFailure(key: string, now: number): void {
    const s = this.touch(key, this.live(key, now))
    s.failures.push(now)
    if (s.failures.length > this.opts.limit)
      s.failures.splice(0, s.failures.length - this.opts.limit)
  }

  /** Record a failure outside a reservation. */
  fail(key: string, now: number): void {
    this.recordFailure(key, now)
  }

  /** Forget `key`'s failures (a successful login); attempts still in flight keep counting. */
  reset(key: string): void {
    const s = this.keys.get(key)
    if (!s) return
    s.failures = []
    if (s.pending.length === 0) this.keys.delete(key)
  }
}
