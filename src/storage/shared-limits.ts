/**
 * Limits that must hold across every node of a cluster, not per process: the per-parent
 * active-session quota, the login throttle, and TOTP replay protection. On one node the memory
 * implementation answers synchronously (the hot path stays as fast as an in-process map); a
 * shared implementation (rows under a lock in the database) answers with promises. Callers always
 * `await` the answer, so both shapes fit.
 * @module
 */

export type Awaitable<T> = T | Promise<T>

export interface SharedLimits {
  /**
   * Take one of `limit` slots under `quotaKey` for `slotId` until `expiresAt` (expired slots free
   * themselves). False when the quota is full.
   */
  reserveSlot(
    quotaKey: string,
    slotId: string,
    expiresAt: number,
    limit: number,
    now: number,
  ): Awaitable<boolean>
  releaseSlot(quotaKey: string, slotId: string): Awaitable<void>
  /** Login throttle: seconds to wait before the next attempt under `key`, 0 = go. */
  retryAfter(key: string, now: number): Awaitable<number>
  recordFailure(key: string, now: number): Awaitable<void>
  clearFailures(key: string): Awaitable<void>
  /**
   * True the first time `value` (or anything at or below it) is claimed under `key` within
   * `ttlMs`: a TOTP time step can be used once, on any node.
   */
  claimOnce(key: string, value: number, ttlMs: number, now: number): Awaitable<boolean>
}
