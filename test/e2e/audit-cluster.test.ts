/**
 * The audit trail on a cluster: two server processes on one PostgreSQL database keep one trail.
 * A credential minted on node A and used on node B is followed from either node: the issuance
 * (recorded by A) and the requests (recorded by B) come back from one query, as does a failed
 * login made on B. Skipped, saying so, when no PostgreSQL is installed.
 * @module
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { CreateBucketCommand, PutObjectCommand } from '@aws-sdk/client-s3'
import { AssumeRoleCommand } from '@aws-sdk/client-sts'
import { startPostgres, type TestPostgres } from '../support/postgres.js'
import { startCluster, type TestCluster } from '../support/cluster.js'
import type { TestServer } from './harness.js'
import { adminLogin, type AdminClient } from './admin-client.js'

const SKIP = 'no PostgreSQL installed (initdb/pg_ctl not found, LATCHKEY_TEST_DATABASE_URL unset)'
const pg: TestPostgres | undefined = await startPostgres()
afterAll(async () => {
  await pg?.stop()
})

/** Poll `fn` until it returns rows that satisfy `ok` (the other node flushes within ~100 ms). */
async function eventually<T>(fn: () => Promise<T>, ok: (t: T) => boolean): Promise<T> {
  const deadline = Date.now() + 10_000
  for (;;) {
    const t = await fn()
    if (ok(t) || Date.now() > deadline) return t
    await new Promise((r) => setTimeout(r, 50))
  }
}

describe.skipIf(pg === undefined)(
  `the audit trail on two nodes of one PostgreSQL${pg === undefined ? ` (${SKIP})` : ''}`,
  () => {
    let cluster: TestCluster
    let a: TestServer
    let b: TestServer
    let adminA: AdminClient

    beforeAll(async () => {
      const url = await pg!.createDatabase()
      // One after the other: the first node runs the migrations and seeds the root identity.
      cluster = await startCluster(url, 2)
      ;[a, b] = cluster.nodes as [TestServer, TestServer]
      adminA = await adminLogin(a)
    }, 60_000)

    afterAll(async () => {
      await cluster?.stop()
    })

    it('a credential minted on A and used on B is followed from A', async () => {
      await a.s3().send(new CreateBucketCommand({ Bucket: 'audited' }))
      const out = await a.sts().send(
        new AssumeRoleCommand({
          RoleSessionName: 'cluster-upload',
          DurationSeconds: 900,
          Policy: JSON.stringify({
            Version: '2012-10-17',
            Statement: [
              { Effect: 'Allow', Action: 's3:PutObject', Resource: 'arn:aws:s3:::audited/in/*' },
            ],
          }),
        } as never),
      )
      const creds = {
        accessKeyId: out.Credentials!.AccessKeyId!,
        secretAccessKey: out.Credentials!.SecretAccessKey!,
        sessionToken: out.Credentials!.SessionToken!,
      }
      await b.s3(creds).send(new PutObjectCommand({ Bucket: 'audited', Key: 'in/1', Body: 'x' }))
      const bad = await fetch(`${b.endpoint}/api/admin/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ username: 'root', password: 'wrong-password-on-b' }),
      })
      expect(bad.status).toBe(401)

      const rows = await eventually(
        async () =>
          (await adminA.call('GET', `/api/admin/audit?session=${creds.accessKeyId}`)).json as any[],
        (r) => r.length >= 2,
      )
      expect(rows.map((r) => `${r.kind} ${r.action}`)).toEqual([
        'request s3:PutObject',
        'issuance sts:AssumeRole',
      ])
      expect(rows[0]).toMatchObject({ resource: 'arn:aws:s3:::audited/in/1', decision: 'allow' })
      expect(rows[1].detail.policyHash).toMatch(/^[0-9a-f]{64}$/)
      const logins = await eventually(
        async () => (await adminA.call('GET', '/api/admin/audit?action=admin:Login')).json as any[],
        (r) => r.some((x) => x.decision === 'deny'),
      )
      const denied = logins.filter((x) => x.decision === 'deny')
      expect(denied).toHaveLength(1)
      expect(JSON.stringify(logins)).not.toContain('wrong-password-on-b')
      expect(JSON.stringify(rows)).not.toContain(creds.secretAccessKey)
      expect(JSON.stringify(rows)).not.toContain(creds.sessionToken)
    })
  },
)
