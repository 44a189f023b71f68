/**
 * The SigV4 hot-path shortcuts (canonical.ts, parse.ts) give exactly what the general code gives:
 * header values already in canonical form, the root path, an empty query, and the SDKs' shape of
 * the Authorization header.
 */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { parseQuery } from '../../http/raw-request.js'
import { canonicalHeaderValue, canonicalQuery, canonicalUri } from './canonical.js'
import { parseSignature } from './parse.js'
import { rawRequest } from './raw.case.js'
import { EMPTY_SHA256 } from './string-to-sign.js'

describe('canonical form shortcuts', () => {
  it('canonicalHeaderValue equals trim + collapse of \\s runs for any text', () => {
    const ch = fc.constantFrom(
      ' ',
      '\t',
      '\n',
      '\u00a0',
      '\ufeff',
      '\u2003',
      'a',
      'Z',
      '0',
      ';',
      'é',
      '\u007f',
    )
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string(),
          fc.array(ch, { maxLength: 12 }).map((a) => a.join('')),
        ),
        (v) => {
          expect(canonicalHeaderValue(v)).toBe(v.trim().replace(/\s+/g, ' '))
        },
      ),
      { numRuns: 3000 },
    )
  })

  it('the root path and an empty query keep their canonical forms', () => {
    for (const normalize of [true, false]) {
      expect(canonicalUri('/', normalize)).toBe('/')
      expect(canonicalUri('', normalize)).toBe('/')
      expect(canonicalUri('/a/', normalize)).toBe('/a/')
    }
    expect(canonicalQuery('', false)).toBe('')
    expect(canonicalQuery('', true)).toBe('')
  })
})

describe('Authorization header in the SDK shape', () => {
  const token = fc.stringMatching(/^[A-Za-z0-9/;._-]{1,40}$/)
  it('parses as the general split-and-trim path does (forced by a trailing comma)', () => {
    fc.assert(
      fc.property(
        fc.oneof(token, fc.constant('AKID/20260314/us-east-1/s3/aws4_request')),
        fc.oneof(token, fc.constant('host;x-amz-content-sha256;x-amz-date')),
        fc.oneof(token, fc.constant('a'.repeat(64))),
        fc.boolean(),
        (cred, signed, sig, spaced) => {
          const sep = spaced ? ', ' : ','
          const header = `AWS4-HMAC-SHA256 Credential=${cred}${sep}SignedHeaders=${signed}${sep}Signature=${sig}`
          const parse = (authorization: string): unknown => {
            const raw = rawRequest({
              headers: {
                host: 'h',
                'x-amz-date': '20260314T101010Z',
                'x-amz-content-sha256': EMPTY_SHA256,
                authorization,
              },
            })
            try {
              return parseSignature(raw, parseQuery(''), { service: 's3' })
            } catch (e) {
              return e
            }
          }
          expect(parse(header)).toEqual(parse(`${header},`))
        },
      ),
      { numRuns: 500 },
    )
  })
})
