/**
 * STS end to end: the real server, the unmodified AWS SDK v3 (seed 000/002 calls unchanged but for
 * the endpoint), Lyve's raw requests from seed 003 with the same field names, the error codes the
 * SDKs must surface, boto3 and the aws CLI, and the five ways a session dies.
 */
import { request as httpRequest } from 'node:http'
import { request as httpsRequest } from 'node:https'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { generateSync } from 'otplib'
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  ListBucketsCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  UploadPartCommand,
  type S3Client,
} from '@aws-sdk/client-s3'
import {
  AssumeRoleCommand,
  GetCallerIdentityCommand,
  GetSessionTokenCommand,
  type Credentials,
} from '@aws-sdk/client-sts'
import { startServer, type TestServer } from './harness.js'
import { adminLogin, userWithKey, type AdminClient } from './admin-client.js'
import { HAS_AWS_CLI, HAS_BOTO3, aws, boto3 } from './tools.js'
import { signStsPost } from '../../src/cli/sts-assume-role.js'

interface Keys {
  readonly accessKeyId: string
  readonly secretAccessKey: string
  readonly sessionToken?: string
}

// Seed 000, verbatim.
const SEED_PARAMS = {
  RoleSessionName: 'only-put-object',
  DurationSeconds: 3600,
  Policy: `{
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Action": [
                "s3:PutObject",
                "s3:AbortMultipartUpload"
            ],
            "Resource": [
                "arn:aws:s3:::your-bucket-name/your-directory/*"
            ]
        }
    ]
}`,
}

let server: TestServer
let admin: AdminClient
let account = ''

function keysOf(c: Credentials | undefined): Keys {
  if (c?.AccessKeyId === undefined || c.SecretAccessKey === undefined)
    throw new Error('no credentials in the answer')
  return {
    accessKeyId: c.AccessKeyId,
    secretAccessKey: c.SecretAccessKey,
    ...(c.SessionToken ? { sessionToken: c.SessionToken } : {}),
  }
}

/** A raw POST (form or whatever headers say) to the server; TLS certificates are not checked. */
function rawPost(
  url: URL,
  headers: Record<string, string>,
  body: string,
): Promise<{
  status: number
  text: string
  headers: Record<string, string | string[] | undefined>
}> {
  const https = url.protocol === 'https:'
  return new Promise((resolve, reject) => {
    const r = (https ? httpsRequest : httpRequest)(
      url,
      {
        method: 'POST',
        headers: { 'content-length': String(Buffer.byteLength(body)), ...headers },
        ...(https ? { rejectUnauthorized: false } : {}),
      },
      (res) => {
        const chunks: Buffer[] = []
        res.on('data', (c: Buffer) => chunks.push(c))
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            text: Buffer.concat(chunks).toString('utf8'),
            headers: res.headers,
          }),
        )
      },
    )
    r.on('error', reject)
    r.end(body)
  })
}

/** A SigV4-signed STS form POST (signed by the CLI's signer, independent of the SDK). */
function signedPost(form: Record<string, string>, keys: Keys): ReturnType<typeof rawPost> {
  const s = signStsPost(server.endpoint, form, keys, 'us-east-1', Date.now())
  const { host: _host, 'content-length': _len, ...headers } = s.headers
  void _host
  void _len
  return rawPost(s.url, headers, s.body)
}

function unsignedPost(
  form: string,
  headers: Record<string, string> = {},
): ReturnType<typeof rawPost> {
  return rawPost(
    new URL(server.endpoint),
    { 'content-type': 'application/x-www-form-urlencoded;charset=UTF-8', ...headers },
    form,
  )
}

async function rejection(
  p: Promise<unknown>,
): Promise<{ name: string; message: string; status: number | undefined }> {
  try {
    await p
  } catch (e) {
    const err = e as { name: string; message: string; $metadata?: { httpStatusCode?: number } }
    return { name: err.name, message: err.message, status: err.$metadata?.httpStatusCode }
  }
  throw new Error('expected the call to fail')
}

const master = (): Keys => ({
  accessKeyId: server.accessKeyId,
  secretAccessKey: server.secretAccessKey,
})

beforeAll(async () => {
  server = await startServer()
  admin = await adminLogin(server)
  const who = await server.sts().send(new GetCallerIdentityCommand({}))
  account = who.Account ?? ''
  await server.s3().send(new CreateBucketCommand({ Bucket: 'your-bucket-name' }))
})

afterAll(async () => {
  await server?.stop()
})

describe('seed 000: AssumeRole with the master key and the upload-only policy', () => {
  let s3: S3Client
  let creds: Keys

  beforeAll(async () => {
    const out = await server.sts().send(new AssumeRoleCommand(SEED_PARAMS as never))
    creds = keysOf(out.Credentials)
    expect(out.AssumedRoleUser?.AssumedRoleId).toMatch(/^AROA[A-Z0-9]+:only-put-object$/)
    expect(out.AssumedRoleUser?.Arn).toBe(
      `arn:aws:sts::${account}:assumed-role/root/only-put-object`,
    )
    expect(out.PackedPolicySize).toBeGreaterThan(0)
    expect(creds.accessKeyId).toMatch(/^ASIA[A-Z0-9]{16}$/)
    expect(out.Credentials?.Expiration?.getTime()).toBeGreaterThan(Date.now() + 3500_000)
    s3 = server.s3(creds)
  })

  it('may PutObject under your-directory/', async () => {
    await s3.send(
      new PutObjectCommand({
        Bucket: 'your-bucket-name',
        Key: 'your-directory/a.txt',
        Body: 'hello',
      }),
    )
  })

  it('may run and abort multipart uploads under your-directory/', async () => {
    const up = await s3.send(
      new CreateMultipartUploadCommand({
        Bucket: 'your-bucket-name',
        Key: 'your-directory/big.bin',
      }),
    )
    const part = await s3.send(
      new UploadPartCommand({
        Bucket: 'your-bucket-name',
        Key: 'your-directory/big.bin',
        UploadId: up.UploadId,
        PartNumber: 1,
        Body: 'part-one',
      }),
    )
    await s3.send(
      new CompleteMultipartUploadCommand({
        Bucket: 'your-bucket-name',
        Key: 'your-directory/big.bin',
        UploadId: up.UploadId,
        MultipartUpload: { Parts: [{ PartNumber: 1, ETag: part.ETag }] },
      }),
    )
    const up2 = await s3.send(
      new CreateMultipartUploadCommand({
        Bucket: 'your-bucket-name',
        Key: 'your-directory/aborted.bin',
      }),
    )
    await s3.send(
      new AbortMultipartUploadCommand({
        Bucket: 'your-bucket-name',
        Key: 'your-directory/aborted.bin',
        UploadId: up2.UploadId,
      }),
    )
  })

  it('is denied GetObject, ListObjects and PutObject elsewhere', async () => {
    for (const call of [
      () =>
        s3.send(new GetObjectCommand({ Bucket: 'your-bucket-name', Key: 'your-directory/a.txt' })),
      () => s3.send(new ListObjectsV2Command({ Bucket: 'your-bucket-name' })),
      () =>
        s3.send(
          new PutObjectCommand({ Bucket: 'your-bucket-name', Key: 'elsewhere.txt', Body: 'x' }),
        ),
      () =>
        s3.send(
          new PutObjectCommand({
            Bucket: 'your-bucket-name',
            Key: 'your-directory-not/x',
            Body: 'x',
          }),
        ),
    ]) {
      const e = await rejection(call())
      expect([e.name, e.status]).toEqual(['AccessDenied', 403])
    }
  })

  it('GetCallerIdentity names the session', async () => {
    const who = await server.sts(creds).send(new GetCallerIdentityCommand({}))
    expect(who.Arn).toBe(`arn:aws:sts::${account}:assumed-role/root/only-put-object`)
    expect(who.UserId).toMatch(/^AROA[A-Z0-9]+:only-put-object$/)
    expect(who.Account).toBe(account)
  })

  it('role chaining with a wider policy gets only the intersection with the calling session', async () => {
    const sts = server.sts(creds)
    // Inline policy wider than the session's (everything in the bucket), plus full S3 access.
    const wider = await sts.send(
      new AssumeRoleCommand({
        RoleSessionName: 'wider',
        Policy: JSON.stringify({
          Version: '2012-10-17',
          Statement: [
            {
              Effect: 'Allow',
              Action: 's3:*',
              Resource: ['arn:aws:s3:::your-bucket-name', 'arn:aws:s3:::your-bucket-name/*'],
            },
          ],
        }),
        PolicyArns: [{ arn: 'arn:aws:iam::aws:policy/AmazonS3FullAccess' }],
      } as never),
    )
    const w = server.s3(keysOf(wider.Credentials))
    // In both the parent session's policy and the new one: allowed.
    await w.send(
      new PutObjectCommand({
        Bucket: 'your-bucket-name',
        Key: 'your-directory/wider.txt',
        Body: 'x',
      }),
    )
    // Only in the new policy: refused, however wide the new policy is.
    for (const call of [
      () =>
        w.send(new GetObjectCommand({ Bucket: 'your-bucket-name', Key: 'your-directory/a.txt' })),
      () => w.send(new ListObjectsV2Command({ Bucket: 'your-bucket-name' })),
      () =>
        w.send(
          new PutObjectCommand({ Bucket: 'your-bucket-name', Key: 'elsewhere.txt', Body: 'x' }),
        ),
      () => w.send(new ListBucketsCommand({})),
    ]) {
      const e = await rejection(call())
      expect([e.name, e.status]).toEqual(['AccessDenied', 403])
    }
    // Chaining again from the chained session with a narrower policy narrows further.
    const narrower = await server.sts(keysOf(wider.Credentials)).send(
      new AssumeRoleCommand({
        RoleSessionName: 'narrower',
        Policy: JSON.stringify({
          Version: '2012-10-17',
          Statement: [
            {
              Effect: 'Allow',
              Action: 's3:PutObject',
              Resource: 'arn:aws:s3:::your-bucket-name/your-directory/sub/*',
            },
          ],
        }),
      } as never),
    )
    const n = server.s3(keysOf(narrower.Credentials))
    await n.send(
      new PutObjectCommand({
        Bucket: 'your-bucket-name',
        Key: 'your-directory/sub/n.txt',
        Body: 'x',
      }),
    )
    const e = await rejection(
      n.send(
        new PutObjectCommand({
          Bucket: 'your-bucket-name',
          Key: 'your-directory/n.txt',
          Body: 'x',
        }),
      ),
    )
    expect(e.name).toBe('AccessDenied')
  })

  it("role chaining: a chained session cannot exceed one hour and keeps its parent's policy", async () => {
    const sts = server.sts(creds)
    const long = await rejection(
      sts.send(
        new AssumeRoleCommand({ RoleSessionName: 'longer', DurationSeconds: 7200 } as never),
      ),
    )
    expect(long.name).toBe('ValidationError')
    const chained = await sts.send(new AssumeRoleCommand({ RoleSessionName: 'chained' } as never))
    const s3c = server.s3(keysOf(chained.Credentials))
    await s3c.send(
      new PutObjectCommand({
        Bucket: 'your-bucket-name',
        Key: 'your-directory/chained.txt',
        Body: 'x',
      }),
    )
    expect(
      (
        await rejection(
          s3c.send(
            new GetObjectCommand({ Bucket: 'your-bucket-name', Key: 'your-directory/a.txt' }),
          ),
        )
      ).name,
    ).toBe('AccessDenied')
  })
})

describe('seed 002: DurationSeconds 7889400', () => {
  const params = { ...SEED_PARAMS, DurationSeconds: 7889400 }

  it('fails with ValidationError naming 43200 by default', async () => {
    const e = await rejection(server.sts().send(new AssumeRoleCommand(params as never)))
    expect(e.name).toBe('ValidationError')
    expect(e.status).toBe(400)
    expect(e.message).toContain('43200')
  })

  it('works with --sts-max-duration 7889400', async () => {
    const big = await startServer({ args: ['--sts-max-duration', '7889400'] })
    try {
      const out = await big.sts().send(new AssumeRoleCommand(params as never))
      const exp = out.Credentials?.Expiration?.getTime() ?? 0
      expect(Math.abs(exp - (Date.now() + 7889400_000))).toBeLessThan(120_000)
    } finally {
      await big.stop()
    }
  })
})

describe('seed 003: Lyve Cloud raw requests', () => {
  it('signed AssumeRole form POST with RoleArn=Required1', async () => {
    const res = await signedPost(
      {
        Action: 'AssumeRole',
        RoleArn: 'Required1',
        RoleSessionName: 'Required2',
        Version: '2011-06-15',
      },
      master(),
    )
    expect(res.status).toBe(200)
    expect(res.text).toContain(
      '<AssumeRoleResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">',
    )
    expect(res.text).toMatch(
      /<AssumedRoleUser><Arn>arn:aws:sts::\d{12}:assumed-role\/root\/Required2<\/Arn><AssumedRoleId>AROA[A-Z0-9]+:Required2<\/AssumedRoleId><\/AssumedRoleUser>/,
    )
    expect(res.text).toMatch(/<SessionToken>[^<]+<\/SessionToken>/)
    expect(res.text).toMatch(/<Expiration>\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ<\/Expiration>/)
  })

  it('GET with the query string works too', async () => {
    const s = await server.sts().send(new GetCallerIdentityCommand({}))
    expect(s.Account).toBe(account)
  })

  it('RSLogin with x-lyve-customer: the Lyve JSON, credentials that work without a token; OTP once enrolled', async () => {
    const c = await admin.call('POST', '/api/admin/customers', {
      name: 'fastvideo',
      type: 'customer',
    })
    expect(c.status).toBe(201)
    const u = await admin.call('POST', '/api/admin/users', {
      username: 'super@fastvideo.com',
      password: 'Hg27TxBBfOzZntb',
      role: 'SuperUser',
      customer: 'fastvideo',
      email: 'super@fastvideo.com',
      firstname: 'Clark',
      lastname: 'Kent',
    })
    expect(u.status).toBe(201)
    const form =
      'Action=RSLogin&Version=2011-06-15&DurationSeconds=300&Customer=fastvideo&UserName=super@fastvideo.com&Password=Hg27TxBBfOzZntb&OTP='
    const res = await unsignedPost(form, {
      'x-lyve-customer': 'fastvideo',
      accept: 'application/json, text/plain, */*',
    })
    expect(res.status).toBe(200)
    const body = JSON.parse(res.text) as {
      RequestId: string
      Credentials: Record<string, string>
      UserInfo: Record<string, unknown>
    }
    expect(Object.keys(body)).toEqual(['RequestId', 'Credentials', 'UserInfo'])
    expect(Object.keys(body.Credentials)).toEqual([
      'SessionToken',
      'SecretAccessKey',
      'Expiration',
      'AccessKeyId',
    ])
    expect(body.Credentials['SessionToken']).toBe('')
    expect(body.UserInfo).toMatchObject({
      Name: 'super@fastvideo.com',
      PwdMustChange: false,
      Email: 'super@fastvideo.com',
      Firstname: 'Clark',
      Lastname: 'Kent',
      Type: 'user',
      Path: '',
      Root: 'lyve:fastvideo',
      TFAEnabled: false,
    })
    expect(Object.keys(body.UserInfo)).toEqual([
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
    const exp = Date.parse(body.Credentials['Expiration'] ?? '')
    expect(Math.abs(exp - (Date.now() + 300_000))).toBeLessThan(60_000)
    // The credentials work on S3 with no session token.
    const s3 = server.s3({
      accessKeyId: body.Credentials['AccessKeyId'] ?? '',
      secretAccessKey: body.Credentials['SecretAccessKey'] ?? '',
    })
    await s3.send(new CreateBucketCommand({ Bucket: 'fastvideo-bucket' }))
    const list = await s3.send(new ListBucketsCommand({}))
    expect(list.Buckets?.map((b) => b.Name)).toContain('fastvideo-bucket')

    // Same refusal for a wrong password, user or customer.
    const refusals = new Set<string>()
    for (const f of [
      form.replace('Hg27TxBBfOzZntb', 'wrong-password'),
      form.replace('UserName=super@', 'UserName=nobody@'),
      form.replace('Customer=fastvideo', 'Customer=nosuchcorp'),
    ]) {
      const r = await unsignedPost(f)
      expect(r.status).toBe(403)
      refusals.add(JSON.stringify({ ...(JSON.parse(r.text) as object), RequestId: '' }))
    }
    expect(refusals.size).toBe(1)

    // After TOTP enrolment the OTP is required.
    const t = await admin.call('POST', `/api/admin/users/${u.json.id}/totp`)
    expect(t.status).toBe(200)
    const noOtp = await unsignedPost(form)
    expect(noOtp.status).toBe(403)
    const code = generateSync({
      secret: t.json.secret as string,
      epoch: Math.floor(Date.now() / 1000),
    })
    const withOtp = await unsignedPost(form.replace('OTP=', `OTP=${code}`))
    expect(withOtp.status).toBe(200)
    expect(
      (JSON.parse(withOtp.text) as { UserInfo: { TFAEnabled: boolean } }).UserInfo.TFAEnabled,
    ).toBe(true)
  })

  it('RSAssumeCustomerRole: a reseller master key or SuperUser acts on its customer only', async () => {
    const r = await admin.call('POST', '/api/admin/customers', {
      name: 'resellcorp',
      type: 'reseller',
    })
    expect(r.status).toBe(201)
    expect(
      (
        await admin.call('POST', '/api/admin/customers', {
          name: 'newcorp',
          type: 'customer',
          reseller: 'resellcorp',
        })
      ).status,
    ).toBe(201)
    const resellerKey: Keys = {
      accessKeyId: r.json.master_key.access_key,
      secretAccessKey: r.json.master_key.secret_key,
    }
    const form = {
      Action: 'RSAssumeCustomerRole',
      Version: '2011-06-15',
      Customer: 'newcorp',
      DurationSeconds: '300',
    }
    const res = await signedPost(form, resellerKey)
    expect(res.status).toBe(200)
    const body = JSON.parse(res.text) as Record<string, unknown>
    expect(Object.keys(body)).toEqual(['Ok', 'AccessKeyId', 'SecretAccessKey', 'Expiration'])
    expect(body['Ok']).toBe(true)
    const asCustomer = {
      accessKeyId: String(body['AccessKeyId']),
      secretAccessKey: String(body['SecretAccessKey']),
    }
    const who = await server.sts(asCustomer).send(new GetCallerIdentityCommand({}))
    const newcorp = await admin.call('GET', '/api/admin/customers/newcorp')
    expect(who.Account).toBe(newcorp.json.id)
    await server.s3(asCustomer).send(new CreateBucketCommand({ Bucket: 'newcorp-bucket' }))

    const su = await userWithKey(admin, 'rsu', 'SuperUser', 'resellcorp')
    expect((await signedPost(form, su)).status).toBe(200)
    const writer = await userWithKey(admin, 'rwriter', 'Writer', 'resellcorp')
    for (const [keys, customer] of [
      [writer, 'newcorp'],
      [master(), 'newcorp'],
      [resellerKey, 'fastvideo'],
      [resellerKey, 'nosuchcorp'],
    ] as const) {
      const denied = await signedPost({ ...form, Customer: customer }, keys)
      expect(denied.status).toBe(403)
      expect(JSON.parse(denied.text)).toMatchObject({ Error: { Code: 'AccessDenied' } })
    }
  })

  it('an allow-list refuses STS requests from other addresses, saying so', async () => {
    const c = await admin.call('POST', '/api/admin/customers', { name: 'fenced', type: 'customer' })
    const keys: Keys = {
      accessKeyId: c.json.master_key.access_key,
      secretAccessKey: c.json.master_key.secret_key,
    }
    expect((await server.sts(keys).send(new GetCallerIdentityCommand({}))).Account).toBe(c.json.id)
    expect(
      (
        await admin.call('PUT', '/api/admin/customers/fenced/allowlist', {
          cidrs: ['192.0.2.0/24'],
        })
      ).status,
    ).toBe(200)
    const e = await rejection(server.sts(keys).send(new GetCallerIdentityCommand({})))
    expect([e.name, e.status]).toEqual(['AccessDenied', 403])
    expect(e.message).toBe('Access from 127.0.0.1 is not allowed for this account')
    const u = await admin.call('POST', '/api/admin/users', {
      username: 'fenceduser',
      password: 'fenced-password-1',
      role: 'Reader',
      customer: 'fenced',
    })
    expect(u.status).toBe(201)
    const login = await unsignedPost(
      'Action=RSLogin&Version=2011-06-15&UserName=fenceduser&Password=fenced-password-1',
      { 'x-rstor-customer': 'fenced' },
    )
    expect(login.status).toBe(403)
    expect(JSON.parse(login.text)).toMatchObject({
      Error: {
        Code: 'AccessDenied',
        Message: 'Access from 127.0.0.1 is not allowed for this account',
      },
    })
  })
})

describe('GetSessionToken and GetCallerIdentity', () => {
  it('GetSessionToken gives a user credentials with its own rights', async () => {
    const u = await userWithKey(admin, 'gst-user', 'Reader')
    const out = await server.sts(u).send(new GetSessionTokenCommand({ DurationSeconds: 900 }))
    const s = keysOf(out.Credentials)
    expect(s.sessionToken).toBeTruthy()
    const list = await server.s3(s).send(new ListBucketsCommand({}))
    expect(list.Buckets?.map((b) => b.Name)).toContain('your-bucket-name')
    const e = await rejection(
      server
        .s3(s)
        .send(new PutObjectCommand({ Bucket: 'your-bucket-name', Key: 'r.txt', Body: 'x' })),
    )
    expect(e.name).toBe('AccessDenied')
    // Named as AWS names GetSessionToken callers: the user itself, not an assumed role.
    expect(e.message).toContain(`User: arn:aws:iam::${account}:user/gst-user is not authorized`)
    const tooLong = await rejection(
      server.sts(u).send(new GetSessionTokenCommand({ DurationSeconds: 129601 })),
    )
    expect(tooLong.name).toBe('ValidationError')
  })

  it('GetSessionToken credentials keep the caller identity, as on AWS', async () => {
    const u = await userWithKey(admin, 'gst-who', 'Writer')
    const s = keysOf(
      (await server.sts(u).send(new GetSessionTokenCommand({ DurationSeconds: 900 }))).Credentials,
    )
    const who = await server.sts(s).send(new GetCallerIdentityCommand({}))
    expect(who).toMatchObject({
      Account: account,
      Arn: `arn:aws:iam::${account}:user/gst-who`,
      UserId: u.id,
    })
    const root = keysOf(
      (await server.sts().send(new GetSessionTokenCommand({ DurationSeconds: 900 }))).Credentials,
    )
    expect(await server.sts(root).send(new GetCallerIdentityCommand({}))).toMatchObject({
      Account: account,
      Arn: `arn:aws:iam::${account}:root`,
      UserId: account,
    })
    // AssumeRole from such credentials is an ordinary assumed role of the user.
    const chained = keysOf(
      (await server.sts(s).send(new AssumeRoleCommand({ RoleSessionName: 'from-gst' } as never)))
        .Credentials,
    )
    const c = await server.sts(chained).send(new GetCallerIdentityCommand({}))
    expect(c.Arn).toBe(`arn:aws:sts::${account}:assumed-role/gst-who/from-gst`)
  })

  it('GetCallerIdentity for master key, user and session', async () => {
    const root = await server.sts().send(new GetCallerIdentityCommand({}))
    expect(root).toMatchObject({
      Account: account,
      Arn: `arn:aws:iam::${account}:root`,
      UserId: account,
    })
    const u = await userWithKey(admin, 'gci-user', 'Writer')
    const user = await server.sts(u).send(new GetCallerIdentityCommand({}))
    expect(user).toMatchObject({
      Account: account,
      Arn: `arn:aws:iam::${account}:user/gci-user`,
      UserId: u.id,
    })
    const s = keysOf(
      (await server.sts(u).send(new AssumeRoleCommand({ RoleSessionName: 'gci' } as never)))
        .Credentials,
    )
    const sess = await server.sts(s).send(new GetCallerIdentityCommand({}))
    expect(sess.Arn).toBe(`arn:aws:sts::${account}:assumed-role/gci-user/gci`)
    expect(sess.UserId).toMatch(/^AROA[A-Z0-9]+:gci$/)
  })
})

describe('errors the SDKs must surface by name', () => {
  it('InvalidClientTokenId, SignatureDoesNotMatch', async () => {
    const unknown = await rejection(
      server
        .sts({ accessKeyId: 'S4AKNOSUCHKEY0000000000', secretAccessKey: 'x'.repeat(40) })
        .send(new GetCallerIdentityCommand({})),
    )
    expect([unknown.name, unknown.status, unknown.message]).toEqual([
      'InvalidClientTokenId',
      403,
      'The security token included in the request is invalid.',
    ])
    const wrong = await rejection(
      server
        .sts({ ...master(), secretAccessKey: 'wrong'.repeat(8) })
        .send(new GetCallerIdentityCommand({})),
    )
    expect([wrong.name, wrong.status]).toEqual(['SignatureDoesNotMatch', 403])
    const badToken = await rejection(
      server
        .sts({ ...master(), sessionToken: 'LK1.forged' })
        .send(new GetCallerIdentityCommand({})),
    )
    expect(badToken.name).toBe('InvalidClientTokenId')
  })

  it('MalformedPolicyDocument, ValidationError, PackedPolicyTooLarge', async () => {
    const sts = server.sts()
    const malformed = await rejection(
      sts.send(
        new AssumeRoleCommand({
          RoleSessionName: 'x1',
          Policy:
            '{"Version":"2012-10-17","Statement":[{"Effect":"Perhaps","Action":"s3:*","Resource":"*"}]}',
        } as never),
      ),
    )
    // The SDK maps the wire code MalformedPolicyDocument to its modeled exception class, as with AWS.
    expect([malformed.name, malformed.status]).toEqual(['MalformedPolicyDocumentException', 400])
    const name = await rejection(
      sts.send(new AssumeRoleCommand({ RoleSessionName: 'has space' } as never)),
    )
    expect(name.name).toBe('ValidationError')
    expect(name.message).toContain(
      "at 'roleSessionName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]*",
    )
    const long = await rejection(
      sts.send(
        new AssumeRoleCommand({
          RoleSessionName: 'x2',
          Policy: JSON.stringify({
            Version: '2012-10-17',
            Statement: [
              {
                Effect: 'Allow',
                Action: 's3:GetObject',
                Resource: `arn:aws:s3:::${'b'.repeat(2100)}`,
              },
            ],
          }),
        } as never),
      ),
    )
    expect(long.name).toBe('ValidationError')
    expect(long.message).toContain('2048')
    const tags = Array.from({ length: 12 }, (_, i) => ({
      Key: `key-${i}-${'k'.repeat(90)}`,
      Value: 'v'.repeat(200),
    }))
    const packed = await rejection(
      sts.send(new AssumeRoleCommand({ RoleSessionName: 'x3', Tags: tags } as never)),
    )
    expect([packed.name, packed.status]).toEqual(['PackedPolicyTooLargeException', 400])
    const role = await rejection(
      sts.send(
        new AssumeRoleCommand({
          RoleSessionName: 'x4',
          RoleArn: `arn:aws:iam::${account}:role/demo`,
        }),
      ),
    )
    expect(role.name).toBe('AccessDenied')
    expect(role.message).toBe(
      `User: arn:aws:iam::${account}:root is not authorized to perform: sts:AssumeRole on resource: arn:aws:iam::${account}:role/demo`,
    )
  })

  it('InvalidAction and MissingAuthenticationToken in the STS envelope', async () => {
    const bad = await signedPost({ Action: 'Frobnicate', Version: '2011-06-15' }, master())
    expect(bad.status).toBe(400)
    expect(bad.text).toMatch(
      /<ErrorResponse xmlns="https:\/\/sts\.amazonaws\.com\/doc\/2011-06-15\/">\s*<Error>\s*<Type>Sender<\/Type>\s*<Code>InvalidAction<\/Code>/,
    )
    const version = await signedPost(
      { Action: 'AssumeRole', Version: '2099-01-01', RoleSessionName: 'v' },
      master(),
    )
    expect(version.text).toContain('<Code>InvalidAction</Code>')
    const unsigned = await unsignedPost('Action=AssumeRole&Version=2011-06-15&RoleSessionName=x')
    expect(unsigned.status).toBe(403)
    expect(unsigned.text).toContain('<Code>MissingAuthenticationToken</Code>')
  })
})

describe.skipIf(!HAS_BOTO3)('boto3', () => {
  it('assume_role, then S3 with the session; errors by code', async () => {
    const r = await boto3(
      server.endpoint,
      master(),
      `
c = sts().assume_role(RoleArn="arn:xxx:xxx:xxx:xxxx", RoleSessionName="boto3", DurationSeconds=900, Policy=${JSON.stringify(SEED_PARAMS.Policy)})["Credentials"]
kw = dict(aws_access_key_id=c["AccessKeyId"], aws_secret_access_key=c["SecretAccessKey"], aws_session_token=c["SessionToken"])
who = sts(**kw).get_caller_identity()
s3(**kw).put_object(Bucket="your-bucket-name", Key="your-directory/boto3.txt", Body=b"hi")
out = {"arn": who["Arn"]}
try:
    s3(**kw).get_object(Bucket="your-bucket-name", Key="your-directory/boto3.txt")
    out["get"] = "allowed"
except botocore.exceptions.ClientError as e:
    out["get"] = e.response["Error"]["Code"]
try:
    sts().assume_role(RoleArn="arn:xxx:xxx:xxx:xxxx", RoleSessionName="boto3b", DurationSeconds=99999)
except botocore.exceptions.ClientError as e:
    out["long"] = [e.response["Error"]["Code"], e.response["Error"]["Message"]]
print(json.dumps(out))
`,
    )
    expect(r.stderr).toBe('')
    expect(r.code).toBe(0)
    const out = JSON.parse(r.stdout) as { arn: string; get: string; long: [string, string] }
    expect(out.arn).toBe(`arn:aws:sts::${account}:assumed-role/root/boto3`)
    expect(out.get).toBe('AccessDenied')
    expect(out.long[0]).toBe('ValidationError')
    expect(out.long[1]).toContain('43200')
  })
})

describe.skipIf(!HAS_AWS_CLI)('aws CLI', () => {
  it('aws sts assume-role, then aws s3 cp with the result', async () => {
    const r = await aws(server.endpoint, master(), [
      'sts',
      'assume-role',
      '--role-arn',
      'arn:xxx:xxx:xxx:xxxx',
      '--role-session-name',
      'cli',
      '--policy',
      SEED_PARAMS.Policy,
      '--output',
      'json',
    ])
    expect(r.code).toBe(0)
    const c = (
      JSON.parse(r.stdout) as {
        Credentials: { AccessKeyId: string; SecretAccessKey: string; SessionToken: string }
      }
    ).Credentials
    const dir = mkdtempSync(join(tmpdir(), 'lk-sts-cli-'))
    const file = join(dir, 'up.txt')
    writeFileSync(file, 'uploaded by the aws CLI')
    const creds = {
      accessKeyId: c.AccessKeyId,
      secretAccessKey: c.SecretAccessKey,
      sessionToken: c.SessionToken,
    }
    const cp = await aws(server.endpoint, creds, [
      's3',
      'cp',
      file,
      's3://your-bucket-name/your-directory/cli.txt',
    ])
    expect(cp.code).toBe(0)
    const denied = await aws(server.endpoint, creds, [
      's3',
      'cp',
      file,
      's3://your-bucket-name/outside.txt',
    ])
    expect(denied.code).not.toBe(0)
    expect(denied.stderr).toContain('AccessDenied')
  })
})

describe('revocation: a session dies at once', () => {
  async function sessionOf(keys: Keys, name: string): Promise<Keys> {
    return keysOf(
      (await server.sts(keys).send(new AssumeRoleCommand({ RoleSessionName: name } as never)))
        .Credentials,
    )
  }
  async function works(keys: Keys): Promise<void> {
    await server.s3(keys).send(new ListBucketsCommand({}))
  }
  async function dead(keys: Keys): Promise<void> {
    const e = await rejection(server.s3(keys).send(new ListBucketsCommand({})))
    expect(e.status).toBe(403)
    expect(e.name).toBe('InvalidAccessKeyId')
  }

  it('when the admin revokes it', async () => {
    const u = await userWithKey(admin, 'rev-admin', 'Reader')
    const s = await sessionOf(u, 'r1')
    await works(s)
    expect((await admin.call('DELETE', `/api/admin/sessions/${s.accessKeyId}`)).status).toBe(204)
    await dead(s)
    await works(u)
  })

  it('when its user is deactivated', async () => {
    const u = await userWithKey(admin, 'rev-inactive', 'Reader')
    const s = await sessionOf(u, 'r2')
    await works(s)
    expect(
      (await admin.call('PATCH', `/api/admin/users/${u.id}`, { is_active: false })).status,
    ).toBe(200)
    await dead(s)
  })

  it('when its user is deleted', async () => {
    const u = await userWithKey(admin, 'rev-deleted', 'Reader')
    const s = await sessionOf(u, 'r3')
    await works(s)
    expect((await admin.call('DELETE', `/api/admin/users/${u.id}`)).status).toBe(204)
    await dead(s)
  })

  it('when its user key is replaced, or revoked', async () => {
    const u = await userWithKey(admin, 'rev-key', 'Reader')
    const s1 = await sessionOf(u, 'r4')
    await works(s1)
    const k2 = await admin.call('POST', `/api/admin/users/${u.id}/credentials`)
    expect(k2.status).toBe(201)
    await dead(s1)
    const key2: Keys = { accessKeyId: k2.json.access_key, secretAccessKey: k2.json.secret_key }
    const s2 = await sessionOf(key2, 'r5')
    await works(s2)
    expect((await admin.call('DELETE', `/api/admin/users/${u.id}/credentials`)).status).toBe(204)
    await dead(s2)
  })

  it('when the master key secret is reset', async () => {
    const c = await admin.call('POST', '/api/admin/customers', {
      name: 'resetcorp',
      type: 'customer',
    })
    const keys: Keys = {
      accessKeyId: c.json.master_key.access_key,
      secretAccessKey: c.json.master_key.secret_key,
    }
    const s = await sessionOf(keys, 'r6')
    await works(s)
    const reset = await admin.call('POST', '/api/admin/customers/resetcorp/master-key/reset')
    expect(reset.status).toBe(200)
    await dead(s)
  })
})
