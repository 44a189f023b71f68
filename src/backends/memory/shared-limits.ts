/**
 * SharedLimits in process memory: the single-node fast path. Every answer is synchronous (no
 * promise on the AssumeRole or login path), from today's structures: the per-parent issuance
 * buckets (issue-buckets.ts, one entry per parent), the login throttle with reservations taken
 * before the password hash (throttle.ts) and the last TOTP step claimed per key. Nothing is
 * shared with another process and nothing survives a restart; the SQLite bundle uses
 * backends/sqlite/shared-limits.ts instead.
 * @module
 */
import {
  LOGIN_THROTTLE,
  type IssueRule,
  type IssueVerdict,
  type LoginAttempt,
  type ThrottleOptions,
} from '../../storage/shared-limits.js'
import type { SharedLimits } from '../../storage/shared-limits.js'
import { IssueBuckets } from './issue-buckets.js'
import { FailureThrottle } from './throttle.js'
import { MemorySessionUsage } from './session-usage.js'
import type { UsageCaps, UsageDelta, UsageRefusal } from '../../storage/session-usage.js'

/** Issuance buckets in memory, shared by the memory and SQLite limits (see SqliteSharedLimits). */
export class MemoryIssueLimits {
  protected readonly buckets = new IssueBuckets()

  takeIssue(quotaKey: string, rule: IssueRule, now: number): IssueVerdict {
    return this.buckets.take(quotaKey, rule, now)
  }

  untakeIssue(quotaKey: string): void {
    this.buckets.untake(quotaKey)
  }

  sessionsEnded(ended: ReadonlyMap<string, number>): void {
    this.buckets.ended(ended)
  }

  heldSessions(): number {
    return this.buckets.total()
  }

  /** Sessions counted as held by `quotaKey` (tests and diagnostics). */
  activeSessions(quotaKey: string): number {
    return this.buckets.active(quotaKey)
  }
}

export class MemorySharedLimits extends MemoryIssueLimits implements SharedLimits {
  private readonly throttle: FailureThrottle
  /** key → [highest value claimed, when the claim lapses] */
  private readonly claims = new Map<string, { value: number; until: number }>()

  constructor(opts: { readonly throttle?: ThrottleOptions } = {}) {
    super()
    this.throttle = new FailureThrottle(opts.throttle ?? LOGIN_THROTTLE)
  }

  reserveAttempt(keys: readonly string[], now: number): LoginAttempt | number {
    return this.throttle.reserve(keys, now)
  }

  retryAfter(key: string, now: number): number {
    return this.throttle.retryAfter(key, now)
  }

  recordFailure(key: string, now: number): void {
    this.throttle.fail(key, now)
  }

  clearFailures(key: string): void {
    this.throttle.reset(key)
  }

  claimOnce(key: string, value: number, ttlMs: number, now: number): boolean {
    const c = this.claims.get(key)
    if (c !== undefined && c.until > now && value <= c.value) return false
    this.claims.set(key, { value, until: now + ttlMs })
    return true
  }

  sweep(now: number): void {
    this.buckets.sweep(now)
    this.usage.sweepUsage(now)
    for (const [k, c] of this.claims) if (c.until <= now) this.claims.delete(k)
  }

  // --- upload-cap counters (storage/session-usage.ts), in process ---------------------------

  private readonly usage = new MemorySessionUsage()

  reserveUsage(
    key: string,
    delta: UsageDelta,
    caps: UsageCaps,
    expiresAt: number,
  ): UsageRefusal | undefined {
    return this.usage.reserveUsage(key, delta, caps, expiresAt)
  }

  commitUsage(key: string, reserved: UsageDelta, stored: UsageDelta): void {
    this.usage.commitUsage(key, reserved, stored)
  }

  releaseUsage(key: string, delta: UsageDelta): void {
    this.usage.releaseUsage(key, delta)
  }

  usageOf(keys: readonly string[]): ReadonlyMap<string, UsageDelta> {
    return this.usage.usageOf(keys)
  }
}
