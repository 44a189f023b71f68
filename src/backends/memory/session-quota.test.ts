/**
 * SessionQuota against a naive model (a list of sessions counted by filtering), under random
 * interleavings of reserve, release, bulk release, time passing and sweeps.
 * @module
 */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { SessionQuota, type SlotInfo } from './session-quota.js'

type Op =
  | {
      readonly kind: 'reserve'
      readonly quota: number
      readonly ttl: number
      readonly user: number
      readonly origin: number
    }
  | { readonly kind: 'release'; readonly pick: number }
  | { readonly kind: 'byUser'; readonly user: number }
  | { readonly kind: 'byOrigin'; readonly origin: number }
  | { readonly kind: 'tick'; readonly ms: number }
  | { readonly kind: 'sweep' }

const op: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({
      kind: fc.constant('reserve' as const),
      quota: fc.nat(2),
      ttl: fc.integer({ min: 1, max: 50 }),
      user: fc.nat(2),
      origin: fc.nat(2),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({ kind: fc.constant('release' as const), pick: fc.nat(1000) }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('byUser' as const), user: fc.nat(2) }) },
  {
    weight: 1,
    arbitrary: fc.record({ kind: fc.constant('byOrigin' as const), origin: fc.nat(2) }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('tick' as const),
      ms: fc.integer({ min: 1, max: 20 }),
    }),
  },
  { weight: 1, arbitrary: fc.constant({ kind: 'sweep' as const }) },
)

describe('SessionQuota', () => {
  it('counts exactly what a scan of the active sessions would count', () => {
    fc.assert(
      fc.property(
        fc.array(op, { maxLength: 200 }),
        fc.integer({ min: 1, max: 6 }),
        (ops, limit) => {
          const q = new SessionQuota()
          let model: SlotInfo[] = []
          let now = 1000
          let n = 0
          const activeIn = (quotaKey: string): number =>
            model.filter((s) => s.quotaKey === quotaKey && s.expiresAt > now).length
          for (const o of ops) {
            switch (o.kind) {
              case 'reserve': {
                const s: SlotInfo = {
                  accessKeyId: `k${String(n++)}`,
                  quotaKey: `q${String(o.quota)}`,
                  expiresAt: now + o.ttl,
                  userId: `u${String(o.user)}`,
                  originKeyId: `o${String(o.origin)}`,
                }
                const room = activeIn(s.quotaKey) < limit
                expect(q.tryReserve(s, now, limit)).toBe(room)
                if (room) model.push(s)
                break
              }
              case 'release': {
                const s = model[o.pick % Math.max(1, model.length)]
                if (s !== undefined) {
                  q.release(s.accessKeyId)
                  model = model.filter((m) => m !== s)
                }
                break
              }
              case 'byUser':
                q.releaseWhere((s) => s.userId === `u${String(o.user)}`)
                model = model.filter((m) => m.userId !== `u${String(o.user)}`)
                break
              case 'byOrigin':
                q.releaseWhere((s) => s.originKeyId === `o${String(o.origin)}`)
                model = model.filter((m) => m.originKeyId !== `o${String(o.origin)}`)
                break
              case 'tick':
                now += o.ms
                break
              case 'sweep':
                q.sweep(now)
                break
            }
            for (const k of ['q0', 'q1', 'q2']) expect(q.active(k, now)).toBe(activeIn(k))
          }
        },
      ),
      { numRuns: 300 },
    )
  })

  it('a released or expired slot frees room at once; add() ignores expired sessions', () => {
    const q = new SessionQuota()
    const s = (id: string, exp: number): SlotInfo => ({
      accessKeyId: id,
      quotaKey: 'root:1',
      expiresAt: exp,
    })
    expect(q.tryReserve(s('a', 100), 0, 2)).toBe(true)
    expect(q.tryReserve(s('b', 200), 0, 2)).toBe(true)
    expect(q.tryReserve(s('c', 300), 0, 2)).toBe(false)
    expect(q.has('b')).toBe(true)
    q.release('b')
    expect(q.has('b')).toBe(false)
    expect(q.tryReserve(s('c', 300), 0, 2)).toBe(true)
    expect(q.tryReserve(s('d', 300), 99, 2)).toBe(false)
    expect(q.tryReserve(s('d', 300), 100, 2)).toBe(true) // 'a' expired at 100
    q.add(s('old', 50), 100)
    expect(q.active('root:1', 100)).toBe(2)
  })

  it('sweeping many released slots keeps the count and frees the memory', () => {
    const q = new SessionQuota()
    for (let i = 0; i < 1000; i++)
      q.tryReserve(
        { accessKeyId: `k${String(i)}`, quotaKey: 'q', expiresAt: 10_000 + i },
        0,
        10_000,
      )
    q.releaseWhere((s) => s.accessKeyId !== 'k7')
    q.sweep(0)
    expect(q.active('q', 0)).toBe(1)
    expect(q.active('q', 10_007)).toBe(0)
  })
})
