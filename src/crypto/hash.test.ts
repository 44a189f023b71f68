/**
 * hmacSha256 is built from two one-shot SHA-256 hashes (hash.ts): it must equal
 * node's createHmac for every key and message, including RFC 4231's vectors and keys longer
 * than the 64-byte block.
 */
import { createHmac } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { hmacSha256, hmacSha256Hex, hmacSha512, hmacSha512Latin1 } from './hash.js'

const hex = (s: string): Buffer => Buffer.from(s, 'hex')

describe('hmacSha256', () => {
  it('RFC 4231 test cases 1, 2, 4, 6 and 7', () => {
    const cases: [Buffer | string, Buffer | string, string][] = [
      [
        hex('0b'.repeat(20)),
        'Hi There',
        'b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7',
      ],
      [
        'Jefe',
        'what do ya want for nothing?',
        '5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843',
      ],
      [
        hex('0102030405060708090a0b0c0d0e0f10111213141516171819'),
        hex('cd'.repeat(50)),
        '82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b',
      ],
      [
        hex('aa'.repeat(131)),
        'Test Using Larger Than Block-Size Key - Hash Key First',
        '60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54',
      ],
      [
        hex('aa'.repeat(131)),
        'This is a test using a larger than block-size key and a larger than block-size data. The key needs to be hashed before being used by the HMAC algorithm.',
        '9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2',
      ],
    ]
    for (const [key, data, mac] of cases) expect(hmacSha256(key, data).toString('hex')).toBe(mac)
  })

  it('equals createHmac for random keys and messages (strings and bytes)', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.uint8Array({ maxLength: 200 }),
          fc.string({ maxLength: 100, unit: 'grapheme' }),
        ),
        fc.oneof(
          fc.uint8Array({ maxLength: 600 }),
          fc.string({ maxLength: 300, unit: 'grapheme' }),
        ),
        (key, data) => {
          const expected = createHmac('sha256', key).update(data).digest()
          expect(hmacSha256(key, data).equals(expected)).toBe(true)
          expect(hmacSha256Hex(key, data)).toBe(expected.toString('hex'))
        },
      ),
      { numRuns: 500 },
    )
  })
})

describe('hmacSha512', () => {
  it('equals createHmac for random keys (across the 128-byte block) and messages', () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.uint8Array({ maxLength: 300 }), fc.string({ maxLength: 150 })),
        fc.oneof(fc.uint8Array({ maxLength: 600 }), fc.string({ maxLength: 300 })),
        (key, data) => {
          const expected = createHmac('sha512', key).update(data).digest()
          expect(hmacSha512(key, data).equals(expected)).toBe(true)
          expect(hmacSha512Latin1(key, data)).toBe(expected.toString('latin1'))
        },
      ),
      { numRuns: 300 },
    )
  })
})
