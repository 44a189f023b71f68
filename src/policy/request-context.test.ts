import { describe, expect, it } from 'vitest'
import type { Principal } from '../auth/principal.js'
import { RequestConditionKeys, type RequestInfo } from './request-context.js'

const ACCT = '111122223333'
const USER: Principal = {
  kind: 'user',
  accountId: ACCT,
  accountName: 'acme',
  userId: 'u-1',
  username: 'alice',
  role: 'Writer',
  accessKeyId: 'AK',
}
const FROM_USER = { kind: 'user', accountId: ACCT, userId: 'u-1', username: 'alice' } as const
function session(asParent: boolean): Principal {
  return {
    kind: 'session',
    accountId: ACCT,
    accountName: 'acme',
    accessKeyId: 'ASIA1',
    sessionName: 's',
    parent: FROM_USER,
    expiresAt: Date.UTC(2026, 11, 3, 10),
    roleName: 'alice',
    roleId: 'AROAX',
    issuedAt: Date.UTC(2026, 11, 3, 8, 59, 59, 999),
    ...(asParent ? { asParent: true as const } : {}),
  }
}
const ROOT: Principal = {
  kind: 'account-root',
  accountId: ACCT,
  accountName: 'acme',
  accessKeyId: 'R',
}

function keys(principal: Principal, over: Partial<RequestInfo> = {}): RequestConditionKeys {
  return new RequestConditionKeys({
    principal,
    remoteAddress: '10.0.0.1',
    secure: true,
    headers: {},
    now: () => Date.UTC(2026, 11, 3, 9, 0, 0, 456),
    ...over,
  })
}

// One builder of the aws:* keys for S3, STS and the simulator; where the two old copies
// disagreed, AWS's documented behaviour (IAM User Guide, "AWS global condition context keys").
describe('aws:* condition keys (policy/request-context.ts)', () => {
  it('aws:username: IAM users and their GetSessionToken sessions; never assumed roles or root', () => {
    expect(keys(USER).get('aws:username')).toEqual(['alice'])
    expect(keys(session(true)).get('aws:username')).toEqual(['alice'])
    // Was ['alice'] on the S3 surface: AWS does not include the key for role sessions.
    expect(keys(session(false)).get('aws:username')).toBeUndefined()
    expect(keys(ROOT).get('aws:username')).toBeUndefined()
    expect(keys({ kind: 'anonymous' }).get('aws:username')).toBeUndefined()
  })

  it('aws:CurrentTime and aws:TokenIssueTime: ISO 8601 to the second (STS kept milliseconds)', () => {
    const k = keys(session(false))
    expect(k.get('aws:currenttime')).toEqual(['2026-12-03T09:00:00Z'])
    expect(k.get('aws:tokenissuetime')).toEqual(['2026-12-03T08:59:59Z'])
    expect(k.get('aws:epochtime')).toEqual([String(Math.floor(Date.UTC(2026, 11, 3, 9) / 1000))])
    expect(keys(USER).get('aws:tokenissuetime')).toBeUndefined()
  })

  it('aws:SourceIp: an IPv4-mapped IPv6 address is the IPv4 address (STS did not normalise)', () => {
    expect(keys(USER, { remoteAddress: '::ffff:192.0.2.7' }).get('aws:sourceip')).toEqual([
      '192.0.2.7',
    ])
    expect(keys(USER, { remoteAddress: '2001:db8::1' }).get('aws:sourceip')).toEqual([
      '2001:db8::1',
    ])
  })

  it('aws:Referer and aws:UserAgent from the headers (STS had no aws:Referer)', () => {
    const k = keys(USER, { headers: { referer: 'https://app.test/', 'user-agent': 'sdk/1' } })
    expect(k.get('aws:referer')).toEqual(['https://app.test/'])
    expect(k.get('aws:useragent')).toEqual(['sdk/1'])
    expect(keys(USER).get('aws:referer')).toBeUndefined()
  })

  it('principal keys, then requirement keys first and surface keys for the rest', () => {
    const k = new RequestConditionKeys(
      {
        principal: session(false),
        remoteAddress: '10.0.0.1',
        secure: false,
        headers: {},
        now: () => 0,
      },
      {
        requirement: { 'sts:DurationSeconds': '900', 'aws:SecureTransport': 'true' },
        surface: (key) => (key === 's3:authtype' ? ['REST-HEADER'] : undefined),
      },
    )
    expect(k.get('aws:principalarn')).toEqual([`arn:aws:sts::${ACCT}:assumed-role/alice/s`])
    expect(k.get('aws:principaltype')).toEqual(['AssumedRole'])
    expect(k.get('aws:userid')).toEqual(['AROAX:s'])
    expect(k.get('aws:principalaccount')).toEqual([ACCT])
    expect(k.get('sts:durationseconds')).toEqual(['900'])
    expect(k.get('aws:securetransport')).toEqual(['true'])
    expect(k.get('s3:authtype')).toEqual(['REST-HEADER'])
    expect(k.get('s3:prefix')).toBeUndefined()
  })
})
