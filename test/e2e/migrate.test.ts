/**
 * `latchkey migrate` end to end: a real single-node server (SQLite + files) filled through the
 * AWS SDK and the admin API — a customer account, users with keys, an extra user policy, an
 * unexpired STS session, a bucket policy and tags, inline and blob objects with metadata and tags,
 * a completed and an in-progress multipart upload — is stopped, migrated with `node dist/main.js
 * migrate` into a throwaway PostgreSQL database and a fresh blob directory, and the source data
 * dir is deleted. Two nodes then start on the cluster and must answer exactly as the single node
 * did: same keys, policies, session, bodies, ETags, listings, root password. Also the refusals
 * (server running, no or wrong master key, target not empty) and `admin reset-root-password
 * --database` while the nodes run. Skipped, saying so, when no PostgreSQL is installed.
 * @module
 */
import { spawn } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createHash, randomBytes } from 'node:crypto'
import { afterAll, describe, expect, it } from 'vitest'
import {
  CompleteMultipartUploadCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetBucketPolicyCommand,
  GetBucketTaggingCommand,
  GetObjectCommand,
  GetObjectTaggingCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  ListPartsCommand,
  PutBucketPolicyCommand,
  PutBucketTaggingCommand,
  PutObjectCommand,
  UploadPartCommand,
  type S3Client,
} from '@aws-sdk/client-s3'
import { AssumeRoleCommand } from '@aws-sdk/client-sts'
import { startPostgres, type TestPostgres } from '../support/postgres.js'
import { MAIN, startServer, ROOT_PASSWORD, type TestServer } from './harness.js'
import { adminLogin, userWithKey } from './admin-client.js'

const SKIP = 'no PostgreSQL installed (initdb/pg_ctl not found, LATCHKEY_TEST_DATABASE_URL unset)'
const pg: TestPostgres | undefined = await startPostgres()
afterAll(async () => {
  await pg?.stop()
})

/** Run `node dist/main.js …args` to its end. */
function cli(
  args: readonly string[],
  env: Record<string, string> = {},
): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [MAIN, ...args], {
      env: { ...process.env, LATCHKEY_MASTER_KEY: '', LATCHKEY_DATABASE_URL: '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let out = ''
    let err = ''
    p.stdout.on('data', (d: Buffer) => (out += d.toString()))
    p.stderr.on('data', (d: Buffer) => (err += d.toString()))
    p.on('error', reject)
    p.on('exit', (code) => resolve({ code, out, err }))
  })
}

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

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex')

async function listing(s3: S3Client, bucket: string): Promise<string[]> {
  const r = await s3.send(new ListObjectsV2Command({ Bucket: bucket }))
  return (r.Contents ?? []).map((o) => `${o.Key} ${o.Size} ${o.ETag}`)
}

type Creds = { accessKeyId: string; secretAccessKey: string; sessionToken?: string }

describe.skipIf(pg === undefined)(
  `latchkey migrate: a single node into a two-node cluster${pg === undefined ? ` (${SKIP})` : ''}`,
  () => {
    const srcDir = mkdtempSync(join(tmpdir(), 'latchkey-migrate-src-'))
    const blobDir = mkdtempSync(join(tmpdir(), 'latchkey-migrate-blobs-'))
    let src: TestServer
    let url: string
    let masterKey: string
    let alice: Creds
    let bob: Creds
    let session: Creds
    const nodes: TestServer[] = []
    const small = Buffer.from('small inline body '.repeat(8))
    const big = randomBytes(512 * 1024 + 17) // > the 128 KiB inline threshold: a blob
    const part1 = randomBytes(5 * 1024 * 1024)
    const part2 = randomBytes(300 * 1024)
    const pending = randomBytes(5 * 1024 * 1024)
    let pendingUploadId: string
    let pendingPartEtag: string
    const before: Record<string, string[]> = {}
    const etags: Record<string, string> = {}
    let migrateMs = 0

    afterAll(async () => {
      for (const n of nodes) await n.stop()
      await src?.stop()
      rmSync(srcDir, { recursive: true, force: true })
      rmSync(blobDir, { recursive: true, force: true })
    })

    it('fills a single-node install through the SDK and the admin API', async () => {
      url = await pg!.createDatabase()
      // No LATCHKEY_MASTER_KEY: the install generates DATA_DIR/master.key, as a real one does.
      src = await startServer({ dataDir: srcDir, env: { LATCHKEY_MASTER_KEY: '' } })
      masterKey = readFileSync(join(srcDir, 'master.key'), 'utf8').trim()
      const admin = await adminLogin(src)
      expect(
        (await admin.call('POST', '/api/admin/customers', { name: 'acme', type: 'customer' }))
          .status,
      ).toBe(201)
      const aliceUser = await userWithKey(admin, 'alice', 'Writer')
      alice = aliceUser
      bob = await userWithKey(admin, 'bob', 'SuperUser', 'acme')
      const limits = { issue_rate: 2.5, issue_burst: 7, max_active_sessions: null }
      expect((await admin.call('PUT', '/api/admin/customers/acme/sts-limits', limits)).status).toBe(
        200,
      )
      const noDelete = {
        Version: '2012-10-17',
        Statement: [{ Effect: 'Deny', Action: 's3:DeleteObject', Resource: 'arn:aws:s3:::data/*' }],
      }
      expect(
        (await admin.call('PUT', `/api/admin/users/${aliceUser.id}/policy`, noDelete)).status,
      ).toBe(200)

      const root = src.s3()
      await root.send(new CreateBucketCommand({ Bucket: 'data' }))
      await root.send(
        new PutBucketPolicyCommand({
          Bucket: 'data',
          Policy: JSON.stringify({
            Version: '2012-10-17',
            Statement: [
              {
                Effect: 'Deny',
                Principal: '*',
                Action: 's3:GetObject',
                Resource: 'arn:aws:s3:::data/secret/*',
              },
            ],
          }),
        }),
      )
      await root.send(
        new PutBucketTaggingCommand({
          Bucket: 'data',
          Tagging: { TagSet: [{ Key: 'team', Value: 'storage' }] },
        }),
      )
      const a = src.s3(alice)
      await a.send(
        new PutObjectCommand({
          Bucket: 'data',
          Key: 'small.txt',
          Body: small,
          ContentType: 'text/plain',
          Metadata: { origin: 'single-node' },
          Tagging: 'kind=small',
        }),
      )
      await a.send(new PutObjectCommand({ Bucket: 'data', Key: 'dir/big.bin', Body: big }))
      await a.send(new PutObjectCommand({ Bucket: 'data', Key: 'secret/x', Body: small }))
      const mp = await a.send(new CreateMultipartUploadCommand({ Bucket: 'data', Key: 'mp.bin' }))
      const p1 = await a.send(
        new UploadPartCommand({
          Bucket: 'data',
          Key: 'mp.bin',
          UploadId: mp.UploadId,
          PartNumber: 1,
          Body: part1,
        }),
      )
      const p2 = await a.send(
        new UploadPartCommand({
          Bucket: 'data',
          Key: 'mp.bin',
          UploadId: mp.UploadId,
          PartNumber: 2,
          Body: part2,
        }),
      )
      await a.send(
        new CompleteMultipartUploadCommand({
          Bucket: 'data',
          Key: 'mp.bin',
          UploadId: mp.UploadId,
          MultipartUpload: {
            Parts: [
              { PartNumber: 1, ETag: p1.ETag! },
              { PartNumber: 2, ETag: p2.ETag! },
            ],
          },
        }),
      )
      // Left in progress: its part must survive the move and complete on the cluster.
      const open = await a.send(
        new CreateMultipartUploadCommand({ Bucket: 'data', Key: 'later.bin' }),
      )
      pendingUploadId = open.UploadId!
      pendingPartEtag = (
        await a.send(
          new UploadPartCommand({
            Bucket: 'data',
            Key: 'later.bin',
            UploadId: pendingUploadId,
            PartNumber: 1,
            Body: pending,
          }),
        )
      ).ETag!
      const b = src.s3(bob)
      await b.send(new CreateBucketCommand({ Bucket: 'acme-bucket' }))
      await b.send(new PutObjectCommand({ Bucket: 'acme-bucket', Key: 'k', Body: big }))

      const assume = () =>
        src.sts(alice).send(
          new AssumeRoleCommand({
            RoleSessionName: 'migrating',
            DurationSeconds: 3600,
            // Over 256 characters and used twice: the single node stores it once, by reference
            // (session-texts.ts), from its second use; the cluster must get the text itself.
            Policy: JSON.stringify({
              Version: '2012-10-17',
              Statement: [
                {
                  Sid: 'SessionPolicyLongEnoughToBeStoredOnceByReferenceInTheSingleNodeDatabase',
                  Effect: 'Allow',
                  Action: ['s3:GetObject', 's3:ListBucket', 's3:GetObjectTagging'],
                  Resource: [
                    'arn:aws:s3:::data',
                    'arn:aws:s3:::data/*',
                    'arn:aws:s3:::acme-bucket/*',
                  ],
                },
              ],
            }),
          } as never),
        )
      await assume() // the first use keeps the policy inline
      const r = await assume()
      session = {
        accessKeyId: r.Credentials!.AccessKeyId!,
        secretAccessKey: r.Credentials!.SecretAccessKey!,
        sessionToken: r.Credentials!.SessionToken!,
      }

      // The policies hold on the source (so the same answers later prove they were moved).
      expect(
        await errorName(a.send(new DeleteObjectCommand({ Bucket: 'data', Key: 'small.txt' }))),
      ).toBe('AccessDenied')
      expect(
        await errorName(a.send(new GetObjectCommand({ Bucket: 'data', Key: 'secret/x' }))),
      ).toBe('AccessDenied')
      expect(
        await errorName(b.send(new GetObjectCommand({ Bucket: 'data', Key: 'small.txt' }))),
      ).toBe('AccessDenied')
      expect((await body(src.s3(session), 'data', 'small.txt')).equals(small)).toBe(true)
      before['data'] = await listing(root, 'data')
      before['acme-bucket'] = await listing(b, 'acme-bucket')
      for (const k of ['small.txt', 'dir/big.bin', 'mp.bin'])
        etags[k] = (await root.send(new HeadObjectCommand({ Bucket: 'data', Key: k }))).ETag!
      expect(etags['mp.bin']).toMatch(/-2"$/)
    }, 60_000)

    it('refuses while the source server runs, with the locked line', async () => {
      const r = await cli(
        ['migrate', '--from', `sqlite:${srcDir}`, '--to', url, '--blob-store', `file:${blobDir}`],
        { LATCHKEY_MASTER_KEY: masterKey },
      )
      expect(r.code).toBe(1)
      expect(r.err).toMatch(/is locked: a Latchkey server is running on this data dir/)
    })

    it('refuses without the master key (naming master.key) and with a wrong one', async () => {
      await src.stop()
      const args = ['migrate', '--from', `sqlite:${srcDir}`, '--to', url]
      const none = await cli(args)
      expect(none.code).toBe(1)
      expect(none.err).toContain('LATCHKEY_MASTER_KEY is required')
      expect(none.err).toContain(join(srcDir, 'master.key'))
      const wrong = await cli(args, { LATCHKEY_MASTER_KEY: randomBytes(32).toString('base64') })
      expect(wrong.code).toBe(1)
      expect(wrong.err).toMatch(
        /LATCHKEY_MASTER_KEY does not decrypt the source's secrets \(iam_accounts .*\).*Nothing was changed/,
      )
    })

    it('migrates and verifies (counts and checksums per table, SHA-256 per blob)', async () => {
      const t0 = Date.now()
      const r = await cli(
        ['migrate', '--from', `sqlite:${srcDir}`, '--to', url, '--blob-store', `file:${blobDir}`],
        { LATCHKEY_MASTER_KEY: masterKey },
      )
      migrateMs = Date.now() - t0
      expect(r.err).toBe('')
      expect(r.code).toBe(0)
      expect(r.out).toMatch(/^ {2}objects +5 +5 {2}equal$/m)
      expect(r.out).toMatch(/^ {2}iam_sessions +2 +2 {2}equal$/m)
      expect(r.out).toMatch(/^ {2}iam_sts_limits +1 +1 {2}equal$/m)
      expect(r.out).toMatch(/^ {2}parts +1 +1 {2}equal$/m)
      expect(r.out).toMatch(/^ {2}bucket_subresources +2 +2 {2}equal$/m)
      expect(r.out).toContain(
        'Verified: every table has the same rows and every blob the same bytes.',
      )
      expect(r.out).not.toContain('DIFFERENT')
      expect(migrateMs).toBeLessThan(30_000)
      // Nothing of the single node is needed any more.
      rmSync(srcDir, { recursive: true, force: true })
    }, 60_000)

    it('refuses a target that is not empty, changing nothing', async () => {
      const again = mkdtempSync(join(tmpdir(), 'latchkey-migrate-src2-'))
      const other = await startServer({ dataDir: again, env: { LATCHKEY_MASTER_KEY: masterKey } })
      await other.stop()
      const r = await cli(['migrate', '--from', `sqlite:${again}`, '--to', url], {
        LATCHKEY_MASTER_KEY: masterKey,
      })
      rmSync(again, { recursive: true, force: true })
      expect(r.code).toBe(1)
      expect(r.err).toMatch(
        /the target database is not empty \(iam_accounts: \d+.*Nothing was changed/,
      )
    }, 60_000)

    it('two nodes on the cluster answer as the single node did', async () => {
      const node = {
        args: ['--database', url, '--blob-store', `file:${blobDir}`],
        // No root credentials from the environment: root must come from the migrated rows.
        env: {
          LATCHKEY_MASTER_KEY: masterKey,
          LATCHKEY_ROOT_ACCESS_KEY: '',
          LATCHKEY_ROOT_SECRET_KEY: '',
          LATCHKEY_ROOT_PASSWORD: '',
        },
      }
      nodes.push(await startServer(node))
      nodes.push(await startServer(node))
      for (const n of nodes) {
        const root = n.s3()
        const a = n.s3(alice)
        const b = n.s3(bob)
        expect(await listing(root, 'data')).toEqual(before['data'])
        expect(await listing(b, 'acme-bucket')).toEqual(before['acme-bucket'])
        expect((await body(a, 'data', 'small.txt')).equals(small)).toBe(true)
        expect(sha(await body(a, 'data', 'dir/big.bin'))).toBe(sha(big))
        expect(sha(await body(a, 'data', 'mp.bin'))).toBe(sha(Buffer.concat([part1, part2])))
        expect(sha(await body(b, 'acme-bucket', 'k'))).toBe(sha(big))
        for (const [k, etag] of Object.entries(etags))
          expect((await root.send(new HeadObjectCommand({ Bucket: 'data', Key: k }))).ETag).toBe(
            etag,
          )
        const head = await a.send(new HeadObjectCommand({ Bucket: 'data', Key: 'small.txt' }))
        expect(head.Metadata).toEqual({ origin: 'single-node' })
        expect(head.ContentType).toBe('text/plain')
        const tags = await a.send(new GetObjectTaggingCommand({ Bucket: 'data', Key: 'small.txt' }))
        expect(tags.TagSet).toEqual([{ Key: 'kind', Value: 'small' }])
        const btags = await root.send(new GetBucketTaggingCommand({ Bucket: 'data' }))
        expect(btags.TagSet).toEqual([{ Key: 'team', Value: 'storage' }])
        expect((await root.send(new GetBucketPolicyCommand({ Bucket: 'data' }))).Policy).toContain(
          'data/secret/*',
        )
        // The user policy, the bucket policy and the tenancy hold.
        expect(
          await errorName(a.send(new DeleteObjectCommand({ Bucket: 'data', Key: 'small.txt' }))),
        ).toBe('AccessDenied')
        expect(
          await errorName(a.send(new GetObjectCommand({ Bucket: 'data', Key: 'secret/x' }))),
        ).toBe('AccessDenied')
        expect(
          await errorName(b.send(new GetObjectCommand({ Bucket: 'data', Key: 'small.txt' }))),
        ).toBe('AccessDenied')
        // The STS session made on the single node.
        expect((await body(n.s3(session), 'data', 'small.txt')).equals(small)).toBe(true)
        expect(
          await errorName(
            n
              .s3({ ...session, sessionToken: `${session.sessionToken!}x` })
              .send(new GetObjectCommand({ Bucket: 'data', Key: 'small.txt' })),
          ),
        ).not.toBe('OK')
        // Root login with the single node's password.
        await adminLogin(n, 'root', ROOT_PASSWORD)
        const parts = await a.send(
          new ListPartsCommand({ Bucket: 'data', Key: 'later.bin', UploadId: pendingUploadId }),
        )
        expect(parts.Parts?.map((p) => p.ETag)).toEqual([pendingPartEtag])
      }
      // The upload left in progress completes on the cluster, read back on the other node.
      const [na, nb] = nodes as [TestServer, TestServer]
      await na.s3(alice).send(
        new CompleteMultipartUploadCommand({
          Bucket: 'data',
          Key: 'later.bin',
          UploadId: pendingUploadId,
          MultipartUpload: { Parts: [{ PartNumber: 1, ETag: pendingPartEtag }] },
        }),
      )
      expect(sha(await body(nb.s3(alice), 'data', 'later.bin'))).toBe(sha(pending))
    }, 90_000)

    it('admin reset-root-password --database: the new password works on a running node at once', async () => {
      const [na, nb] = nodes as [TestServer, TestServer]
      await adminLogin(nb, 'root', ROOT_PASSWORD) // cached on B before the reset
      const r = await cli(['admin', 'reset-root-password', '--database', url], {
        LATCHKEY_ROOT_PASSWORD: 'fresh-root-pass-42',
      })
      expect(r.err).toBe('')
      expect(r.code).toBe(0)
      expect(r.out).toContain('set from LATCHKEY_ROOT_PASSWORD')
      for (const n of [na, nb]) {
        await adminLogin(n, 'root', 'fresh-root-pass-42')
        await expect(adminLogin(n, 'root', ROOT_PASSWORD)).rejects.toThrow(/login failed: 401/)
      }
    }, 30_000)
  },
)
