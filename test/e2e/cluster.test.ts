/**
 * Two real server processes on one PostgreSQL database and one shared blob directory behave as
 * one server, driven by the unmodified AWS SDK: buckets, objects (inline and blob), a multipart
 * upload whose parts go to different nodes, users and keys made on one node and used on the
 * other, a key revoked on one node refused by the other on the very next request, and a bucket
 * policy put on one node applied by the other. Each node has its own data dir, so nothing is
 * shared by accident. Skipped, saying so, when no PostgreSQL is installed.
 * @module
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { randomBytes, randomUUID } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  CompleteMultipartUploadCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  ListBucketsCommand,
  ListObjectsV2Command,
  PutBucketPolicyCommand,
  PutObjectCommand,
  UploadPartCommand,
  type S3Client,
} from '@aws-sdk/client-s3'
import { startPostgres, type TestPostgres } from '../support/postgres.js'
import { startCluster, type TestCluster } from '../support/cluster.js'
import { startServer, type TestServer } from './harness.js'
import { adminLogin, userWithKey } from './admin-client.js'

const SKIP = 'no PostgreSQL installed (initdb/pg_ctl not found, LATCHKEY_TEST_DATABASE_URL unset)'
const pg: TestPostgres | undefined = await startPostgres()
afterAll(async () => {
  await pg?.stop()
})

async function body(s3: S3Client, bucket: string, key: string): Promise<Buffer> {
  const r = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }))
  return Buffer.from(await r.Body!.transformToByteArray())
}

async function errorName(p: Promise<unknown>): Promise<string> {
  try {
    await p
    return 'OK'
  } catch (e) {
    return (e as Error).name
  }
}

describe.skipIf(pg === undefined)(
  `two nodes on one PostgreSQL${pg === undefined ? ` (${SKIP})` : ''}`,
  () => {
    let cluster: TestCluster
    let a: TestServer
    let b: TestServer

    beforeAll(async () => {
      const url = await pg!.createDatabase()
      // One after the other: the first node runs the migrations and seeds the root identity.
      cluster = await startCluster(url, 2)
      ;[a, b] = cluster.nodes as [TestServer, TestServer]
    }, 60_000)

    afterAll(async () => {
      await cluster?.stop()
    })

    it('a bucket created on A is listed on B', async () => {
      await a.s3().send(new CreateBucketCommand({ Bucket: 'shared' }))
      const r = await b.s3().send(new ListBucketsCommand({}))
      expect(r.Buckets?.map((x) => x.Name)).toContain('shared')
    })

    it('objects PUT on A (small, and 2 MiB in a blob) are read byte-exact and listed on B', async () => {
      const small = Buffer.from('hello from node A')
      const big = randomBytes(2 * 1024 * 1024)
      await a.s3().send(new PutObjectCommand({ Bucket: 'shared', Key: 'small.txt', Body: small }))
      await a.s3().send(new PutObjectCommand({ Bucket: 'shared', Key: 'big.bin', Body: big }))
      expect((await body(b.s3(), 'shared', 'small.txt')).equals(small)).toBe(true)
      expect((await body(b.s3(), 'shared', 'big.bin')).equals(big)).toBe(true)
      const list = await b.s3().send(new ListObjectsV2Command({ Bucket: 'shared' }))
      expect(list.Contents?.map((o) => [o.Key, o.Size])).toEqual([
        ['big.bin', big.length],
        ['small.txt', small.length],
      ])
    })

    it('REGRESSION stale-object-cache-across-nodes: overwritten or deleted on A, B reads the new state at once', async () => {
      const sa = a.s3()
      const sb = b.s3()
      for (let i = 0; i < 30; i++) {
        const v = Buffer.from(`version ${i}`)
        await sa.send(new PutObjectCommand({ Bucket: 'shared', Key: 'hot.txt', Body: v }))
        // B read (and may have cached) the previous version a moment ago.
        expect((await body(sb, 'shared', 'hot.txt')).toString()).toBe(`version ${i}`)
      }
      await sa.send(new DeleteObjectCommand({ Bucket: 'shared', Key: 'hot.txt' }))
      expect(await errorName(body(sb, 'shared', 'hot.txt'))).toBe('NoSuchKey')
    })

    it('GETs on B never fail while A keeps overwriting the object (a replaced blob outlives its readers on other nodes)', async () => {
      const versions = Array.from({ length: 4 }, () => randomBytes(130 * 1024))
      await a
        .s3()
        .send(new PutObjectCommand({ Bucket: 'shared', Key: 'churn', Body: versions[0]! }))
      let writing = true
      const writer = (async () => {
        for (let i = 1; writing; i++)
          await a
            .s3()
            .send(new PutObjectCommand({ Bucket: 'shared', Key: 'churn', Body: versions[i % 4]! }))
      })()
      const failures: string[] = []
      const reader = b.s3()
      try {
        await Promise.all(
          Array.from({ length: 6 }, async () => {
            for (let i = 0; i < 150; i++) {
              try {
                const got = await body(reader, 'shared', 'churn')
                if (!versions.some((v) => v.equals(got))) failures.push('a body never sent')
              } catch (e) {
                failures.push((e as Error).name)
              }
            }
          }),
        )
      } finally {
        writing = false
        await writer
      }
      expect(failures).toEqual([])
    }, 60_000)

    it('REGRESSION nul-key-on-postgres: a key holding U+0000 is InvalidArgument (it was a 500 on PostgreSQL)', async () => {
      expect(
        await errorName(
          a.s3().send(new PutObjectCommand({ Bucket: 'shared', Key: 'nul\u0000key', Body: 'x' })),
        ),
      ).toBe('InvalidArgument')
    })

    it('a multipart upload with part 1 on A and part 2 on B completes on A and reads on B', async () => {
      const part1 = randomBytes(5 * 1024 * 1024)
      const part2 = randomBytes(1024)
      const { UploadId } = await a
        .s3()
        .send(new CreateMultipartUploadCommand({ Bucket: 'shared', Key: 'multi.bin' }))
      const p1 = await a.s3().send(
        new UploadPartCommand({
          Bucket: 'shared',
          Key: 'multi.bin',
          UploadId,
          PartNumber: 1,
          Body: part1,
        }),
      )
      const p2 = await b.s3().send(
        new UploadPartCommand({
          Bucket: 'shared',
          Key: 'multi.bin',
          UploadId,
          PartNumber: 2,
          Body: part2,
        }),
      )
      await a.s3().send(
        new CompleteMultipartUploadCommand({
          Bucket: 'shared',
          Key: 'multi.bin',
          UploadId,
          MultipartUpload: {
            Parts: [
              { PartNumber: 1, ETag: p1.ETag! },
              { PartNumber: 2, ETag: p2.ETag! },
            ],
          },
        }),
      )
      expect(
        (await body(b.s3(), 'shared', 'multi.bin')).equals(Buffer.concat([part1, part2])),
      ).toBe(true)
    })

    it('a key made through A works on B at once; revoked on A, B refuses it on the very next request', async () => {
      const adminA = await adminLogin(a)
      const callMs: number[] = []
      const refuseMs: number[] = []
      for (let i = 0; i < 5; i++) {
        const user = await userWithKey(adminA, `u${randomUUID().slice(0, 8)}`, 'Writer')
        const creds = { accessKeyId: user.accessKeyId, secretAccessKey: user.secretAccessKey }
        // B has never seen this key: no warm-up, its first request must work.
        expect(await errorName(b.s3(creds).send(new ListBucketsCommand({})))).toBe('OK')
        const client = b.s3(creds)
        expect(await errorName(client.send(new ListBucketsCommand({})))).toBe('OK')
        const called = performance.now()
        const revoke = await adminA.call('DELETE', `/api/admin/users/${user.id}/credentials`)
        const returned = performance.now()
        expect(revoke.status).toBe(204)
        // The very next request, on a connection B already holds: no sleep, no retry.
        expect(await errorName(client.send(new ListBucketsCommand({})))).toBe('InvalidAccessKeyId')
        callMs.push(returned - called)
        refuseMs.push(performance.now() - returned)
      }
      const fmt = (xs: number[]): string => {
        const s = [...xs].sort((x, y) => x - y)
        return `min ${s[0]!.toFixed(1)} / median ${s[2]!.toFixed(1)} / max ${s[4]!.toFixed(1)} ms`
      }
      console.log(
        `revocation across nodes (5 keys): A's admin DELETE took ${fmt(callMs)} (waits until every node applied it); B refused the key on the first request after it returned, that request's round trip ${fmt(refuseMs)}`,
      )
    })

    it('a bucket policy put on A applies on B on the next request', async () => {
      await a.s3().send(new CreateBucketCommand({ Bucket: 'pol' }))
      await a.s3().send(new PutObjectCommand({ Bucket: 'pol', Key: 'public.txt', Body: 'open' }))
      const anonymous = (): Promise<Response> => fetch(`${b.endpoint}/pol/public.txt`)
      expect((await anonymous()).status).toBe(403)
      await a.s3().send(
        new PutBucketPolicyCommand({
          Bucket: 'pol',
          Policy: JSON.stringify({
            Version: '2012-10-17',
            Statement: [
              {
                Effect: 'Allow',
                Principal: '*',
                Action: 's3:GetObject',
                Resource: 'arn:aws:s3:::pol/*',
              },
            ],
          }),
        }),
      )
      const r = await anonymous()
      expect(r.status).toBe(200)
      expect(await r.text()).toBe('open')
    })
  },
)

describe.skipIf(pg === undefined)(
  `starting nodes on PostgreSQL${pg === undefined ? ` (${SKIP})` : ''}`,
  () => {
    const dirs: string[] = []
    afterAll(() => {
      for (const d of dirs) rmSync(d, { recursive: true, force: true })
    })
    const blobs = (): string => {
      const d = mkdtempSync(join(tmpdir(), 'latchkey-cluster-blobs-'))
      dirs.push(d)
      return d
    }
    const nodeOn = async (): Promise<{ args: string[]; env: Record<string, string> }> => ({
      args: ['--database', await pg!.createDatabase(), '--blob-store', `file:${blobs()}`],
      env: { LATCHKEY_MASTER_KEY: randomBytes(32).toString('base64') },
    })

    it('REGRESSION concurrent-first-start: three nodes starting together on an empty database all start', async () => {
      // They race to seed the default account and root; a loser used to exit with
      // "Customer default already exists".
      for (let round = 0; round < 3; round++) {
        const node = await nodeOn()
        const started = await Promise.allSettled([
          startServer(node),
          startServer(node),
          startServer(node),
        ])
        const up = started.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []))
        try {
          expect(
            started
              .filter((r) => r.status === 'rejected')
              .map((r) => String((r as PromiseRejectedResult).reason)),
          ).toEqual([])
          for (const n of up)
            expect(await errorName(n.s3().send(new ListBucketsCommand({})))).toBe('OK')
        } finally {
          await Promise.all(up.map((n) => n.stop()))
        }
      }
    }, 60_000)

    it('REGRESSION failed-start-exits: a node that cannot listen exits at once instead of hanging on its pool', async () => {
      const node = await nodeOn()
      const first = await startServer(node)
      try {
        const t0 = performance.now()
        const err = await startServer({
          ...node,
          args: [...node.args, '--address', `127.0.0.1:${first.port}`],
        }).then(
          (s) => s.stop().then(() => 'started'),
          (e: unknown) => String(e),
        )
        expect(err).toMatch(/server exited with 1[\s\S]*cannot start/)
        expect(performance.now() - t0).toBeLessThan(10_000)
      } finally {
        await first.stop()
      }
    }, 60_000)
  },
)

it('a node whose database is unreachable exits at once with one line naming the cause', async () => {
  const err = await startServer({
    args: ['--database', 'postgres://latchkey@127.0.0.1:1/latchkey'],
    env: { LATCHKEY_MASTER_KEY: randomBytes(32).toString('base64') },
  }).then(
    (s) => s.stop().then(() => 'started'),
    (e: unknown) => String(e),
  )
  expect(err).toContain(
    'latchkey: cannot start: database unavailable: connect (connect ECONNREFUSED 127.0.0.1:1)',
  )
})
