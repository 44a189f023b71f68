import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { isoMillis, isoSeconds } from './time-format.js'

/** Any instant a Date can hold. */
const instant = fc.integer({ min: -8.64e15, max: 8.64e15 })

describe('time formats', () => {
  it('spells both forms', () => {
    expect(isoMillis(Date.UTC(2026, 0, 2, 3, 4, 5, 678))).toBe('2026-01-02T03:04:05.678Z')
    expect(isoSeconds(Date.UTC(2026, 0, 2, 3, 4, 5, 999))).toBe('2026-01-02T03:04:05Z')
  })

  it('isoSeconds is the instant truncated to the second (the old STS awsIso), never rounded', () => {
    const awsIso = (ms: number): string =>
      new Date(Math.floor(ms / 1000) * 1000).toISOString().replace('.000Z', 'Z')
    fc.assert(
      fc.property(instant, (ms) => {
        expect(isoSeconds(ms)).toBe(awsIso(ms))
      }),
    )
  })

  it('both parse back: isoMillis exactly, isoSeconds to the start of its second', () => {
    fc.assert(
      fc.property(instant, (ms) => {
        expect(Date.parse(isoMillis(ms))).toBe(ms)
        expect(Date.parse(isoSeconds(ms))).toBe(Math.floor(ms / 1000) * 1000)
      }),
    )
  })
})
