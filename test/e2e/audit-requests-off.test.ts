/**
 * `--audit-requests off`: the audit trail keeps the issuance of a temporary credential (and the
 * admin changes and logins) but records no event per request made with it. The default (one
 * event per such request) is test/e2e/audit.test.ts; here a server started with the flag mints a
 * session with the SDK's AssumeRole, writes and reads with it and is refused once, and the audit
 * API shows the issuance and nothing of the three requests, while the objects are there.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { CreateBucketCommand, GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3'
import { AssumeRoleCommand } from '@aws-sdk/client-sts'
import { outcome, sessionKeys, startServer, type TestServer } from './harness.js'
import { adminLogin, type AdminClient } from './admin-client.js'

const BUCKET = 'quiet-trail'

let server: TestServer
let admin: AdminClient
let session: { accessKeyId: string; secretAccessKey: string; sessionToken: string }

async function audit(query: Record<string, string>): Promise<{ action: string }[]> {
  const r = await admin.call('GET', `/api/admin/audit?${new URLSearchParams(query)}`)
  expect(r.status, JSON.stringify(r.json)).toBe(200)
  return r.json as { action: string }[]
}

beforeAll(async () => {
  server = await startServer({ args: ['--audit-requests', 'off'] })
  admin = await adminLogin(server)
  await server.s3().send(new CreateBucketCommand({ Bucket: BUCKET }))
  const out = await server.sts().send(
    new AssumeRoleCommand({
      RoleSessionName: 'quiet',
      DurationSeconds: 900,
      Policy: JSON.stringify({
        Version: '2012-10-17',
        Statement: [
          {
            Effect: 'Allow',
            Action: ['s3:PutObject', 's3:GetObject'],
            Resource: [`arn:aws:s3:::${BUCKET}/in/*`],
          },
        ],
      }),
    } as never),
  )
  session = sessionKeys(out.Credentials)
}, 60_000)

afterAll(async () => {
  await server?.stop()
})

describe('--audit-requests off', () => {
  it('serves the session as usual', async () => {
    const s3 = server.s3(session)
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'in/a.txt', Body: 'quiet' }))
    const got = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'in/a.txt' }))
    expect(await got.Body?.transformToString()).toBe('quiet')
    expect(
      await outcome(s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'out/b.txt', Body: 'x' }))),
    ).toBe('AccessDenied')
  })

  it('records the issuance, and none of the requests made with the credential', async () => {
    // The audit API flushes the recorder's queue before it reads.
    const rows = await audit({ session: session.accessKeyId })
    expect(rows.map((r) => r.action)).toEqual(['sts:AssumeRole'])
    for (const action of ['s3:PutObject', 's3:GetObject'])
      expect(await audit({ action })).toEqual([])
  })
})
