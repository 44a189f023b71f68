/**
 * Each decoder against its rule: round-trips with encodeURIComponent, its `+` rule, and invalid
 * input checked against a copy of the code it replaced (the oracle), fuzzed with strings made of
 * the characters that matter ('%', hex digits, '+', non-ASCII, lone surrogates).
 */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  decodeBytesPlusLiteral,
  decodeFormValuePlusAsSpace,
  decodePlusAsSpaceStrict,
  decodePlusLiteralOrKeep,
  decodePlusLiteralStrict,
} from './percent.js'

/** Strings dense in escapes, valid and not: `%`, hex digits, `+`, space, multi-byte, `%C3`. */
const escapeHeavy = fc
  .array(
    fc.constantFrom(
      '%',
      '2',
      'B',
      'f',
      'g',
      '+',
      ' ',
      'a',
      'é',
      '€',
      '%C3',
      '%A9',
      '%zz',
      '%2',
      '\uD800',
    ),
    { maxLength: 12 },
  )
  .map((parts) => parts.join(''))
const anyString = fc.oneof(fc.string({ unit: 'binary' }), escapeHeavy)
/** Well-formed Unicode only (encodeURIComponent throws on lone surrogates). */
const wellFormed = fc.string({ unit: 'grapheme' })

// Oracles: the decoders as they were written before http/percent.ts.
function oldSafeDecode(s: string): string {
  if (!s.includes('%')) return s
  try {
    return decodeURIComponent(s)
  } catch {
    return s
  }
}
function oldStrict(s: string): string | undefined {
  try {
    return decodeURIComponent(s)
  } catch {
    return undefined
  }
}
function oldPlusAsSpace(s: string): string | undefined {
  return oldStrict(s.replace(/\+/g, ' '))
}

describe('round trip with encodeURIComponent', () => {
  it('every string decoder inverts encodeURIComponent, whatever the + rule', () => {
    fc.assert(
      fc.property(wellFormed, (s) => {
        const enc = encodeURIComponent(s)
        expect(decodePlusLiteralOrKeep(enc)).toBe(s)
        expect(decodePlusLiteralStrict(enc)).toBe(s)
        expect(decodePlusAsSpaceStrict(enc)).toBe(s)
        expect(decodeFormValuePlusAsSpace(enc)).toBe(s)
        expect(decodeBytesPlusLiteral(enc).toString('utf8')).toBe(s)
      }),
    )
  })
})

describe('the + rule is in the name', () => {
  it('PlusLiteral decoders keep + ; PlusAsSpace decoders turn it into a space', () => {
    fc.assert(
      fc.property(wellFormed, (s) => {
        const sent = encodeURIComponent(s) + '+' // a raw '+' after the escapes
        expect(decodePlusLiteralOrKeep(sent)).toBe(s + '+')
        expect(decodePlusLiteralStrict(sent)).toBe(s + '+')
        expect(decodeBytesPlusLiteral(sent).toString('utf8')).toBe(s + '+')
        expect(decodePlusAsSpaceStrict(sent)).toBe(s + ' ')
        expect(decodeFormValuePlusAsSpace(sent)).toBe(s + ' ')
      }),
    )
    expect(decodePlusAsSpaceStrict('a%2Bb+c')).toBe('a+b c')
    expect(decodePlusLiteralOrKeep('a%2Bb+c')).toBe('a+b+c')
  })
})

describe('invalid escapes behave as before', () => {
  it('decodePlusLiteralOrKeep: a malformed input comes back exactly as sent (old safeDecode)', () => {
    fc.assert(
      fc.property(anyString, (s) => {
        expect(decodePlusLiteralOrKeep(s)).toBe(oldSafeDecode(s))
      }),
    )
    expect(decodePlusLiteralOrKeep('%zz%41')).toBe('%zz%41')
    expect(decodePlusLiteralOrKeep('%C3')).toBe('%C3')
  })

  it('decodePlusLiteralStrict: undefined exactly where decodeURIComponent throws', () => {
    fc.assert(
      fc.property(anyString, (s) => {
        expect(decodePlusLiteralStrict(s)).toBe(oldStrict(s))
      }),
    )
    expect(decodePlusLiteralStrict('%C3')).toBeUndefined()
    expect(decodePlusLiteralStrict('a+b')).toBe('a+b')
  })

  it('decodePlusAsSpaceStrict: undefined exactly where the old tag/url decoders threw', () => {
    fc.assert(
      fc.property(anyString, (s) => {
        expect(decodePlusAsSpaceStrict(s)).toBe(oldPlusAsSpace(s))
      }),
    )
    expect(decodePlusAsSpaceStrict('%')).toBeUndefined()
  })

  it('decodeFormValuePlusAsSpace matches WHATWG URLSearchParams on ASCII input', () => {
    const ascii = fc.oneof(
      fc.string({ unit: fc.constantFrom('%', '2', 'B', 'c', 'F', 'g', '+', ' ', '=', 'x', '8') }),
      fc.string({ unit: 'binary-ascii' }),
    )
    fc.assert(
      fc.property(
        ascii.filter((s) => !s.includes('&') && !s.includes('#')),
        (s) => {
          expect(decodeFormValuePlusAsSpace(s)).toBe(new URLSearchParams(`k=${s}`).get('k'))
        },
      ),
    )
    expect(decodeFormValuePlusAsSpace('%zz+%C3')).toBe('%zz \uFFFD')
  })

  it('decodeBytesPlusLiteral: valid %XX become bytes, any other % stays, nothing else changes', () => {
    expect(decodeBytesPlusLiteral('%C3%A9')).toEqual(Buffer.from('é'))
    expect(decodeBytesPlusLiteral('%C3')).toEqual(Buffer.from([0xc3]))
    expect(decodeBytesPlusLiteral('%zz%2%')).toEqual(Buffer.from('%zz%2%'))
    expect(decodeBytesPlusLiteral('%2b%2B+')).toEqual(Buffer.from('+++'))
    fc.assert(
      fc.property(
        fc.string({ unit: 'grapheme' }).filter((s) => !s.includes('%')),
        (s) => {
          expect(decodeBytesPlusLiteral(s)).toEqual(Buffer.from(s, 'utf8'))
        },
      ),
    )
    // Whatever it decodes, re-encoding every byte gives back the same bytes.
    fc.assert(
      fc.property(anyString, (s) => {
        const bytes = decodeBytesPlusLiteral(s)
        const reencoded = [...bytes].map((b) => '%' + b.toString(16).padStart(2, '0')).join('')
        expect(decodeBytesPlusLiteral(reencoded)).toEqual(bytes)
      }),
    )
  })
})
