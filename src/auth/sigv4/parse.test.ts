/** parseSignature: every malformed form maps to S3's own error, never a crash. */
import { describe, expect, it } from 'vitest'
import { parseQuery } from '../../http/raw-request.js'
import { S3Error } from '../../s3/errors.js'
import { formatAmzDate, parseAmzDate, parseSignature, type ParseOptions } from './parse.js'
import { EMPTY_SHA256 } from './string-to-sign.js'
import { rawRequest } from './raw.case.js'
import { asS3 } from '../as-s3.case.js'

const SIG = 'a'.repeat(64)
const CRED = 'AKID/20260314/us-east-1/s3/aws4_request'
const goodHeaders = (over: Record<string, string | undefined> = {}): Record<string, string> => {
  const h: Record<string, string | undefined> = {
    host: 'h',
    'x-amz-date': '20260314T101010Z',
    'x-amz-content-sha256': EMPTY_SHA256,
    authorization: `AWS4-HMAC-SHA256 Credential=${CRED}, SignedHeaders=host;x-amz-content-sha256;x-amz-date, Signature=${SIG}`,
    ...over,
  }
  return Object.fromEntries(
    Object.entries(h).filter((e): e is [string, string] => e[1] !== undefined),
  )
}

function parseH(headers: Record<string, string>, query = '', opts: ParseOptions = {}) {
  const raw = rawRequest({ headers, query })
  return parseSignature(raw, parseQuery(query), opts)
}

function errorOf(f: () => unknown): S3Error {
  try {
    f()
  } catch (caught) {
    const err = asS3(caught)
    if (err instanceof S3Error) return err
    throw err
  }
  throw new Error('did not throw')
}

const PRESIGN =
  `X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=${encodeURIComponent(CRED)}&X-Amz-Date=20260314T101010Z` +
  `&X-Amz-Expires=300&X-Amz-SignedHeaders=host&X-Amz-Signature=${SIG}`

describe('parseSignature: header form', () => {
  it('parses a well-formed header (with or without spaces after commas)', () => {
    const s = parseH(goodHeaders())
    expect(s).toMatchObject({
      kind: 'header',
      accessKeyId: 'AKID',
      amzDate: '20260314T101010Z',
      requestTime: Date.UTC(2026, 2, 14, 10, 10, 10),
      scope: { date: '20260314', region: 'us-east-1', service: 's3' },
      signedHeaders: ['host', 'x-amz-content-sha256', 'x-amz-date'],
      signature: SIG,
      payloadHash: EMPTY_SHA256,
    })
    expect(s?.sessionToken).toBeUndefined()
    const compact = `AWS4-HMAC-SHA256 Credential=${CRED},SignedHeaders=host;x-amz-content-sha256;x-amz-date,Signature=${SIG}`
    expect(parseH(goodHeaders({ authorization: compact }))?.signature).toBe(SIG)
  })

  it('no signature → undefined (anonymous)', () => {
    expect(parseH({ host: 'h' })).toBeUndefined()
  })

  it('SigV2 and unknown algorithms → InvalidRequest', () => {
    for (const a of ['AWS AKID:c2lnbmF0dXJl', 'AWS4-ECDSA-P256-SHA256 Credential=x', 'Bearer x']) {
      const e = errorOf(() => parseH(goodHeaders({ authorization: a })))
      expect(e.code).toBe('InvalidRequest')
      expect(e.message).toBe(
        'The authorization mechanism you have provided is not supported. Please use AWS4-HMAC-SHA256.',
      )
    }
    const v2q = errorOf(() => parseH({ host: 'h' }, 'AWSAccessKeyId=AK&Signature=x&Expires=1'))
    expect(v2q.code).toBe('InvalidRequest')
  })

  it('malformed components → AuthorizationHeaderMalformed', () => {
    const bad = [
      `AWS4-HMAC-SHA256 Credential=${CRED}, Signature=${SIG}`,
      `AWS4-HMAC-SHA256 Credential=AKID/20260314/us-east-1/s3, SignedHeaders=host, Signature=${SIG}`,
      `AWS4-HMAC-SHA256 Credential=AKID/20260314/us-east-1/s3/aws5_request, SignedHeaders=host, Signature=${SIG}`,
      `AWS4-HMAC-SHA256 Credential=AKID/20261314/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=${SIG}`,
      `AWS4-HMAC-SHA256 Credential=${CRED}, SignedHeaders=host;;x-amz-date, Signature=${SIG}`,
      `AWS4-HMAC-SHA256 Credential=${CRED}, SignedHeaders=Host;x-amz-date, Signature=${SIG}`,
      `AWS4-HMAC-SHA256 Credential=${CRED}, SignedHeaders=x-amz-date, Signature=${SIG}`,
      `AWS4-HMAC-SHA256 Credential=${CRED}, SignedHeaders=host, Signature=${SIG.toUpperCase()}`,
      `AWS4-HMAC-SHA256 Credential=${CRED}, SignedHeaders=host, Signature=abc`,
      `AWS4-HMAC-SHA256 Credential=${CRED}, Credential=${CRED}, SignedHeaders=host, Signature=${SIG}`,
      `AWS4-HMAC-SHA256 Credential=AKID/20260314/us-east-1/sts/aws4_request, SignedHeaders=host, Signature=${SIG}`,
      `AWS4-HMAC-SHA256 garbage`,
    ]
    for (const a of bad) {
      expect(errorOf(() => parseH(goodHeaders({ authorization: a }))).code, a).toBe(
        'AuthorizationHeaderMalformed',
      )
    }
  })

  it('credential date must match X-Amz-Date', () => {
    const e = errorOf(() => parseH(goodHeaders({ 'x-amz-date': '20260315T000000Z' })))
    expect(e.code).toBe('AuthorizationHeaderMalformed')
  })

  it('missing or invalid date → AccessDenied; the Date header is accepted', () => {
    expect(errorOf(() => parseH(goodHeaders({ 'x-amz-date': undefined }))).code).toBe(
      'AccessDenied',
    )
    expect(errorOf(() => parseH(goodHeaders({ 'x-amz-date': '2026-03-14T10:10:10Z' }))).code).toBe(
      'AccessDenied',
    )
    const auth = `AWS4-HMAC-SHA256 Credential=${CRED}, SignedHeaders=date;host;x-amz-content-sha256, Signature=${SIG}`
    const s = parseH(
      goodHeaders({
        'x-amz-date': undefined,
        date: 'Sat, 14 Mar 2026 10:10:10 GMT',
        authorization: auth,
      }),
    )
    expect(s?.amzDate).toBe('20260314T101010Z')
  })

  it('x-amz-content-sha256: required for S3, optional for STS, validated', () => {
    const noSha = goodHeaders({ 'x-amz-content-sha256': undefined })
    noSha['authorization'] =
      `AWS4-HMAC-SHA256 Credential=${CRED}, SignedHeaders=host;x-amz-date, Signature=${SIG}`
    const e = errorOf(() => parseH(noSha))
    expect(e.code).toBe('InvalidRequest')
    expect(e.message).toBe('Missing required header for this request: x-amz-content-sha256')
    const stsAuth = noSha['authorization'].replace('/s3/', '/sts/')
    expect(parseH({ ...noSha, authorization: stsAuth }, '', { service: 'sts' })?.payloadHash).toBe(
      '',
    )
    expect(errorOf(() => parseH(goodHeaders({ 'x-amz-content-sha256': 'abc' }))).code).toBe(
      'InvalidArgument',
    )
    for (const v of [
      'UNSIGNED-PAYLOAD',
      'STREAMING-UNSIGNED-PAYLOAD-TRAILER',
      'STREAMING-AWS4-HMAC-SHA256-PAYLOAD',
    ]) {
      expect(parseH(goodHeaders({ 'x-amz-content-sha256': v }))?.payloadHash).toBe(v)
    }
  })

  it('unsigned x-amz-* headers are refused for S3', () => {
    const e = errorOf(() => parseH(goodHeaders({ 'x-amz-acl': 'public-read' })))
    expect(e.code).toBe('AccessDenied')
    expect(e.extra['HeadersNotSigned']).toBe('x-amz-acl')
  })

  it('session token from the header', () => {
    const auth = `AWS4-HMAC-SHA256 Credential=${CRED}, SignedHeaders=host;x-amz-content-sha256;x-amz-date;x-amz-security-token, Signature=${SIG}`
    expect(
      parseH(goodHeaders({ authorization: auth, 'x-amz-security-token': 'TOKEN' }))?.sessionToken,
    ).toBe('TOKEN')
  })

  it('header and query signatures together → InvalidArgument', () => {
    const e = errorOf(() => parseH(goodHeaders(), PRESIGN))
    expect(e.code).toBe('InvalidArgument')
    expect(e.message).toMatch(/^Only one auth mechanism allowed/)
  })
})

describe('parseSignature: memoised parts stay exact', () => {
  it('a remembered credential or SignedHeaders list never lets a bad one through', () => {
    // Warm the memos with good values, then alternate good and bad forms of each part.
    for (let i = 0; i < 3; i++) {
      expect(parseH(goodHeaders())?.scope.date).toBe('20260314')
      const badDate = `AWS4-HMAC-SHA256 Credential=AKID/20260230/us-east-1/s3/aws4_request, SignedHeaders=host;x-amz-content-sha256;x-amz-date, Signature=${SIG}`
      expect(
        errorOf(() =>
          parseH(goodHeaders({ authorization: badDate, 'x-amz-date': '20260230T101010Z' })),
        ).message,
      ).toContain('incorrect date format "20260230"')
      const dupHeaders = `AWS4-HMAC-SHA256 Credential=${CRED}, SignedHeaders=host;host;x-amz-date, Signature=${SIG}`
      expect(errorOf(() => parseH(goodHeaders({ authorization: dupHeaders }))).code).toBe(
        'AuthorizationHeaderMalformed',
      )
    }
  })

  it('scope dates and request times alternate without mixing up', () => {
    for (const day of ['20260314', '20260315', '20260314']) {
      const auth = `AWS4-HMAC-SHA256 Credential=AKID/${day}/us-east-1/s3/aws4_request, SignedHeaders=host;x-amz-content-sha256;x-amz-date, Signature=${SIG}`
      const s = parseH(goodHeaders({ authorization: auth, 'x-amz-date': `${day}T235959Z` }))
      expect(s?.scope.date).toBe(day)
      expect(s?.amzDate).toBe(`${day}T235959Z`)
    }
  })
})

describe('parseSignature: presigned form', () => {
  it('parses a presigned URL', () => {
    const s = parseH({ host: 'h' }, `${PRESIGN}&X-Amz-Security-Token=T%2Bk`)
    expect(s).toMatchObject({
      kind: 'presigned',
      accessKeyId: 'AKID',
      expiresSeconds: 300,
      payloadHash: 'UNSIGNED-PAYLOAD',
      sessionToken: 'T+k',
      signedHeaders: ['host'],
    })
  })

  it('X-Amz-Expires limits', () => {
    const q = (v: string) => PRESIGN.replace('X-Amz-Expires=300', `X-Amz-Expires=${v}`)
    const week = errorOf(() => parseH({ host: 'h' }, q('604801')))
    expect(week.code).toBe('AuthorizationQueryParametersError')
    expect(week.message).toBe('X-Amz-Expires must be less than a week (in seconds) that is 604800')
    expect(parseH({ host: 'h' }, q('604800'))?.expiresSeconds).toBe(604800)
    // A negative lifetime is an expired URL (issue 12): 403 AccessDenied, not a malformed one.
    const negative = errorOf(() => parseH({ host: 'h' }, q('-1')))
    expect(negative.code).toBe('AccessDenied')
    expect(negative.message).toBe('Request has expired')
    expect(errorOf(() => parseH({ host: 'h' }, q('abc'))).code).toBe(
      'AuthorizationQueryParametersError',
    )
    expect(errorOf(() => parseH({ host: 'h' }, q('0'))).code).toBe(
      'AuthorizationQueryParametersError',
    )
  })

  it('unsigned x-amz-* headers are refused as for header auth; signed ones pass', () => {
    const e = errorOf(() =>
      parseH({ host: 'h', 'x-amz-copy-source': '/b/k', 'x-amz-acl': 'public-read' }, PRESIGN),
    )
    expect(e.code).toBe('AccessDenied')
    expect(e.message).toBe('There were headers present in the request which were not signed')
    expect(e.extra['HeadersNotSigned']).toBe('x-amz-acl, x-amz-copy-source')
    const signed = PRESIGN.replace(
      'X-Amz-SignedHeaders=host',
      'X-Amz-SignedHeaders=host%3Bx-amz-acl',
    )
    expect(parseH({ host: 'h', 'x-amz-acl': 'private' }, signed)?.signedHeaders).toEqual([
      'host',
      'x-amz-acl',
    ])
    // Not S3 (tests of other services): no S3 header rule.
    const sts = PRESIGN.replace('%2Fs3%2F', '%2Fsts%2F')
    expect(parseH({ host: 'h', 'x-amz-acl': 'x' }, sts, { service: 'sts' })?.kind).toBe('presigned')
  })

  it('x-amz-content-sha256 may go unsigned only when it repeats the signed payload hash', () => {
    expect(
      parseH({ host: 'h', 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD' }, PRESIGN)?.payloadHash,
    ).toBe('UNSIGNED-PAYLOAD')
    for (const v of [EMPTY_SHA256, 'STREAMING-UNSIGNED-PAYLOAD-TRAILER']) {
      const e = errorOf(() => parseH({ host: 'h', 'x-amz-content-sha256': v }, PRESIGN))
      expect(e.extra['HeadersNotSigned']).toBe('x-amz-content-sha256')
    }
    const withHash = `${PRESIGN}&X-Amz-Content-Sha256=${EMPTY_SHA256}`
    expect(parseH({ host: 'h', 'x-amz-content-sha256': EMPTY_SHA256 }, withHash)?.payloadHash).toBe(
      EMPTY_SHA256,
    )
    // Header auth: the value is the canonical request's payload line, so it is always covered.
    const auth = `AWS4-HMAC-SHA256 Credential=${CRED}, SignedHeaders=host;x-amz-date, Signature=${SIG}`
    expect(parseH(goodHeaders({ authorization: auth }))?.payloadHash).toBe(EMPTY_SHA256)
  })

  it('a configured presigned lifetime cap lowers the 7-day limit, never raises it', () => {
    const q = (v: string) => PRESIGN.replace('X-Amz-Expires=300', `X-Amz-Expires=${v}`)
    const opts = { maxPresignExpires: 3600 }
    expect(parseH({ host: 'h' }, q('3600'), opts)?.expiresSeconds).toBe(3600)
    const e = errorOf(() => parseH({ host: 'h' }, q('3601'), opts))
    expect(e.code).toBe('AuthorizationQueryParametersError')
    expect(e.message).toBe(
      "X-Amz-Expires must be at most 3600 (1 hour, this server's limit for presigned URLs)",
    )
    expect(
      errorOf(() => parseH({ host: 'h' }, q('604801'), { maxPresignExpires: 1e9 })).message,
    ).toBe('X-Amz-Expires must be less than a week (in seconds) that is 604800')
  })

  it('missing or bad parameters → AuthorizationQueryParametersError', () => {
    const variants = [
      PRESIGN.replace(/&X-Amz-Expires=300/, ''),
      PRESIGN.replace(/&X-Amz-Date=[^&]*/, ''),
      PRESIGN.replace('X-Amz-Date=20260314T101010Z', 'X-Amz-Date=20260314'),
      PRESIGN.replace('X-Amz-SignedHeaders=host', 'X-Amz-SignedHeaders=x-amz-date'),
      PRESIGN.replace(`X-Amz-Signature=${SIG}`, 'X-Amz-Signature=zz'),
      PRESIGN.replace('%2Faws4_request', '%2Faws4'),
    ]
    for (const q of variants)
      expect(errorOf(() => parseH({ host: 'h' }, q)).code, q).toBe(
        'AuthorizationQueryParametersError',
      )
    const alg = errorOf(() =>
      parseH({ host: 'h' }, PRESIGN.replace('AWS4-HMAC-SHA256', 'AWS4-HMAC-SHA1')),
    )
    expect(alg.code).toBe('InvalidRequest')
  })
})

describe('amz dates', () => {
  it('round-trips and rejects impossible dates', () => {
    const t = Date.UTC(2024, 1, 29, 23, 59, 59)
    expect(parseAmzDate(formatAmzDate(t))).toBe(t)
    expect(parseAmzDate('20230229T000000Z')).toBeUndefined()
    expect(parseAmzDate('20230101T246000Z')).toBeUndefined()
  })
})
