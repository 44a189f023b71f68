/**
 * The ChangeFeed contract, run against every implementation (memory and SQLite here; a shared
 * feed of a database only has to pass it too): in-order delivery to every subscriber, sequence
 * numbers that grow, unsubscribe, `applied()` waiting for subscribers' asynchronous work and
 * timing out honestly, and one failing subscriber not starving the others.
 */
import { describe, expect, it } from 'vitest'
import type { Change, ChangeFeed } from '../../src/storage/change-feed.js'

export function changeFeedConformance(
  name: string,
  open: () => Promise<{ feed: ChangeFeed; close(): Promise<void> }>,
): void {
  describe(`ChangeFeed conformance: ${name}`, () => {
    const user = (id: string): Change => ({ kind: 'user', id })

    it('delivers every change to every subscriber, in order, with growing sequence numbers', async () => {
      const { feed, close } = await open()
      try {
        const a: [string, number][] = []
        const b: string[] = []
        feed.subscribe({
          change: (c, seq) => void a.push([(c as { id: string }).id, seq]),
          resync() {},
        })
        feed.subscribe({ change: (c) => void b.push((c as { id: string }).id), resync() {} })
        const before = feed.head()
        const last = feed.publish([user('u1'), user('u2')])
        feed.publish([user('u3')])
        expect(a.map(([id]) => id)).toEqual(['u1', 'u2', 'u3'])
        expect(b).toEqual(['u1', 'u2', 'u3'])
        expect(a[1]![1]).toBe(last)
        expect(a[0]![1]).toBeGreaterThan(before)
        expect(a[2]![1]).toBeGreaterThan(a[1]![1])
        expect(feed.head()).toBe(a[2]![1])
      } finally {
        await close()
      }
    })

    it('stops delivering after unsubscribe', async () => {
      const { feed, close } = await open()
      try {
        const got: Change[] = []
        const off = feed.subscribe({ change: (c) => void got.push(c), resync() {} })
        feed.publish([user('a')])
        off()
        feed.publish([user('b')])
        expect(got).toEqual([user('a')])
      } finally {
        await close()
      }
    })

    it('applied() waits for a subscriber still applying, and reports a timeout as false', async () => {
      const { feed, close } = await open()
      try {
        let finish: () => void = () => {}
        let done = false
        feed.subscribe({
          change: () =>
            new Promise<void>((resolve) => {
              finish = () => {
                done = true
                resolve()
              }
            }),
          resync() {},
        })
        const seq = feed.publish([user('slow')])
        expect(await feed.applied(seq, 20)).toBe(false)
        const waiting = feed.applied(seq, 5_000)
        finish()
        expect(await waiting).toBe(true)
        expect(done).toBe(true)
        expect(await feed.applied(feed.head(), 10)).toBe(true)
      } finally {
        await close()
      }
    })

    it('one failing subscriber does not keep a change from the others', async () => {
      const { feed, close } = await open()
      try {
        const got: string[] = []
        feed.subscribe({
          change: () => {
            throw new Error('boom')
          },
          resync() {},
        })
        feed.subscribe({ change: () => Promise.reject(new Error('async boom')), resync() {} })
        feed.subscribe({ change: (c) => void got.push((c as { id: string }).id), resync() {} })
        const seq = feed.publish([user('x')])
        expect(got).toEqual(['x'])
        expect(await feed.applied(seq, 1_000)).toBe(true)
      } finally {
        await close()
      }
    })
  })
}
