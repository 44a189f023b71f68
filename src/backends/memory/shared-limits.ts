/**
 * SharedLimits in process memory: the single-node fast path. Every answer is synchronous (no
 * promise on the AssumeRole or login path), from today's structures: the per-parent session
 * quota (session-quota.ts, a heap per quota key), the login throttle with reservations taken
 * before the password hash (throttle.ts) and the last TOTP step claimed per key. Nothing is
 * shared with another process and nothing survives a restart; the SQLite bundle uses
 * backends/sqlite/shared-limits.ts instead.
 * @module
 */
import {
  LOGIN_THROTTLE,
  type LoginAttempt,
  type SessionSlot,
  type SharedLimits,
  type ThrottleOptions,
} from '../../storage/shared-limits.js'
import { SessionQuota, type SlotInfo } from './session-quota.js'
import { FailureThrottle } from './throttle.js'
import { MemorySessionUsage } from './session-usage.js'
import type { UsageCaps, UsageDelta, UsageRefusal } from '../../storage/session-usage.js'

/** A session slot in SessionQuota's terms. */
export function slotInfo(s: SessionSlot): SlotInfo {
  return {
    accessKeyId: s.slotId,
    quotaKey: s.quotaKey,
    expiresAt: s.expiresAt,
    ...(s.userId !== undefined ? { userId: s.userId } : {}),
    ...(s.originKeyId !== undefined ? { originKeyId: s.originKeyId } : {}),
  }
}

/** Session slots in memory, shared by the memory and SQLite limits (see SqliteSharedLimits). */
export class MemorySessionSlots {
  protected readonly quota = new SessionQuota()

  reserveSlot(slot: SessionSlot, limit: number, now: number): boolean {
    return this.quota.tryReserve(slotInfo(slot), now, limit)
  }

  /** Count an existing active session (rebuilding the index at open). */
  addSlot(slot: SessionSlot, now: number): void {
    this.quota.add(slotInfo(slot), now)
  }

  releaseSlot(slotId: string): void {
    this.quota.release(slotId)
  }

  releaseSlotsOf(by: 'user' | 'origin-key', id: string): void {
    if (by === 'user') this.quota.releaseWhere((s) => s.userId === id)
    else this.quota.releaseWhere((s) => s.originKeyId === id)
  }

  /** Active sessions charged to `quotaKey` (tests and diagnostics). */
  activeSlots(quotaKey: string, now: number): number {
    return this.quota.active(quotaKey, now)
  }
}

export class MemorySharedLimits extends MemorySessionSlots implements SharedLimits {
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
    this.quota.sweep(now)
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
