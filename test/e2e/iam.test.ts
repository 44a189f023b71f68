/**
 * IAM end to end: seed 004's S4 admin flow as written (curl -k against --tls-self-signed, then the
 * aws CLI with the new keys), role rules with real clients, replace/revoke/deactivate effective on
 * the very next request, and no secret in plain text in the data dir, the logs or admin answers.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest'
import { execFileSync } from 'node:child_process'
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import {
  CreateBucketCommand,
  PutObjectCommand,
  GetObjectCommand,
  DeleteObjectCommand,
  ListObjectsV2Command,
  ListBucketsCommand,
  PutBucketPolicyCommand,
} from '@aws-sdk/client-s3'
import { startServer, type TestServer, outcome } from './harness.js'
import { adminLogin, userWithKey, type AdminClient } from './admin-client.js'
import { HAS_AWS_CLI, aws } from './tools.js'

const code = outcome

function allFiles(dir: string): string[] {
  const out: string[] = []
  for (const e of readdirSync(dir)) {
    const p = join(dir, e)
    if (statSync(p).isDirectory()) out.push(...allFiles(p))
    else out.push(p)
  }
  return out
}

describe('S4 admin flow over self-signed TLS (seed 004)', () => {
  let server: TestServer
  beforeAll(async () => {
    server = await startServer({ tls: true, env: { LATCHKEY_LOG_LEVEL: 'debug' } })
  })
  afterAll(async () => {
    await server.stop()
  })

  it.skipIf(!HAS_AWS_CLI)(
    'curl login → create user → generate credentials → aws s3 ls; revoke → refused',
    async () => {
      const curl = (args: string[]): string =>
        execFileSync('curl', ['-s', '-k', ...args], { encoding: 'utf8' })
      const login = JSON.parse(
        curl([
          '-X',
          'POST',
          `${server.endpoint}/api/admin/login`,
          '-H',
          'Content-Type: application/json',
          '-d',
          JSON.stringify({ username: 'root', password: server.rootPassword }),
        ]),
      ) as { token: string }
      expect(typeof login.token).toBe('string')
      const user = JSON.parse(
        curl([
          '-X',
          'POST',
          `${server.endpoint}/api/admin/users`,
          '-H',
          `Authorization: Bearer ${login.token}`,
          '-H',
          'Content-Type: application/json',
          '-d',
          '{"username":"alice","password":"alice123","role":"Writer"}',
        ]),
      ) as { id: string }
      expect(user.id).toBeDefined()
      const keys = JSON.parse(
        curl([
          '-X',
          'POST',
          `${server.endpoint}/api/admin/users/${user.id}/credentials`,
          '-H',
          `Authorization: Bearer ${login.token}`,
        ]),
      ) as {
        access_key: string
        secret_key: string
      }
      expect(keys.access_key).toMatch(/^S4AK[A-Za-z0-9]{20}$/)
      expect(keys.secret_key).toMatch(/^.{40}$/)
      const creds = { accessKeyId: keys.access_key, secretAccessKey: keys.secret_key }
      let r = await aws(server.endpoint, creds, ['s3', 'mb', 's3://alice-bucket'])
      expect(r.code, r.stderr).toBe(0)
      r = await aws(server.endpoint, creds, ['s3', 'ls'])
      expect(r.code, r.stderr).toBe(0)
      expect(r.stdout).toContain('alice-bucket')
      curl([
        '-X',
        'DELETE',
        `${server.endpoint}/api/admin/users/${user.id}/credentials`,
        '-H',
        `Authorization: Bearer ${login.token}`,
      ])
      r = await aws(server.endpoint, creds, ['s3', 'ls'])
      expect(r.code).not.toBe(0)
      expect(r.stderr).toContain('InvalidAccessKeyId')
    },
    120_000,
  )

  it('keeps secrets out of the data dir, the logs and admin answers', async () => {
    const admin = await adminLogin(server)
    const u = await userWithKey(admin, 'secretive', 'Writer')
    const listed = await admin.call('GET', '/api/admin/users')
    const one = await admin.call('GET', `/api/admin/users/${u.id}`)
    const reset = await admin.call('POST', '/api/admin/customers/default/master-key/reset')
    expect(reset.status).toBe(200)
    const masterSecret = String(reset.json.secret_key)
    const s3 = server.s3({ accessKeyId: u.accessKeyId, secretAccessKey: u.secretAccessKey })
    await s3.send(new ListBucketsCommand({}))
    const needles = [u.secretAccessKey, masterSecret, server.rootPassword, 'secretive-password-1']
    for (const text of [JSON.stringify(listed.json), JSON.stringify(one.json)])
      for (const n of needles) expect(text).not.toContain(n)
    for (const file of allFiles(server.dataDir)) {
      const bytes = readFileSync(file)
      for (const n of needles)
        expect(bytes.includes(Buffer.from(n)), `${n.slice(0, 4)}… in ${file}`).toBe(false)
    }
    const logs = server.output.join('\n')
    for (const n of needles) expect(logs.includes(n), 'secret in logs').toBe(false)
  })
})

describe('roles and revocation with real clients', () => {
  let server: TestServer
  let admin: AdminClient
  beforeAll(async () => {
    server = await startServer()
    admin = await adminLogin(server)
    await server.s3().send(new CreateBucketCommand({ Bucket: 'shared' }))
    await server
      .s3()
      .send(new PutObjectCommand({ Bucket: 'shared', Key: 'seed.txt', Body: 'seed' }))
  })
  afterAll(async () => {
    await server.stop()
  })

  it('Reader lists and downloads but cannot upload or delete', async () => {
    const k = await userWithKey(admin, 'reader1', 'Reader')
    const s3 = server.s3(k)
    expect(await code(s3.send(new ListObjectsV2Command({ Bucket: 'shared' })))).toBe('OK')
    expect(await code(s3.send(new GetObjectCommand({ Bucket: 'shared', Key: 'seed.txt' })))).toBe(
      'OK',
    )
    expect(
      await code(s3.send(new PutObjectCommand({ Bucket: 'shared', Key: 'r.txt', Body: 'x' }))),
    ).toBe('AccessDenied')
    expect(
      await code(s3.send(new DeleteObjectCommand({ Bucket: 'shared', Key: 'seed.txt' }))),
    ).toBe('AccessDenied')
    expect(await code(s3.send(new CreateBucketCommand({ Bucket: 'reader-bucket' })))).toBe(
      'AccessDenied',
    )
  })

  it('Writer creates, uploads and deletes; the AccessDenied message says who, what, where and why', async () => {
    const k = await userWithKey(admin, 'writer1', 'Writer')
    const s3 = server.s3(k)
    expect(await code(s3.send(new CreateBucketCommand({ Bucket: 'writer-bucket' })))).toBe('OK')
    expect(
      await code(s3.send(new PutObjectCommand({ Bucket: 'shared', Key: 'w.txt', Body: 'x' }))),
    ).toBe('OK')
    expect(await code(s3.send(new DeleteObjectCommand({ Bucket: 'shared', Key: 'w.txt' })))).toBe(
      'OK',
    )
    await server.s3().send(
      new PutBucketPolicyCommand({
        Bucket: 'shared',
        Policy: JSON.stringify({
          Version: '2012-10-17',
          Statement: [
            {
              Sid: 'NoSecrets',
              Effect: 'Deny',
              Principal: '*',
              Action: 's3:GetObject',
              Resource: 'arn:aws:s3:::shared/secret/*',
            },
          ],
        }),
      }),
    )
    await server.s3().send(new PutObjectCommand({ Bucket: 'shared', Key: 'secret/x', Body: 'x' }))
    try {
      await s3.send(new GetObjectCommand({ Bucket: 'shared', Key: 'secret/x' }))
      expect.unreachable()
    } catch (e) {
      expect((e as Error).name).toBe('AccessDenied')
      expect((e as Error).message).toMatch(
        /^User: arn:aws:iam::\d{12}:user\/writer1 is not authorized to perform: s3:GetObject on resource: "arn:aws:s3:::shared\/secret\/x" with an explicit deny in a resource-based policy/,
      )
    }
  })

  it('only a SuperUser generates credentials', async () => {
    const writer = await admin.call('POST', '/api/admin/users', {
      username: 'writer2',
      password: 'writer2-password',
      role: 'Writer',
    })
    const superUser = await admin.call('POST', '/api/admin/users', {
      username: 'boss',
      password: 'boss-password-1',
      role: 'SuperUser',
    })
    const asWriter = await fetch(`${server.endpoint}/api/admin/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        username: 'writer2',
        password: 'writer2-password',
        customer: 'default',
      }),
    })
    if (asWriter.status === 200) {
      const token = ((await asWriter.json()) as { token: string }).token
      const r = await fetch(`${server.endpoint}/api/admin/users/${writer.json.id}/credentials`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}` },
      })
      expect(r.status).toBe(403)
    } else {
      expect(asWriter.status).toBe(403)
    }
    const boss = await adminLogin(server, 'boss', 'boss-password-1', { customer: 'default' })
    const r = await boss.call('POST', `/api/admin/users/${writer.json.id}/credentials`)
    expect(r.status).toBe(201)
    expect(superUser.status).toBe(201)
  })

  it('replacing, revoking and deactivating take effect on the very next request', async () => {
    const k = await userWithKey(admin, 'rotating', 'Writer')
    const list = (c: { accessKeyId: string; secretAccessKey: string }) =>
      code(server.s3(c).send(new ListBucketsCommand({})))
    expect(await list(k)).toBe('OK')
    const replaced = await admin.call('POST', `/api/admin/users/${k.id}/credentials`)
    const k2 = {
      accessKeyId: replaced.json.access_key as string,
      secretAccessKey: replaced.json.secret_key as string,
    }
    expect(await list(k)).toBe('InvalidAccessKeyId')
    expect(await list(k2)).toBe('OK')
    expect(
      (await admin.call('PATCH', `/api/admin/users/${k.id}`, { is_active: false })).status,
    ).toBe(200)
    expect(await list(k2)).toBe('InvalidAccessKeyId')
    expect(
      (await admin.call('PATCH', `/api/admin/users/${k.id}`, { is_active: true })).status,
    ).toBe(200)
    expect(await list(k2)).toBe('OK')
    expect((await admin.call('DELETE', `/api/admin/users/${k.id}/credentials`)).status).toBe(204)
    expect(await list(k2)).toBe('InvalidAccessKeyId')
    const reset = await admin.call('POST', '/api/admin/customers/default/master-key/reset')
    expect(
      await list({ accessKeyId: server.accessKeyId, secretAccessKey: server.secretAccessKey }),
    ).toBe('SignatureDoesNotMatch')
    expect(
      await list({ accessKeyId: reset.json.access_key, secretAccessKey: reset.json.secret_key }),
    ).toBe('OK')
  })

  it('cross-account access needs a bucket policy', async () => {
    const c = await admin.call('POST', '/api/admin/customers', {
      name: 'othercorp',
      type: 'customer',
    })
    expect(c.status).toBe(201)
    const other = await userWithKey(admin, 'outsider', 'SuperUser', 'othercorp')
    const s3 = server.s3(other)
    expect(await code(s3.send(new GetObjectCommand({ Bucket: 'shared', Key: 'seed.txt' })))).toBe(
      'AccessDenied',
    )
    const buckets = await s3.send(new ListBucketsCommand({}))
    expect((buckets.Buckets ?? []).map((b) => b.Name)).not.toContain('shared')
  })
})
