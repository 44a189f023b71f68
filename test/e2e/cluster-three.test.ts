/**
 * Three real nodes on one PostgreSQL and one shared blob directory, driven by the unmodified AWS
 * SDK, the aws CLI and boto3: every "what must hold across nodes" of the scale-out issue that
 * needs no fault (cluster-faults.test.ts has kill -9, a partition and a database restart).
 *
 * - data: PUT on A read on B and listed on C; a multipart upload with parts on A and B completed
 *   on C; concurrent PUTs of one key from all three end with one whole winner, and of nine
 *   `If-None-Match: *` PUTs raced from the three nodes exactly one wins;
 * - identity: a user, key, extra policy and allow-list made on one node hold on the others at
 *   once; a key revoked, a user deactivated, a master key reset and a session revoked on one node
 *   are refused on every other node on the very next request (the admin call's time is printed);
 * - caches: a small GET costs at most one database transaction, none for identity;
 * - limits: the per-parent session quota, TOTP replay protection and the login throttle hold
 *   for the cluster, not per node (the login throttle last: it locks the loopback address).
 *
 * Skipped, saying so, when no PostgreSQL is installed.
 * @module
 */
import { randomBytes, createHash } from 'node:crypto'
import { writeFileSync, mkdtempSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import pg from 'pg'
import { generateSync } from 'otplib'
import {
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
import { GetSessionTokenCommand, STSClient } from '@aws-sdk/client-sts'
import { startPostgres, type TestPostgres } from '../support/postgres.js'
import { startCluster, type TestCluster } from '../support/cluster.js'
import type { TestServer } from './harness.js'
import { adminLogin, userWithKey, type AdminClient } from './admin-client.js'
import { HAS_AWS_CLI, HAS_BOTO3, aws, boto3 } from './tools.js'

const SKIP = 'no PostgreSQL installed (initdb/pg_ctl not found, LATCHKEY_TEST_DATABASE_URL unset)'
const pgServer: TestPostgres | undefined = await startPostgres()
afterAll(async () => {
  await pgServer?.stop()
})

/** The session quota the nodes run with, small enough to exhaust in a test. */
const QUOTA = 4

async function body(s3: S3Client, bucket: string, key: string): Promise<Buffer> {
  const r = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }))
  return Buffer.from(await r.Body!.transformToByteArray())
}

/** 'OK', or the error's name (InvalidAccessKeyId, AccessDenied, …) and HTTP status. */
async function outcome(p: Promise<unknown>): Promise<string> {
  try {
    await p
    return 'OK'
  } catch (e) {
    const status = (e as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode
    return `${(e as Error).name} ${String(status)}`
  }
}

const md5 = (b: Buffer): string => `"${createHash('md5').update(b).digest('hex')}"`

function timed<T>(p: Promise<T>): Promise<{ value: T; ms: number }> {
  const t0 = performance.now()
  return p.then((value) => ({ value, ms: performance.now() - t0 }))
}

describe.skipIf(pgServer === undefined)(
  `three nodes on one PostgreSQL${pgServer === undefined ? ` (${SKIP})` : ''}`,
  () => {
    let cluster: TestCluster
    let a: TestServer
    let b: TestServer
    let c: TestServer
    let nodes: TestServer[]
    /** One admin session per node, all made before the login-throttle test locks the address. */
    let admin: AdminClient[]
    const adminMs: Record<string, number> = {}

    beforeAll(async () => {
      const url = await pgServer!.createDatabase()
      cluster = await startCluster(url, 3, {
        env: { LATCHKEY_MAX_SESSIONS_PER_PARENT: String(QUOTA) },
      })
      nodes = cluster.nodes
      ;[a, b, c] = nodes as [TestServer, TestServer, TestServer]
      admin = [await adminLogin(a), await adminLogin(b), await adminLogin(c)]
      await a.s3().send(new CreateBucketCommand({ Bucket: 'three' }))
    }, 90_000)

    afterAll(async () => {
      await cluster?.stop()
      if (Object.keys(adminMs).length > 0)
        console.log(
          `[cluster-three] admin call → refused everywhere, ms: ${JSON.stringify(adminMs)}`,
        )
    })

    it('PUT on A is read on B and listed on C', async () => {
      const small = Buffer.from('from node A')
      const big = randomBytes(3 * 1024 * 1024)
      await a.s3().send(new PutObjectCommand({ Bucket: 'three', Key: 'd/small', Body: small }))
      await a.s3().send(new PutObjectCommand({ Bucket: 'three', Key: 'd/big', Body: big }))
      expect((await body(b.s3(), 'three', 'd/small')).equals(small)).toBe(true)
      expect((await body(b.s3(), 'three', 'd/big')).equals(big)).toBe(true)
      const list = await c.s3().send(new ListObjectsV2Command({ Bucket: 'three', Prefix: 'd/' }))
      expect(list.Contents?.map((o) => [o.Key, o.Size])).toEqual([
        ['d/big', big.length],
        ['d/small', small.length],
      ])
    })

    it('a multipart upload with parts on A and B completes on C', async () => {
      const p1 = randomBytes(5 * 1024 * 1024)
      const p2 = randomBytes(777)
      const { UploadId } = await a
        .s3()
        .send(new CreateMultipartUploadCommand({ Bucket: 'three', Key: 'mp' }))
      const e1 = await a
        .s3()
        .send(
          new UploadPartCommand({ Bucket: 'three', Key: 'mp', UploadId, PartNumber: 1, Body: p1 }),
        )
      const e2 = await b
        .s3()
        .send(
          new UploadPartCommand({ Bucket: 'three', Key: 'mp', UploadId, PartNumber: 2, Body: p2 }),
        )
      await c.s3().send(
        new CompleteMultipartUploadCommand({
          Bucket: 'three',
          Key: 'mp',
          UploadId,
          MultipartUpload: {
            Parts: [
              { PartNumber: 1, ETag: e1.ETag! },
              { PartNumber: 2, ETag: e2.ETag! },
            ],
          },
        }),
      )
      expect((await body(a.s3(), 'three', 'mp')).equals(Buffer.concat([p1, p2]))).toBe(true)
    })

    it('concurrent PUTs of one key from three nodes end with one whole winner', async () => {
      const bodies = Array.from({ length: 9 }, () => randomBytes(256 * 1024 + 1))
      const results = await Promise.allSettled(
        bodies.map((bd, i) =>
          nodes[i % 3]!.s3().send(new PutObjectCommand({ Bucket: 'three', Key: 'race', Body: bd })),
        ),
      )
      expect(results.every((r) => r.status === 'fulfilled')).toBe(true)
      const seen = await Promise.all(nodes.map((n) => body(n.s3(), 'three', 'race')))
      const winner = bodies.findIndex((bd) => bd.equals(seen[0]!))
      expect(winner).toBeGreaterThanOrEqual(0) // whole, one of the bodies sent, never a mix
      for (const s of seen) expect(s.equals(bodies[winner]!)).toBe(true)
      const head = await c.s3().send(new GetObjectCommand({ Bucket: 'three', Key: 'race' }))
      await head.Body?.transformToByteArray()
      expect(head.ETag).toBe(md5(bodies[winner]!))
    })

    it('If-None-Match: * raced from three nodes lets exactly one win', async () => {
      const bodies = Array.from({ length: 9 }, (_, i) => Buffer.from(`candidate ${i}`))
      const got = await Promise.all(
        bodies.map((bd, i) =>
          outcome(
            nodes[i % 3]!.s3().send(
              new PutObjectCommand({ Bucket: 'three', Key: 'once', Body: bd, IfNoneMatch: '*' }),
            ),
          ),
        ),
      )
      expect(got.filter((g) => g === 'OK')).toHaveLength(1)
      for (const g of got)
        if (g !== 'OK')
          expect(g).toMatch(/^(PreconditionFailed 412|ConditionalRequestConflict 409)$/)
      const winner = bodies[got.indexOf('OK')]!
      for (const n of nodes) expect((await body(n.s3(), 'three', 'once')).equals(winner)).toBe(true)
    })

    it('a user, key and extra policy made on A hold on B and C at once', async () => {
      const u = await userWithKey(admin[0]!, 'ana', 'Writer')
      await b.s3(u).send(new PutObjectCommand({ Bucket: 'three', Key: 'ana/1', Body: 'x' }))
      expect((await body(c.s3(u), 'three', 'ana/1')).toString()).toBe('x')
      const deny = {
        Version: '2012-10-17',
        Statement: [{ Effect: 'Deny', Action: 's3:GetObject', Resource: 'arn:aws:s3:::three/*' }],
      }
      const put = await timed(admin[0]!.call('PUT', `/api/admin/users/${u.id}/policy`, deny))
      expect(put.value.status).toBe(200)
      adminMs['user policy'] = Math.round(put.ms)
      expect(await outcome(body(b.s3(u), 'three', 'ana/1'))).toBe('AccessDenied 403')
      expect(await outcome(body(c.s3(u), 'three', 'ana/1'))).toBe('AccessDenied 403')
      expect((await admin[1]!.call('DELETE', `/api/admin/users/${u.id}/policy`)).status).toBe(204)
      expect((await body(a.s3(u), 'three', 'ana/1')).toString()).toBe('x')
    })

    it('a customer allow-list set on B holds on A and C at once', async () => {
      const made = await admin[0]!.call('POST', '/api/admin/customers', {
        name: 'fenced',
        type: 'customer',
      })
      expect(made.status).toBe(201)
      const mk = {
        accessKeyId: made.json.master_key.access_key as string,
        secretAccessKey: made.json.master_key.secret_key as string,
      }
      expect(await outcome(c.s3(mk).send(new ListBucketsCommand({})))).toBe('OK')
      const set = await timed(
        admin[1]!.call('PUT', '/api/admin/customers/fenced/allowlist', { cidrs: ['10.9.0.0/16'] }),
      )
      expect(set.value.status).toBe(200)
      adminMs['allow-list'] = Math.round(set.ms)
      expect(await outcome(a.s3(mk).send(new ListBucketsCommand({})))).toMatch(/ 403$/)
      expect(await outcome(c.s3(mk).send(new ListBucketsCommand({})))).toMatch(/ 403$/)
      const open = await admin[1]!.call('PUT', '/api/admin/customers/fenced/allowlist', {
        cidrs: [],
      })
      expect(open.status).toBe(200)
      expect(await outcome(a.s3(mk).send(new ListBucketsCommand({})))).toBe('OK')
    })

    it('a key revoked on A is refused on B and C on the very next request', async () => {
      const u = await userWithKey(admin[0]!, 'kim', 'Reader')
      for (const n of nodes)
        expect(await outcome(n.s3(u).send(new ListBucketsCommand({})))).toBe('OK')
      const del = await timed(admin[0]!.call('DELETE', `/api/admin/users/${u.id}/credentials`))
      expect(del.value.status).toBe(204)
      adminMs['key revoked'] = Math.round(del.ms)
      for (const n of [b, c, a])
        expect(await outcome(n.s3(u).send(new ListBucketsCommand({})))).toBe(
          'InvalidAccessKeyId 403',
        )
    })

    it('a user deactivated on B is refused on A and C on the very next request', async () => {
      const u = await userWithKey(admin[1]!, 'dee', 'Writer')
      for (const n of nodes)
        expect(await outcome(n.s3(u).send(new ListBucketsCommand({})))).toBe('OK')
      const off = await timed(
        admin[1]!.call('PATCH', `/api/admin/users/${u.id}`, { is_active: false }),
      )
      expect(off.value.status).toBe(200)
      adminMs['user deactivated'] = Math.round(off.ms)
      for (const n of [a, c, b])
        expect(await outcome(n.s3(u).send(new ListBucketsCommand({})))).toMatch(/ 403$/)
    })

    it("a customer's master key reset on C: the old one is refused on A and B, the new one works", async () => {
      const made = await admin[2]!.call('POST', '/api/admin/customers', {
        name: 'resetco',
        type: 'customer',
      })
      expect(made.status).toBe(201)
      const old = {
        accessKeyId: made.json.master_key.access_key as string,
        secretAccessKey: made.json.master_key.secret_key as string,
      }
      for (const n of nodes)
        expect(await outcome(n.s3(old).send(new ListBucketsCommand({})))).toBe('OK')
      const reset = await timed(
        admin[2]!.call('POST', '/api/admin/customers/resetco/master-key/reset'),
      )
      expect(reset.value.status).toBe(200)
      adminMs['master key reset'] = Math.round(reset.ms)
      for (const n of [a, b, c])
        expect(await outcome(n.s3(old).send(new ListBucketsCommand({})))).toMatch(/ 403$/)
      const fresh = {
        accessKeyId: reset.value.json.access_key as string,
        secretAccessKey: reset.value.json.secret_key as string,
      }
      for (const n of nodes)
        expect(await outcome(n.s3(fresh).send(new ListBucketsCommand({})))).toBe('OK')
    })

    it('a session minted on B and revoked on A is refused on B and C on the very next request', async () => {
      const u = await userWithKey(admin[0]!, 'sal', 'Writer')
      const t = await b.sts(u).send(new GetSessionTokenCommand({ DurationSeconds: 900 }))
      const s = {
        accessKeyId: t.Credentials!.AccessKeyId!,
        secretAccessKey: t.Credentials!.SecretAccessKey!,
        sessionToken: t.Credentials!.SessionToken!,
      }
      for (const n of nodes)
        expect(await outcome(n.s3(s).send(new ListBucketsCommand({})))).toBe('OK')
      const del = await timed(admin[0]!.call('DELETE', `/api/admin/sessions/${s.accessKeyId}`))
      expect(del.value.status).toBe(204)
      adminMs['session revoked'] = Math.round(del.ms)
      for (const n of [b, c, a])
        expect(await outcome(n.s3(s).send(new ListBucketsCommand({})))).toMatch(/ 403$/)
    })

    it.skipIf(!HAS_AWS_CLI || !HAS_BOTO3)(
      'the aws CLI writes on A, boto3 reads it on B and writes on C, the SDK reads that on A',
      async () => {
        const dir = mkdtempSync(join(tmpdir(), 'lk-three-cli-'))
        const file = join(dir, 'cli.bin')
        const data = randomBytes(9 * 1024 * 1024) // the CLI uploads this in parts
        writeFileSync(file, data)
        const root = { accessKeyId: a.accessKeyId, secretAccessKey: a.secretAccessKey }
        const cp = await aws(a.endpoint, root, ['s3', 'cp', file, 's3://three/tools/cli.bin'])
        expect(cp.stderr).toBe('')
        expect(cp.code).toBe(0)
        const ls = await aws(c.endpoint, root, ['s3', 'ls', 's3://three/tools/'])
        expect(ls.stdout).toContain(String(data.length))
        const out = join(dir, 'boto.bin')
        const py = await boto3(
          b.endpoint,
          root,
          [
            'c = s3()',
            `c.download_file("three", "tools/cli.bin", ${JSON.stringify(out)})`,
            `C = boto3.client("s3", endpoint_url=${JSON.stringify(c.endpoint)}, config=CFG)`,
            'C.put_object(Bucket="three", Key="tools/boto.txt", Body=b"written by boto3 on C")',
            'print("ok")',
          ].join('\n'),
        )
        expect(py.stderr).toBe('')
        expect(py.stdout.trim()).toBe('ok')
        expect(readFileSync(out).equals(data)).toBe(true)
        expect((await body(a.s3(), 'three', 'tools/boto.txt')).toString()).toBe(
          'written by boto3 on C',
        )
      },
    )

    it('a small GET reads one object row from the database, and nothing for identity', async () => {
      const db = new pg.Client({ connectionString: cluster.databaseUrl })
      await db.connect()
      try {
        // The change feed's own tables are read by every node's heartbeat and poll, GETs or not.
        const background = new Set(['latchkey_changes', 'latchkey_feed_nodes', 'blob_ledger'])
        const snapshot = async (): Promise<Map<string, number>> => {
          await db.query('SELECT pg_stat_clear_snapshot()')
          const r = await db.query<{ relname: string; n: string }>(
            'SELECT relname, seq_scan + coalesce(idx_scan, 0) AS n FROM pg_stat_user_tables',
          )
          return new Map(r.rows.map((x) => [x.relname, Number(x.n)]))
        }
        // Table reads (sequential + index scans) per table. Other backends flush their
        // statistics about once a second when idle, later on a busy machine (up to ten): read
        // until `settled` says the figures arrived and have stopped moving.
        const reads = async (
          settled: (m: Map<string, number>) => boolean = () => true,
        ): Promise<Map<string, number>> => {
          let last = await snapshot()
          for (let i = 0; i < 20; i++) {
            await new Promise((r) => setTimeout(r, 1_000))
            const next = await snapshot()
            const still = [...next].every(([t, n]) => background.has(t) || last.get(t) === n)
            if (still && settled(next)) return next
            last = next
          }
          return last
        }
        const delta = (x: Map<string, number>, y: Map<string, number>): Map<string, number> =>
          new Map([...y].map(([t, n]) => [t, n - (x.get(t) ?? 0)]))
        const s3 = a.s3()
        await s3.send(new PutObjectCommand({ Bucket: 'three', Key: 'hot', Body: 'tiny' }))
        await body(s3, 'three', 'hot')
        const r0 = await reads()
        const N = 200
        for (let i = 0; i < N; i++) await body(s3, 'three', 'hot')
        const during = delta(
          r0,
          await reads((m) => (m.get('objects') ?? 0) - (r0.get('objects') ?? 0) >= N - 5),
        )
        const byGets = [...during].filter(([t, n]) => !background.has(t) && n > 0)
        console.log(`[cluster-three] table reads during ${N} small GETs: ${JSON.stringify(byGets)}`)
        const objects = during.get('objects') ?? 0
        // One read of `objects` per GET (statistics are approximate at the edges)...
        expect(Math.abs(objects - N)).toBeLessThanOrEqual(5)
        // ...and no other table read per GET: identity and buckets come from the caches. (A few
        // reads are the nodes' periodic work — session sweep, lifecycle, audit retention and
        // collector passes, far fewer than one per GET.)
        const others = byGets.filter(([t]) => t !== 'objects')
        expect(others.reduce((sum, [, n]) => sum + n, 0)).toBeLessThanOrEqual(20)
      } finally {
        await db.end()
      }
    }, 30_000)

    it('the per-parent session quota holds for the cluster, not per node', async () => {
      const u = await userWithKey(admin[0]!, 'quo', 'Writer')
      const got: string[] = []
      for (const n of [a, a, b, b, c, c]) {
        // One attempt: the SDK would retry Throttling with back-off.
        const sts = new STSClient({
          endpoint: n.endpoint,
          region: 'us-east-1',
          credentials: u,
          maxAttempts: 1,
        })
        got.push(await outcome(sts.send(new GetSessionTokenCommand({ DurationSeconds: 900 }))))
      }
      expect(got.slice(0, QUOTA)).toEqual(Array(QUOTA).fill('OK'))
      expect(got.slice(QUOTA)).toEqual(['Throttling 400', 'Throttling 400'])
    })

    const rsLogin = (n: TestServer, user: string, password: string, otp: string) =>
      fetch(n.endpoint, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: `Action=RSLogin&Version=2011-06-15&UserName=${user}&Password=${encodeURIComponent(password)}&OTP=${otp}`,
      })

    it('a TOTP code used on A is refused when replayed on B', async () => {
      const u = await admin[0]!.call('POST', '/api/admin/users', {
        username: 'otto',
        password: 'otto-password-1',
        role: 'Writer',
      })
      expect(u.status).toBe(201)
      const t = await admin[0]!.call('POST', `/api/admin/users/${u.json.id}/totp`)
      expect(t.status).toBe(200)
      const code = generateSync({
        secret: t.json.secret as string,
        epoch: Math.floor(Date.now() / 1000),
      })
      const first = await rsLogin(a, 'otto', 'otto-password-1', code)
      expect(first.status).toBe(200)
      const replay = await rsLogin(b, 'otto', 'otto-password-1', code)
      expect(replay.status).toBe(403)
      const again = await rsLogin(c, 'otto', 'otto-password-1', code)
      expect(again.status).toBe(403)
    })

    // Last: ten failures lock the loopback address for the rest of the suite.
    it('the login throttle counts failures on every node together', async () => {
      const made = await admin[0]!.call('POST', '/api/admin/users', {
        username: 'lou',
        password: 'lou-password-1',
        role: 'Reader',
      })
      expect(made.status).toBe(201)
      const login = (n: TestServer, password: string) =>
        fetch(`${n.endpoint}/api/admin/login`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ username: 'lou', password }),
        })
      const statuses: number[] = []
      for (let i = 0; i < 10; i++) statuses.push((await login(nodes[i % 3]!, 'wrong')).status)
      // Failures refused 401 until the cluster-wide count locks the user (and the address, which
      // the TOTP replays above also counted against), then 429.
      const firstLocked = statuses.indexOf(429)
      expect(firstLocked === -1 ? statuses : statuses.slice(0, firstLocked)).toEqual(
        Array(firstLocked === -1 ? 10 : firstLocked).fill(401),
      )
      if (firstLocked !== -1)
        expect(statuses.slice(firstLocked)).toEqual(Array(10 - firstLocked).fill(429))
      // No node saw more than four failures; the cluster saw them all.
      for (const n of nodes) expect((await login(n, 'lou-password-1')).status).toBe(429)
    })
  },
)
