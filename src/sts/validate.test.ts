import { crc32c } from '@node-rs/crc32'
import { randomBytes } from 'node:crypto'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { StsError } from './errors.js'
import { readParams } from '../http/query-protocol.js'
import {
  checkExternalId,
  checkMfa,
  checkPacked,
  checkPolicyText,
  checkSessionName,
  checkSourceIdentity,
  classifyRoleArn,
  packedPolicySize,
  parseDuration,
  parsePolicyArns,
  parseTags,
  requireString,
} from './validate.js'

function params(o: Record<string, string>): Map<string, string> {
  return new Map(Object.entries(o))
}

function failure(fn: () => unknown): { code: string; message: string } {
  try {
    fn()
  } catch (e) {
    if (e instanceof StsError) return { code: e.code, message: e.message }
    throw e
  }
  throw new Error('expected an StsError')
}

describe('ValidationError cases (AWS wording)', () => {
  const table: [string, () => unknown, string][] = [
    [
      'missing RoleSessionName',
      () => requireString(params({}), 'RoleSessionName', 'roleSessionName'),
      "1 validation error detected: Value null at 'roleSessionName' failed to satisfy constraint: Member must not be null",
    ],
    [
      'session name too short',
      () => checkSessionName('a'),
      "1 validation error detected: Value 'a' at 'roleSessionName' failed to satisfy constraint: Member must have length greater than or equal to 2",
    ],
    [
      'session name too long',
      () => checkSessionName('x'.repeat(65)),
      'Member must have length less than or equal to 64',
    ],
    [
      'session name pattern',
      () => checkSessionName('has space'),
      "1 validation error detected: Value 'has space' at 'roleSessionName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]*",
    ],
    [
      'duration below 900',
      () => parseDuration(params({ DurationSeconds: '899' }), 900, 43200),
      "1 validation error detected: Value '899' at 'durationSeconds' failed to satisfy constraint: Member must have value greater than or equal to 900",
    ],
    [
      'duration above max',
      () => parseDuration(params({ DurationSeconds: '43201' }), 900, 43200),
      "1 validation error detected: Value '43201' at 'durationSeconds' failed to satisfy constraint: Member must have value less than or equal to 43200",
    ],
    [
      'duration not a number',
      () => parseDuration(params({ DurationSeconds: '1h' }), 900, 43200),
      'Member must be an integer',
    ],
    [
      'policy too long',
      () => checkPolicyText('x'.repeat(2049)),
      'Member must have length less than or equal to 2048 (got 2049)',
    ],
    [
      'policy bad characters',
      () => checkPolicyText('{"a":"\u2603"}'),
      'Member must satisfy regular expression pattern',
    ],
    [
      'external id too short',
      () => checkExternalId('a'),
      "at 'externalId' failed to satisfy constraint: Member must have length greater than or equal to 2",
    ],
    ['external id too long', () => checkExternalId('a'.repeat(1225)), 'less than or equal to 1224'],
    [
      'external id pattern',
      () => checkExternalId('no spaces'),
      'regular expression pattern: [\\w+=,.@:\\/-]*',
    ],
    [
      'source identity aws:',
      () => checkSourceIdentity('aws:me'),
      "SourceIdentity must not start with the prefix 'aws:'",
    ],
    ['source identity too long', () => checkSourceIdentity('s'.repeat(65)), "at 'sourceIdentity'"],
    [
      'source identity pattern',
      () => checkSourceIdentity('a b'),
      "at 'sourceIdentity' failed to satisfy constraint: Member must satisfy",
    ],
    [
      'too many tags',
      () =>
        parseTags(
          params(
            Object.fromEntries(
              Array.from({ length: 51 }, (_, i) => [`Tags.member.${i + 1}.Key`, `k${i}`]),
            ),
          ),
        ),
      "at 'tags' failed to satisfy constraint: Member must have length less than or equal to 50",
    ],
    [
      'tag key too long',
      () => parseTags(params({ 'Tags.member.1.Key': 'k'.repeat(129), 'Tags.member.1.Value': 'v' })),
      "at 'tags.1.member.key'",
    ],
    [
      'tag value too long',
      () => parseTags(params({ 'Tags.member.1.Key': 'k', 'Tags.member.1.Value': 'v'.repeat(257) })),
      "at 'tags.1.member.value'",
    ],
    [
      'tag key pattern',
      () => parseTags(params({ 'Tags.member.1.Key': 'a*b' })),
      'regular expression pattern',
    ],
    [
      'duplicate tag keys',
      () => parseTags(params({ 'Tags.member.1.Key': 'Team', 'Tags.member.2.Key': 'team' })),
      'Duplicate tag keys found',
    ],
    [
      'transitive key not a tag',
      () => parseTags(params({ 'Tags.member.1.Key': 'a', 'TransitiveTagKeys.member.1': 'b' })),
      "The key 'b' in TransitiveTagKeys",
    ],
    [
      'policy arn too short',
      () => parsePolicyArns(params({ 'PolicyArns.member.1.arn': 'arn:aws:iam::x' })),
      'greater than or equal to 20',
    ],
    [
      'policy arn malformed',
      () => parsePolicyArns(params({ 'PolicyArns.member.1.arn': 'not-an-arn-but-long-enough' })),
      'is not a valid ARN',
    ],
    [
      'too many policy arns',
      () =>
        parsePolicyArns(
          params(
            Object.fromEntries(
              Array.from({ length: 11 }, (_, i) => [
                `PolicyArns.member.${i + 1}.arn`,
                'arn:aws:iam::aws:policy/AmazonS3FullAccess',
              ]),
            ),
          ),
        ),
      'less than or equal to 10',
    ],
    [
      'malformed role ARN',
      () => classifyRoleArn('arn:aws:iam::123:role/x-but-bad'),
      'is not a valid role ARN',
    ],
    ['token code', () => checkMfa(params({ TokenCode: '12ab56' })), "at 'tokenCode'"],
    ['serial number', () => checkMfa(params({ SerialNumber: 'short' })), "at 'serialNumber'"],
  ]
  it.each(table)('%s', (_name, fn, expected) => {
    const f = failure(fn)
    expect(f.code).toBe('ValidationError')
    expect(f.message).toContain(expected)
  })
})

describe('accepted values', () => {
  it('session names, external ids, source identities, tags', () => {
    expect(checkSessionName('only-put-object')).toBe('only-put-object')
    expect(checkSessionName('a_b+c=d,e.f@g-h')).toBe('a_b+c=d,e.f@g-h')
    expect(checkExternalId('arn:x/y-z')).toBe('arn:x/y-z')
    expect(checkSourceIdentity('Alice')).toBe('Alice')
    expect(
      parseTags(
        params({
          'Tags.member.1.Key': 'Project',
          'Tags.member.1.Value': '',
          'TransitiveTagKeys.member.1': 'project',
        }),
      ),
    ).toEqual({
      Project: '',
    })
    // Keys named like Object.prototype members are ordinary tag keys (and still unique).
    const proto = parseTags(
      params({
        'Tags.member.1.Key': '__proto__',
        'Tags.member.1.Value': 'p',
        'Tags.member.2.Key': 'constructor',
        'Tags.member.2.Value': 'c',
      }),
    )
    expect(Object.entries(proto)).toEqual([
      ['__proto__', 'p'],
      ['constructor', 'c'],
    ])
    expect(
      failure(() =>
        parseTags(params({ 'Tags.member.1.Key': '__proto__', 'Tags.member.2.Key': '__PROTO__' })),
      ).code,
    ).toBe('ValidationError')
    expect(parseDuration(params({}), 900, 43200)).toBeUndefined()
    expect(parseDuration(params({ DurationSeconds: '7889400' }), 900, 7889400)).toBe(7889400)
  })

  it('classifies RoleArn: absent and placeholders act for the caller, role ARNs are roles', () => {
    for (const v of [undefined, '', 'Required1', 'arn:xxx:xxx:xxx:xxxx', 'arn:minio:iam:::role/x'])
      expect(classifyRoleArn(v)).toEqual({ kind: 'none' })
    expect(classifyRoleArn('arn:aws:iam::123456789012:role/demo')).toEqual({
      kind: 'role',
      arn: 'arn:aws:iam::123456789012:role/demo',
      accountId: '123456789012',
      name: 'demo',
    })
    expect(classifyRoleArn('arn:aws:iam::123456789012:role/path/to/demo')).toMatchObject({
      kind: 'role',
      name: 'demo',
    })
  })
})

describe('PackedPolicySize', () => {
  it('is the rounded-up percentage of 2048 used by policy, ARNs and tags', () => {
    expect(packedPolicySize(undefined, [], {})).toBe(0)
    expect(packedPolicySize('x'.repeat(1024), [], {})).toBe(50)
    expect(packedPolicySize('x'.repeat(1), [], {})).toBe(1)
    expect(packedPolicySize('x'.repeat(1000), ['a'.repeat(24)], { k: 'v'.repeat(1023) })).toBe(100)
    expect(packedPolicySize('x'.repeat(1000), ['a'.repeat(24)], { k: 'v'.repeat(1024) })).toBe(101)
  })
  it('over 100 is PackedPolicyTooLarge', () => {
    expect(() => checkPacked(100)).not.toThrow()
    expect(failure(() => checkPacked(101))).toEqual({
      code: 'PackedPolicyTooLarge',
      message:
        'Packed policy consumes 101% of allotted space, please use smaller policy and/or tags.',
    })
  })
})

describe('readParams', () => {
  it('reads the form body, then fills from the query; + is a space in forms', () => {
    const p = readParams(
      'Action=AssumeRole&Extra=q',
      Buffer.from('Action=GetCallerIdentity&Policy=a+b%2Bc'),
      'application/x-www-form-urlencoded',
    )
    expect(p.get('Action')).toBe('GetCallerIdentity')
    expect(p.get('Extra')).toBe('q')
    expect(p.get('Policy')).toBe('a b+c')
  })
  it('ignores bodies of other content types', () => {
    expect(
      readParams('', Buffer.from('Action=X'), 'application/json').get('Action'),
    ).toBeUndefined()
  })
  it('decodes exactly as URLSearchParams (first value wins), bad %-sequences and invalid UTF-8 included', () => {
    const ascii = [
      '&',
      '=',
      '+',
      '%',
      '%2',
      '%41',
      '%2B',
      '%C3%A9',
      '%FF',
      '%E2%82',
      'a',
      'B',
      '0',
      ' ',
      '&&',
      '==',
      '__proto__',
    ]
    // Raw non-ASCII mixed with %-escapes is where Node's URLSearchParams departs from the WHATWG
    // decoder (below), so the differential keeps them apart.
    const pieces = fc.oneof(
      fc.array(fc.constantFrom(...ascii), { maxLength: 30 }),
      fc.array(fc.constantFrom('&', '=', '+', 'a', ' ', 'é', '€', '😀'), { maxLength: 30 }),
    )
    fc.assert(
      fc.property(pieces, (parts) => {
        const text = parts.join('')
        const want = new Map<string, string>()
        for (const [k, v] of new URLSearchParams(text)) if (!want.has(k)) want.set(k, v)
        expect([...readParams(text, Buffer.alloc(0), undefined)]).toEqual([...want])
        expect([
          ...readParams('', Buffer.from(text), 'application/x-www-form-urlencoded; charset=utf-8'),
        ]).toEqual([...want])
      }),
      { numRuns: 500 },
    )
  })
  it('decodes long values (a session policy) as URLSearchParams does, the first time and again', () => {
    // Escapes and raw non-ASCII apart, as above (where they meet, Node departs from WHATWG).
    const pieces = fc.oneof(
      fc.array(fc.constantFrom('%22', '%7B', '+', '%2B', 'a', '%C3%A9', '%FF', '%', '%E2%82'), {
        minLength: 90,
        maxLength: 400,
      }),
      fc.array(fc.constantFrom('a', '+', ' ', 'é', '€', '😀'), { minLength: 260, maxLength: 400 }),
    )
    fc.assert(
      fc.property(pieces, (parts) => {
        const value = parts.join('')
        const want = new URLSearchParams(`Policy=${value}`).get('Policy')
        const body = Buffer.from(`Action=AssumeRole&Policy=${value}`)
        expect(readParams('', body, undefined).get('Policy')).toBe(want)
        expect(readParams('', body, undefined).get('Policy')).toBe(want)
      }),
      { numRuns: 200 },
    )
  })
  it('never answers a long value with another that has the same CRC-32C', () => {
    // Birthday search for two different 306-character values with one CRC-32C (the memo's key):
    // 400,000 random tails make a collision all but certain (expected ~18). Random, not counted:
    // CRC is linear, and a counter's few changing bits need not reach two equal CRCs.
    const head = '%22'.repeat(96)
    const seen = new Map<number, string>()
    let pair: [string, string] | undefined
    for (let i = 0; pair === undefined && i < 400_000; i++) {
      const v = head + randomBytes(9).toString('hex')
      const c = crc32c(v)
      const other = seen.get(c)
      if (other !== undefined) pair = [other, v]
      else seen.set(c, v)
    }
    if (pair === undefined) throw new Error('no CRC-32C collision found')
    const [a, b] = pair
    expect(a).not.toBe(b)
    const read = (v: string): string | undefined =>
      readParams('', Buffer.from(`Policy=${v}`), undefined).get('Policy')
    expect(read(a)).toBe(decodeURIComponent(a))
    expect(read(b)).toBe(decodeURIComponent(b))
    expect(read(a)).toBe(decodeURIComponent(a))
  })
  it('keeps a stray % before raw non-ASCII text (WHATWG percent-decoding)', () => {
    expect(readParams('k=%€%41&j=é%FF', Buffer.alloc(0), undefined).get('k')).toBe('%€A')
    expect(readParams('k=%€%41&j=é%FF', Buffer.alloc(0), undefined).get('j')).toBe('é\ufffd')
  })
})
