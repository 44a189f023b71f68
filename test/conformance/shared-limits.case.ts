/**
 * The SharedLimits contract, run against every implementation (memory and SQLite here; a shared
 * database only has to pass it too): the session quota (exact under concurrent reservations,
 * expiry frees a slot, single and bulk release), the login throttle's reserve-before-check
 * semantics (in-flight attempts count, all-or-none across keys, fail keeps counting, succeed
 * releases, clearFailures spares attempts in flight), TOTP step claims, and the sweep.
 */
import { describe, expect, it } from 'vitest'
import type { LoginAttempt, SharedLimits } from '../../src/storage/shared-limits.js'

export interface SharedLimitsHarness {
  /** Throttle: 3 failures per 15 minutes. */
  readonly limits: SharedLimits
  close(): Promise<void>
}

const WINDOW = 15 * 60_000
const T0 = Date.UTC(2026, 0, 1)

async function reserved(r: LoginAttempt | number | Promise<LoginAttempt | number>) {
  const got = await r
  if (typeof got === 'number') throw new Error(`refused, retry after ${got} s`)
  return got
}

export function sharedLimitsConformance(
  name: string,
  open: () => Promise<SharedLimitsHarness>,
): void {
  describe(`SharedLimits conformance: ${name}`, () => {
    async function withLimits(fn: (l: SharedLimits) => Promise<void>): Promise<void> {
      const h = await open()
      try {
        await fn(h.limits)
      } finally {
        await h.close()
      }
    }
    const slot = (
      id: string,
      over: { expiresAt?: number; userId?: string; origin?: string } = {},
    ) => ({
      slotId: id,
      quotaKey: 'user:u1',
      expiresAt: over.expiresAt ?? T0 + 3600_000,
      ...(over.userId !== undefined ? { userId: over.userId } : {}),
      ...(over.origin !== undefined ? { originKeyId: over.origin } : {}),
    })

    it('session quota: exact under concurrent reservations; release frees one slot', async () => {
      await withLimits(async (l) => {
        const got = await Promise.all(
          ['a', 'b', 'c', 'd', 'e'].map((id) => l.reserveSlot(slot(id), 3, T0)),
        )
        expect(got.filter(Boolean)).toHaveLength(3)
        expect(await l.reserveSlot({ ...slot('x'), quotaKey: 'user:other' }, 3, T0)).toBe(true)
        const held = ['a', 'b', 'c', 'd', 'e'].filter((_, i) => got[i])
        await l.releaseSlot(held[0]!)
        await l.releaseSlot(held[0]!) // idempotent
        expect(await l.reserveSlot(slot('f'), 3, T0)).toBe(true)
        expect(await l.reserveSlot(slot('g'), 3, T0)).toBe(false)
      })
    })

    it('session quota: expired slots free themselves; bulk release by user and origin key', async () => {
      await withLimits(async (l) => {
        expect(await l.reserveSlot(slot('a', { expiresAt: T0 + 10 }), 2, T0)).toBe(true)
        expect(await l.reserveSlot(slot('b', { userId: 'u1', origin: 'K1' }), 2, T0)).toBe(true)
        expect(await l.reserveSlot(slot('c'), 2, T0)).toBe(false)
        expect(await l.reserveSlot(slot('c'), 2, T0 + 10)).toBe(true)
        expect(await l.reserveSlot(slot('d'), 2, T0 + 10)).toBe(false)
        await l.releaseSlotsOf('origin-key', 'K1')
        expect(await l.reserveSlot(slot('d', { userId: 'u1' }), 2, T0 + 10)).toBe(true)
        await l.releaseSlotsOf('user', 'u1')
        expect(await l.reserveSlot(slot('e'), 2, T0 + 10)).toBe(true)
        await l.sweep(T0 + 20)
        expect(await l.reserveSlot(slot('f'), 2, T0 + 20)).toBe(false)
      })
    })

    it('login throttle: in-flight attempts count; all-or-none across keys; failures lock', async () => {
      await withLimits(async (l) => {
        const held = await Promise.all(
          [0, 1, 2].map(() => reserved(l.reserveAttempt(['u:alice', 'a:1.1.1.1'], T0))),
        )
        expect(await l.reserveAttempt(['u:alice', 'a:2.2.2.2'], T0)).toBe(1)
        expect(await l.reserveAttempt(['u:bob', 'a:1.1.1.1'], T0)).toBe(1)
        // Refused on one key: nothing was reserved on the other.
        expect(await l.retryAfter('u:bob', T0)).toBe(0)
        const bob = await reserved(l.reserveAttempt(['u:bob', 'a:2.2.2.2'], T0))
        await bob.succeed()
        for (const a of held) await a.fail(T0)
        expect(await l.reserveAttempt(['u:alice', 'a:3.3.3.3'], T0 + 1000)).toBe(WINDOW / 1000 - 1)
        expect(await l.retryAfter('a:1.1.1.1', T0 + 1000)).toBe(WINDOW / 1000 - 1)
        expect(await l.retryAfter('u:alice', T0 + WINDOW + 1)).toBe(0)
      })
    })

    it('login throttle: a success releases its reservation, clearFailures spares attempts in flight', async () => {
      await withLimits(async (l) => {
        const a = await reserved(l.reserveAttempt(['u:alice'], T0))
        const b = await reserved(l.reserveAttempt(['u:alice'], T0))
        await a.succeed()
        await a.fail(T0) // settled once: ignored
        await b.fail(T0)
        await l.recordFailure('u:alice', T0)
        expect(await l.retryAfter('u:alice', T0)).toBe(0) // 2 failures, limit 3
        const c = await reserved(l.reserveAttempt(['u:alice'], T0))
        expect(await l.retryAfter('u:alice', T0)).toBeGreaterThan(0)
        await l.clearFailures('u:alice')
        // c is still being checked: it counts, the two failures do not.
        expect(await l.retryAfter('u:alice', T0)).toBe(0)
        await reserved(l.reserveAttempt(['u:alice'], T0))
        await reserved(l.reserveAttempt(['u:alice'], T0))
        expect(await l.reserveAttempt(['u:alice'], T0)).toBe(1)
        await c.succeed()
      })
    })

    it('TOTP claims: a value (or a lower one) is accepted once within the ttl', async () => {
      await withLimits(async (l) => {
        expect(await l.claimOnce('totp:u1', 100, 90_000, T0)).toBe(true)
        expect(await l.claimOnce('totp:u1', 100, 90_000, T0)).toBe(false)
        expect(await l.claimOnce('totp:u1', 99, 90_000, T0)).toBe(false)
        expect(await l.claimOnce('totp:u2', 100, 90_000, T0)).toBe(true)
        expect(await l.claimOnce('totp:u1', 101, 90_000, T0 + 30_000)).toBe(true)
        expect(await l.claimOnce('totp:u1', 101, 90_000, T0 + 30_000)).toBe(false)
        await l.sweep(T0 + 200_000)
        expect(await l.claimOnce('totp:u1', 101, 90_000, T0 + 200_000)).toBe(true)
        // Concurrent claims of the same step: exactly one wins.
        const both = await Promise.all([
          l.claimOnce('totp:u3', 7, 90_000, T0),
          l.claimOnce('totp:u3', 7, 90_000, T0),
        ])
        expect(both.filter(Boolean)).toHaveLength(1)
      })
    })
  })
}
