/**
 * The SharedLimits contract, run against every implementation (memory and SQLite here; a shared
 * database only has to pass it too): the session quota (exact under concurrent reservations,
 * expiry frees a slot, single and bulk release), the login throttle's reserve-before-check
 * semantics (in-flight attempts count, all-or-none across keys, fail keeps counting, succeed
 * releases, clearFailures spares attempts in flight), TOTP step claims, and the sweep.
 */
import { describe, expect, it } from 'vitest'
import type { IssueRule, LoginAttempt, SharedLimits } from '../../src/storage/shared-limits.js'

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
    const rule = (over: Partial<IssueRule> = {}): IssueRule => ({
      rate: 10,
      burst: 3,
      maxActive: 1000,
      ...over,
    })

    it('issuance bucket: exact under concurrent issues; refills at the rate; keys apart', async () => {
      await withLimits(async (l) => {
        const got = await Promise.all([0, 1, 2, 3, 4].map(() => l.takeIssue('user:u1', rule(), T0)))
        expect(got.filter((v) => v === true)).toHaveLength(3)
        const refused = got.find((v) => v !== true)
        expect(refused).toEqual({ limit: 'rate', retryAfterMs: 100 })
        expect(await l.takeIssue('user:other', rule(), T0)).toBe(true)
        // 10 per second: one token back after 100 ms, not before.
        expect(await l.takeIssue('user:u1', rule(), T0 + 99)).not.toBe(true)
        expect(await l.takeIssue('user:u1', rule(), T0 + 100)).toBe(true)
        expect(await l.takeIssue('user:u1', rule(), T0 + 100)).not.toBe(true)
        // Never more than the burst, however long the quiet spell.
        const later = T0 + 3_600_000
        const burst = await Promise.all(
          [0, 1, 2, 3].map(() => l.takeIssue('user:u1', rule(), later)),
        )
        expect(burst.filter((v) => v === true)).toHaveLength(3)
      })
    })

    it('held-session ceiling: counted on issue, lowered by untake and by swept sessions', async () => {
      await withLimits(async (l) => {
        const r = rule({ burst: 100, maxActive: 2 })
        expect(await l.takeIssue('user:u1', r, T0)).toBe(true)
        expect(await l.takeIssue('user:u1', r, T0)).toBe(true)
        expect(await l.takeIssue('user:u1', r, T0)).toEqual({ limit: 'active', active: 2 })
        await l.untakeIssue('user:u1')
        expect(await l.heldSessions()).toBe(1)
        expect(await l.takeIssue('user:u1', r, T0)).toBe(true)
        await l.sessionsEnded(
          new Map([
            ['user:u1', 2],
            ['user:nobody', 5],
          ]),
        )
        expect(await l.takeIssue('user:u1', r, T0)).toBe(true)
        expect(await l.takeIssue('user:u1', r, T0)).toBe(true)
        expect(await l.takeIssue('user:u1', r, T0)).toEqual({ limit: 'active', active: 2 })
        // A sweep of the limits forgets nothing still held.
        await l.sweep(T0 + 3_600_000)
        expect(await l.takeIssue('user:u1', r, T0 + 3_600_000)).toEqual({
          limit: 'active',
          active: 2,
        })
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
