/**
 * Upload caps counted across nodes: two real nodes on one PostgreSQL database share a session's
 * latchkey:max-bytes / latchkey:max-objects counters (the shared-limits port's usage rows), so
 * writes spread over both nodes, one after the other or all at once, never cross a cap, and the
 * admin listing on either node shows the same usage. Skipped, saying so, without PostgreSQL.
 * @module
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { CreateBucketCommand, ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3'
import { AssumeRoleCommand } from '@aws-sdk/client-sts'
import { startPostgres, type TestPostgres } from '../support/postgres.js'
import { startCluster, type TestCluster } from '../support/cluster.js'
import type { TestServer } from './harness.js'
import { adminLogin } from './admin-client.js'

const SKIP = 'no PostgreSQL installed (initdb/pg_ctl not found, LATCHKEY_TEST_DATABASE_URL unset)'
const pg: TestPostgres | undefined = await startPostgres()
afterAll(async () => {
  await pg?.stop()
})

const BUCKET = 'caps-cluster'

async function outcome(p: Promise<unknown>): Promise<string> {
  try {
    await p
    return 'OK'
  } catch (e) {
    return (e as Error).name
  }
}

describe.skipIf(pg === undefined)(
  `upload caps on two nodes on one PostgreSQL${pg === undefined ? ` (${SKIP})` : ''}`,
  () => {
    let cluster: TestCluster
    let a: TestServer
    let b: TestServer

    beforeAll(async () => {
      cluster = await startCluster(await pg!.createDatabase(), 2)
      ;[a, b] = cluster.nodes as [TestServer, TestServer]
      await a.s3().send(new CreateBucketCommand({ Bucket: BUCKET }))
    }, 60_000)

    afterAll(async () => {
      await cluster?.stop()
    })

    async function session(tags: Record<string, string>) {
      const out = await a.sts().send(
        new AssumeRoleCommand({
          RoleArn: 'arn:xxx:xxx:xxx:xxxx',
          RoleSessionName: 'cluster-upload',
          Tags: Object.entries(tags).map(([Key, Value]) => ({ Key, Value })),
        }),
      )
      const c = out.Credentials!
      return {
        accessKeyId: c.AccessKeyId!,
        secretAccessKey: c.SecretAccessKey!,
        sessionToken: c.SessionToken!,
      }
    }

    const put = (node: TestServer, creds: object, key: string, size: number) =>
      node
        .s3(creds as never)
        .send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: Buffer.alloc(size, 1) }))

    it('bytes written on A count on B: the write that would cross max-bytes is refused on B', async () => {
      const creds = await session({ 'latchkey:max-bytes': '1000' })
      await put(a, creds, 'seq/a', 600)
      expect(await outcome(put(b, creds, 'seq/b', 600))).toBe('AccessDenied')
      await put(b, creds, 'seq/c', 400)
      expect(await outcome(put(a, creds, 'seq/d', 1))).toBe('AccessDenied')
      const admin = await adminLogin(b)
      const r = await admin.call('GET', '/api/admin/sessions?limit=1000')
      const items = (Array.isArray(r.json) ? r.json : r.json.items) as {
        access_key: string
        caps?: { bytes_used: number; objects_used: number }
      }[]
      const mine = items.find((s) => s.access_key === creds.accessKeyId)
      expect(mine?.caps?.bytes_used).toBe(1000)
      expect(mine?.caps?.objects_used).toBe(2)
    })

    it('concurrent writes spread over both nodes never cross max-objects or max-bytes', async () => {
      const creds = await session({ 'latchkey:max-objects': '5', 'latchkey:max-bytes': '100000' })
      const got = await Promise.all(
        Array.from({ length: 16 }, (_, i) =>
          outcome(put(i % 2 === 0 ? a : b, creds, `par/${i}`, 1000)),
        ),
      )
      expect(got.filter((g) => g === 'OK')).toHaveLength(5)
      expect(got.filter((g) => g !== 'OK').every((g) => g === 'AccessDenied')).toBe(true)
      const listed = await a.s3().send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: 'par/' }))
      expect(listed.KeyCount).toBe(5)
      const bytes = await session({ 'latchkey:max-bytes': '5000' })
      const got2 = await Promise.all(
        Array.from({ length: 12 }, (_, i) =>
          outcome(put(i % 2 === 0 ? b : a, bytes, `parb/${i}`, 1000)),
        ),
      )
      expect(got2.filter((g) => g === 'OK')).toHaveLength(5)
    })
  },
)
