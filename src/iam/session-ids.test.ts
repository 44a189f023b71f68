import { describe, expect, it } from 'vitest'
import { randomIds, type IdSource } from '../lib/clock.js'
import { sessionKeyId, timePrefix } from './session-ids.js'

describe('session access key ids', () => {
  it('are 20 characters of [A-Z0-9] starting ASIA, with a random tail', () => {
    const now = Date.UTC(2026, 11, 3)
    const a = sessionKeyId(now, randomIds)
    const b = sessionKeyId(now, randomIds)
    expect(a).toMatch(/^ASIA[A-Z0-9]{16}$/)
    expect(b).toMatch(/^ASIA[A-Z0-9]{16}$/)
    expect(a.slice(0, 13)).toBe(b.slice(0, 13)) // same millisecond, same prefix
    expect(a).not.toBe(b)
  })

  it('sort as text in the order they were issued', () => {
    const times = [
      0,
      1,
      31,
      32,
      1_000,
      Date.UTC(2001, 0, 1),
      Date.UTC(2026, 0, 1),
      Date.UTC(2026, 0, 1) + 1,
      Date.UTC(2990, 0, 1),
    ]
    const ids = times.map((t) => sessionKeyId(t, randomIds))
    expect([...ids].sort()).toEqual(ids)
    // Text order is number order for every pair of nearby milliseconds too.
    const base = Date.UTC(2026, 11, 3, 18)
    for (let i = 0; i < 2_000; i++)
      expect(timePrefix(base + i) < timePrefix(base + i + 1)).toBe(true)
  })

  it('clamp times the prefix cannot hold instead of wrapping', () => {
    expect(timePrefix(-5)).toBe('000000000')
    expect(timePrefix(Number.MAX_SAFE_INTEGER)).toBe('ZZZZZZZZZ')
    expect(timePrefix(32 ** 9 - 1)).toBe('ZZZZZZZZZ')
  })

  it('take their tail from the id source (tests can pin it)', () => {
    const ids: IdSource = { ...randomIds, upperAlnum: (n) => 'Q'.repeat(n) }
    expect(sessionKeyId(1, ids)).toBe('ASIA000000001QQQQQQQ')
  })
})
