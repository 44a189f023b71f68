/**
 * Three real server processes on one PostgreSQL database with `--blob-store s3://…`, once on a
 * real Ceph RGW (test/support/rgw.ts: reused when one answers, else started) and once on a second
 * Latchkey process in file mode, driven by the
 * unmodified AWS SDK: a PUT on A is read on B and listed on C, a multipart upload with parts on
 * different nodes completes on the third, ranged GETs (within a blob and across parts), a browser
 * POST upload (a body of unknown length, which the store spools before its PUT), a CopyObject,
 * a DELETE.
 * A fourth node of the same cluster whose LATCHKEY_BLOB_S3_ENDPOINT is a closed port answers
 * 503 SlowDown (never 500) for a PUT and a GET that need the blob store, keeps serving
 * what does not (an inline object), and does not crash. Bodies are larger than the inline limit
 * (128 KiB), so they go to the blob store. Skipped, saying why, without PostgreSQL or RGW.
 * @module
 */
import { randomBytes } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3'
import { createPresignedPost } from '@aws-sdk/s3-presigned-post'
import { startPostgres, type TestPostgres } from '../support/postgres.js'
import { startRgw } from '../support/rgw.js'
import { startServer, type TestServer } from './harness.js'
import { freePort } from '../support/ports.js'

const pg: TestPostgres | undefined = await startPostgres()
const rgw = await startRgw()
afterAll(async () => {
  await pg?.stop()
  if (!('unavailable' in rgw)) await rgw.stop()
})
const NO_PG = 'no PostgreSQL installed (initdb/pg_ctl not found, LATCHKEY_TEST_DATABASE_URL unset)'

/** The S3 the cluster keeps its bodies in. */
interface Upstream {
  readonly endpoint: string
  readonly accessKeyId: string
  readonly secretAccessKey: string
  client(): S3Client
  createBucket(): Promise<string>
  removeBucket(name: string): Promise<void>
  stop(): Promise<void>
}

/** A second Latchkey process in file mode as the upstream S3. */
async function latchkeyUpstream(): Promise<Upstream> {
  const server = await startServer()
  let n = 0
  return {
    endpoint: server.endpoint,
    accessKeyId: server.accessKeyId,
    secretAccessKey: server.secretAccessKey,
    client: () => server.s3(),
    async createBucket() {
      const name = `upstream-${++n}`
      await server.s3().send(new CreateBucketCommand({ Bucket: name }))
      return name
    },
    removeBucket: async () => {},
    stop: () => server.stop(),
  }
}

const upstreams: ReadonlyArray<{
  readonly name: string
  readonly skip: string | undefined
  readonly open: () => Promise<Upstream>
}> = [
  {
    name: 'Ceph RGW',
    skip: pg === undefined ? NO_PG : 'unavailable' in rgw ? rgw.unavailable : undefined,
    open: async () => {
      if ('unavailable' in rgw) throw new Error(rgw.unavailable)
      return { ...rgw, stop: async () => {} }
    },
  },
  {
    name: 'a second Latchkey (file mode)',
    skip: pg === undefined ? NO_PG : undefined,
    open: latchkeyUpstream,
  },
]

async function body(s3: S3Client, bucket: string, key: string, range?: string): Promise<Buffer> {
  const r = await s3.send(
    new GetObjectCommand({ Bucket: bucket, Key: key, ...(range ? { Range: range } : {}) }),
  )
  return Buffer.from(await r.Body!.transformToByteArray())
}

/** The error's name and HTTP status, or 'OK'. */
async function outcome(p: Promise<unknown>): Promise<string> {
  try {
    await p
    return 'OK'
  } catch (e) {
    const err = e as { name: string; $metadata?: { httpStatusCode?: number } }
    return `${err.name} ${String(err.$metadata?.httpStatusCode)}`
  }
}

for (const { name, skip, open } of upstreams)
  describe.skipIf(skip !== undefined)(
    `three nodes on one PostgreSQL, blobs in ${name}${skip !== undefined ? ` (${skip})` : ''}`,
    () => {
      let up: Upstream
      const nodes: TestServer[] = []
      let a: TestServer, b: TestServer, c: TestServer, dead: TestServer
      const bucket = 'photos'
      const big = randomBytes(1024 * 1024 + 17)
      let upstream = ''

      beforeAll(async () => {
        if (skip !== undefined || pg === undefined) return
        const url = await pg.createDatabase()
        up = await open()
        upstream = await up.createBucket()
        const env = {
          LATCHKEY_MASTER_KEY: randomBytes(32).toString('base64'),
          LATCHKEY_BLOB_S3_ENDPOINT: up.endpoint,
          LATCHKEY_BLOB_S3_ACCESS_KEY_ID: up.accessKeyId,
          LATCHKEY_BLOB_S3_SECRET_ACCESS_KEY: up.secretAccessKey,
          LATCHKEY_BLOB_S3_FORCE_PATH_STYLE: '1',
        }
        const args = ['--database', url, '--blob-store', `s3://${upstream}/cluster`]
        // The first node runs the migrations and seeds the root identity; the others then at once.
        nodes.push(await startServer({ args, env }))
        const rest = await Promise.all([
          startServer({ args, env }),
          startServer({ args, env }),
          startServer({
            args,
            env: { ...env, LATCHKEY_BLOB_S3_ENDPOINT: `http://127.0.0.1:${await freePort()}` },
          }),
        ])
        nodes.push(...rest)
        ;[a, b, c, dead] = nodes as [TestServer, TestServer, TestServer, TestServer]
        await a.s3().send(new CreateBucketCommand({ Bucket: bucket }))
      }, 120_000)

      afterAll(async () => {
        await Promise.all(nodes.map((n) => n.stop()))
        if (upstream !== '') await up.removeBucket(upstream)
        await up?.stop()
      })

      it('a PUT on A is read on B and listed on C; ranged GETs read the right bytes', async () => {
        await a.s3().send(new PutObjectCommand({ Bucket: bucket, Key: 'big.bin', Body: big }))
        expect((await body(b.s3(), bucket, 'big.bin')).equals(big)).toBe(true)
        const l = await c.s3().send(new ListObjectsV2Command({ Bucket: bucket }))
        expect(l.Contents?.map((o) => [o.Key, o.Size])).toContainEqual(['big.bin', big.length])
        // The body is in RGW, under the configured prefix.
        {
          const u = up.client()
          const blobs = await u.send(new ListObjectsV2Command({ Bucket: upstream }))
          u.destroy()
          expect(
            blobs.Contents?.map((o) => [o.Key?.startsWith('cluster/'), o.Size]),
          ).toContainEqual([true, big.length])
        }
        expect(
          (await body(c.s3(), bucket, 'big.bin', 'bytes=1000-200999')).equals(
            big.subarray(1000, 201000),
          ),
        ).toBe(true)
        expect((await body(b.s3(), bucket, 'big.bin', 'bytes=-5')).equals(big.subarray(-5))).toBe(
          true,
        )
      })

      it('a multipart upload with parts on A and B completes on C; a range spans the parts', async () => {
        const p1 = randomBytes(5 * 1024 * 1024)
        const p2 = randomBytes(300 * 1024)
        const up = await a
          .s3()
          .send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: 'multi.bin' }))
        const id = up.UploadId!
        const r1 = await a.s3().send(
          new UploadPartCommand({
            Bucket: bucket,
            Key: 'multi.bin',
            UploadId: id,
            PartNumber: 1,
            Body: p1,
          }),
        )
        const r2 = await b.s3().send(
          new UploadPartCommand({
            Bucket: bucket,
            Key: 'multi.bin',
            UploadId: id,
            PartNumber: 2,
            Body: p2,
          }),
        )
        await c.s3().send(
          new CompleteMultipartUploadCommand({
            Bucket: bucket,
            Key: 'multi.bin',
            UploadId: id,
            MultipartUpload: {
              Parts: [
                { PartNumber: 1, ETag: r1.ETag! },
                { PartNumber: 2, ETag: r2.ETag! },
              ],
            },
          }),
        )
        const whole = Buffer.concat([p1, p2])
        expect((await body(a.s3(), bucket, 'multi.bin')).equals(whole)).toBe(true)
        const from = p1.length - 1000
        expect(
          (await body(b.s3(), bucket, 'multi.bin', `bytes=${from}-${from + 1999}`)).equals(
            whole.subarray(from, from + 2000),
          ),
        ).toBe(true)
      })

      it('a browser POST upload (no known length: spooled, then PUT upstream) on A is read on C', async () => {
        const file = randomBytes(400 * 1024)
        const { url, fields } = await createPresignedPost(a.s3(), {
          Bucket: bucket,
          Key: 'posted.bin',
          Expires: 600,
        })
        const form = new FormData()
        for (const [k, v] of Object.entries(fields)) form.append(k, v)
        form.append('file', new Blob([file]), 'posted.bin')
        const r = await fetch(url, { method: 'POST', body: form })
        expect(r.status).toBe(204)
        expect((await body(c.s3(), bucket, 'posted.bin')).equals(file)).toBe(true)
      })

      it('a CopyObject on B (streamed from the upstream into the upstream) reads on A', async () => {
        await b.s3().send(
          new CopyObjectCommand({
            Bucket: bucket,
            Key: 'copy.bin',
            CopySource: `${bucket}/big.bin`,
          }),
        )
        expect((await body(a.s3(), bucket, 'copy.bin')).equals(big)).toBe(true)
      })

      it('a DELETE on B is seen on C and A', async () => {
        const key = 'doomed.bin'
        await c.s3().send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: big }))
        await b.s3().send(new DeleteObjectCommand({ Bucket: bucket, Key: key }))
        expect(await outcome(c.s3().send(new GetObjectCommand({ Bucket: bucket, Key: key })))).toBe(
          'NoSuchKey 404',
        )
        const l = await a.s3().send(new ListObjectsV2Command({ Bucket: bucket }))
        expect(l.Contents?.map((o) => o.Key)).not.toContain(key)
      })

      it('a node whose upstream S3 is unreachable answers 503 for blob PUT and GET, and keeps serving', async () => {
        const s3 = new S3Client({
          endpoint: dead.endpoint,
          region: 'us-east-1',
          forcePathStyle: true,
          credentials: { accessKeyId: dead.accessKeyId, secretAccessKey: dead.secretAccessKey },
          maxAttempts: 1,
        })
        try {
          await a.s3().send(new PutObjectCommand({ Bucket: bucket, Key: 'there.bin', Body: big }))
          expect(
            await outcome(
              s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'new.bin', Body: big })),
            ),
          ).toBe('SlowDown 503')
          expect(
            await outcome(s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'there.bin' }))),
          ).toBe('SlowDown 503')
          expect(
            await outcome(
              s3.send(
                new GetObjectCommand({ Bucket: bucket, Key: 'multi.bin', Range: 'bytes=0-99' }),
              ),
            ),
          ).toBe('SlowDown 503')
          // Nothing of the failed PUT is visible anywhere.
          expect(
            await outcome(a.s3().send(new GetObjectCommand({ Bucket: bucket, Key: 'new.bin' }))),
          ).toBe('NoSuchKey 404')
          // What needs no blob store still works there: a small (inline) object, a listing.
          await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'small.txt', Body: 'hello' }))
          expect((await body(b.s3(), bucket, 'small.txt')).toString()).toBe('hello')
          const l = await s3.send(new ListObjectsV2Command({ Bucket: bucket }))
          expect(l.Contents?.map((o) => o.Key)).toContain('there.bin')
          expect(dead.proc.exitCode).toBeNull()
          expect(dead.output.join('\n')).toContain('the upstream S3 blob store does not answer')
          expect(a.output.join('\n')).not.toContain('the upstream S3 blob store does not answer')
          expect(dead.output.join('\n')).not.toMatch(/uncaught|unhandled/i)
        } finally {
          s3.destroy()
        }
      })
    },
  )
