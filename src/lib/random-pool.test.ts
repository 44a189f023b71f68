/** RandomPool: every byte handed out once, refills transparently, sizes checked. */
import { describe, expect, it } from 'vitest'
import { RandomPool } from './random-pool.js'
import { randomString } from './clock.js'

describe('RandomPool', () => {
  it('hands out fresh bytes across refills, never the same block twice', () => {
    const pool = new RandomPool(64)
    const seen = new Set<string>()
    for (let i = 0; i < 200; i++) {
      const b = pool.bytes(12)
      expect(b.length).toBe(12)
      const hex = b.toString('hex')
      expect(seen.has(hex)).toBe(false)
      seen.add(hex)
    }
    expect(pool.base64url(32)).toMatch(/^[A-Za-z0-9_-]{43}$/)
  })

  it('returned buffers are copies: later draws do not change them', () => {
    const pool = new RandomPool(64)
    const a = pool.bytes(16)
    const copy = Buffer.from(a)
    for (let i = 0; i < 20; i++) pool.bytes(16)
    expect(a.equals(copy)).toBe(true)
  })

  it('refuses requests larger than the pool', () => {
    expect(() => new RandomPool(64).bytes(65)).toThrow(RangeError)
  })

  it('single bytes cover the whole range', () => {
    const pool = new RandomPool(256)
    const counts = new Array<number>(256).fill(0)
    for (let i = 0; i < 256 * 200; i++) {
      const b = pool.byte()
      counts[b] = (counts[b] ?? 0) + 1
    }
    // 200 expected per value; a CSPRNG stays well inside [100, 300].
    expect(Math.min(...counts)).toBeGreaterThan(100)
    expect(Math.max(...counts)).toBeLessThan(300)
  })
})

describe('randomString', () => {
  it('draws uniformly from the alphabet', () => {
    const s = randomString(36 * 1000, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789')
    const counts = new Map<string, number>()
    for (const ch of s) counts.set(ch, (counts.get(ch) ?? 0) + 1)
    expect(counts.size).toBe(36)
    for (const n of counts.values()) {
      expect(n).toBeGreaterThan(800)
      expect(n).toBeLessThan(1200)
    }
  })
})
