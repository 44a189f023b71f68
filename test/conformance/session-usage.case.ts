/**
 * The upload-cap counters of the SharedLimits port (storage/session-usage.ts), run against every
 * implementation: a reservation is all or nothing against each cap, exact under concurrent
 * reservations, a release or a commit of less gives bytes back, counters of different keys are
 * apart, and the sweep forgets a counter once its session has expired.
 */
import { describe, expect, it } from 'vitest'
import type { SharedLimits } from '../../src/storage/shared-limits.js'

export interface UsageHarness {
  readonly limits: SharedLimits
  close(): Promise<void>
}

const T0 = Date.UTC(2026, 0, 1)
const EXPIRES = T0 + 3600_000

export function sessionUsageConformance(name: string, open: () => Promise<UsageHarness>): void {
  describe(`SessionUsage conformance: ${name}`, () => {
    async function withLimits(fn: (l: SharedLimits) => Promise<void>): Promise<void> {
      const h = await open()
      try {
        await fn(h.limits)
      } finally {
        await h.close()
      }
    }

    it('reserves within the caps, refuses what would cross one (naming it), changes nothing then', async () => {
      await withLimits(async (l) => {
        const caps = { maxBytes: 1000, maxObjects: 2 }
        expect(await l.reserveUsage('k', { bytes: 600, objects: 1 }, caps, EXPIRES)).toBeUndefined()
        expect(await l.reserveUsage('k', { bytes: 500, objects: 1 }, caps, EXPIRES)).toEqual({
          cap: 'max-bytes',
          used: { bytes: 600, objects: 1 },
        })
        expect(await l.reserveUsage('k', { bytes: 400, objects: 1 }, caps, EXPIRES)).toBeUndefined()
        expect(await l.reserveUsage('k', { bytes: 0, objects: 1 }, caps, EXPIRES)).toEqual({
          cap: 'max-objects',
          used: { bytes: 1000, objects: 2 },
        })
        // A first write that alone crosses a cap, on a fresh key.
        expect(
          (await l.reserveUsage('fresh', { bytes: 1001, objects: 0 }, caps, EXPIRES))?.cap,
        ).toBe('max-bytes')
        expect(await l.usageOf(['k', 'fresh', 'none'])).toEqual(
          new Map([['k', { bytes: 1000, objects: 2 }]]),
        )
      })
    })

    it('release and commit-of-less give back; keys are apart', async () => {
      await withLimits(async (l) => {
        const caps = { maxBytes: 100 }
        await l.reserveUsage('a', { bytes: 80, objects: 1 }, caps, EXPIRES)
        await l.reserveUsage('b', { bytes: 100, objects: 0 }, caps, EXPIRES)
        await l.commitUsage('a', { bytes: 80, objects: 1 }, { bytes: 30, objects: 1 })
        expect((await l.usageOf(['a'])).get('a')).toEqual({ bytes: 30, objects: 1 })
        await l.releaseUsage('b', { bytes: 100, objects: 0 })
        expect((await l.usageOf(['b'])).get('b')).toEqual({ bytes: 0, objects: 0 })
        expect(await l.reserveUsage('b', { bytes: 100, objects: 0 }, caps, EXPIRES)).toBeUndefined()
        // Stored more than reserved (bytes no cap bounds): the counter shows what was written.
        await l.reserveUsage('c', { bytes: 0, objects: 1 }, { maxObjects: 3 }, EXPIRES)
        await l.commitUsage('c', { bytes: 0, objects: 1 }, { bytes: 5000, objects: 1 })
        expect((await l.usageOf(['c'])).get('c')).toEqual({ bytes: 5000, objects: 1 })
      })
    })

    it('exact under concurrent reservations', async () => {
      await withLimits(async (l) => {
        const caps = { maxBytes: 1000, maxObjects: 7 }
        const got = await Promise.all(
          Array.from({ length: 20 }, () =>
            l.reserveUsage('race', { bytes: 100, objects: 1 }, caps, EXPIRES),
          ),
        )
        expect(got.filter((g) => g === undefined)).toHaveLength(7)
        expect((await l.usageOf(['race'])).get('race')).toEqual({ bytes: 700, objects: 7 })
      })
    })

    it('the sweep forgets counters whose sessions have expired', async () => {
      await withLimits(async (l) => {
        await l.reserveUsage('old', { bytes: 5, objects: 1 }, { maxBytes: 10 }, T0 + 1000)
        await l.reserveUsage('new', { bytes: 5, objects: 1 }, { maxBytes: 10 }, EXPIRES)
        await l.sweep(T0 + 2000)
        expect([...(await l.usageOf(['old', 'new'])).keys()]).toEqual(['new'])
      })
    })
  })
}
