/**
 * Limits that must hold across every node of a cluster, not per process: the per-parent
 * active-session quota, the login throttle, and TOTP replay protection. On one node the memory
 * implementation answers synchronously (the hot path stays as fast as an in-process map); a
 * shared implementation (rows in the database) may answer with promises. Callers always accept
 * both shapes (`Awaitable`).
 *
 * Why the login throttle is reserve → fail | succeed and not "check, then record": a login spends
 * tens of milliseconds in scrypt, and a check made before the hash with the failure recorded after
 * it lets any number of parallel attempts through (300 at once were all evaluated, and the right
 * password among them won). So an attempt is reserved on every key at once (all or none) before
 * anything slow runs and counts as a failure while in flight; it then fails (stays counted) or
 * succeeds (its reservation is released). At most `limit` attempts per key are ever evaluated
 * within a window, however many arrive together and on however many nodes.
 * @module
 */

import type { SessionUsage } from './session-usage.js'

export type Awaitable<T> = T | Promise<T>

/** The login throttle's window: `limit` failures per key within `windowMs`. */
export interface ThrottleOptions {
  readonly limit: number
  readonly windowMs: number
  /** Keys remembered at most (memory bound; least recently touched forgotten first). */
  readonly maxKeys: number
}

export const LOGIN_THROTTLE: ThrottleOptions = {
  limit: 10,
  windowMs: 15 * 60_000,
  maxKeys: 100_000,
}

/** One active session's claim on its parent's quota. */
export interface SessionSlot {
  /** The session's access key id. */
  readonly slotId: string
  readonly quotaKey: string
  /** The slot frees itself at this time (a session is active while expiresAt > now). */
  readonly expiresAt: number
  /** The user at the root of the issuing chain (bulk release when it is deactivated/deleted). */
  readonly userId?: string
  /** The long-term key at the root of the chain (bulk release when it is replaced). */
  readonly originKeyId?: string
}

/** A reserved login attempt: settle it exactly once (later calls do nothing). */
export interface LoginAttempt {
  /** The attempt failed: it stays counted, as a failure at `now`. */
  fail(now: number): Awaitable<void>
  /** The attempt succeeded: its reservation is released (it never counts). */
  succeed(): Awaitable<void>
}

/** Also the upload-cap counters of sessions (session-usage.ts: separate methods and rows). */
export interface SharedLimits extends SessionUsage {
  /**
   * Take a slot for a session about to be issued, unless its quota key already holds `limit`
   * active ones. Atomic: concurrent reservations cannot both take the last slot.
   */
  reserveSlot(slot: SessionSlot, limit: number, now: number): Awaitable<boolean>
  /** Give back one session's slot (revoked, killed, or its insert failed); idempotent. */
  releaseSlot(slotId: string): Awaitable<void>
  /** Give back every slot rooted at this user or long-term key (bulk revocations). */
  releaseSlotsOf(by: 'user' | 'origin-key', id: string): Awaitable<void>

  /**
   * Reserve one login attempt on every key, or on none: the attempt when no key is locked, else
   * the seconds to wait (the longest of the locked keys).
   */
  reserveAttempt(keys: readonly string[], now: number): Awaitable<LoginAttempt | number>
  /** Seconds before the next attempt under `key`, 0 = go. */
  retryAfter(key: string, now: number): Awaitable<number>
  /** Record a failure outside a reservation. */
  recordFailure(key: string, now: number): Awaitable<void>
  /** Forget `key`'s failures (a successful login); attempts still in flight keep counting. */
  clearFailures(key: string): Awaitable<void>

  /**
   * True the first time `value` (or anything at or below it) is claimed under `key` within
   * `ttlMs`: a TOTP time step can be used once, on any node.
   */
  claimOnce(key: string, value: number, ttlMs: number, now: number): Awaitable<boolean>

  /** Forget what has expired by `now` (slots, failures out of the window, old claims, usage counters). */
  sweep(now: number): Awaitable<void>
}
