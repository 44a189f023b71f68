import { describe, it, expect } from 'vitest'
import { randomString, randomIds } from './clock.js'

describe('randomString', () => {
  it('has the requested length and only alphabet symbols', () => {
    for (const n of [0, 1, 20, 40, 100]) {
      const s = randomString(n, 'abc')
      expect(s).toHaveLength(n)
      expect(s).toMatch(/^[abc]*$/)
    }
    expect(randomIds.alnum(20)).toMatch(/^[A-Za-z0-9]{20}$/)
    expect(randomIds.upperAlnum(16)).toMatch(/^[A-Z0-9]{16}$/)
    expect(randomIds.accountId()).toMatch(/^[1-9]\d{11}$/)
  })

  it('is close to uniform over a 62-symbol alphabet (chi-square, 1 in 10^6 false alarm)', () => {
    const counts = new Map<string, number>()
    const s = randomString(124_000)
    for (const c of s) counts.set(c, (counts.get(c) ?? 0) + 1)
    expect(counts.size).toBe(62)
    const expected = s.length / 62
    let chi = 0
    for (const v of counts.values()) chi += (v - expected) ** 2 / expected
    // 61 degrees of freedom: P(chi² > 120) < 1e-5
    expect(chi).toBeLessThan(120)
  })
})
