/**
 * Limits that must hold across every node of a cluster, not per process: the per-parent
 * session issuance rate (a token bucket) with its high ceiling on sessions held, the login
 * throttle, and TOTP replay protection. On one node the memory
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
 *
 * Why issuance is a rate and not an active-session cap: one master key minting a credential per
 * browser upload holds as many live sessions as uploads in the last hour (or three months), so a
 * small cap refused a legitimate flow while a rate is what bounds abuse (what one key can make
 * the server write per second). Each parent (quota key) has a bucket of `burst` tokens refilled at
 * `rate` per second; an issue takes one. The ceiling on sessions held is a counter beside it,
 * never a count over the sessions table: +1 when a session is issued, −n when the sweep deletes
 * n of its rows (expired, or revoked: a deleted row is refused like a revoked one). So it counts
 * "issued and not yet swept": a revoked or expired session still counts until the next sweep
 * (a minute), which a safety bound of a million can afford.
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

/** A parent's issuance limits (the defaults, or its account's override). */
export interface IssueRule {
  /** Tokens added per second (sessions per second, sustained). */
  readonly rate: number
  /** Bucket size: sessions that may be issued back to back after a quiet spell (>= 1). */
  readonly burst: number
  /** Sessions the parent may hold: issued and not yet swept (>= 1). */
  readonly maxActive: number
}

/** takeIssue's answer: issued (true), or which limit refused it. */
export type IssueVerdict =
  | true
  | { readonly limit: 'rate'; readonly retryAfterMs: number }
  | { readonly limit: 'active'; readonly active: number }

/** A reserved login attempt: settle it exactly once (later calls do nothing). */
export interface LoginAttempt {
  /** The attempt failed: it stays counted, as a failure at `now`. */
  fail(now: number): Awaitable<void>
  /** The attempt succeeded: its reservation is released (it never counts). */
  succeed(): Awaitable<void>
}

/** Also the upload-cap counters of sessions (session-usage.ts: separate methods and rows). */
export interface SharedLimits extends SessionUsage {
  // --- session issuance (one token bucket and one held-sessions counter per quota key) --------

  /**
   * Take one token from `quotaKey`'s bucket and count one more session held, unless the bucket
   * is empty or the parent holds `rule.maxActive`. Atomic per quota key on every node: two
   * issues never both take the last token.
   */
  takeIssue(quotaKey: string, rule: IssueRule, now: number): Awaitable<IssueVerdict>
  /** The session takeIssue counted was not stored after all: count it no longer. */
  untakeIssue(quotaKey: string): Awaitable<void>
  /** The sweep deleted these sessions' rows: lower each quota key's count by its number. */
  sessionsEnded(ended: ReadonlyMap<string, number>): Awaitable<void>
  /** Sessions held by every parent together (the metrics gauge: a sum, never a count of rows). */
  heldSessions(): Awaitable<number>

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

  /** Forget what has expired by `now` (full idle buckets, failures out of the window, old claims, usage counters). */
  sweep(now: number): Awaitable<void>
}
