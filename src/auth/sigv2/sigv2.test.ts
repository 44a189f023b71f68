/**
 * SigV2 against the examples of AWS's "Signing and authenticating REST requests" page (the
 * AKIAIOSFODNN7EXAMPLE key), then parse errors, time windows, the constant-time compare and the
 * authenticate() branch (credential + session token checks, STS refusing V2, V2/V4 mixing).
 */
import { describe, expect, it } from 'vitest'
import { createHmac } from 'node:crypto'
import { parseQuery, type RawRequest } from '../../http/raw-request.js'
import { S3Error } from '../../s3/errors.js'
import type { CredentialProvider, ResolvedCredential, TokenCheck } from '../../iam/types.js'
import { ManualClock } from '../../lib/clock.js'
import { authenticate, authenticateS3, type AuthDeps } from '../authenticate.js'
import { SigningKeyCache } from '../sigv4/signing-key.js'
import { parseHttpRequest, rawRequest, collect } from '../sigv4/raw.case.js'
import { parseSigV2, parseHttpOrAmzDate, type SigV2Input } from './parse.js'
import { canonicalAmzHeaders, canonicalResource, signV2, stringToSignV2 } from './string-to-sign.js'
import { checkRequestTimeV2, stringsToSignV2, verifySigV2, virtualHostBucket } from './verify.js'
import { asS3 } from '../as-s3.case.js'

const AKID = 'AKIAIOSFODNN7EXAMPLE'
const SECRET = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY'
const DOMAIN = 's3.amazonaws.com'

function errorOf(fn: () => unknown): S3Error {
  try {
    fn()
  } catch (caught) {
    const e = asS3(caught)
    if (e instanceof S3Error) return e
    throw e
  }
  throw new Error('expected an S3Error')
}

async function rejectionOf(p: Promise<unknown>): Promise<S3Error> {
  try {
    await p
  } catch (caught) {
    const e = asS3(caught)
    if (e instanceof S3Error) return e
    throw e
  }
  throw new Error('expected an S3Error')
}

function parse(raw: RawRequest): SigV2Input {
  const sig = parseSigV2(raw, parseQuery(raw.rawQuery))
  if (sig === undefined) throw new Error('no V2 signature found')
  return sig
}

/** Verify at the request's own time (header auth) or before Expires (presigned). */
function verifyAtOwnTime(raw: RawRequest, domain = DOMAIN): void {
  const sig = parse(raw)
  const now = sig.requestTime ?? (Number(sig.expires) - 60) * 1000
  verifySigV2(raw, parseQuery(raw.rawQuery), sig, SECRET, { now, domain })
}

// The examples of the AWS page: request text, the StringToSign the page gives, its signature.
// Latchkey has no CNAME buckets, so the page's `Host: static.johnsmith.net` upload is sent
// path-style here: the StringToSign is the same.
const DOC_EXAMPLES: {
  name: string
  request: string
  stringToSign: string
  signature: string
  domain?: string
}[] = [
  {
    name: 'object GET (virtual-hosted)',
    request:
      'GET /photos/puppy.jpg HTTP/1.1\nHost: johnsmith.s3.amazonaws.com\nDate: Tue, 27 Mar 2007 19:36:42 +0000\n',
    stringToSign: 'GET\n\n\nTue, 27 Mar 2007 19:36:42 +0000\n/johnsmith/photos/puppy.jpg',
    signature: 'bWq2s1WEIj+Ydj0vQ697zp+IXMU=',
  },
  {
    name: 'object GET (regional virtual-hosted, current page)',
    request:
      'GET /photos/puppy.jpg HTTP/1.1\nHost: awsexamplebucket1.us-west-1.s3.amazonaws.com\nDate: Tue, 27 Mar 2007 19:36:42 +0000\n',
    stringToSign: 'GET\n\n\nTue, 27 Mar 2007 19:36:42 +0000\n/awsexamplebucket1/photos/puppy.jpg',
    signature: 'qgk2+6Sv9/oM7G3qLEjTH1a1l1g=',
    domain: 'us-west-1.s3.amazonaws.com',
  },
  {
    name: 'object PUT',
    request:
      'PUT /photos/puppy.jpg HTTP/1.1\nContent-Type: image/jpeg\nContent-Length: 94328\nHost: johnsmith.s3.amazonaws.com\nDate: Tue, 27 Mar 2007 21:15:45 +0000\n',
    stringToSign: 'PUT\n\nimage/jpeg\nTue, 27 Mar 2007 21:15:45 +0000\n/johnsmith/photos/puppy.jpg',
    signature: 'MyyxeRY7whkBe+bq8fHCL/2kKUg=',
  },
  {
    name: 'list (non-sub-resource query parameters are not signed)',
    request:
      'GET /?prefix=photos&max-keys=50&marker=puppy HTTP/1.1\nUser-Agent: Mozilla/5.0\nHost: johnsmith.s3.amazonaws.com\nDate: Tue, 27 Mar 2007 19:42:41 +0000\n',
    stringToSign: 'GET\n\n\nTue, 27 Mar 2007 19:42:41 +0000\n/johnsmith/',
    signature: 'htDYFYduRNen8P9ZfE/s9SuKy0U=',
  },
  {
    name: 'fetch ?acl (sub-resource)',
    request:
      'GET /?acl HTTP/1.1\nHost: johnsmith.s3.amazonaws.com\nDate: Tue, 27 Mar 2007 19:44:46 +0000\n',
    stringToSign: 'GET\n\n\nTue, 27 Mar 2007 19:44:46 +0000\n/johnsmith/?acl',
    signature: 'c2WLPFtWHVgbEmeEG93a4cG37dM=',
  },
  {
    name: 'upload with x-amz-* headers (repeated, mixed case) and Content-MD5',
    request: [
      'PUT /static.johnsmith.net/db-backup.dat.gz HTTP/1.1',
      'User-Agent: curl/7.15.5',
      'Host: s3.amazonaws.com:8080',
      'Date: Tue, 27 Mar 2007 21:06:08 +0000',
      'x-amz-acl: public-read',
      'content-type: application/x-download',
      'Content-MD5: 4gJE4saaMU4BqNR0kLY+lw==',
      'X-Amz-Meta-ReviewedBy: joe@johnsmith.net',
      'X-Amz-Meta-ReviewedBy: jane@johnsmith.net',
      'X-Amz-Meta-FileChecksum: 0x02661779',
      'X-Amz-Meta-ChecksumAlgorithm: crc32',
      'Content-Disposition: attachment; filename=database.dat',
      'Content-Encoding: gzip',
      'Content-Length: 5913339',
      '',
    ].join('\n'),
    stringToSign:
      'PUT\n4gJE4saaMU4BqNR0kLY+lw==\napplication/x-download\nTue, 27 Mar 2007 21:06:08 +0000\n' +
      'x-amz-acl:public-read\nx-amz-meta-checksumalgorithm:crc32\nx-amz-meta-filechecksum:0x02661779\n' +
      'x-amz-meta-reviewedby:joe@johnsmith.net,jane@johnsmith.net\n/static.johnsmith.net/db-backup.dat.gz',
    signature: 'ilyl83RwaSoYIEdixDQcA4OnAnc=',
  },
  {
    name: 'list all buckets',
    request: 'GET / HTTP/1.1\nHost: s3.amazonaws.com\nDate: Wed, 28 Mar 2007 01:29:59 +0000\n',
    stringToSign: 'GET\n\n\nWed, 28 Mar 2007 01:29:59 +0000\n/',
    signature: 'qGdzdERIC03wnaRNKh6OqZehG9s=',
  },
]

/** Add the example's Authorization header to its request text. */
function withAuth(request: string, signature: string): RawRequest {
  const [first, ...rest] = request.split('\n')
  return parseHttpRequest([first, `Authorization: AWS ${AKID}:${signature}`, ...rest].join('\n'))
}

describe('AWS documentation examples', () => {
  for (const ex of DOC_EXAMPLES) {
    it(ex.name, () => {
      const domain = ex.domain ?? DOMAIN
      const raw = withAuth(ex.request, ex.signature)
      const sig = parse(raw)
      expect(sig).toMatchObject({
        version: 'AWS',
        kind: 'header',
        accessKeyId: AKID,
        signature: ex.signature,
      })
      const [sts] = stringsToSignV2(raw, parseQuery(raw.rawQuery), sig, domain)
      expect(sts).toBe(ex.stringToSign)
      expect(signV2(SECRET, ex.stringToSign)).toBe(ex.signature)
      expect(() => verifyAtOwnTime(raw, domain)).not.toThrow()
    })
  }

  it('presigned GET: ?AWSAccessKeyId=…&Expires=1175139620&Signature=NpgCjnDzrM%2BWFzoENXmpNDUsSn8%3D', () => {
    const raw = rawRequest({
      path: '/photos/puppy.jpg',
      query: `AWSAccessKeyId=${AKID}&Expires=1175139620&Signature=NpgCjnDzrM%2BWFzoENXmpNDUsSn8%3D`,
      headers: { host: 'johnsmith.s3.amazonaws.com' },
    })
    const sig = parse(raw)
    expect(sig).toMatchObject({
      kind: 'presigned',
      accessKeyId: AKID,
      expires: '1175139620',
      signature: 'NpgCjnDzrM+WFzoENXmpNDUsSn8=',
    })
    expect(stringsToSignV2(raw, parseQuery(raw.rawQuery), sig, DOMAIN)).toEqual([
      'GET\n\n\n1175139620\n/johnsmith/photos/puppy.jpg',
    ])
    expect(() =>
      verifySigV2(raw, parseQuery(raw.rawQuery), sig, SECRET, {
        now: 1175139620_000,
        domain: DOMAIN,
      }),
    ).not.toThrow()
    // One second after Expires: AccessDenied "Request has expired".
    const e = errorOf(() =>
      verifySigV2(raw, parseQuery(raw.rawQuery), sig, SECRET, {
        now: 1175139621_000,
        domain: DOMAIN,
      }),
    )
    expect(e.code).toBe('AccessDenied')
    expect(e.message).toBe('Request has expired')
    expect(e.extra['Expires']).toBe('2007-03-29T03:40:20Z')
  })

  it('the same request path-style signs the same resource', () => {
    const raw = rawRequest({
      path: '/johnsmith/photos/puppy.jpg',
      headers: {
        host: 's3.amazonaws.com',
        date: 'Tue, 27 Mar 2007 19:36:42 +0000',
        authorization: `AWS ${AKID}:bWq2s1WEIj+Ydj0vQ697zp+IXMU=`,
      },
    })
    expect(() => verifyAtOwnTime(raw)).not.toThrow()
  })

  it('any changed byte of the signed material is a SignatureDoesNotMatch', () => {
    const ex = DOC_EXAMPLES[5]!
    const variants: RawRequest[] = [
      withAuth(ex.request.replace('/db-backup', '/db-backuP'), ex.signature),
      withAuth(
        ex.request.replace('x-amz-acl: public-read', 'x-amz-acl: public-read-write'),
        ex.signature,
      ),
      withAuth(
        ex.request.replace('4gJE4saaMU4BqNR0kLY+lw==', '4gJE4saaMU4BqNR0kLY+lA=='),
        ex.signature,
      ),
      withAuth(ex.request.replace('application/x-download', 'text/html'), ex.signature),
      withAuth(
        ex.request.replace('Content-Length', 'x-amz-copy-source: /other/key\nContent-Length'),
        ex.signature,
      ),
      withAuth(ex.request.replace(/^PUT/, 'POST'), ex.signature),
      withAuth(ex.request, ex.signature.replace('i', 'j')),
    ]
    for (const raw of variants) {
      const e = errorOf(() => verifyAtOwnTime(raw))
      expect(e.code).toBe('SignatureDoesNotMatch')
      expect(e.extra['AWSAccessKeyId']).toBe(AKID)
      expect(e.extra['StringToSign']).toContain('/static.johnsmith.net/')
    }
    // Unsigned parts (User-Agent, Content-Length, Host) may change.
    expect(() =>
      verifyAtOwnTime(withAuth(ex.request.replace('curl/7.15.5', 'other'), ex.signature)),
    ).not.toThrow()
  })
})

describe('canonicalization', () => {
  it('sub-resources: sorted by name, values decoded, others dropped, bare names kept bare', () => {
    expect(canonicalResource('/b/k', 'uploadId=a%2Fb&partNumber=2&x-id=PutObject')).toBe(
      '/b/k?partNumber=2&uploadId=a/b',
    )
    expect(canonicalResource('/b/', 'uploads&prefix=x')).toBe('/b/?uploads')
    expect(canonicalResource('/b/k', 'versionId=&tagging')).toBe('/b/k?tagging&versionId=')
    expect(
      canonicalResource(
        '/b/k',
        'response-content-type=text%2Fplain&response-expires=Thu%2C%2001%20Dec',
      ),
    ).toBe('/b/k?response-content-type=text/plain&response-expires=Thu, 01 Dec')
    expect(canonicalResource('/b/k', 'Acl&ACL=1')).toBe('/b/k') // names are case-sensitive
    expect(canonicalResource('/k%20x', 'acl', 'bucket')).toBe('/bucket/k%20x?acl')
  })

  it('amz headers: lower-case names sorted, values trimmed and unfolded, one per line', () => {
    expect(
      canonicalAmzHeaders({
        'x-amz-meta-b': ' 2 ',
        'x-amz-meta-a': '1,3',
        host: 'h',
        'x-amz-date': 'd\n  e',
      }),
    ).toBe('x-amz-date:d e\nx-amz-meta-a:1,3\nx-amz-meta-b:2\n')
    expect(canonicalAmzHeaders({ host: 'h' })).toBe('')
  })

  it('string to sign layout', () => {
    expect(
      stringToSignV2({
        method: 'get',
        contentMd5: ' m ',
        contentType: 't',
        date: 'd',
        amzHeaders: 'x-amz-a:1\n',
        resource: '/r',
      }),
    ).toBe('GET\nm\nt\nd\nx-amz-a:1\n/r')
  })

  it('virtual-hosted bucket from Host and domain', () => {
    expect(virtualHostBucket('johnsmith.s3.amazonaws.com', DOMAIN)).toBe('johnsmith')
    expect(virtualHostBucket('JohnSmith.S3.amazonaws.com:443', 's3.amazonaws.com:9000')).toBe(
      'johnsmith',
    )
    expect(virtualHostBucket('s3.amazonaws.com', DOMAIN)).toBeUndefined()
    expect(virtualHostBucket('127.0.0.1:9000', undefined)).toBeUndefined()
  })

  it('x-amz-date present: the Date line is empty (and the Date value is also accepted)', () => {
    const at = 'Tue, 27 Mar 2007 21:20:26 +0000'
    const sts = `DELETE\n\n\n\nx-amz-date:${at}\n/johnsmith/photos/puppy.jpg`
    const signature = signV2(SECRET, sts)
    const raw = rawRequest({
      method: 'DELETE',
      path: '/photos/puppy.jpg',
      headers: {
        host: 'johnsmith.s3.amazonaws.com',
        'x-amz-date': at,
        date: 'Mon, 01 Jan 2001 00:00:00 GMT',
        authorization: `AWS ${AKID}:${signature}`,
      },
    })
    expect(() => verifyAtOwnTime(raw)).not.toThrow()
    const withDateLine = signV2(
      SECRET,
      `DELETE\n\n\nMon, 01 Jan 2001 00:00:00 GMT\nx-amz-date:${at}\n/johnsmith/photos/puppy.jpg`,
    )
    const raw2 = rawRequest({
      ...{ method: 'DELETE', path: '/photos/puppy.jpg' },
      headers: { ...raw.headers, authorization: `AWS ${AKID}:${withDateLine}` } as Record<
        string,
        string
      >,
    })
    expect(() => verifyAtOwnTime(raw2)).not.toThrow()
    // The time checked is x-amz-date's, not Date's.
    expect(parse(raw).requestTime).toBe(Date.parse(at))
  })

  it('path-style bucket request: /bucket and /bucket/ (what botocore signs) both verify, nothing else', () => {
    const date = 'Tue, 27 Mar 2007 19:36:42 +0000'
    const req = (signedResource: string, path = '/johnsmith') =>
      rawRequest({
        method: 'PUT',
        path,
        headers: {
          host: 's3.amazonaws.com',
          date,
          authorization: `AWS ${AKID}:${signV2(SECRET, `PUT\n\n\n${date}\n${signedResource}`)}`,
        },
      })
    expect(() => verifyAtOwnTime(req('/johnsmith'))).not.toThrow()
    expect(() => verifyAtOwnTime(req('/johnsmith/'))).not.toThrow()
    expect(errorOf(() => verifyAtOwnTime(req('/johnsmith//'))).code).toBe('SignatureDoesNotMatch')
    expect(errorOf(() => verifyAtOwnTime(req('/johnsmith/', '/johnsmith/k'))).code).toBe(
      'SignatureDoesNotMatch',
    )
    expect(errorOf(() => verifyAtOwnTime(req('/other/', '/johnsmith'))).code).toBe(
      'SignatureDoesNotMatch',
    )
  })

  it('presigned: x-amz-*/Content-Type query parameters are signed; a header of the same name wins', () => {
    const expires = '2000000000'
    const sts = `PUT\n\ntext/plain\n${expires}\nx-amz-security-token:TOKEN\n/b/k`
    const signature = encodeURIComponent(signV2(SECRET, sts))
    const query = `AWSAccessKeyId=${AKID}&Signature=${signature}&Expires=${expires}&content-type=text%2Fplain&x-amz-security-token=TOKEN`
    const ok = rawRequest({ method: 'PUT', path: '/b/k', query, headers: { host: 'h' } })
    expect(parse(ok).sessionToken).toBe('TOKEN')
    expect(() => verifyAtOwnTime(ok)).not.toThrow()
    // Same header value: fine. A different header value is what the request would act on: rejected.
    expect(() =>
      verifyAtOwnTime(
        rawRequest({
          method: 'PUT',
          path: '/b/k',
          query,
          headers: { host: 'h', 'content-type': 'text/plain' },
        }),
      ),
    ).not.toThrow()
    expect(
      errorOf(() =>
        verifyAtOwnTime(
          rawRequest({
            method: 'PUT',
            path: '/b/k',
            query,
            headers: { host: 'h', 'content-type': 'text/html' },
          }),
        ),
      ).code,
    ).toBe('SignatureDoesNotMatch')
    // An extra x-amz-* header is covered too.
    const extra = rawRequest({
      method: 'PUT',
      path: '/b/k',
      query,
      headers: { host: 'h', 'x-amz-acl': 'public-read' },
    })
    const e = errorOf(() => verifyAtOwnTime(extra))
    expect(e.code).toBe('SignatureDoesNotMatch')
    expect(e.extra['StringToSign']).toContain('x-amz-security-token:<redacted>')
    expect(e.extra['StringToSign']).not.toContain('TOKEN')
  })
})

describe('parse', () => {
  const q = (s: string) => parseQuery(s)
  it('leaves SigV4 and anonymous requests alone', () => {
    expect(parseSigV2(rawRequest({}), q(''))).toBeUndefined()
    expect(
      parseSigV2(
        rawRequest({ headers: { authorization: 'AWS4-HMAC-SHA256 Credential=x' } }),
        q(''),
      ),
    ).toBeUndefined()
    expect(
      parseSigV2(
        rawRequest({ query: 'X-Amz-Algorithm=AWS4-HMAC-SHA256' }),
        q('X-Amz-Algorithm=AWS4-HMAC-SHA256'),
      ),
    ).toBeUndefined()
    expect(parseSigV2(rawRequest({ headers: { authorization: '   ' } }), q(''))).toBeUndefined()
  })

  it('V2 mixed with another mechanism is InvalidArgument', () => {
    const date = 'Tue, 27 Mar 2007 19:36:42 +0000'
    for (const query of [
      'X-Amz-Signature=abc',
      'X-Amz-Credential=a',
      'AWSAccessKeyId=a&Signature=b&Expires=1',
    ]) {
      const e = errorOf(() =>
        parseSigV2(
          rawRequest({ query, headers: { authorization: `AWS ${AKID}:x`, date } }),
          q(query),
        ),
      )
      expect(e.code).toBe('InvalidArgument')
    }
    const query = 'AWSAccessKeyId=a&Signature=b&Expires=1&X-Amz-Algorithm=AWS4-HMAC-SHA256'
    expect(errorOf(() => parseSigV2(rawRequest({ query }), q(query))).code).toBe('InvalidArgument')
  })

  it('malformed header', () => {
    const date = 'Tue, 27 Mar 2007 19:36:42 +0000'
    for (const authorization of ['AWS nocolon', 'AWS :sig', `AWS ${AKID}:`, 'AWS a b:sig']) {
      const e = errorOf(() => parseSigV2(rawRequest({ headers: { authorization, date } }), q('')))
      expect(e.code, authorization).toBe('InvalidArgument')
    }
  })

  it('header auth needs a valid Date or x-amz-date', () => {
    const cases: Record<string, string>[] = [
      {},
      { date: 'yesterday' },
      { date: '12345' },
      { 'x-amz-date': 'nope', date: 'Tue, 27 Mar 2007 19:36:42 +0000' },
    ]
    for (const headers of cases) {
      const e = errorOf(() =>
        parseSigV2(rawRequest({ headers: { authorization: `AWS ${AKID}:s`, ...headers } }), q('')),
      )
      expect(e.code).toBe('AccessDenied')
    }
    expect(parseHttpOrAmzDate('20070327T193642Z')).toBe(Date.UTC(2007, 2, 27, 19, 36, 42))
    expect(parseHttpOrAmzDate('Tue, 27 Mar 2007 19:36:42 GMT')).toBe(
      Date.UTC(2007, 2, 27, 19, 36, 42),
    )
  })

  it('presigned needs all three parameters and a numeric Expires', () => {
    for (const query of [
      'AWSAccessKeyId=a',
      'Signature=s',
      'AWSAccessKeyId=a&Signature=s',
      'AWSAccessKeyId=&Signature=s&Expires=1',
    ]) {
      const e = errorOf(() => parseSigV2(rawRequest({ query }), q(query)))
      expect(e.code, query).toBe('AccessDenied')
      expect(e.message).toContain('requires the Signature, Expires and AWSAccessKeyId')
    }
    for (const expires of ['soon', '-1', '1e9', '1234567890123']) {
      const query = `AWSAccessKeyId=a&Signature=s&Expires=${expires}`
      expect(errorOf(() => parseSigV2(rawRequest({ query }), q(query))).code).toBe('AccessDenied')
    }
  })

  it('aws-chunked bodies need SigV4', () => {
    const headers = {
      authorization: `AWS ${AKID}:s`,
      date: 'Tue, 27 Mar 2007 19:36:42 +0000',
      'x-amz-content-sha256': 'STREAMING-UNSIGNED-PAYLOAD-TRAILER',
    }
    expect(errorOf(() => parseSigV2(rawRequest({ headers }), q(''))).code).toBe('InvalidRequest')
  })
})

describe('time window', () => {
  const base: SigV2Input = {
    version: 'AWS',
    kind: 'header',
    accessKeyId: AKID,
    signature: 's',
    requestTime: 1_000_000_000_000,
    requestDate: 'd',
  }
  it('header: ±15 minutes, else RequestTimeTooSkewed', () => {
    expect(() => checkRequestTimeV2(base, 1_000_000_000_000 + 15 * 60_000)).not.toThrow()
    expect(() => checkRequestTimeV2(base, 1_000_000_000_000 - 15 * 60_000)).not.toThrow()
    expect(errorOf(() => checkRequestTimeV2(base, 1_000_000_000_000 + 15 * 60_000 + 1)).code).toBe(
      'RequestTimeTooSkewed',
    )
    expect(errorOf(() => checkRequestTimeV2(base, 1_000_000_000_000 - 15 * 60_000 - 1)).code).toBe(
      'RequestTimeTooSkewed',
    )
  })
  it('presigned: valid up to and including Expires', () => {
    const p: SigV2Input = {
      version: 'AWS',
      kind: 'presigned',
      accessKeyId: AKID,
      signature: 's',
      expires: '1000',
    }
    expect(() => checkRequestTimeV2(p, 1_000_000)).not.toThrow()
    expect(errorOf(() => checkRequestTimeV2(p, 1_000_001)).message).toBe('Request has expired')
  })
})

// ---- authenticate(): the glue ----

const USER_KEY = 'S4AKUSERKEY000000001'
const USER_SECRET = 'userSecret/0123456789abcdefghijklmnopqrst'
const SESSION_KEY = 'S4AKSESSIONKEY000001'
const SESSION_SECRET = 'sessionSecret/0123456789abcdefghijklmnopq'
const TOKEN = 'session-token-value'
const NOW = Date.UTC(2026, 2, 14, 12, 0, 0)

function deps(): AuthDeps {
  const creds = new Map<string, ResolvedCredential>([
    [
      USER_KEY,
      {
        accessKeyId: USER_KEY,
        secretKey: USER_SECRET,
        secretVersion: '1',
        principal: {
          kind: 'account-root',
          accountId: '000000000001',
          accountName: 'default',
          accessKeyId: USER_KEY,
        },
      },
    ],
    [
      SESSION_KEY,
      {
        accessKeyId: SESSION_KEY,
        secretKey: SESSION_SECRET,
        secretVersion: '1',
        principal: {
          kind: 'session',
          accountId: '000000000001',
          accountName: 'default',
          accessKeyId: SESSION_KEY,
          sessionName: 's',
          parent: { kind: 'account-root', accountId: '000000000001', accessKeyId: USER_KEY },
          expiresAt: NOW + 3600_000,
          roleName: 'r',
          roleId: 'AROA',
          issuedAt: NOW,
        },
        session: { expiresAt: NOW + 3600_000, requiresToken: true },
      },
    ],
  ])
  const credentials: CredentialProvider = {
    resolve: async (id) => creds.get(id),
    checkSessionToken: (cred, token, now): TokenCheck => {
      if (cred.session === undefined) return token === undefined ? 'ok' : 'invalid'
      if (token === undefined) return 'missing'
      if (token !== TOKEN) return 'invalid'
      return now > cred.session.expiresAt ? 'expired' : 'ok'
    },
  }
  return { credentials, keyCache: new SigningKeyCache(), clock: new ManualClock(NOW) }
}

const HTTP_NOW = new Date(NOW).toUTCString()

function signedHeaderRequest(p: {
  key: string
  secret: string
  method?: string
  path?: string
  query?: string
  headers?: Record<string, string>
}): RawRequest {
  const headers: Record<string, string> = { host: '127.0.0.1:9000', date: HTTP_NOW, ...p.headers }
  const amz = canonicalAmzHeaders(headers)
  const sts = stringToSignV2({
    method: p.method ?? 'GET',
    contentMd5: headers['content-md5'] ?? '',
    contentType: headers['content-type'] ?? '',
    date: headers['x-amz-date'] !== undefined ? '' : (headers['date'] ?? ''),
    amzHeaders: amz,
    resource: canonicalResource(p.path ?? '/b/k', p.query ?? ''),
  })
  const sig = createHmac('sha1', p.secret).update(sts).digest('base64')
  return rawRequest({
    method: p.method ?? 'GET',
    path: p.path ?? '/b/k',
    query: p.query ?? '',
    headers: { ...headers, authorization: `AWS ${p.key}:${sig}` },
  })
}

describe('authenticate() with SigV2', () => {
  it('long-term key: header auth → the key principal, signatureV2 set, no SigV4 fields', async () => {
    const raw = signedHeaderRequest({ key: USER_KEY, secret: USER_SECRET })
    const a = await authenticate(raw, parseQuery(raw.rawQuery), deps(), { service: 's3' })
    expect(a.principal).toMatchObject({ kind: 'account-root', accessKeyId: USER_KEY })
    expect(a.signatureV2).toMatchObject({ version: 'AWS', kind: 'header' })
    expect(a.signature).toBeUndefined()
    expect(a.signingKey).toBeUndefined()
  })

  it('wrong secret → SignatureDoesNotMatch; unknown key → InvalidAccessKeyId', async () => {
    const bad = signedHeaderRequest({ key: USER_KEY, secret: SESSION_SECRET })
    expect(
      (await rejectionOf(authenticate(bad, parseQuery(''), deps(), { service: 's3' }))).code,
    ).toBe('SignatureDoesNotMatch')
    const unknown = signedHeaderRequest({ key: 'S4AKNOPE', secret: USER_SECRET })
    expect(
      (await rejectionOf(authenticate(unknown, parseQuery(''), deps(), { service: 's3' }))).code,
    ).toBe('InvalidAccessKeyId')
  })

  it('session credentials need their token (x-amz-security-token header, signed)', async () => {
    const ok = signedHeaderRequest({
      key: SESSION_KEY,
      secret: SESSION_SECRET,
      headers: { 'x-amz-security-token': TOKEN },
    })
    const a = await authenticate(ok, parseQuery(''), deps(), { service: 's3' })
    expect(a.principal.kind).toBe('session')
    const missing = signedHeaderRequest({ key: SESSION_KEY, secret: SESSION_SECRET })
    expect(
      (await rejectionOf(authenticate(missing, parseQuery(''), deps(), { service: 's3' }))).code,
    ).toBe('InvalidToken')
    const wrong = signedHeaderRequest({
      key: SESSION_KEY,
      secret: SESSION_SECRET,
      headers: { 'x-amz-security-token': 'other' },
    })
    expect(
      (await rejectionOf(authenticate(wrong, parseQuery(''), deps(), { service: 's3' }))).code,
    ).toBe('InvalidToken')
    const onStaticKey = signedHeaderRequest({
      key: USER_KEY,
      secret: USER_SECRET,
      headers: { 'x-amz-security-token': TOKEN },
    })
    expect(
      (await rejectionOf(authenticate(onStaticKey, parseQuery(''), deps(), { service: 's3' })))
        .code,
    ).toBe('InvalidToken')
    const d = deps()
    ;(d.clock as ManualClock).advance(3600_000 + 1)
    const late = signedHeaderRequest({
      key: SESSION_KEY,
      secret: SESSION_SECRET,
      headers: { 'x-amz-security-token': TOKEN, date: new Date(NOW + 3600_000 + 1).toUTCString() },
    })
    expect((await rejectionOf(authenticate(late, parseQuery(''), d, { service: 's3' }))).code).toBe(
      'ExpiredToken',
    )
  })

  it('presigned with the token as a (lower-case) query parameter, as botocore sends it', async () => {
    const expires = String(Math.floor(NOW / 1000) + 300)
    const sig = signV2(SESSION_SECRET, `GET\n\n\n${expires}\nx-amz-security-token:${TOKEN}\n/b/k`)
    const query = `AWSAccessKeyId=${SESSION_KEY}&Signature=${encodeURIComponent(sig)}&Expires=${expires}&x-amz-security-token=${TOKEN}`
    const raw = rawRequest({ path: '/b/k', query, headers: { host: 'h' } })
    const a = await authenticate(raw, parseQuery(query), deps(), { service: 's3' })
    expect(a.principal.kind).toBe('session')
    expect(a.signatureV2?.kind).toBe('presigned')
    // Without the token parameter the signature no longer covers it → the token check fails first.
    const stripped = query.replace(`&x-amz-security-token=${TOKEN}`, '')
    expect(
      (
        await rejectionOf(
          authenticate(
            rawRequest({ path: '/b/k', query: stripped }),
            parseQuery(stripped),
            deps(),
            { service: 's3' },
          ),
        )
      ).code,
    ).toBe('InvalidToken')
  })

  it('REGRESSION sigv2-presign-max-age: a V2 presigned URL may not outlive the 7-day cap (or --presign-max-age)', async () => {
    const nowS = Math.floor(NOW / 1000)
    const presigned = (expires: number): RawRequest => {
      const sig = signV2(USER_SECRET, `GET\n\n\n${expires}\n/b/k`)
      const query = `AWSAccessKeyId=${USER_KEY}&Signature=${encodeURIComponent(sig)}&Expires=${expires}`
      return rawRequest({ path: '/b/k', query, headers: { host: 'h' } })
    }
    const auth = (raw: RawRequest, d = deps()) =>
      authenticate(raw, parseQuery(raw.rawQuery), d, { service: 's3' })
    // Exactly 7 days from now is the limit, as for SigV4's X-Amz-Expires.
    expect((await auth(presigned(nowS + 604800))).signatureV2?.kind).toBe('presigned')
    for (const expires of [nowS + 604801, nowS + 10 * 365 * 86400]) {
      const e = await rejectionOf(auth(presigned(expires)))
      expect(e.code).toBe('AccessDenied')
      expect(e.message).toBe(
        'Expires must be at most 604800 seconds (7 days) from now: presigned URLs are valid for 7 days at most',
      )
      expect(e.extra['ServerTime']).toBe('2026-03-14T12:00:00Z')
    }
    // A smaller configured cap applies the same way.
    const short: AuthDeps = { ...deps(), presignMaxAgeSeconds: 3600 }
    expect((await auth(presigned(nowS + 3600), short)).principal.kind).toBe('account-root')
    const e = await rejectionOf(auth(presigned(nowS + 3601), short))
    expect(e.code).toBe('AccessDenied')
    expect(e.message).toBe(
      'Expires must be at most 3600 seconds (1 hour) from now: presigned URLs are valid for 1 hour at most',
    )
  })

  it('header auth outside ±15 min → RequestTimeTooSkewed', async () => {
    const raw = signedHeaderRequest({
      key: USER_KEY,
      secret: USER_SECRET,
      headers: { date: new Date(NOW - 16 * 60_000).toUTCString() },
    })
    expect(
      (await rejectionOf(authenticate(raw, parseQuery(''), deps(), { service: 's3' }))).code,
    ).toBe('RequestTimeTooSkewed')
  })

  it('STS does not accept SigV2 (answers as before: unsupported mechanism)', async () => {
    const raw = signedHeaderRequest({ key: USER_KEY, secret: USER_SECRET, path: '/' })
    const e = await rejectionOf(
      authenticate(raw, parseQuery(''), deps(), { service: 'sts', bodySha256Hex: '' }),
    )
    expect(e.code).toBe('InvalidRequest')
    const query = `AWSAccessKeyId=${USER_KEY}&Signature=x&Expires=1`
    const e2 = await rejectionOf(
      authenticate(rawRequest({ query }), parseQuery(query), deps(), {
        service: 'sts',
        bodySha256Hex: '',
      }),
    )
    expect(e2.code).toBe('InvalidRequest')
  })

  it('authenticateS3 passes a V2 body through with its Content-Length checked', async () => {
    const raw = signedHeaderRequest({
      key: USER_KEY,
      secret: USER_SECRET,
      method: 'PUT',
      headers: { 'content-length': '5', 'content-type': 'text/plain' },
    })
    const body = rawRequest({ body: 'hello' }).body
    const a = await authenticateS3({ ...raw, body }, parseQuery(''), deps())
    expect((await collect(a.body)).toString()).toBe('hello')
    expect(a.contentLength).toBe(5)
  })
})
