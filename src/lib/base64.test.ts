import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { decodeBase64Strict } from './base64.js'

describe('decodeBase64Strict', () => {
  it('accepts exactly the canonical encoding of any bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
        const b = Buffer.from(bytes)
        expect(decodeBase64Strict(b.toString('base64'))).toEqual(b)
      }),
    )
  })
  it('refuses what Buffer.from would silently accept', () => {
    for (const bad of ['AAA', 'AA=', 'AA', 'A A=', 'AA==\n', '_-8=', 'AAAA=', '====']) {
      expect(decodeBase64Strict(bad), bad).toBeUndefined()
    }
    expect(decodeBase64Strict('')).toEqual(Buffer.alloc(0))
  })
})
