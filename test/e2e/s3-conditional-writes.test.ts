/**
 * Conditional writes as AWS has them since 2024, end to end with the unmodified AWS SDK v3, a
 * presigned URL and the aws CLI: `If-None-Match: *` and `If-Match: <etag>` on PutObject,
 * CopyObject (the destination) and CompleteMultipartUpload; 412 PreconditionFailed when the
 * condition fails, 404 NoSuchKey for If-Match on a missing key, 409 ConditionalRequestConflict
 * when another writer changed the key during the upload. Many racing creators of one key leave
 * exactly one whole winner and no loser's blob on disk, on one node (SQLite) and across two nodes
 * on one PostgreSQL (the store decides the condition in the commit's own transaction); racing
 * unconditional PUTs from two nodes end with one whole winner, never a mix. The cluster part is
 * skipped, saying so, when no PostgreSQL is installed.
 * @module
 */
import { existsSync, mkdtempSync, readdirSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createHash, randomBytes } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  ListMultipartUploadsCommand,
  PutBucketPolicyCommand,
  PutObjectCommand,
  UploadPartCommand,
  type S3Client,
} from '@aws-sdk/client-s3'
import { getSignedUrl } from '@aws-sdk/s3-request-presigner'
import pgDriver from 'pg'
import { startPostgres, type TestPostgres } from '../support/postgres.js'
import { startCluster, type TestCluster } from '../support/cluster.js'
import { startServer, type TestServer } from './harness.js'
import { adminLogin, userWithKey } from './admin-client.js'
import { HAS_AWS_CLI, aws } from './tools.js'

const md5 = (b: Uint8Array): string => createHash('md5').update(b).digest('hex')

/** The error name (S3 code) and HTTP status a request failed with, or OK/200. */
async function outcome(p: Promise<unknown>): Promise<[string, number]> {
  try {
    await p
    return ['OK', 200]
  } catch (e) {
    const err = e as Error & { $metadata?: { httpStatusCode?: number } }
    return [err.name, err.$metadata?.httpStatusCode ?? 0]
  }
}

async function body(s3: S3Client, bucket: string, key: string): Promise<[Buffer, string]> {
  const r = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }))
  return [Buffer.from(await r.Body!.transformToByteArray()), r.ETag ?? '']
}

/** Files under a blob store root's blobs/ (each stored blob is one). */
function blobFiles(root: string): number {
  const walk = (dir: string): number => {
    if (!existsSync(dir)) return 0
    let n = 0
    for (const e of readdirSync(dir)) {
      const p = join(dir, e)
      n += statSync(p).isDirectory() ? walk(p) : 1
    }
    return n
  }
  return walk(join(root, 'blobs'))
}

/** Distinct bodies above the inline limit (128 KiB), so each lives in a blob file. */
const bodies = (n: number, size = 200 * 1024): Buffer[] =>
  Array.from({ length: n }, () => randomBytes(size))

/**
 * PUT every body to `key` at once (alternating over the clients) and check the race's end: the
 * stored object is exactly one of the bodies, whole, with its ETag. Returns each PUT's outcome.
 */
async function raceTo(
  clients: readonly S3Client[],
  bucket: string,
  key: string,
  sent: readonly Buffer[],
  ifNoneMatch: boolean,
): Promise<{ outcomes: [string, number][]; winner: number }> {
  const outcomes = await Promise.all(
    sent.map((b, i) =>
      outcome(
        clients[i % clients.length]!.send(
          new PutObjectCommand({
            Bucket: bucket,
            Key: key,
            Body: b,
            ...(ifNoneMatch ? { IfNoneMatch: '*' } : {}),
          }),
        ),
      ),
    ),
  )
  for (const c of clients) {
    const [got, etag] = await body(c, bucket, key)
    const winner = sent.findIndex((b) => b.equals(got))
    expect(winner, 'the stored body is one of the sent bodies, whole').toBeGreaterThanOrEqual(0)
    expect(etag).toBe(`"${md5(got)}"`)
  }
  const [got] = await body(clients[0]!, bucket, key)
  return { outcomes, winner: sent.findIndex((b) => b.equals(got)) }
}

describe('conditional writes on one node', () => {
  let server: TestServer
  let s3: S3Client
  beforeAll(async () => {
    server = await startServer()
    s3 = server.s3()
    await s3.send(new CreateBucketCommand({ Bucket: 'cond' }))
  })
  afterAll(async () => {
    await server?.stop()
  })

  const put = (
    key: string,
    b: string | Buffer,
    extra: { IfMatch?: string; IfNoneMatch?: string },
  ) => s3.send(new PutObjectCommand({ Bucket: 'cond', Key: key, Body: b, ...extra }))

  it('PutObject If-None-Match: * creates a new key and answers 412 on an existing one', async () => {
    expect(await outcome(put('new.txt', 'first', { IfNoneMatch: '*' }))).toEqual(['OK', 200])
    expect(await outcome(put('new.txt', 'second', { IfNoneMatch: '*' }))).toEqual([
      'PreconditionFailed',
      412,
    ])
    expect((await body(s3, 'cond', 'new.txt'))[0].toString()).toBe('first')
    // S3 accepts only * here.
    expect(
      await outcome(put('new.txt', 'x', { IfNoneMatch: `"${md5(Buffer.from('first'))}"` })),
    ).toEqual(['NotImplemented', 501])
  })

  it('PutObject If-Match: the current ETag (quoted or bare) succeeds, another is 412, a missing key 404', async () => {
    const first = await put('upd.txt', 'v1', {})
    expect(first.ETag).toBe(`"${md5(Buffer.from('v1'))}"`)
    const second = await put('upd.txt', 'v2', { IfMatch: first.ETag! })
    expect(await outcome(put('upd.txt', 'v3', { IfMatch: first.ETag! }))).toEqual([
      'PreconditionFailed',
      412,
    ])
    await put('upd.txt', 'v3', { IfMatch: second.ETag!.replaceAll('"', '') })
    expect((await body(s3, 'cond', 'upd.txt'))[0].toString()).toBe('v3')
    expect(await outcome(put('missing.txt', 'v1', { IfMatch: first.ETag! }))).toEqual([
      'NoSuchKey',
      404,
    ])
  })

  it('REGRESSION conditional-copy: CopyObject If-None-Match / If-Match apply to the destination', async () => {
    await put('src.txt', 'source', {})
    const dst = await put('dst.txt', 'dest', {})
    const copy = (key: string, extra: { IfMatch?: string; IfNoneMatch?: string }) =>
      s3.send(
        new CopyObjectCommand({ Bucket: 'cond', Key: key, CopySource: 'cond/src.txt', ...extra }),
      )
    expect(await outcome(copy('dst.txt', { IfNoneMatch: '*' }))).toEqual([
      'PreconditionFailed',
      412,
    ])
    expect(
      await outcome(copy('dst.txt', { IfMatch: '"00000000000000000000000000000000"' })),
    ).toEqual(['PreconditionFailed', 412])
    expect((await body(s3, 'cond', 'dst.txt'))[0].toString()).toBe('dest')
    expect(await outcome(copy('dst.txt', { IfMatch: dst.ETag! }))).toEqual(['OK', 200])
    expect(await outcome(copy('copy-new.txt', { IfNoneMatch: '*' }))).toEqual(['OK', 200])
    expect((await body(s3, 'cond', 'dst.txt'))[0].toString()).toBe('source')
  })

  it('CompleteMultipartUpload honours If-None-Match: * and If-Match; a refused upload stays', async () => {
    const part = randomBytes(5 * 1024 * 1024)
    const start = async (key: string) => {
      const { UploadId } = await s3.send(
        new CreateMultipartUploadCommand({ Bucket: 'cond', Key: key }),
      )
      const { ETag } = await s3.send(
        new UploadPartCommand({
          Bucket: 'cond',
          Key: key,
          UploadId,
          PartNumber: 1,
          Body: part,
        }),
      )
      return (extra: { IfMatch?: string; IfNoneMatch?: string }) =>
        s3.send(
          new CompleteMultipartUploadCommand({
            Bucket: 'cond',
            Key: key,
            UploadId,
            MultipartUpload: { Parts: [{ PartNumber: 1, ETag }] },
            ...extra,
          }),
        )
    }
    const fresh = await start('mp-new.bin')
    expect(await outcome(fresh({ IfNoneMatch: '*' }))).toEqual(['OK', 200])

    const existing = await put('mp-old.bin', 'old', {})
    const over = await start('mp-old.bin')
    expect(await outcome(over({ IfNoneMatch: '*' }))).toEqual(['PreconditionFailed', 412])
    expect(await outcome(over({ IfMatch: '"ffffffffffffffffffffffffffffffff"' }))).toEqual([
      'PreconditionFailed',
      412,
    ])
    const listed = await s3.send(new ListMultipartUploadsCommand({ Bucket: 'cond' }))
    expect(listed.Uploads?.map((u) => u.Key)).toContain('mp-old.bin')
    expect((await body(s3, 'cond', 'mp-old.bin'))[0].toString()).toBe('old')
    expect(await outcome(over({ IfMatch: existing.ETag! }))).toEqual(['OK', 200])
    expect((await body(s3, 'cond', 'mp-old.bin'))[0].equals(part)).toBe(true)

    const missing = await start('mp-missing.bin')
    expect(await outcome(missing({ IfMatch: existing.ETag! }))).toEqual(['NoSuchKey', 404])
  })

  it('REGRESSION conditional-write-policy: a bucket policy can demand conditional writes (s3:if-none-match, s3:ObjectCreationOperation), and If-Match needs s3:GetObject', async () => {
    const admin = await adminLogin(server)
    const user = await userWithKey(admin, 'cond-writer', 'Writer')
    const w = server.s3(user)
    const policy = (bucket: string, statements: object[]) =>
      s3.send(
        new PutBucketPolicyCommand({
          Bucket: bucket,
          Policy: JSON.stringify({ Version: '2012-10-17', Statement: statements }),
        }),
      )
    // AWS's own example: no object-creating write without If-None-Match; the multipart steps,
    // which take no conditional headers, are exempt through s3:ObjectCreationOperation.
    await s3.send(new CreateBucketCommand({ Bucket: 'create-only' }))
    await policy('create-only', [
      {
        Effect: 'Deny',
        Principal: '*',
        Action: 's3:PutObject',
        Resource: 'arn:aws:s3:::create-only/*',
        Condition: {
          Null: { 's3:if-none-match': 'true' },
          Bool: { 's3:ObjectCreationOperation': 'true' },
        },
      },
    ])
    const putTo = (
      bucket: string,
      key: string,
      extra: { IfMatch?: string; IfNoneMatch?: string },
    ) => outcome(w.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: 'x', ...extra })))
    expect(await putTo('create-only', 'a', {})).toEqual(['AccessDenied', 403])
    expect(await putTo('create-only', 'a', { IfNoneMatch: '*' })).toEqual(['OK', 200])
    const { UploadId } = await w.send(
      new CreateMultipartUploadCommand({ Bucket: 'create-only', Key: 'mp' }),
    )
    const { ETag } = await w.send(
      new UploadPartCommand({
        Bucket: 'create-only',
        Key: 'mp',
        UploadId,
        PartNumber: 1,
        Body: 'part',
      }),
    )
    const complete = (extra: { IfNoneMatch?: string }) =>
      outcome(
        w.send(
          new CompleteMultipartUploadCommand({
            Bucket: 'create-only',
            Key: 'mp',
            UploadId,
            MultipartUpload: { Parts: [{ PartNumber: 1, ETag }] },
            ...extra,
          }),
        ),
      )
    expect(await complete({})).toEqual(['AccessDenied', 403])
    expect(await complete({ IfNoneMatch: '*' })).toEqual(['OK', 200])

    // If-Match tells whether the object has that ETag: a writer who may not read may not ask.
    await s3.send(new CreateBucketCommand({ Bucket: 'write-only' }))
    const first = await s3.send(
      new PutObjectCommand({ Bucket: 'write-only', Key: 'k', Body: 'v1' }),
    )
    await policy('write-only', [
      {
        Effect: 'Deny',
        Principal: '*',
        Action: 's3:GetObject',
        Resource: 'arn:aws:s3:::write-only/*',
      },
    ])
    expect(await putTo('write-only', 'k', { IfMatch: first.ETag! })).toEqual(['AccessDenied', 403])
    expect(await putTo('write-only', 'k', {})).toEqual(['OK', 200])
  })

  it('twenty racing If-None-Match: * PUTs: exactly one 200, the rest 412/409, one whole body, no leaked blob', async () => {
    const root = join(server.dataDir, 'objects')
    const before = blobFiles(root)
    const sent = bodies(20)
    const { outcomes, winner } = await raceTo([s3], 'cond', 'raced.bin', sent, true)
    expect(outcomes.filter(([c]) => c === 'OK')).toHaveLength(1)
    expect(outcomes[winner]).toEqual(['OK', 200])
    for (const [code, status] of outcomes.filter(([c]) => c !== 'OK'))
      expect([
        ['PreconditionFailed', 412],
        ['ConditionalRequestConflict', 409],
      ]).toContainEqual([code, status])
    expect(blobFiles(root) - before).toBe(1) // the losers' uploaded bodies are gone
  })

  it('a presigned PUT carrying If-None-Match: * creates once, then answers 412', async () => {
    const url = await getSignedUrl(
      s3,
      new PutObjectCommand({ Bucket: 'cond', Key: 'presigned.txt', IfNoneMatch: '*' }),
      { expiresIn: 300 },
    )
    const send = (b: string) =>
      fetch(url, { method: 'PUT', body: b, headers: { 'if-none-match': '*' } })
    const first = await send('one')
    expect(first.status, await first.text()).toBe(200)
    const second = await send('two')
    expect(second.status).toBe(412)
    expect(await second.text()).toContain('<Code>PreconditionFailed</Code>')
    expect((await body(s3, 'cond', 'presigned.txt'))[0].toString()).toBe('one')
  })

  it.skipIf(!HAS_AWS_CLI)('aws s3api put-object --if-none-match "*" / --if-match', async () => {
    const creds = { accessKeyId: server.accessKeyId, secretAccessKey: server.secretAccessKey }
    const file = join(mkdtempSync(join(tmpdir(), 'latchkey-cond-')), 'f.txt')
    writeFileSync(file, 'from the cli\n')
    const cli = (...extra: string[]) =>
      aws(server.endpoint, creds, [
        's3api',
        'put-object',
        '--bucket',
        'cond',
        '--key',
        'cli.txt',
        '--body',
        file,
        ...extra,
      ])
    let r = await cli('--if-none-match', '*')
    expect(r.code, r.stderr).toBe(0)
    const etag = (JSON.parse(r.stdout) as { ETag: string }).ETag
    r = await cli('--if-none-match', '*')
    expect(r.code).not.toBe(0)
    expect(r.stderr).toContain('PreconditionFailed')
    r = await cli('--if-match', etag)
    expect(r.code, r.stderr).toBe(0)
    r = await cli('--if-match', '"00000000000000000000000000000000"')
    expect(r.code).not.toBe(0)
    expect(r.stderr).toContain('PreconditionFailed')
  })
})

const SKIP = 'no PostgreSQL installed (initdb/pg_ctl not found, LATCHKEY_TEST_DATABASE_URL unset)'
const pg: TestPostgres | undefined = await startPostgres()
afterAll(async () => {
  await pg?.stop()
})

describe.skipIf(pg === undefined)(
  `conditional writes across two nodes on one PostgreSQL${pg === undefined ? ` (${SKIP})` : ''}`,
  () => {
    let cluster: TestCluster
    let a: TestServer
    let b: TestServer
    let blobDir: string
    let url: string

    beforeAll(async () => {
      url = await pg!.createDatabase()
      // One after the other: the first node runs the migrations and seeds the root identity.
      cluster = await startCluster(url, 2)
      ;[a, b] = cluster.nodes as [TestServer, TestServer]
      blobDir = cluster.blobDir
      await a.s3().send(new CreateBucketCommand({ Bucket: 'race' }))
    }, 60_000)

    afterAll(async () => {
      await cluster?.stop()
    })

    it('twenty If-None-Match: * PUTs raced from two nodes: exactly one wins, whole, no leaked blob', async () => {
      const before = blobFiles(blobDir)
      const sent = bodies(20)
      const { outcomes, winner } = await raceTo([a.s3(), b.s3()], 'race', 'once', sent, true)
      expect(outcomes.filter(([c]) => c === 'OK')).toHaveLength(1)
      expect(outcomes[winner]).toEqual(['OK', 200])
      for (const [code] of outcomes.filter(([c]) => c !== 'OK'))
        expect(['PreconditionFailed', 'ConditionalRequestConflict']).toContain(code)
      expect(blobFiles(blobDir) - before).toBe(1)
    })

    it('an If-Match update raced from two nodes on the same ETag: exactly one wins', async () => {
      const first = await a
        .s3()
        .send(new PutObjectCommand({ Bucket: 'race', Key: 'cas', Body: 'v0' }))
      const sent = bodies(10)
      const outcomes = await Promise.all(
        sent.map((body, i) =>
          outcome(
            (i % 2 === 0 ? a : b).s3().send(
              new PutObjectCommand({
                Bucket: 'race',
                Key: 'cas',
                Body: body,
                IfMatch: first.ETag!,
              }),
            ),
          ),
        ),
      )
      expect(outcomes.filter(([c]) => c === 'OK')).toHaveLength(1)
      const [got] = await body(b.s3(), 'race', 'cas')
      expect(got.equals(sent[outcomes.findIndex(([c]) => c === 'OK')]!)).toBe(true)
    })

    it('REGRESSION cross-node-if-match: an If-Match with the ETag just written on the other node is not refused by a stale cached record', async () => {
      // The read-modify-write loop If-Match exists for, spread over two nodes by a load balancer:
      // A has the old record cached (a GET), B writes v2, the client updates v2 through A. A's
      // cache learns of B's write a moment later (the change feed), so the early check read
      // the stale record and refused about one try in five.
      const refused: string[] = []
      for (let i = 0; i < 30; i++) {
        const key = `cas-${i}`
        await a.s3().send(new PutObjectCommand({ Bucket: 'race', Key: key, Body: 'v1' }))
        await body(a.s3(), 'race', key)
        const v2 = await b.s3().send(new PutObjectCommand({ Bucket: 'race', Key: key, Body: 'v2' }))
        const [code] = await outcome(
          a
            .s3()
            .send(
              new PutObjectCommand({ Bucket: 'race', Key: key, Body: 'v3', IfMatch: v2.ETag! }),
            ),
        )
        if (code !== 'OK') refused.push(`${key}: ${code}`)
      }
      expect(refused).toEqual([])
    })

    it('twenty unconditional PUTs of different bodies from two nodes end with one whole winner', async () => {
      const retired = async (): Promise<number> => {
        const c = new pgDriver.Client({ connectionString: url })
        await c.connect()
        try {
          const r = await c.query<{ n: string }>(
            'SELECT count(*) AS n FROM blob_ledger WHERE state = 1',
          )
          return Number(r.rows[0]!.n)
        } finally {
          await c.end()
        }
      }
      const before = blobFiles(blobDir)
      const retiredBefore = await retired()
      const sent = bodies(20, 1024 * 1024)
      const { outcomes } = await raceTo([a.s3(), b.s3()], 'race', 'last', sent, false)
      expect(outcomes.every(([c]) => c === 'OK')).toBe(true)
      // In a shared directory a replaced body outlives its readers on other nodes: each of the
      // 19 replaced bodies is retired (deleted after the grace), none is leaked.
      expect(blobFiles(blobDir) - before).toBe(20)
      expect((await retired()) - retiredBefore).toBe(19)
    })
  },
)
