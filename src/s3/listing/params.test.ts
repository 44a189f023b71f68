import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { S3Error } from '../errors.js'
import {
  decodeContinuationToken,
  encodeContinuationToken,
  parseEncodingType,
  parseMaxKeys,
  s3UrlDecode,
  s3UrlEncode,
} from './params.js'

function code(f: () => unknown): string | undefined {
  try {
    f()
  } catch (e) {
    return e instanceof S3Error ? e.code : 'other'
  }
  return undefined
}

describe('parseMaxKeys', () => {
  it('defaults to 1000, clamps, accepts 0', () => {
    expect(parseMaxKeys(undefined)).toBe(1000)
    expect(parseMaxKeys('0')).toBe(0)
    expect(parseMaxKeys('7')).toBe(7)
    expect(parseMaxKeys('1000')).toBe(1000)
    expect(parseMaxKeys('5000')).toBe(1000)
    expect(parseMaxKeys('2147483647')).toBe(1000)
  })
  it.each(['-1', 'abc', '1.5', '', ' ', '1e3', '99999999999999999999'])('rejects %j', (v) => {
    expect(code(() => parseMaxKeys(v))).toBe('InvalidArgument')
  })
  it('names the argument', () => {
    try {
      parseMaxKeys('x', 'max-uploads')
    } catch (e) {
      expect((e as S3Error).extra).toEqual({ ArgumentName: 'max-uploads', ArgumentValue: 'x' })
    }
  })
})

describe('parseEncodingType', () => {
  it('accepts url only', () => {
    expect(parseEncodingType(undefined)).toBeUndefined()
    expect(parseEncodingType('url')).toBe('url')
    expect(parseEncodingType('URL')).toBe('url')
    expect(code(() => parseEncodingType('base64'))).toBe('InvalidArgument')
    expect(code(() => parseEncodingType(''))).toBe('InvalidArgument')
  })
})

describe('s3UrlEncode', () => {
  it('encodes like AWS/MinIO', () => {
    expect(s3UrlEncode('a b/c')).toBe('a%20b/c')
    expect(s3UrlEncode('a+b')).toBe('a%2Bb')
    expect(s3UrlEncode('é')).toBe('%C3%A9')
    expect(s3UrlEncode('-_.*~')).toBe('-_.*%7E')
    expect(s3UrlEncode('\u0001')).toBe('%01')
    expect(s3UrlEncode('😀')).toBe('%F0%9F%98%80')
  })
  it('round trips any string (botocore unquote_plus semantics)', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), (s) => {
        const enc = s3UrlEncode(s)
        expect(enc).toMatch(/^[A-Za-z0-9\-_.*/+%]*$/)
        expect(s3UrlDecode(enc)).toBe(s)
      }),
    )
  })
})

describe('continuation tokens', () => {
  it('round trip any non-empty key', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', minLength: 1 }), (k) => {
        expect(decodeContinuationToken(encodeContinuationToken(k))).toBe(k)
      }),
    )
  })
  it.each(['', 'not base64!', 'YQ', 'YQ=', '////', '%%%'])('rejects %j', (t) => {
    expect(code(() => decodeContinuationToken(t))).toBe('InvalidArgument')
  })
  it('has the AWS message', () => {
    expect(() => decodeContinuationToken('!!')).toThrow(
      'The continuation token provided is incorrect',
    )
  })
})
