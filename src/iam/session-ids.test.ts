import { describe, expect, it } from 'vitest'
import { randomIds, type IdSource } from '../lib/clock.js'
import { SessionIds, timePrefix } from './session-ids.js'

/** One id from a fresh minter. */
function sessionKeyId(now: number, ids: IdSource): string {
  return new SessionIds(ids).next(now, () => false)
}

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

  describe('SessionIds', () => {
    /** An id source whose tails come from a list, in order. */
    function scripted(tails: string[]): IdSource {
      return { ...randomIds, upperAlnum: () => tails.shift() ?? 'ZZZZZZZ' }
    }

    it('mints the same ids as sessionKeyId, one prefix per millisecond', () => {
      const minter = new SessionIds(scripted(['AAAAAAA', 'BBBBBBB', 'CCCCCCC']))
      expect(minter.next(1, () => false)).toBe('ASIA000000001AAAAAAA')
      expect(minter.next(1, () => false)).toBe('ASIA000000001BBBBBBB')
      expect(minter.next(33, () => false)).toBe('ASIA000000011CCCCCCC')
    })

    it('never repeats an id within its millisecond, drawing again instead', () => {
      const minter = new SessionIds(scripted(['AAAAAAA', 'AAAAAAA', 'AAAAAAA', 'BBBBBBB']))
      expect(minter.next(7, () => false)).toBe('ASIA000000007AAAAAAA')
      expect(minter.next(7, () => false)).toBe('ASIA000000007BBBBBBB')
    })

    it('forgets the last millisecond: a tail may recur once the prefix differs', () => {
      const minter = new SessionIds(scripted(['AAAAAAA', 'AAAAAAA']))
      expect(minter.next(7, () => false)).toBe('ASIA000000007AAAAAAA')
      expect(minter.next(8, () => false)).toBe('ASIA000000008AAAAAAA')
    })

    it('skips an id that is taken (a long-term key of that name)', () => {
      const minter = new SessionIds(scripted(['AAAAAAA', 'BBBBBBB']))
      const taken = (id: string) => id === 'ASIA000000007AAAAAAA'
      expect(minter.next(7, taken)).toBe('ASIA000000007BBBBBBB')
    })

    it('mints distinct ids under load in one millisecond', () => {
      const minter = new SessionIds(randomIds)
      const ids = Array.from({ length: 5_000 }, () => minter.next(42, () => false))
      expect(new Set(ids).size).toBe(5_000)
    })
  })
})
