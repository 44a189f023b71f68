import { describe, expect, it } from 'vitest'
import { XMLParser } from 'fast-xml-parser'
import { AuthError } from '../auth/errors.js'
import { generateSync } from 'otplib'
import { authorize } from '../policy/authorize.js'
import { principalFacts } from '../policy/request-context.js'
import {
  ACCT,
  CUSTOMER,
  RESELLER,
  credOf,
  harness,
  post,
  type Cred,
  type Harness,
  type Sent,
} from './fakes.case.js'

const xml = new XMLParser({ ignoreAttributes: false, parseTagValue: false })
type Node = Record<string, unknown>
function parse(s: Sent): Node {
  return xml.parse(s.text) as Node
}
function errCode(s: Sent): string {
  const doc = parse(s) as { ErrorResponse?: { Error?: { Code?: string; Type?: string } } }
  return doc.ErrorResponse?.Error?.Code ?? `<not an STS error: ${s.text}>`
}
function errMessage(s: Sent): string {
  const doc = parse(s) as { ErrorResponse?: { Error?: { Message?: string } } }
  return doc.ErrorResponse?.Error?.Message ?? ''
}

const BASE = { Action: 'AssumeRole', Version: '2011-06-15', RoleSessionName: 'only-put-object' }
const SEED_POLICY = JSON.stringify({
  Version: '2012-10-17',
  Statement: [
    {
      Effect: 'Allow',
      Action: ['s3:PutObject', 's3:AbortMultipartUpload'],
      Resource: ['arn:aws:s3:::your-bucket-name/your-directory/*'],
    },
  ],
})

describe('AssumeRole', () => {
  it('answers AWS-shaped XML for the master key with a placeholder RoleArn', async () => {
    const h = await harness()
    const res = await post(
      h,
      { ...BASE, RoleArn: 'Required1', Policy: SEED_POLICY, DurationSeconds: '3600' },
      { key: 'ROOTKEY' },
    )
    expect(res.status).toBe(200)
    expect(res.headers['content-type']).toBe('text/xml')
    const doc = parse(res) as { AssumeRoleResponse: Node }
    expect(doc.AssumeRoleResponse['@_xmlns']).toBe('https://sts.amazonaws.com/doc/2011-06-15/')
    const result = doc.AssumeRoleResponse['AssumeRoleResult'] as Node
    expect(Object.keys(result)).toEqual(['AssumedRoleUser', 'Credentials', 'PackedPolicySize'])
    const aru = result['AssumedRoleUser'] as Node
    expect(Object.keys(aru)).toEqual(['Arn', 'AssumedRoleId'])
    expect(aru['Arn']).toBe('arn:aws:sts::111122223333:assumed-role/root/only-put-object')
    expect(aru['AssumedRoleId']).toMatch(/^AROA[A-Z2-7]{17}:only-put-object$/)
    const cred = result['Credentials'] as Node
    expect(Object.keys(cred)).toEqual([
      'AccessKeyId',
      'SecretAccessKey',
      'SessionToken',
      'Expiration',
    ])
    expect(cred['Expiration']).toBe('2026-01-01T13:00:00Z')
    expect(Number(result['PackedPolicySize'])).toBeGreaterThan(0)
    expect((doc.AssumeRoleResponse['ResponseMetadata'] as Node)['RequestId']).toBe('req-1')
    const issued = h.issued[0]
    expect(issued?.withToken).toBe(true)
    expect(issued?.durationSeconds).toBe(3600)
    expect(issued?.policies.length).toBe(1)
    expect(issued?.policyText).toBe(SEED_POLICY)
  })

  it('accepts GET with the query string and no RoleArn; default duration from config', async () => {
    const h = await harness({ stsDefaultDuration: 1800, stsMaxDuration: 43200 })
    const res = await post(h, BASE, { key: 'S4AKALICE', method: 'GET' })
    expect(res.status).toBe(200)
    expect(h.issued[0]?.durationSeconds).toBe(1800)
    expect(h.issued[0]?.roleName).toBe('alice')
    expect(res.text).toContain(
      '<Arn>arn:aws:sts::111122223333:assumed-role/alice/only-put-object</Arn>',
    )
  })

  it('refuses a well-formed role ARN naming no role with AWS wording', async () => {
    const h = await harness()
    const arn = 'arn:aws:iam::111122223333:role/demo'
    const res = await post(h, { ...BASE, RoleArn: arn }, { key: 'S4AKALICE' })
    expect(res.status).toBe(403)
    expect(errCode(res)).toBe('AccessDenied')
    expect(errMessage(res)).toBe(
      `User: arn:aws:iam::111122223333:user/alice is not authorized to perform: sts:AssumeRole on resource: ${arn}`,
    )
    expect(h.issued).toHaveLength(0)
  })

  it('names the configured maximum when DurationSeconds is too large', async () => {
    const h = await harness()
    const res = await post(h, { ...BASE, DurationSeconds: '7889400' }, { key: 'ROOTKEY' })
    expect(res.status).toBe(400)
    expect(errCode(res)).toBe('ValidationError')
    expect(errMessage(res)).toBe(
      "1 validation error detected: Value '7889400' at 'durationSeconds' failed to satisfy constraint: Member must have value less than or equal to 43200 (the server's --sts-max-duration; its operator can raise it)",
    )
    const raised = await harness({ stsDefaultDuration: 3600, stsMaxDuration: 7889400 })
    const ok = await post(raised, { ...BASE, DurationSeconds: '7889400' }, { key: 'ROOTKEY' })
    expect(ok.status).toBe(200)
    expect(raised.issued[0]?.durationSeconds).toBe(7889400)
  })

  it('rejects a bad session policy as MalformedPolicyDocument and a long one as ValidationError', async () => {
    const h = await harness()
    const bad = await post(
      h,
      { ...BASE, Policy: '{"Statement":[{"Effect":"Maybe","Action":"s3:*","Resource":"*"}]}' },
      { key: 'ROOTKEY' },
    )
    expect(errCode(bad)).toBe('MalformedPolicyDocument')
    expect(bad.status).toBe(400)
    const notJson = await post(h, { ...BASE, Policy: '{not json' }, { key: 'ROOTKEY' })
    expect(errCode(notJson)).toBe('MalformedPolicyDocument')
    const long = await post(h, { ...BASE, Policy: ' '.repeat(2049) }, { key: 'ROOTKEY' })
    expect(errCode(long)).toBe('ValidationError')
    expect(errMessage(long)).toContain('less than or equal to 2048')
    expect(h.issued).toHaveLength(0)
  })

  it('answers PackedPolicyTooLarge when policy + tags exceed the budget', async () => {
    const h = await harness()
    const tags: Record<string, string> = {}
    for (let i = 1; i <= 12; i++) {
      tags[`Tags.member.${i}.Key`] = `k${i}`.padEnd(100, 'x')
      tags[`Tags.member.${i}.Value`] = 'v'.repeat(200)
    }
    const res = await post(h, { ...BASE, ...tags }, { key: 'ROOTKEY' })
    expect(res.status).toBe(400)
    expect(errCode(res)).toBe('PackedPolicyTooLarge')
  })

  it('resolves PolicyArns from the managed catalogue and refuses unknown ones', async () => {
    const h = await harness()
    const ok = await post(
      h,
      { ...BASE, 'PolicyArns.member.1.arn': 'arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess' },
      { key: 'ROOTKEY' },
    )
    expect(ok.status).toBe(200)
    expect(h.issued[0]?.policies.map((p) => p.name)).toEqual(['AmazonS3ReadOnlyAccess'])
    const bad = await post(
      h,
      { ...BASE, 'PolicyArns.member.1.arn': 'arn:aws:iam::aws:policy/Nope' },
      { key: 'ROOTKEY' },
    )
    expect(errCode(bad)).toBe('ValidationError')
    expect(errMessage(bad)).toContain('does not exist or is not attachable')
  })

  it('caps role chaining at one hour and keeps the role of the calling session', async () => {
    const h = await harness()
    const first = await post(h, BASE, { key: 'S4AKALICE' })
    expect(first.status).toBe(200)
    h.keys.set('SESSIONKEY', credOf(first.text))
    const tooLong = await post(h, { ...BASE, DurationSeconds: '3601' }, { key: 'SESSIONKEY' })
    expect(errCode(tooLong)).toBe('ValidationError')
    expect(errMessage(tooLong)).toContain('1 hour session limit')
    const ok = await post(h, { ...BASE, RoleSessionName: 'chained' }, { key: 'SESSIONKEY' })
    expect(ok.status).toBe(200)
    expect(h.issued[1]?.durationSeconds).toBe(3600)
    expect(h.issued[1]?.roleId).toBe(h.issued[0]?.roleId)
    expect(ok.text).toContain('assumed-role/alice/chained')
    // A session with a session policy may chain with a broader one: STS hands IAM only the new
    // policies, and IAM layers them under the inherited ones (the intersection is checked below,
    // 'a chained session cannot exceed its parent's session policy').
    const narrow = await post(
      h,
      { ...BASE, RoleSessionName: 'narrow', Policy: SEED_POLICY },
      { key: 'S4AKALICE' },
    )
    expect(narrow.status).toBe(200)
    const narrowCred = credOf(narrow.text)
    h.keys.set('NARROWKEY', narrowCred)
    const wider = await post(
      h,
      {
        ...BASE,
        RoleSessionName: 'wider',
        'PolicyArns.member.1.arn': 'arn:aws:iam::aws:policy/AmazonS3FullAccess',
      },
      { key: 'NARROWKEY' },
    )
    expect(wider.status).toBe(200)
    expect(h.issued).toHaveLength(4)
    expect(h.issued[3]?.caller).toMatchObject({
      kind: 'session',
      accessKeyId: narrowCred.accessKeyId,
    })
    expect(h.issued[3]?.policies.map((p) => p.name)).toEqual(['AmazonS3FullAccess'])
  })

  it('STS sees the aws:* keys S3 sees: an IPv4 Deny holds for an IPv4-mapped client, Referer is set', async () => {
    const h = await harness()
    await h.iam.putUserPolicy(
      h.alice.id,
      JSON.stringify({
        Version: '2012-10-17',
        Statement: [
          {
            Effect: 'Deny',
            Action: 'sts:AssumeRole',
            Resource: '*',
            Condition: { IpAddress: { 'aws:SourceIp': '192.0.2.0/24' } },
          },
          {
            Effect: 'Deny',
            Action: 'sts:GetSessionToken',
            Resource: '*',
            Condition: { StringLike: { 'aws:Referer': 'https://evil.test/*' } },
          },
        ],
      }),
    )
    const mapped = await post(h, BASE, { key: 'S4AKALICE', address: '::ffff:192.0.2.7' })
    expect([mapped.status, errCode(mapped)]).toEqual([403, 'AccessDenied'])
    expect((await post(h, BASE, { key: 'S4AKALICE', address: '198.51.100.1' })).status).toBe(200)
    const gst = { Action: 'GetSessionToken', Version: '2011-06-15' }
    const referred = await post(h, gst, {
      key: 'S4AKALICE',
      headers: { referer: 'https://evil.test/page' },
    })
    expect([referred.status, errCode(referred)]).toEqual([403, 'AccessDenied'])
    expect((await post(h, gst, { key: 'S4AKALICE' })).status).toBe(200)
  })

  it('lets an explicit Deny on sts:AssumeRole in the user policy refuse', async () => {
    const h = await harness()
    await h.iam.putUserPolicy(
      h.alice.id,
      '{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"sts:AssumeRole","Resource":"*"}]}',
    )
    const res = await post(h, BASE, { key: 'S4AKALICE' })
    expect(res.status).toBe(403)
    expect(errCode(res)).toBe('AccessDenied')
    expect(errMessage(res)).toContain('with an explicit deny in an identity-based policy')
    // GetCallerIdentity still works under the Deny.
    const who = await post(
      h,
      { Action: 'GetCallerIdentity', Version: '2011-06-15' },
      { key: 'S4AKALICE' },
    )
    expect(who.status).toBe(200)
  })

  it('answers Throttling (400) naming the limit when IAM bounds the parent', async () => {
    const h = await harness(undefined, { maxSessionsPerParent: 1 })
    expect((await post(h, BASE, { key: 'ROOTKEY' })).status).toBe(200)
    const res = await post(h, BASE, { key: 'ROOTKEY' })
    expect(res.status).toBe(400)
    expect(errCode(res)).toBe('Throttling')
    expect(errMessage(res)).toBe(
      `Rate exceeded: arn:aws:iam::${ACCT}:root holds 1 sessions, the limit (1); revoke some or wait for them to expire`,
    )
  })

  it('answers Throttling (400) naming the issuance rate beyond the burst, with Retry-After', async () => {
    const h = await harness(undefined, { stsIssueRate: 5, stsIssueBurst: 2 })
    for (let i = 0; i < 2; i++) expect((await post(h, BASE, { key: 'ROOTKEY' })).status).toBe(200)
    const res = await post(h, BASE, { key: 'ROOTKEY' })
    expect([res.status, errCode(res), errMessage(res)]).toEqual([
      400,
      'Throttling',
      `Rate exceeded: the STS issuance rate for arn:aws:iam::${ACCT}:root is 5 per second (burst 2)`,
    ])
    expect(res.headers['retry-after']).toBe('1')
  })
})

describe('protocol errors', () => {
  it('InvalidAction for unknown actions and wrong or missing Version', async () => {
    const h = await harness()
    const table: Record<string, string>[] = [
      { Action: 'Frobnicate', Version: '2011-06-15' },
      { Action: 'AssumeRole', Version: '2012-01-01', RoleSessionName: 'abc' },
      { Action: 'AssumeRole', RoleSessionName: 'abc' },
      { Version: '2011-06-15' },
    ]
    for (const params of table) {
      const res = await post(h, params, { key: 'ROOTKEY' })
      expect(res.status).toBe(400)
      expect(errCode(res)).toBe('InvalidAction')
      expect(parse(res)).toHaveProperty('ErrorResponse.Error.Type', 'Sender')
    }
  })

  it('NotImplemented for real STS actions this server lacks', async () => {
    const res = await post(
      await harness(),
      { Action: 'GetFederationToken', Version: '2011-06-15', Name: 'x' },
      { key: 'ROOTKEY' },
    )
    expect(res.status).toBe(501)
    expect(errCode(res)).toBe('NotImplemented')
    expect(parse(res)).toHaveProperty('ErrorResponse.Error.Type', 'Receiver')
  })

  it('MissingAuthenticationToken for an unsigned signed action', async () => {
    const res = await post(await harness(), BASE)
    expect(res.status).toBe(403)
    expect(errCode(res)).toBe('MissingAuthenticationToken')
  })

  it('maps auth-layer errors to STS codes', async () => {
    const cases: [AuthError, string, number][] = [
      [new AuthError('unknown-key'), 'InvalidClientTokenId', 403],
      [new AuthError('token-invalid'), 'InvalidClientTokenId', 403],
      [new AuthError('token-expired'), 'ExpiredToken', 403],
      [new AuthError('signature-mismatch'), 'SignatureDoesNotMatch', 403],
      [
        new AuthError('request-skewed', undefined, { RequestTime: 'a', ServerTime: 'b' }),
        'SignatureDoesNotMatch',
        403,
      ],
      [
        new AuthError('malformed', 'The authorization header is malformed.'),
        'IncompleteSignature',
        400,
      ],
    ]
    for (const [err, code, status] of cases) {
      const h = await harness()
      h.keys.set('BAD', err)
      const res = await post(h, BASE, { key: 'BAD' })
      expect([errCode(res), res.status]).toEqual([code, status])
    }
    const h = await harness()
    h.keys.set(
      'BAD',
      new AuthError('request-skewed', undefined, {
        RequestTime: '20260101T000000Z',
        ServerTime: '20260101T010000Z',
      }),
    )
    expect(errMessage(await post(h, BASE, { key: 'BAD' }))).toMatch(/^Signature expired: /)
    h.keys.set('BAD', new AuthError('token-expired'))
    expect(errMessage(await post(h, BASE, { key: 'BAD' }))).toBe(
      'The security token included in the request is expired',
    )
    h.keys.set('BAD', new AuthError('unknown-key'))
    expect(errMessage(await post(h, BASE, { key: 'BAD' }))).toBe(
      'The security token included in the request is invalid.',
    )
  })

  it('refuses addresses outside the account allow-list, saying so', async () => {
    const h = await harness()
    await h.iam.setAllowlist(ACCT, ['10.0.0.1'])
    const res = await post(
      h,
      { Action: 'GetCallerIdentity', Version: '2011-06-15' },
      { key: 'ROOTKEY', address: '10.9.9.9' },
    )
    expect(res.status).toBe(403)
    expect(errCode(res)).toBe('AccessDenied')
    expect(errMessage(res)).toBe('Access from 10.9.9.9 is not allowed for this account')
    const ok = await post(
      h,
      { Action: 'GetCallerIdentity', Version: '2011-06-15' },
      { key: 'ROOTKEY', address: '10.0.0.1' },
    )
    expect(ok.status).toBe(200)
  })
})

describe('GetCallerIdentity and GetSessionToken', () => {
  it('GetCallerIdentity for master key and user', async () => {
    const h = await harness()
    const root = parse(
      await post(h, { Action: 'GetCallerIdentity', Version: '2011-06-15' }, { key: 'ROOTKEY' }),
    )
    expect(root).toHaveProperty('GetCallerIdentityResponse.GetCallerIdentityResult', {
      Arn: 'arn:aws:iam::111122223333:root',
      UserId: '111122223333',
      Account: '111122223333',
    })
    const user = parse(
      await post(h, { Action: 'GetCallerIdentity', Version: '2011-06-15' }, { key: 'S4AKALICE' }),
    )
    expect(user).toHaveProperty(
      'GetCallerIdentityResponse.GetCallerIdentityResult.Arn',
      'arn:aws:iam::111122223333:user/alice',
    )
    expect(user).toHaveProperty(
      'GetCallerIdentityResponse.GetCallerIdentityResult.UserId',
      h.alice.id,
    )
  })

  it('GetSessionToken: 900..129600, default 43200, no policy; root capped at 3600', async () => {
    const h = await harness()
    const res = await post(
      h,
      { Action: 'GetSessionToken', Version: '2011-06-15' },
      { key: 'S4AKALICE' },
    )
    expect(res.status).toBe(200)
    const doc = parse(res) as {
      GetSessionTokenResponse: { GetSessionTokenResult: { Credentials: Node } }
    }
    expect(Object.keys(doc.GetSessionTokenResponse.GetSessionTokenResult.Credentials)).toEqual([
      'AccessKeyId',
      'SecretAccessKey',
      'SessionToken',
      'Expiration',
    ])
    expect(h.issued[0]?.durationSeconds).toBe(43200)
    expect(h.issued[0]?.policies).toHaveLength(0)
    const tooLong = await post(
      h,
      { Action: 'GetSessionToken', Version: '2011-06-15', DurationSeconds: '129601' },
      { key: 'S4AKALICE' },
    )
    expect(errMessage(tooLong)).toContain('less than or equal to 129600')
    const tooShort = await post(
      h,
      { Action: 'GetSessionToken', Version: '2011-06-15', DurationSeconds: '899' },
      { key: 'S4AKALICE' },
    )
    expect(errMessage(tooShort)).toContain('greater than or equal to 900')
    const root = await post(
      h,
      { Action: 'GetSessionToken', Version: '2011-06-15', DurationSeconds: '7200' },
      { key: 'ROOTKEY' },
    )
    expect(errMessage(root)).toContain('less than or equal to 3600')
  })
})

describe('RSLogin', () => {
  const LOGIN = {
    Action: 'RSLogin',
    Version: '2011-06-15',
    DurationSeconds: '300',
    Customer: 'default',
    UserName: 'alice',
    Password: 'correct horse',
    OTP: '',
  }

  it('answers the Lyve JSON with an empty SessionToken and UserInfo', async () => {
    const h = await harness()
    const res = await post(h, LOGIN, { headers: { 'x-lyve-customer': 'default' } })
    expect(res.status).toBe(200)
    const body = JSON.parse(res.text) as Record<string, Record<string, unknown>>
    expect(Object.keys(body)).toEqual(['RequestId', 'Credentials', 'UserInfo'])
    expect(Object.keys(body['Credentials'] ?? {})).toEqual([
      'SessionToken',
      'SecretAccessKey',
      'Expiration',
      'AccessKeyId',
    ])
    expect(body['Credentials']?.['SessionToken']).toBe('')
    expect(Object.keys(body['UserInfo'] ?? {})).toEqual([
      'Id',
      'Name',
      'PwdMustChange',
      'Email',
      'Firstname',
      'Lastname',
      'Type',
      'CreatedOn',
      'LastAccess',
      'Path',
      'Root',
      'TFAEnabled',
    ])
    expect(body['UserInfo']).toMatchObject({
      Name: 'alice',
      Type: 'user',
      Root: 'lyve:default',
      Path: '',
      Email: 'alice@example.com',
    })
    expect(h.issued[0]?.withToken).toBe(false)
    expect(h.issued[0]?.durationSeconds).toBe(300)
  })

  it('gives the same refusal for a wrong user, password, customer or OTP', async () => {
    const h = await harness()
    const { secret } = await h.iam.enrollTotp(h.alice.id)
    const otp = generateSync({ secret, epoch: Math.floor(h.clock.now() / 1000) })
    const wrongOtp = otp === '000000' ? '000001' : '000000'
    const answers = new Set<string>()
    for (const p of [
      { ...LOGIN, OTP: otp, UserName: 'nobody' },
      { ...LOGIN, OTP: otp, Password: 'wrong' },
      { ...LOGIN, OTP: otp, Customer: 'elsewhere' },
      { ...LOGIN, OTP: wrongOtp },
      LOGIN,
    ]) {
      const res = await post(h, p)
      expect(res.status).toBe(403)
      answers.add(res.text)
    }
    expect(answers.size).toBe(1)
    expect(JSON.parse([...answers][0] ?? '')).toEqual({
      Error: { Code: 'AccessDenied', Message: 'Invalid credentials' },
      RequestId: 'req-1',
    })
    expect((await post(h, { ...LOGIN, OTP: otp })).status).toBe(200)
  })

  it('answers 429 + Retry-After when throttled, in JSON', async () => {
    const h = await harness()
    // Ten failures lock the user out (iam/logins.ts); then even the right password is refused.
    for (let i = 0; i < 10; i++)
      expect((await post(h, { ...LOGIN, Password: `wrong-${i}` })).status).toBe(403)
    // Retry-After: until the first failure leaves the 15-minute window.
    h.clock.advance(5 * 60_000)
    const res = await post(h, LOGIN)
    expect(res.status).toBe(429)
    expect(res.headers['retry-after']).toBe('600')
    expect(JSON.parse(res.text)).toMatchObject({
      Error: { Code: 'Throttling', Message: 'Rate exceeded' },
    })
  })

  it('applies the allow-list of the account named by x-rstor-customer', async () => {
    const h = await harness()
    await h.iam.setAllowlist(ACCT, ['10.0.0.1'])
    const res = await post(
      h,
      { ...LOGIN, Customer: '' },
      { headers: { 'x-rstor-customer': 'default' }, address: '192.0.2.7' },
    )
    expect(res.status).toBe(403)
    expect(JSON.parse(res.text)).toMatchObject({
      Error: {
        Code: 'AccessDenied',
        Message: 'Access from 192.0.2.7 is not allowed for this account',
      },
    })
  })

  it('validates DurationSeconds and required fields in JSON', async () => {
    const h = await harness()
    const res = await post(h, { ...LOGIN, DurationSeconds: '43201' })
    expect(res.status).toBe(400)
    expect(JSON.parse(res.text)).toMatchObject({ Error: { Code: 'ValidationError' } })
    const missing = await post(h, { Action: 'RSLogin', Version: '2011-06-15', UserName: 'alice' })
    expect(JSON.parse(missing.text)).toMatchObject({ Error: { Code: 'ValidationError' } })
  })
})

describe('RSAssumeCustomerRole', () => {
  const P = {
    Action: 'RSAssumeCustomerRole',
    Version: '2011-06-15',
    Customer: 'newcorp',
    DurationSeconds: '300',
  }

  it('lets a reseller master key act as its customer root, tokenless', async () => {
    const h = await harness()
    const res = await post(h, P, { key: 'RESELLERKEY' })
    expect(res.status).toBe(200)
    const body = JSON.parse(res.text) as Record<string, unknown>
    expect(Object.keys(body)).toEqual(['Ok', 'AccessKeyId', 'SecretAccessKey', 'Expiration'])
    expect(body['Ok']).toBe(true)
    const req = h.issued[0]
    expect(req?.actAs).toEqual({
      kind: 'account-root',
      accountId: CUSTOMER,
      accessKeyId: h.iam.getAccount(CUSTOMER)?.masterAccessKeyId,
    })
    expect(req?.withToken).toBe(false)
    expect(req?.caller.accountId).toBe(RESELLER)
  })

  it('refuses non-resellers, non-SuperUsers and customers of other resellers', async () => {
    const h = await harness()
    const w = await h.iam.createUser(
      { accountId: RESELLER, username: 'w', password: 'writer-pass-1', role: 'Writer' },
      h.clock.now(),
    )
    h.keys.set('RESELLERWRITER', {
      accessKeyId: (await h.iam.generateKey(w.id, h.clock.now())).accessKeyId,
    })
    for (const [key, customer] of [
      ['ROOTKEY', 'newcorp'],
      ['S4AKALICE', 'newcorp'],
      ['RESELLERWRITER', 'newcorp'],
      ['RESELLERKEY', 'default'],
      ['RESELLERKEY', 'nosuch'],
    ] as const) {
      const res = await post(h, { ...P, Customer: customer }, { key })
      expect(res.status).toBe(403)
      expect(JSON.parse(res.text)).toMatchObject({ Error: { Code: 'AccessDenied' } })
    }
    expect(h.issued).toHaveLength(0)
    const unsigned = await post(h, P)
    expect(JSON.parse(unsigned.text)).toMatchObject({
      Error: { Code: 'MissingAuthenticationToken' },
    })
  })
})

/**
 * What only the real service can show: the STS answers above hold for the sessions the service
 * really makes, and a session's restrictions, its quota and its revocation follow it down a chain.
 */
describe('role chaining over the real IAM service', () => {
  const GCI = { Action: 'GetCallerIdentity', Version: '2011-06-15' }
  const NO_PUT = JSON.stringify({
    Version: '2012-10-17',
    Statement: [
      { Effect: 'Allow', Action: '*', Resource: '*' },
      { Effect: 'Deny', Action: 's3:PutObject', Resource: '*' },
      {
        Effect: 'Deny',
        Action: 'sts:AssumeRole',
        Resource: '*',
        Condition: { StringEquals: { 'sts:RoleSessionName': 'forbidden' } },
      },
    ],
  })

  /** Whether `key`'s principal may `action` on `resource`, by the service's policies + the engine. */
  async function may(h: Harness, key: string, action: string, resource: string): Promise<boolean> {
    const k = h.keys.get(key)
    if (k === undefined || k instanceof Error) throw new Error(`test: no credential ${key}`)
    const cred = await h.iam.resolve(k.accessKeyId)
    if (cred === undefined) throw new Error(`test: ${key} does not resolve`)
    const { decision } = authorize({
      principal: principalFacts(cred.principal),
      policies: await h.iam.policiesFor(cred.principal),
      requirement: { action, resource },
      context: new Map<string, readonly string[]>(),
    })
    return decision.effect === 'allow'
  }

  it("a chained session cannot exceed its parent's session policy, even asking for more", async () => {
    const h = await harness()
    const obj = 'arn:aws:s3:::b/k'
    // alice (Writer) may put; her session minted with NO_PUT may not.
    expect(await may(h, 'S4AKALICE', 's3:PutObject', obj)).toBe(true)
    const parent = await post(
      h,
      { ...BASE, RoleSessionName: 'no-put', Policy: NO_PUT },
      { key: 'S4AKALICE' },
    )
    expect(parent.status).toBe(200)
    h.keys.set('PARENT', credOf(parent.text))
    expect(await may(h, 'PARENT', 's3:PutObject', obj)).toBe(false)
    expect(await may(h, 'PARENT', 's3:GetObject', obj)).toBe(true)
    // Chained with full access asked for, inline and managed: STS accepts, the rights stay capped.
    const child = await post(
      h,
      {
        ...BASE,
        RoleSessionName: 'wants-more',
        Policy: JSON.stringify({
          Version: '2012-10-17',
          Statement: [{ Effect: 'Allow', Action: 's3:PutObject', Resource: '*' }],
        }),
        'PolicyArns.member.1.arn': 'arn:aws:iam::aws:policy/AmazonS3FullAccess',
      },
      { key: 'PARENT' },
    )
    expect(child.status).toBe(200)
    h.keys.set('CHILD', credOf(child.text))
    expect(await may(h, 'CHILD', 's3:PutObject', obj)).toBe(false)
    // What both layers allow (the managed policy's s3:*, the parent's '*') it keeps.
    expect(await may(h, 'CHILD', 's3:GetObject', obj)).toBe(true)
    const who = parse(await post(h, GCI, { key: 'CHILD' }))
    expect(who).toHaveProperty(
      'GetCallerIdentityResponse.GetCallerIdentityResult.Arn',
      'arn:aws:sts::111122223333:assumed-role/alice/wants-more',
    )
    // The parent's session policy binds STS itself down the chain: its conditional Deny on
    // sts:AssumeRole refuses the grandchild by name, as a session policy's deny.
    const ok = await post(h, { ...BASE, RoleSessionName: 'fine' }, { key: 'CHILD' })
    expect(ok.status).toBe(200)
    const refused = await post(h, { ...BASE, RoleSessionName: 'forbidden' }, { key: 'CHILD' })
    expect([refused.status, errCode(refused)]).toEqual([403, 'AccessDenied'])
    expect(errMessage(refused)).toContain('with an explicit deny in a session policy')
    // alice herself is not bound by it.
    const direct = await post(h, { ...BASE, RoleSessionName: 'forbidden' }, { key: 'S4AKALICE' })
    expect(direct.status).toBe(200)
  })

  it("a revoked parent session's chained session is refused on the very next call", async () => {
    const h = await harness()
    h.keys.set('PARENT', credOf((await post(h, BASE, { key: 'S4AKALICE' })).text))
    const child = await post(h, { ...BASE, RoleSessionName: 'chained' }, { key: 'PARENT' })
    h.keys.set('CHILD', credOf(child.text))
    const before = await post(h, GCI, { key: 'CHILD' })
    expect(before.status).toBe(200)
    expect(parse(before)).toHaveProperty(
      'GetCallerIdentityResponse.GetCallerIdentityResult.Arn',
      'arn:aws:sts::111122223333:assumed-role/alice/chained',
    )
    const parentKey = h.keys.get('PARENT') as Cred
    expect(await h.iam.revoke(parentKey.accessKeyId)).toBe(true)
    for (const key of ['CHILD', 'PARENT']) {
      const after = await post(h, GCI, { key })
      expect([after.status, errCode(after)]).toEqual([403, 'InvalidClientTokenId'])
    }
    // Nor can the dead child mint anything; alice's own key is untouched.
    const mint = await post(h, { ...BASE, RoleSessionName: 'zombie' }, { key: 'CHILD' })
    expect(errCode(mint)).toBe('InvalidClientTokenId')
    expect((await post(h, GCI, { key: 'S4AKALICE' })).status).toBe(200)
  })

  it("chained sessions count against the long-term parent's quota; revoking one frees it at the sweep", async () => {
    const h = await harness(undefined, { maxSessionsPerParent: 2 })
    h.keys.set('S1', credOf((await post(h, BASE, { key: 'S4AKALICE' })).text))
    const s2 = await post(h, { ...BASE, RoleSessionName: 'link-2' }, { key: 'S1' })
    expect(s2.status).toBe(200)
    h.keys.set('S2', credOf(s2.text))
    // The quota is alice's, not per link: neither she nor any session of hers may mint a third.
    for (const key of ['S4AKALICE', 'S1', 'S2']) {
      const res = await post(h, { ...BASE, RoleSessionName: 'third' }, { key })
      expect([res.status, errCode(res), errMessage(res)]).toEqual([
        400,
        'Throttling',
        `Rate exceeded: arn:aws:iam::${ACCT}:user/alice holds 2 sessions, the limit (2); revoke some or wait for them to expire`,
      ])
    }
    // The root's quota is its own.
    expect((await post(h, BASE, { key: 'ROOTKEY' })).status).toBe(200)
    expect(await h.iam.revoke((h.keys.get('S2') as Cred).accessKeyId)).toBe(true)
    expect(await h.iam.sweepExpiredSessions(h.clock.now())).toBe(1)
    const again = await post(h, { ...BASE, RoleSessionName: 'third' }, { key: 'S1' })
    expect(again.status).toBe(200)
  })
})

describe('AssumeRole with a policy already compiled', () => {
  it('answers the same as the first time, and a policy refused for its characters is refused every time', async () => {
    const h = await harness()
    const policy = JSON.stringify({
      Version: '2012-10-17',
      Statement: [{ Effect: 'Allow', Action: 's3:GetObject', Resource: 'arn:aws:s3:::cached/*' }],
    })
    for (let i = 0; i < 2; i++) {
      const ok = await post(h, { ...BASE, Policy: policy }, { key: 'ROOTKEY' })
      expect(ok.status).toBe(200)
      expect(ok.text).toContain('<PackedPolicySize>')
    }
    // U+0100 is outside AWS's policy character set (a valid JSON policy nonetheless).
    const wide = policy.replace('cached', 'cached\u0100')
    for (let i = 0; i < 2; i++) {
      const bad = await post(h, { ...BASE, Policy: wide }, { key: 'ROOTKEY' })
      expect(bad.status).toBe(400)
      expect(errCode(bad)).toBe('ValidationError')
      expect(errMessage(bad)).toContain("Value at 'policy'")
    }
  })
})
