import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { parseCopySourceRange, parseRange, type RangeResult } from './range.js'
import { S3Error } from '../errors.js'

/** Reference: RFC 7233 §2.1 / §4.4 written from the spec, byte by byte (the set of selected offsets). */
function reference(spec: { first?: number; last?: number }, size: number): RangeResult {
  const { first, last } = spec
  if (first === undefined && last === undefined) return { kind: 'full' }
  if (first !== undefined && last !== undefined && last < first) return { kind: 'full' }
  const selected: number[] = []
  for (let i = 0; i < size; i++) {
    if (first === undefined) {
      if (i >= size - (last ?? 0)) selected.push(i)
    } else if (i >= first && (last === undefined || i <= last)) selected.push(i)
  }
  if (selected.length === 0) return { kind: 'unsatisfiable' }
  return { kind: 'partial', start: selected[0] ?? 0, end: selected[selected.length - 1] ?? 0 }
}

describe('parseRange', () => {
  it('handles the three forms', () => {
    expect(parseRange('bytes=0-9', 100)).toEqual({ kind: 'partial', start: 0, end: 9 })
    expect(parseRange('bytes=90-', 100)).toEqual({ kind: 'partial', start: 90, end: 99 })
    expect(parseRange('bytes=-10', 100)).toEqual({ kind: 'partial', start: 90, end: 99 })
    expect(parseRange('bytes=-1000', 100)).toEqual({ kind: 'partial', start: 0, end: 99 })
    expect(parseRange('bytes=50-5000', 100)).toEqual({ kind: 'partial', start: 50, end: 99 })
  })
  it('ignores what S3 ignores', () => {
    expect(parseRange(undefined, 100)).toEqual({ kind: 'full' })
    expect(parseRange('bytes=0-1,5-6', 100)).toEqual({ kind: 'full' })
    expect(parseRange('items=0-1', 100)).toEqual({ kind: 'full' })
    expect(parseRange('bytes=9-1', 100)).toEqual({ kind: 'full' })
    expect(parseRange('bytes=-', 100)).toEqual({ kind: 'full' })
    expect(parseRange('garbage', 100)).toEqual({ kind: 'full' })
  })
  it('reports unsatisfiable ranges', () => {
    expect(parseRange('bytes=100-', 100)).toEqual({ kind: 'unsatisfiable' })
    expect(parseRange('bytes=100-200', 100)).toEqual({ kind: 'unsatisfiable' })
    expect(parseRange('bytes=-0', 100)).toEqual({ kind: 'unsatisfiable' })
    expect(parseRange('bytes=0-', 0)).toEqual({ kind: 'unsatisfiable' })
    expect(parseRange('bytes=-5', 0)).toEqual({ kind: 'unsatisfiable' })
  })
  it('agrees with a byte-by-byte reference (property)', () => {
    fc.assert(
      fc.property(
        fc.option(fc.nat(80), { nil: undefined }),
        fc.option(fc.nat(80), { nil: undefined }),
        fc.nat(60),
        (first, last, size) => {
          const header = `bytes=${first ?? ''}-${last ?? ''}`
          const spec = {
            ...(first === undefined ? {} : { first }),
            ...(last === undefined ? {} : { last }),
          }
          expect(parseRange(header, size)).toEqual(reference(spec, size))
        },
      ),
      { numRuns: 2000 },
    )
  })
})

describe('parseCopySourceRange', () => {
  it('accepts bytes=a-b within the source', () => {
    expect(parseCopySourceRange('bytes=0-9', 10)).toEqual({ start: 0, end: 9 })
    expect(parseCopySourceRange(undefined, 10)).toBeUndefined()
  })
  it('rejects other forms with InvalidArgument and out-of-range with InvalidRange', () => {
    for (const bad of ['bytes=5-', 'bytes=-5', 'bytes=5-1', 'x', 'bytes=0-1,3-4']) {
      expect(() => parseCopySourceRange(bad, 10)).toThrowError(
        expect.objectContaining({ code: 'InvalidArgument' }) as S3Error,
      )
    }
    expect(() => parseCopySourceRange('bytes=0-10', 10)).toThrowError(
      expect.objectContaining({ code: 'InvalidRange' }) as S3Error,
    )
  })
})
