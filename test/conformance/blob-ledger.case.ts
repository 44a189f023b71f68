/**
 * BlobLedger conformance suite, run by every ledger (memory and SQLite here; a shared database's
 * ledger only has to pass it too): intents come due after the orphan grace period unless settled,
 * retirements after the retire grace period, retire wins over an intent and intend never revives
 * a retirement, `due` is bounded and oldest first, `forget` drops both kinds.
 * @module
 */
import { describe, expect, it } from 'vitest'
import type { BlobLedger, BlobLedgerOptions } from '../../src/storage/blob-ledger.js'

export const GRACE: Required<BlobLedgerOptions> = { orphanGraceMs: 1000, retireGraceMs: 100 }

export function blobLedgerConformance(
  name: string,
  open: (
    opts: Required<BlobLedgerOptions>,
  ) => Promise<{ ledger: BlobLedger; close(): Promise<void> }>,
): void {
  describe(`BlobLedger conformance: ${name}`, () => {
    async function withLedger(t: (l: BlobLedger) => Promise<void>): Promise<void> {
      const { ledger, close } = await open(GRACE)
      try {
        await t(ledger)
      } finally {
        await close()
      }
    }

    it('an intent comes due only after the orphan grace period, and not once settled', () =>
      withLedger(async (l) => {
        await l.intend(['a', 'b'], 10_000)
        expect(await l.due(10_000 + GRACE.orphanGraceMs, 10)).toEqual({ orphans: [], retired: [] })
        await l.settle(['b'])
        const due = await l.due(10_001 + GRACE.orphanGraceMs, 10)
        expect(due).toEqual({ orphans: ['a'], retired: [] })
      }))

    it('a retirement comes due after the retire grace period; retire wins over an intent', () =>
      withLedger(async (l) => {
        await l.intend(['a'], 10_000)
        await l.retire(['a', 'b'], 20_000)
        expect(await l.due(20_000 + GRACE.retireGraceMs, 10)).toEqual({ orphans: [], retired: [] })
        // settling or intending again does not touch a retirement
        await l.settle(['a'])
        await l.intend(['b'], 20_050)
        const due = await l.due(20_001 + GRACE.retireGraceMs + GRACE.orphanGraceMs, 10)
        expect(due.orphans).toEqual([])
        expect([...due.retired].sort()).toEqual(['a', 'b'])
      }))

    it('due is oldest first and bounded; forget drops both kinds', () =>
      withLedger(async (l) => {
        await l.retire(['r3'], 3)
        await l.retire(['r1'], 1)
        await l.retire(['r2'], 2)
        await l.intend(['i2'], 2)
        await l.intend(['i1'], 1)
        const late = 1_000_000
        expect(await l.due(late, 2)).toEqual({ orphans: ['i1', 'i2'], retired: ['r1', 'r2'] })
        await l.forget(['r1', 'i1', 'unknown'])
        expect(await l.due(late, 10)).toEqual({ orphans: ['i2'], retired: ['r2', 'r3'] })
        await l.forget([])
        await l.intend([], late)
        await l.settle([])
        await l.retire([], late)
        expect(await l.due(late, 10)).toEqual({ orphans: ['i2'], retired: ['r2', 'r3'] })
      }))

    it('a retirement at a later time replaces an earlier one', () =>
      withLedger(async (l) => {
        await l.retire(['a'], 1)
        await l.retire(['a'], 500)
        expect(await l.due(1 + GRACE.retireGraceMs + 1, 10)).toEqual({ orphans: [], retired: [] })
        expect(await l.due(500 + GRACE.retireGraceMs + 1, 10)).toEqual({
          orphans: [],
          retired: ['a'],
        })
      }))

    it('a retirement with its own grace comes due after that grace, in due order', () =>
      withLedger(async (l) => {
        await l.retire(['long'], 1_000)
        await l.retire(['short'], 1_050, 10)
        // short: due after 1_060; long: after 1_000 + retireGraceMs (1_100)
        expect(await l.due(1_060, 10)).toEqual({ orphans: [], retired: [] })
        expect(await l.due(1_061, 10)).toEqual({ orphans: [], retired: ['short'] })
        expect(await l.due(1_101, 10)).toEqual({ orphans: [], retired: ['short', 'long'] })
      }))
  })
}
