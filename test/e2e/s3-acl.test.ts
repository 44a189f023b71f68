/**
 * ACLs, public access blocks and Object Ownership with real clients (aws CLI, s3cmd, the SDK) and
 * anonymous fetches: a public-read object is readable without credentials, grants reach another
 * account, BlockPublicAcls/BlockPublicPolicy refuse, IgnorePublicAcls ignores, BucketOwnerEnforced
 * disables ACLs, an explicit Deny beats a public ACL, and --aws-bucket-defaults starts buckets as
 * AWS's do since April 2023.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import {
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  DeleteBucketOwnershipControlsCommand,
  DeletePublicAccessBlockCommand,
  GetBucketAclCommand,
  GetBucketOwnershipControlsCommand,
  GetObjectAclCommand,
  GetObjectCommand,
  GetPublicAccessBlockCommand,
  ListBucketsCommand,
  ListObjectsV2Command,
  PutBucketAclCommand,
  PutBucketOwnershipControlsCommand,
  PutBucketPolicyCommand,
  PutObjectAclCommand,
  PutObjectCommand,
  PutPublicAccessBlockCommand,
  UploadPartCommand,
} from '@aws-sdk/client-s3'
import { startServer, type TestServer, outcome } from './harness.js'
import { adminLogin, userWithKey, type AdminClient } from './admin-client.js'
import { execFileSync } from 'node:child_process'
import { HAS_AWS_CLI, aws, run } from './tools.js'

const HAS_S3CMD = ((): boolean => {
  try {
    execFileSync('s3cmd', ['--version'], { stdio: 'ignore', timeout: 30_000 })
    return true
  } catch {
    return false
  }
})()

const ALL_USERS = 'http://acs.amazonaws.com/groups/global/AllUsers'

let server: TestServer
let admin: AdminClient
/** Another account's master key and canonical id. */
let partner: { accessKeyId: string; secretAccessKey: string; canonicalId: string }

beforeAll(async () => {
  server = await startServer()
  admin = await adminLogin(server)
  const c = await admin.call('POST', '/api/admin/customers', {
    name: 'aclpartner',
    type: 'customer',
  })
  if (c.status !== 201) throw new Error(`customer: ${c.status} ${JSON.stringify(c.json)}`)
  const keys = {
    accessKeyId: c.json.master_key.access_key as string,
    secretAccessKey: c.json.master_key.secret_key as string,
  }
  const owner = (await server.s3(keys).send(new ListBucketsCommand({}))).Owner
  partner = { ...keys, canonicalId: owner?.ID ?? '' }
})
afterAll(async () => {
  await server.stop()
})

const creds = () => ({ accessKeyId: server.accessKeyId, secretAccessKey: server.secretAccessKey })
const anonGet = async (bucket: string, key: string): Promise<{ status: number; body: string }> => {
  const r = await fetch(`${server.endpoint}/${bucket}/${encodeURIComponent(key)}`)
  return { status: r.status, body: await r.text() }
}

describe('ACLs with real clients', () => {
  it.skipIf(!HAS_AWS_CLI)(
    'REGRESSION acl-cli-public-read: aws s3 cp --acl public-read, then an anonymous GET works',
    async () => {
      const dir = mkdtempSync(join(tmpdir(), 'latchkey-acl-'))
      const file = join(dir, 'site.html')
      writeFileSync(file, '<h1>public</h1>')
      let r = await aws(server.endpoint, creds(), ['s3', 'mb', 's3://acl-cli'])
      expect(r.code, r.stderr).toBe(0)
      r = await aws(server.endpoint, creds(), [
        's3',
        'cp',
        file,
        's3://acl-cli/site.html',
        '--acl',
        'public-read',
      ])
      expect(r.code, r.stderr).toBe(0)
      expect(await anonGet('acl-cli', 'site.html')).toEqual({
        status: 200,
        body: '<h1>public</h1>',
      })
      r = await aws(server.endpoint, creds(), ['s3', 'cp', file, 's3://acl-cli/private.html'])
      expect(r.code, r.stderr).toBe(0)
      expect((await anonGet('acl-cli', 'private.html')).status).toBe(403)
      r = await aws(server.endpoint, creds(), [
        's3api',
        'get-object-acl',
        '--bucket',
        'acl-cli',
        '--key',
        'site.html',
      ])
      expect(r.code, r.stderr).toBe(0)
      const grants = JSON.parse(r.stdout).Grants as {
        Grantee: { URI?: string }
        Permission: string
      }[]
      expect(grants).toContainEqual({
        Grantee: { Type: 'Group', URI: ALL_USERS },
        Permission: 'READ',
      })
      // Anonymous listing needs the bucket's READ: refused until the bucket is public-read.
      expect((await fetch(`${server.endpoint}/acl-cli?list-type=2`)).status).toBe(403)
      r = await aws(server.endpoint, creds(), [
        's3api',
        'put-bucket-acl',
        '--bucket',
        'acl-cli',
        '--acl',
        'public-read',
      ])
      expect(r.code, r.stderr).toBe(0)
      const list = await fetch(`${server.endpoint}/acl-cli?list-type=2`)
      expect(list.status).toBe(200)
      expect(await list.text()).toContain('<Key>private.html</Key>')
      // Anonymous writes still need WRITE on the bucket.
      expect(
        (await fetch(`${server.endpoint}/acl-cli/planted`, { method: 'PUT', body: 'x' })).status,
      ).toBe(403)
    },
  )

  it.skipIf(!HAS_S3CMD)(
    'REGRESSION acl-s3cmd-acl-public: s3cmd --acl-public put, then an anonymous GET works',
    async () => {
      await server.s3().send(new CreateBucketCommand({ Bucket: 'acl-s3cmd' }))
      const dir = mkdtempSync(join(tmpdir(), 'latchkey-s3cmd-'))
      const host = new URL(server.endpoint).host
      const cfg = join(dir, 's3cfg')
      writeFileSync(
        cfg,
        [
          '[default]',
          `access_key = ${server.accessKeyId}`,
          `secret_key = ${server.secretAccessKey}`,
          `host_base = ${host}`,
          `host_bucket = ${host}`,
          'use_https = False',
          'signature_v2 = False',
          'bucket_location = us-east-1',
          '',
        ].join('\n'),
      )
      const file = join(dir, 'asset.css')
      writeFileSync(file, 'body{}')
      const r = await run(
        's3cmd',
        ['-c', cfg, '--acl-public', 'put', file, 's3://acl-s3cmd/asset.css'],
        { PATH: process.env['PATH'], HOME: dir },
      )
      expect(r.code, r.stderr + r.stdout).toBe(0)
      expect(await anonGet('acl-s3cmd', 'asset.css')).toEqual({ status: 200, body: 'body{}' })
      // s3cmd setacl --acl-private takes it back.
      const back = await run(
        's3cmd',
        ['-c', cfg, '--acl-private', 'setacl', 's3://acl-s3cmd/asset.css'],
        { PATH: process.env['PATH'], HOME: dir },
      )
      expect(back.code, back.stderr + back.stdout).toBe(0)
      expect((await anonGet('acl-s3cmd', 'asset.css')).status).toBe(403)
    },
  )

  it('REGRESSION acl-sdk-grants: Put/Get{Object,Bucket}Acl with grants to another account, and ACLs on multipart and copy', async () => {
    const s3 = server.s3()
    const other = server.s3(partner)
    await s3.send(new CreateBucketCommand({ Bucket: 'acl-sdk' }))
    await s3.send(
      new PutObjectCommand({ Bucket: 'acl-sdk', Key: 'shared.txt', Body: 'for partner' }),
    )
    const get = () => other.send(new GetObjectCommand({ Bucket: 'acl-sdk', Key: 'shared.txt' }))
    expect(await outcome(get())).toBe('AccessDenied')
    await s3.send(
      new PutObjectAclCommand({
        Bucket: 'acl-sdk',
        Key: 'shared.txt',
        GrantRead: `id="${partner.canonicalId}"`,
      }),
    )
    expect(await (await get()).Body?.transformToString()).toBe('for partner')
    const acl = await s3.send(new GetObjectAclCommand({ Bucket: 'acl-sdk', Key: 'shared.txt' }))
    expect(acl.Grants).toEqual([
      {
        Grantee: { Type: 'CanonicalUser', ID: partner.canonicalId, DisplayName: 'aclpartner' },
        Permission: 'READ',
      },
    ])
    // The body form, with the owner kept: the partner may now read the ACL, not write it.
    const me = (await s3.send(new ListBucketsCommand({}))).Owner
    await s3.send(
      new PutObjectAclCommand({
        Bucket: 'acl-sdk',
        Key: 'shared.txt',
        AccessControlPolicy: {
          Owner: me,
          Grants: [
            { Grantee: { Type: 'CanonicalUser', ID: me?.ID }, Permission: 'FULL_CONTROL' },
            { Grantee: { Type: 'CanonicalUser', ID: partner.canonicalId }, Permission: 'READ_ACP' },
          ],
        },
      }),
    )
    expect(await outcome(get())).toBe('AccessDenied')
    expect(
      await outcome(other.send(new GetObjectAclCommand({ Bucket: 'acl-sdk', Key: 'shared.txt' }))),
    ).toBe('OK')
    expect(
      await outcome(
        other.send(
          new PutObjectAclCommand({ Bucket: 'acl-sdk', Key: 'shared.txt', ACL: 'public-read' }),
        ),
      ),
    ).toBe('AccessDenied')
    // Bucket WRITE lets the partner put objects; READ lets it list.
    const put = () =>
      other.send(new PutObjectCommand({ Bucket: 'acl-sdk', Key: 'drop/p.txt', Body: 'p' }))
    expect(await outcome(put())).toBe('AccessDenied')
    await s3.send(
      new PutBucketAclCommand({
        Bucket: 'acl-sdk',
        GrantWrite: `id="${partner.canonicalId}"`,
        GrantFullControl: `id="${me?.ID ?? ''}"`,
      }),
    )
    expect(await outcome(put())).toBe('OK')
    const bacl = await s3.send(new GetBucketAclCommand({ Bucket: 'acl-sdk' }))
    expect(bacl.Owner?.ID).toBe(me?.ID)
    expect(bacl.Grants?.map((g) => [g.Grantee?.ID, g.Permission])).toEqual([
      [me?.ID, 'FULL_CONTROL'],
      [partner.canonicalId, 'WRITE'],
    ])
    // Unknown ids and e-mail grantees are refused, and change nothing.
    expect(
      await outcome(
        s3.send(new PutBucketAclCommand({ Bucket: 'acl-sdk', GrantRead: 'id="nobody"' })),
      ),
    ).toBe('InvalidArgument')
    expect(
      await outcome(
        s3.send(new PutBucketAclCommand({ Bucket: 'acl-sdk', GrantRead: 'emailAddress="a@b.c"' })),
      ),
    ).toBe('UnresolvableGrantByEmailAddress')
    expect((await s3.send(new GetBucketAclCommand({ Bucket: 'acl-sdk' }))).Grants).toHaveLength(2)

    // CreateBucket takes grants too: READ lets the partner list.
    await s3.send(
      new CreateBucketCommand({
        Bucket: 'acl-sdk-listable',
        GrantRead: `id="${partner.canonicalId}"`,
      }),
    )
    expect(
      await outcome(other.send(new ListObjectsV2Command({ Bucket: 'acl-sdk-listable' }))),
    ).toBe('OK')
    expect(await outcome(other.send(new ListObjectsV2Command({ Bucket: 'acl-sdk' })))).toBe(
      'AccessDenied',
    )

    // CreateMultipartUpload's ACL is the completed object's; CopyObject takes the request's ACL.
    const mpu = await s3.send(
      new CreateMultipartUploadCommand({ Bucket: 'acl-sdk', Key: 'mp.txt', ACL: 'public-read' }),
    )
    const part = await s3.send(
      new UploadPartCommand({
        Bucket: 'acl-sdk',
        Key: 'mp.txt',
        UploadId: mpu.UploadId,
        PartNumber: 1,
        Body: 'multipart body',
      }),
    )
    expect((await anonGet('acl-sdk', 'mp.txt')).status).toBe(403)
    await s3.send(
      new CompleteMultipartUploadCommand({
        Bucket: 'acl-sdk',
        Key: 'mp.txt',
        UploadId: mpu.UploadId,
        MultipartUpload: { Parts: [{ PartNumber: 1, ETag: part.ETag }] },
      }),
    )
    expect(await anonGet('acl-sdk', 'mp.txt')).toEqual({ status: 200, body: 'multipart body' })
    await s3.send(
      new CopyObjectCommand({
        Bucket: 'acl-sdk',
        Key: 'mp-copy.txt',
        CopySource: 'acl-sdk/mp.txt',
      }),
    )
    expect((await anonGet('acl-sdk', 'mp-copy.txt')).status).toBe(403)
    await s3.send(
      new CopyObjectCommand({
        Bucket: 'acl-sdk',
        Key: 'mp-copy2.txt',
        CopySource: 'acl-sdk/mp.txt',
        ACL: 'public-read',
      }),
    )
    expect((await anonGet('acl-sdk', 'mp-copy2.txt')).status).toBe(200)
  })

  it('REGRESSION acl-put-needs-putobjectacl: an uploader denied s3:PutObjectAcl cannot publish what it uploads', async () => {
    await server.s3().send(new CreateBucketCommand({ Bucket: 'acl-uploader' }))
    const u = await userWithKey(admin, 'acl-uploader', 'Writer')
    const policy = {
      Version: '2012-10-17',
      Statement: [{ Effect: 'Deny', Action: 's3:PutObjectAcl', Resource: '*' }],
    }
    expect(
      (await admin.call('PUT', `/api/admin/users/${u.id}/policy`, policy)).status,
    ).toBeLessThan(300)
    const s3 = server.s3(u)
    expect(
      await outcome(
        s3.send(
          new PutObjectCommand({ Bucket: 'acl-uploader', Key: 'k', Body: 'k', ACL: 'public-read' }),
        ),
      ),
    ).toBe('AccessDenied')
    expect((await anonGet('acl-uploader', 'k')).status).toBe(403)
    expect(
      await outcome(s3.send(new PutObjectCommand({ Bucket: 'acl-uploader', Key: 'k', Body: 'k' }))),
    ).toBe('OK')
    expect(
      await outcome(
        s3.send(
          new CreateMultipartUploadCommand({
            Bucket: 'acl-uploader',
            Key: 'm',
            ACL: 'public-read',
          }),
        ),
      ),
    ).toBe('AccessDenied')
  })

  it('REGRESSION acl-authenticated-read: any signed principal of any account reads, anonymous does not', async () => {
    const s3 = server.s3()
    await s3.send(new CreateBucketCommand({ Bucket: 'acl-auth' }))
    await s3.send(
      new PutObjectCommand({
        Bucket: 'acl-auth',
        Key: 'k',
        Body: 'members',
        ACL: 'authenticated-read',
      }),
    )
    expect((await anonGet('acl-auth', 'k')).status).toBe(403)
    expect(
      await outcome(
        server.s3(partner).send(new GetObjectCommand({ Bucket: 'acl-auth', Key: 'k' })),
      ),
    ).toBe('OK')
    const reader = await userWithKey(admin, 'acl-auth-reader', 'Reader', 'aclpartner')
    expect(
      await outcome(server.s3(reader).send(new GetObjectCommand({ Bucket: 'acl-auth', Key: 'k' }))),
    ).toBe('OK')
  })

  it('REGRESSION acl-deny-beats-public-read: an explicit Deny in the bucket policy wins over a public-read ACL', async () => {
    const s3 = server.s3()
    await s3.send(new CreateBucketCommand({ Bucket: 'acl-deny' }))
    await s3.send(
      new PutObjectCommand({ Bucket: 'acl-deny', Key: 'open/a', Body: 'a', ACL: 'public-read' }),
    )
    await s3.send(
      new PutObjectCommand({ Bucket: 'acl-deny', Key: 'secret/b', Body: 'b', ACL: 'public-read' }),
    )
    expect((await anonGet('acl-deny', 'secret/b')).status).toBe(200)
    await s3.send(
      new PutBucketPolicyCommand({
        Bucket: 'acl-deny',
        Policy: JSON.stringify({
          Version: '2012-10-17',
          Statement: [
            {
              Effect: 'Deny',
              Principal: '*',
              Action: 's3:GetObject',
              Resource: 'arn:aws:s3:::acl-deny/secret/*',
            },
          ],
        }),
      }),
    )
    expect((await anonGet('acl-deny', 'secret/b')).status).toBe(403)
    expect((await anonGet('acl-deny', 'open/a')).status).toBe(200)
  })
})

describe('public access block and Object Ownership', () => {
  const publicPolicy = (bucket: string) =>
    JSON.stringify({
      Version: '2012-10-17',
      Statement: [
        {
          Effect: 'Allow',
          Principal: '*',
          Action: 's3:GetObject',
          Resource: `arn:aws:s3:::${bucket}/*`,
        },
      ],
    })

  it('REGRESSION acl-public-access-block: BlockPublicAcls, IgnorePublicAcls, BlockPublicPolicy and RestrictPublicBuckets', async () => {
    const s3 = server.s3()
    await s3.send(new CreateBucketCommand({ Bucket: 'acl-pab' }))
    await s3.send(
      new PutObjectCommand({ Bucket: 'acl-pab', Key: 'was-public', Body: 'w', ACL: 'public-read' }),
    )
    expect((await anonGet('acl-pab', 'was-public')).status).toBe(200)
    expect(await outcome(s3.send(new GetPublicAccessBlockCommand({ Bucket: 'acl-pab' })))).toBe(
      'NoSuchPublicAccessBlockConfiguration',
    )
    await s3.send(
      new PutPublicAccessBlockCommand({
        Bucket: 'acl-pab',
        PublicAccessBlockConfiguration: { BlockPublicAcls: true, BlockPublicPolicy: true },
      }),
    )
    expect(
      (await s3.send(new GetPublicAccessBlockCommand({ Bucket: 'acl-pab' })))
        .PublicAccessBlockConfiguration,
    ).toEqual({
      BlockPublicAcls: true,
      IgnorePublicAcls: false,
      BlockPublicPolicy: true,
      RestrictPublicBuckets: false,
    })
    // BlockPublicAcls: a public ACL is refused in every form, and nothing is written.
    expect(
      await outcome(
        s3.send(
          new PutObjectCommand({ Bucket: 'acl-pab', Key: 'n', Body: 'n', ACL: 'public-read' }),
        ),
      ),
    ).toBe('AccessDenied')
    expect(await outcome(s3.send(new GetObjectCommand({ Bucket: 'acl-pab', Key: 'n' })))).toBe(
      'NoSuchKey',
    )
    expect(
      await outcome(
        s3.send(new PutBucketAclCommand({ Bucket: 'acl-pab', GrantRead: `uri="${ALL_USERS}"` })),
      ),
    ).toBe('AccessDenied')
    expect(
      await outcome(
        s3.send(new PutObjectAclCommand({ Bucket: 'acl-pab', Key: 'was-public', ACL: 'private' })),
      ),
    ).toBe('OK')
    await s3
      .send(new PutObjectAclCommand({ Bucket: 'acl-pab', Key: 'was-public', ACL: 'public-read' }))
      .catch(() => undefined)
    expect((await anonGet('acl-pab', 'was-public')).status).toBe(403)
    // BlockPublicPolicy: a public policy is refused, a non-public one accepted.
    expect(
      await outcome(
        s3.send(new PutBucketPolicyCommand({ Bucket: 'acl-pab', Policy: publicPolicy('acl-pab') })),
      ),
    ).toBe('AccessDenied')
    // IgnorePublicAcls: an existing public grant stops counting (set once BlockPublicAcls is off).
    await s3.send(new DeletePublicAccessBlockCommand({ Bucket: 'acl-pab' }))
    await s3.send(
      new PutObjectAclCommand({ Bucket: 'acl-pab', Key: 'was-public', ACL: 'public-read' }),
    )
    expect((await anonGet('acl-pab', 'was-public')).status).toBe(200)
    await s3.send(
      new PutPublicAccessBlockCommand({
        Bucket: 'acl-pab',
        PublicAccessBlockConfiguration: { IgnorePublicAcls: true },
      }),
    )
    expect((await anonGet('acl-pab', 'was-public')).status).toBe(403)
    // RestrictPublicBuckets: a public policy stops admitting anyone outside the owner's account.
    await s3.send(new DeletePublicAccessBlockCommand({ Bucket: 'acl-pab' }))
    await s3.send(new PutObjectCommand({ Bucket: 'acl-pab', Key: 'by-policy', Body: 'p' }))
    await s3.send(
      new PutBucketPolicyCommand({ Bucket: 'acl-pab', Policy: publicPolicy('acl-pab') }),
    )
    expect((await anonGet('acl-pab', 'by-policy')).status).toBe(200)
    await s3.send(
      new PutPublicAccessBlockCommand({
        Bucket: 'acl-pab',
        PublicAccessBlockConfiguration: { RestrictPublicBuckets: true },
      }),
    )
    expect((await anonGet('acl-pab', 'by-policy')).status).toBe(403)
    // ... and blocks all access from outside the account while the policy is public, ACLs too.
    expect((await anonGet('acl-pab', 'was-public')).status).toBe(403)
    await s3.send(
      new PutBucketPolicyCommand({
        Bucket: 'acl-pab',
        Policy: JSON.stringify({
          Version: '2012-10-17',
          Statement: [
            {
              Effect: 'Allow',
              Principal: { AWS: 'arn:aws:iam::000000000000:root' },
              Action: 's3:GetObject',
              Resource: 'arn:aws:s3:::acl-pab/*',
            },
          ],
        }),
      }),
    )
    expect((await anonGet('acl-pab', 'was-public')).status).toBe(200)
    expect(
      await outcome(s3.send(new GetObjectCommand({ Bucket: 'acl-pab', Key: 'by-policy' }))),
    ).toBe('OK')
  })

  it('REGRESSION acl-ownership-enforced: BucketOwnerEnforced refuses ACLs that grant beyond the owner', async () => {
    const s3 = server.s3()
    await s3.send(new CreateBucketCommand({ Bucket: 'acl-own' }))
    expect(
      await outcome(s3.send(new GetBucketOwnershipControlsCommand({ Bucket: 'acl-own' }))),
    ).toBe('OwnershipControlsNotFoundError')
    await s3.send(new PutBucketAclCommand({ Bucket: 'acl-own', ACL: 'public-read' }))
    const enforce = () =>
      s3.send(
        new PutBucketOwnershipControlsCommand({
          Bucket: 'acl-own',
          OwnershipControls: { Rules: [{ ObjectOwnership: 'BucketOwnerEnforced' }] },
        }),
      )
    expect(await outcome(enforce())).toBe('InvalidBucketAclWithObjectOwnership')
    await s3.send(new PutBucketAclCommand({ Bucket: 'acl-own', ACL: 'private' }))
    await enforce()
    expect(
      (await s3.send(new GetBucketOwnershipControlsCommand({ Bucket: 'acl-own' })))
        .OwnershipControls,
    ).toEqual({ Rules: [{ ObjectOwnership: 'BucketOwnerEnforced' }] })
    expect(
      await outcome(
        s3.send(
          new PutObjectCommand({ Bucket: 'acl-own', Key: 'k', Body: 'k', ACL: 'public-read' }),
        ),
      ),
    ).toBe('AccessControlListNotSupported')
    expect(
      await outcome(
        s3.send(
          new PutObjectCommand({
            Bucket: 'acl-own',
            Key: 'k',
            Body: 'k',
            ACL: 'bucket-owner-full-control',
          }),
        ),
      ),
    ).toBe('OK')
    expect(
      await outcome(
        s3.send(new PutBucketAclCommand({ Bucket: 'acl-own', GrantRead: `uri="${ALL_USERS}"` })),
      ),
    ).toBe('AccessControlListNotSupported')
    await s3.send(new DeleteBucketOwnershipControlsCommand({ Bucket: 'acl-own' }))
    expect(
      await outcome(
        s3.send(
          new PutObjectCommand({ Bucket: 'acl-own', Key: 'k', Body: 'k', ACL: 'public-read' }),
        ),
      ),
    ).toBe('OK')
  })
})

describe('--aws-bucket-defaults', () => {
  let aws23: TestServer
  beforeAll(async () => {
    aws23 = await startServer({ args: ['--aws-bucket-defaults'] })
  })
  afterAll(async () => {
    await aws23.stop()
  })

  it('REGRESSION acl-aws-bucket-defaults: new buckets start with ACLs disabled and public access blocked', async () => {
    const s3 = aws23.s3()
    await s3.send(new CreateBucketCommand({ Bucket: 'modern' }))
    expect(
      (await s3.send(new GetBucketOwnershipControlsCommand({ Bucket: 'modern' })))
        .OwnershipControls,
    ).toEqual({ Rules: [{ ObjectOwnership: 'BucketOwnerEnforced' }] })
    expect(
      (await s3.send(new GetPublicAccessBlockCommand({ Bucket: 'modern' })))
        .PublicAccessBlockConfiguration,
    ).toEqual({
      BlockPublicAcls: true,
      IgnorePublicAcls: true,
      BlockPublicPolicy: true,
      RestrictPublicBuckets: true,
    })
    expect(
      await outcome(
        s3.send(
          new PutObjectCommand({ Bucket: 'modern', Key: 'k', Body: 'k', ACL: 'public-read' }),
        ),
      ),
    ).toBe('AccessControlListNotSupported')
    expect(
      await outcome(s3.send(new CreateBucketCommand({ Bucket: 'modern-acl', ACL: 'public-read' }))),
    ).toBe('InvalidBucketAclWithObjectOwnership')
    // Asking for ObjectWriter keeps ACLs on; the public access block still refuses public ones.
    await s3.send(new CreateBucketCommand({ Bucket: 'legacy', ObjectOwnership: 'ObjectWriter' }))
    expect(
      await outcome(
        s3.send(
          new PutObjectCommand({ Bucket: 'legacy', Key: 'k', Body: 'k', ACL: 'public-read' }),
        ),
      ),
    ).toBe('AccessDenied')
  })
})
