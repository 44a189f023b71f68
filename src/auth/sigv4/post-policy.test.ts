/** POST policy: field parsing, policy parsing, condition checks and size ranges. */
import { describe, expect, it } from 'vitest'
import { S3Error } from '../../s3/errors.js'
import {
  checkContentLengthRange,
  checkPostPolicy,
  contentLengthRange,
  hasPostAuth,
  parsePostAuth,
  parsePostPolicy,
  verifyPostSignature,
} from './post-policy.js'
import { deriveSigningKey } from './signing-key.js'
import { hmacSha256 } from './string-to-sign.js'
import { asS3 } from '../as-s3.case.js'

const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64')
const NOW = Date.parse('2026-03-14T10:00:00Z')

function codeOf(f: () => unknown): string {
  try {
    f()
    return 'ok'
  } catch (caught) {
    const err = asS3(caught)
    return err instanceof S3Error ? `${err.code}: ${err.message}` : String(err)
  }
}

const policyDoc = {
  expiration: '2026-03-14T11:00:00.000Z',
  conditions: [
    { bucket: 'photos' },
    ['starts-with', '$key', 'user/1/'],
    ['eq', '$acl', 'private'],
    ['starts-with', '$Content-Type', 'image/'],
    ['content-length-range', 10, '2000'],
    { 'x-amz-credential': 'AK/20260314/us-east-1/s3/aws4_request' },
    { 'x-amz-algorithm': 'AWS4-HMAC-SHA256' },
    { 'x-amz-date': '20260314T100000Z' },
  ],
}

function form(over: Record<string, string | undefined> = {}): Map<string, string> {
  const base: Record<string, string | undefined> = {
    bucket: 'photos',
    key: 'user/1/cat.jpg',
    acl: 'private',
    'content-type': 'image/jpeg',
    'x-amz-credential': 'AK/20260314/us-east-1/s3/aws4_request',
    'x-amz-algorithm': 'AWS4-HMAC-SHA256',
    'x-amz-date': '20260314T100000Z',
    policy: b64(policyDoc),
    'x-amz-signature': 'f'.repeat(64),
    'x-ignore-me': 'whatever',
    ...over,
  }
  return new Map(Object.entries(base).filter((e): e is [string, string] => e[1] !== undefined))
}

describe('parsePostAuth', () => {
  it('reads the SigV4 fields (names case-insensitive)', () => {
    const f = new Map(
      [...form({ 'x-amz-security-token': 'TOK' })].map(
        ([k, v]) => [k.toUpperCase(), v] as [string, string],
      ),
    )
    const a = parsePostAuth(f)
    expect(a).toMatchObject({
      accessKeyId: 'AK',
      scope: { date: '20260314', region: 'us-east-1', service: 's3' },
      amzDate: '20260314T100000Z',
      requestTime: NOW,
      sessionToken: 'TOK',
    })
    expect(hasPostAuth(f)).toBe(true)
    expect(hasPostAuth(new Map([['key', 'k']]))).toBe(false)
  })

  it('missing or malformed fields', () => {
    expect(codeOf(() => parsePostAuth(form({ policy: undefined })))).toMatch(
      /^InvalidArgument: Bucket POST must contain a field named 'policy'/,
    )
    expect(
      codeOf(() => parsePostAuth(form({ 'x-amz-credential': 'AK/2026/us/s3/aws4_request' }))),
    ).toMatch(/^InvalidArgument/)
    expect(
      codeOf(() =>
        parsePostAuth(form({ 'x-amz-credential': 'AK/20260314/us-east-1/sts/aws4_request' })),
      ),
    ).toMatch(/^InvalidArgument/)
    expect(codeOf(() => parsePostAuth(form({ 'x-amz-date': '20260315T000000Z' })))).toMatch(
      /^InvalidArgument/,
    )
    expect(codeOf(() => parsePostAuth(form({ 'x-amz-date': 'yesterday' })))).toMatch(
      /^InvalidArgument/,
    )
    expect(codeOf(() => parsePostAuth(form({ 'x-amz-signature': 'XYZ' })))).toMatch(
      /^InvalidArgument/,
    )
    expect(codeOf(() => parsePostAuth(form({ 'x-amz-algorithm': 'AWS4-HMAC-SHA1' })))).toMatch(
      /^InvalidRequest/,
    )
    expect(
      codeOf(() =>
        parsePostAuth(
          new Map([
            ['awsaccesskeyid', 'AK'],
            ['signature', 'x'],
            ['policy', 'e30='],
          ]),
        ),
      ),
    ).toMatch(/^InvalidRequest: The authorization mechanism/)
  })
})

describe('verifyPostSignature', () => {
  it('HMAC of the base64 policy with the signing key', () => {
    const key = deriveSigningKey('s'.repeat(40), '20260314', 'us-east-1', 's3')
    const p = b64(policyDoc)
    const sig = hmacSha256(key, p).toString('hex')
    expect(verifyPostSignature(p, sig, key)).toBe(true)
    expect(
      verifyPostSignature(
        p,
        sig.replace(/.$/, (c) => (c === '0' ? '1' : '0')),
        key,
      ),
    ).toBe(false)
    expect(verifyPostSignature(p, 'short', key)).toBe(false)
  })
})

describe('parsePostPolicy / checkPostPolicy', () => {
  it('accepts a form that satisfies every condition', () => {
    const policy = parsePostPolicy(b64(policyDoc))
    expect(policy.conditions).toHaveLength(8)
    expect(contentLengthRange(policy)).toEqual({ min: 10, max: 2000 })
    checkPostPolicy(policy, form(), NOW)
  })

  it('expired, failed conditions and extra fields → AccessDenied', () => {
    const policy = parsePostPolicy(b64(policyDoc))
    expect(codeOf(() => checkPostPolicy(policy, form(), Date.parse('2026-03-14T11:00:00Z')))).toBe(
      'AccessDenied: Invalid according to Policy: Policy expired.',
    )
    expect(codeOf(() => checkPostPolicy(policy, form({ key: 'user/2/cat.jpg' }), NOW))).toBe(
      'AccessDenied: Invalid according to Policy: Policy Condition failed: ["starts-with", "$key", "user/1/"]',
    )
    expect(codeOf(() => checkPostPolicy(policy, form({ acl: undefined }), NOW))).toMatch(
      /\["eq", "\$acl", "private"\]/,
    )
    expect(codeOf(() => checkPostPolicy(policy, form({ bucket: 'other' }), NOW))).toMatch(
      /"\$bucket"/,
    )
    expect(codeOf(() => checkPostPolicy(policy, form({ 'x-amz-meta-x': '1' }), NOW))).toBe(
      'AccessDenied: Invalid according to Policy: Extra input fields: x-amz-meta-x',
    )
    expect(
      codeOf(() => checkPostPolicy(policy, form({ 'content-type': 'image/png, text/html' }), NOW)),
    ).toMatch(/Content-Type|content-type/)
    checkPostPolicy(policy, form({ 'content-type': 'image/png, image/gif' }), NOW)
  })

  it('rejects malformed policies with InvalidArgument', () => {
    const bad = [
      'not base64 !!',
      Buffer.from('{nope').toString('base64'),
      b64([]),
      b64({ conditions: [] }),
      b64({ expiration: 'tomorrow', conditions: [] }),
      b64({ expiration: '2026-03-14T11:00:00Z' }),
      b64({ expiration: '2026-03-14T11:00:00Z', conditions: [['starts-with', 'key', 'x']] }),
      b64({ expiration: '2026-03-14T11:00:00Z', conditions: [['matches', '$key', 'x']] }),
      b64({ expiration: '2026-03-14T11:00:00Z', conditions: [['content-length-range', 5, 1]] }),
      b64({ expiration: '2026-03-14T11:00:00Z', conditions: [['content-length-range', -1, 1]] }),
      b64({ expiration: '2026-03-14T11:00:00Z', conditions: [{ key: 5 }] }),
      b64({ expiration: '2026-03-14T11:00:00Z', conditions: [['eq', '$key']] }),
    ]
    for (const p of bad)
      expect(
        codeOf(() => parsePostPolicy(p)),
        p,
      ).toMatch(/^InvalidArgument: Invalid Policy:/)
  })

  it('content-length-range → EntityTooSmall / EntityTooLarge', () => {
    const policy = parsePostPolicy(b64(policyDoc))
    checkContentLengthRange(policy, 10)
    checkContentLengthRange(policy, 2000)
    expect(codeOf(() => checkContentLengthRange(policy, 9))).toMatch(/^EntityTooSmall/)
    expect(codeOf(() => checkContentLengthRange(policy, 2001))).toMatch(/^EntityTooLarge/)
    checkContentLengthRange(
      parsePostPolicy(b64({ expiration: '2026-03-14T11:00:00Z', conditions: [] })),
      1e12,
    )
  })
})
