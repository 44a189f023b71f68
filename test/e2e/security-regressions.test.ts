/**
 * Named security regressions (one test per finding class, MinIO-style names), all against a real
 * server with the real SDKs: a session or user exceeding its parent, a revoked or replaced key
 * (including presigned URLs made with it), a bucket-policy Deny beating an identity Allow,
 * cross-account access without a bucket policy, and session tokens that are swapped or missing.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest'
import {
  CreateBucketCommand,
  GetObjectCommand,
  PutObjectCommand,
  ListObjectsV2Command,
  PutBucketPolicyCommand,
  DeleteBucketPolicyCommand,
} from '@aws-sdk/client-s3'
import { AssumeRoleCommand } from '@aws-sdk/client-sts'
import { getSignedUrl } from '@aws-sdk/s3-request-presigner'
import { startServer, type TestServer, outcome } from './harness.js'
import { adminLogin, userWithKey, type AdminClient } from './admin-client.js'

const code = outcome

const ALLOW_ALL = JSON.stringify({
  Version: '2012-10-17',
  Statement: [{ Effect: 'Allow', Action: '*', Resource: '*' }],
})

let server: TestServer
let admin: AdminClient
beforeAll(async () => {
  server = await startServer()
  admin = await adminLogin(server)
  const s3 = server.s3()
  await s3.send(new CreateBucketCommand({ Bucket: 'vault' }))
  await s3.send(new PutObjectCommand({ Bucket: 'vault', Key: 'doc.txt', Body: 'classified' }))
})
afterAll(async () => {
  await server.stop()
})

describe('security regressions', () => {
  it('REGRESSION session-exceeds-parent: a Reader session with an allow-all session policy still cannot write', async () => {
    const reader = await userWithKey(admin, 'reg-reader', 'Reader')
    const r = await server
      .sts(reader)
      .send(
        new AssumeRoleCommand({ RoleArn: 'Required1', RoleSessionName: 'esc', Policy: ALLOW_ALL }),
      )
    const c = r.Credentials
    const s3 = server.s3({
      accessKeyId: c?.AccessKeyId ?? '',
      secretAccessKey: c?.SecretAccessKey ?? '',
      sessionToken: c?.SessionToken ?? '',
    })
    expect(await code(s3.send(new GetObjectCommand({ Bucket: 'vault', Key: 'doc.txt' })))).toBe(
      'OK',
    )
    expect(
      await code(s3.send(new PutObjectCommand({ Bucket: 'vault', Key: 'x', Body: 'x' }))),
    ).toBe('AccessDenied')
    expect(await code(s3.send(new CreateBucketCommand({ Bucket: 'esc-bucket' })))).toBe(
      'AccessDenied',
    )
  })

  it('REGRESSION user-exceeds-account: a user policy granting s3:* everywhere does not reach another account', async () => {
    await admin.call('POST', '/api/admin/customers', { name: 'rival', type: 'customer' })
    const rival = await userWithKey(admin, 'reg-rival', 'SuperUser', 'rival')
    expect(
      (await admin.call('PUT', `/api/admin/users/${rival.id}/policy`, JSON.parse(ALLOW_ALL)))
        .status,
    ).toBeLessThan(300)
    const s3 = server.s3(rival)
    expect(await code(s3.send(new GetObjectCommand({ Bucket: 'vault', Key: 'doc.txt' })))).toBe(
      'AccessDenied',
    )
    expect(await code(s3.send(new ListObjectsV2Command({ Bucket: 'vault' })))).toBe('AccessDenied')
    expect(
      await code(s3.send(new PutObjectCommand({ Bucket: 'vault', Key: 'planted', Body: 'x' }))),
    ).toBe('AccessDenied')
  })

  it('REGRESSION cross-account-without-bucket-policy: another master key is refused until a bucket policy names it', async () => {
    const c = await admin.call('POST', '/api/admin/customers', {
      name: 'partner',
      type: 'customer',
    })
    const partner = {
      accessKeyId: c.json.master_key.access_key as string,
      secretAccessKey: c.json.master_key.secret_key as string,
    }
    const s3 = server.s3(partner)
    expect(await code(s3.send(new GetObjectCommand({ Bucket: 'vault', Key: 'doc.txt' })))).toBe(
      'AccessDenied',
    )
    await server.s3().send(
      new PutBucketPolicyCommand({
        Bucket: 'vault',
        Policy: JSON.stringify({
          Version: '2012-10-17',
          Statement: [
            {
              Effect: 'Allow',
              Principal: { AWS: `arn:aws:iam::${String(c.json.id)}:root` },
              Action: 's3:GetObject',
              Resource: 'arn:aws:s3:::vault/*',
            },
          ],
        }),
      }),
    )
    expect(await code(s3.send(new GetObjectCommand({ Bucket: 'vault', Key: 'doc.txt' })))).toBe(
      'OK',
    )
    expect(
      await code(s3.send(new PutObjectCommand({ Bucket: 'vault', Key: 'p', Body: 'x' }))),
    ).toBe('AccessDenied')
    await server.s3().send(new DeleteBucketPolicyCommand({ Bucket: 'vault' }))
    expect(await code(s3.send(new GetObjectCommand({ Bucket: 'vault', Key: 'doc.txt' })))).toBe(
      'AccessDenied',
    )
  })

  it('REGRESSION bucket-policy-deny-beats-identity-allow: even the master key is denied by an explicit Deny', async () => {
    await server.s3().send(new CreateBucketCommand({ Bucket: 'locked' }))
    await server.s3().send(new PutObjectCommand({ Bucket: 'locked', Key: 'k', Body: 'v' }))
    await server.s3().send(
      new PutBucketPolicyCommand({
        Bucket: 'locked',
        Policy: JSON.stringify({
          Version: '2012-10-17',
          Statement: [
            {
              Effect: 'Deny',
              Principal: '*',
              Action: 's3:GetObject',
              Resource: 'arn:aws:s3:::locked/*',
            },
          ],
        }),
      }),
    )
    expect(await code(server.s3().send(new GetObjectCommand({ Bucket: 'locked', Key: 'k' })))).toBe(
      'AccessDenied',
    )
    // The owner can still remove the policy (not covered by the Deny).
    expect(await code(server.s3().send(new DeleteBucketPolicyCommand({ Bucket: 'locked' })))).toBe(
      'OK',
    )
    expect(await code(server.s3().send(new GetObjectCommand({ Bucket: 'locked', Key: 'k' })))).toBe(
      'OK',
    )
  })

  it('REGRESSION revoked-key-presigned-url: a presigned URL dies with its key, and a replaced key dies at once', async () => {
    const w = await userWithKey(admin, 'reg-writer', 'Writer')
    const url = await getSignedUrl(
      server.s3(w),
      new GetObjectCommand({ Bucket: 'vault', Key: 'doc.txt' }),
      { expiresIn: 3600 },
    )
    expect((await fetch(url)).status).toBe(200)
    const replaced = await admin.call('POST', `/api/admin/users/${w.id}/credentials`)
    expect(replaced.status).toBe(201)
    const r = await fetch(url)
    expect(r.status).toBe(403)
    expect(await r.text()).toContain('<Code>InvalidAccessKeyId</Code>')
    expect(await code(server.s3(w).send(new ListObjectsV2Command({ Bucket: 'vault' })))).toBe(
      'InvalidAccessKeyId',
    )
  })

  it("REGRESSION session-token-swap: session keys with another session's token, or none, are refused", async () => {
    const sts = server.sts()
    const a = (
      await sts.send(new AssumeRoleCommand({ RoleArn: 'Required1', RoleSessionName: 'sess-a' }))
    ).Credentials
    const b = (
      await sts.send(new AssumeRoleCommand({ RoleArn: 'Required1', RoleSessionName: 'sess-b' }))
    ).Credentials
    const swapped = server.s3({
      accessKeyId: a?.AccessKeyId ?? '',
      secretAccessKey: a?.SecretAccessKey ?? '',
      sessionToken: b?.SessionToken ?? '',
    })
    expect(await code(swapped.send(new ListObjectsV2Command({ Bucket: 'vault' })))).toBe(
      'InvalidToken',
    )
    const missing = server.s3({
      accessKeyId: a?.AccessKeyId ?? '',
      secretAccessKey: a?.SecretAccessKey ?? '',
    })
    expect(await code(missing.send(new ListObjectsV2Command({ Bucket: 'vault' })))).toBe(
      'InvalidToken',
    )
    const tampered = server.s3({
      accessKeyId: a?.AccessKeyId ?? '',
      secretAccessKey: a?.SecretAccessKey ?? '',
      sessionToken: (a?.SessionToken ?? '') + 'x',
    })
    expect(await code(tampered.send(new ListObjectsV2Command({ Bucket: 'vault' })))).toBe(
      'InvalidToken',
    )
    const fine = server.s3({
      accessKeyId: a?.AccessKeyId ?? '',
      secretAccessKey: a?.SecretAccessKey ?? '',
      sessionToken: a?.SessionToken ?? '',
    })
    expect(await code(fine.send(new ListObjectsV2Command({ Bucket: 'vault' })))).toBe('OK')
  })

  it('REGRESSION long-term-key-with-token: a static key carrying a session token is refused', async () => {
    const s3 = server.s3({
      accessKeyId: server.accessKeyId,
      secretAccessKey: server.secretAccessKey,
      sessionToken: 'LK1.forged',
    })
    expect(await code(s3.send(new ListObjectsV2Command({ Bucket: 'vault' })))).toBe('InvalidToken')
  })

  it('REGRESSION condition-keys-reach-policies: aws:SourceIp, s3:prefix and ${aws:username} are enforced on S3 requests', async () => {
    await server.s3().send(new CreateBucketCommand({ Bucket: 'homes' }))
    const u = await userWithKey(admin, 'carol', 'Reader')
    // A user policy scoped by variable and prefix condition; the Reader preset is removed by an explicit Deny on other prefixes.
    const policy = {
      Version: '2012-10-17',
      Statement: [
        {
          Sid: 'OnlyMyPrefix',
          Effect: 'Deny',
          Action: 's3:ListBucket',
          Resource: 'arn:aws:s3:::homes',
          Condition: { StringNotLike: { 's3:prefix': ['home/${aws:username}/*'] } },
        },
      ],
    }
    expect(
      (await admin.call('PUT', `/api/admin/users/${u.id}/policy`, policy)).status,
    ).toBeLessThan(300)
    const s3 = server.s3(u)
    expect(
      await code(s3.send(new ListObjectsV2Command({ Bucket: 'homes', Prefix: 'home/carol/' }))),
    ).toBe('OK')
    expect(
      await code(s3.send(new ListObjectsV2Command({ Bucket: 'homes', Prefix: 'home/dave/' }))),
    ).toBe('AccessDenied')
    expect(await code(s3.send(new ListObjectsV2Command({ Bucket: 'homes' })))).toBe('AccessDenied')
    // A bucket policy that only admits 10.0.0.0/8 refuses this loopback caller, master key included.
    await server.s3().send(
      new PutBucketPolicyCommand({
        Bucket: 'homes',
        Policy: JSON.stringify({
          Version: '2012-10-17',
          Statement: [
            {
              Effect: 'Deny',
              Principal: '*',
              Action: 's3:GetObject',
              Resource: 'arn:aws:s3:::homes/*',
              Condition: { NotIpAddress: { 'aws:SourceIp': '10.0.0.0/8' } },
            },
          ],
        }),
      }),
    )
    await server
      .s3()
      .send(new PutObjectCommand({ Bucket: 'homes', Key: 'home/carol/a', Body: 'a' }))
    expect(
      await code(server.s3().send(new GetObjectCommand({ Bucket: 'homes', Key: 'home/carol/a' }))),
    ).toBe('AccessDenied')
    await server.s3().send(new DeleteBucketPolicyCommand({ Bucket: 'homes' }))
    expect(
      await code(server.s3().send(new GetObjectCommand({ Bucket: 'homes', Key: 'home/carol/a' }))),
    ).toBe('OK')
  })
})
