/**
 * `latchkey backup` / `latchkey restore` end to end (issue 14 item 6): a real server under write
 * load (PUTs and overwrites of small inline and >128 KiB blob-backed objects, users and keys
 * created through the admin API) while `node dist/main.js backup --to DIR` runs; then the backup
 * is restored into a fresh data dir and a server started there with the same master key serves
 * every object acknowledged before the backup began (that version or a later acknowledged one;
 * any object in the backup is exactly one acknowledged version, never a mix or a torn body), and
 * every user and key created before it works with the AWS SDK. A backup with one flipped byte in
 * a blob is refused by restore, as is a non-empty data dir; only the operator may take a backup.
 */
import { spawn } from 'node:child_process'
import { createHash, randomBytes } from 'node:crypto'
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs'
import { rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  CreateBucketCommand,
  GetObjectCommand,
  ListBucketsCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3'
import { MAIN, startServer, type TestServer } from './harness.js'
import { startPostgres, type TestPostgres } from '../support/postgres.js'
import { adminLogin, userWithKey, type AdminClient } from './admin-client.js'

interface Run {
  code: number
  stdout: string
  stderr: string
}

const MASTER_KEY = randomBytes(32).toString('base64')
const BUCKET = 'backed-up'
const WORKERS = 4
const KEYS_PER_WORKER = 6

let work: string
let config: string
let server: TestServer | undefined
let restored: TestServer | undefined

function latchkey(args: string[], stdin = '', env: Record<string, string> = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [MAIN, ...args], {
      env: { ...process.env, XDG_CONFIG_HOME: config, ...env },
      stdio: ['pipe', 'pipe', 'pipe'],
    })
    let stdout = ''
    let stderr = ''
    p.stdout.on('data', (c: Buffer) => (stdout += c.toString()))
    p.stderr.on('data', (c: Buffer) => (stderr += c.toString()))
    p.on('error', reject)
    p.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }))
    p.stdin.end(stdin)
  })
}

const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex')

/** Every acknowledged version of each key, in order (one writer per key: a total order). */
const acked = new Map<string, string[]>()
/** How many versions of each key were acknowledged before the backup was asked for. */
const beforeBackup = new Map<string, number>()
const usersBefore: { username: string; accessKeyId: string; secretAccessKey: string }[] = []
let ackedDuringBackup = 0

function body(i: number): Buffer {
  // Alternately small (inline in the database) and over 128 KiB (a blob file).
  return randomBytes(i % 2 === 0 ? 1000 + (i % 7) : 140 * 1024 + (i % 13))
}

async function put(s3: S3Client, key: string, b: Buffer): Promise<void> {
  await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: b }))
  const list = acked.get(key) ?? []
  list.push(sha(b))
  acked.set(key, list)
}

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'latchkey-backup-e2e-'))
  config = join(work, 'config')
  server = await startServer({
    dataDir: join(work, 'data'),
    env: { LATCHKEY_MASTER_KEY: MASTER_KEY },
  })
})

afterAll(async () => {
  await server?.stop()
  await restored?.stop()
  rmSync(work, { recursive: true, force: true })
})

describe('latchkey backup and restore', () => {
  it('backs up a server under write load, restores it, and a server on the copy serves every acknowledged object and identity', async () => {
    const s = server!
    const s3 = s.s3()
    const admin = await adminLogin(s)
    const login = await latchkey(
      ['admin', 'login', '--endpoint', s.endpoint, '--password-stdin'],
      s.rootPassword + '\n',
    )
    expect(login, login.stderr).toMatchObject({ code: 0 })

    await s3.send(new CreateBucketCommand({ Bucket: BUCKET }))
    for (let w = 0; w < WORKERS; w++)
      for (let k = 0; k < KEYS_PER_WORKER; k++) await put(s3, `w${w}/k${k}`, body(w + k)) // some small, some large
    for (let i = 0; i < 3; i++)
      usersBefore.push({
        username: `before-${i}`,
        ...(await userWithKey(admin, `before-${i}`, 'Writer')),
      })

    // The load: each worker overwrites its own keys in turn; one more creates users and keys.
    let stop = false
    let backingUp = false
    const loops: Promise<void>[] = []
    for (let w = 0; w < WORKERS; w++)
      loops.push(
        (async () => {
          for (let i = 0; !stop; i++) {
            await put(s3, `w${w}/k${i % KEYS_PER_WORKER}`, body(i + w))
            if (backingUp) ackedDuringBackup++
          }
        })(),
      )
    loops.push(
      (async () => {
        for (let i = 0; !stop; i++) await userWithKey(admin, `during-${i}`, 'Reader')
      })(),
    )
    // Once every worker has overwritten each of its keys, take the note and start the backup.
    const overwritten = (): boolean =>
      [...acked.values()].every((v) => v.length >= 2) && acked.size === WORKERS * KEYS_PER_WORKER
    while (!overwritten()) await new Promise((r) => setImmediate(r))
    for (const [key, versions] of acked) beforeBackup.set(key, versions.length)
    backingUp = true
    const dest = join(work, 'backup')
    const b = await latchkey(['backup', '--to', dest])
    backingUp = false
    stop = true
    await Promise.all(loops)
    expect(b, b.stderr).toMatchObject({ code: 0 })
    expect(b.stdout).toMatch(/checksums verified/)
    expect(b.stdout).toMatch(/master key is NOT in this backup/)

    // The manifest names the master key as kept apart; the key is nowhere in the backup.
    const manifest = JSON.parse(readFileSync(join(dest, 'manifest.json'), 'utf8'))
    expect(manifest).toMatchObject({
      format: 'latchkey-backup',
      formatVersion: 1,
      masterKey: { included: false },
      database: { path: 'latchkey.db' },
    })
    expect(manifest.counts.blobs).toBeGreaterThan(0)
    expect(existsSync(join(dest, 'master.key'))).toBe(false)
    expect(readFileSync(join(dest, 'manifest.json'), 'utf8')).not.toContain(MASTER_KEY)
    // The server's own copy was removed once the CLI had copied and checked it.
    expect(readdirSync(join(s.dataDir, 'backups'))).toEqual([])

    await s.stop()
    server = undefined

    // Restore into a fresh data dir and start a server there with the same master key.
    const newDir = join(work, 'restored')
    // Another master key is refused before anything is written: the secrets would not open.
    const other = randomBytes(32).toString('base64')
    const wrong = await latchkey(['restore', '--from', dest, '--data-dir', newDir], '', {
      LATCHKEY_MASTER_KEY: other,
    })
    expect(wrong.code).toBe(1)
    expect(wrong.stderr).toMatch(/is not the master key backup .* was made under/)
    expect(existsSync(newDir)).toBe(false)
    const r = await latchkey(['restore', '--from', dest, '--data-dir', newDir], '', {
      LATCHKEY_MASTER_KEY: MASTER_KEY,
    })
    expect(r, r.stderr).toMatchObject({ code: 0 })
    expect(r.stdout).toContain(`fingerprint ${manifest.masterKey.fingerprint}`)
    restored = await startServer({ dataDir: newDir, env: { LATCHKEY_MASTER_KEY: MASTER_KEY } })
    const s3r = restored.s3()
    const listed = await s3r.send(new ListObjectsV2Command({ Bucket: BUCKET }))
    const keys = (listed.Contents ?? []).map((o) => o.Key ?? '')
    expect(keys.length).toBe(WORKERS * KEYS_PER_WORKER)
    for (const key of keys) {
      const got = await s3r.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }))
      const digest = sha(await got.Body!.transformToByteArray())
      const versions = acked.get(key) ?? []
      const at = versions.lastIndexOf(digest)
      // Exactly one acknowledged version, and not older than what was acknowledged before.
      expect(at, `${key} is no acknowledged version`).toBeGreaterThanOrEqual(0)
      expect(at + 1, `${key} went back in time`).toBeGreaterThanOrEqual(beforeBackup.get(key) ?? 0)
    }
    for (const u of usersBefore) {
      const c = restored.s3({ accessKeyId: u.accessKeyId, secretAccessKey: u.secretAccessKey })
      const buckets = await c.send(new ListBucketsCommand({}))
      expect(buckets.$metadata.httpStatusCode).toBe(200)
    }
    expect(ackedDuringBackup).toBeGreaterThan(0)
    // Recorded for the report: how much load the backup ran under.
    console.log(
      `backup under load: ${ackedDuringBackup} PUTs acknowledged during the backup, ${manifest.counts.blobs} blobs`,
    )
  }, 120_000)

  it('a backup with one flipped byte in a blob is refused by restore, which changes nothing', async () => {
    const dest = join(work, 'backup')
    const damaged = join(work, 'damaged')
    cpSync(dest, damaged, { recursive: true })
    const manifest = JSON.parse(readFileSync(join(damaged, 'manifest.json'), 'utf8'))
    const blob: string = manifest.blobs[0].path
    const bytes = readFileSync(join(damaged, blob))
    bytes[100] = (bytes[100] ?? 0) ^ 0x01
    writeFileSync(join(damaged, blob), bytes)
    const target = join(work, 'restored-from-damaged')
    const r = await latchkey(['restore', '--from', damaged, '--data-dir', target])
    expect(r.code).toBe(1)
    expect(r.stderr).toContain(`is damaged; refusing to restore`)
    expect(r.stderr).toContain(`${blob}: SHA-256`)
    expect(existsSync(target)).toBe(false)
  })

  it('restore refuses a non-empty data dir and leaves it as it was', async () => {
    const target = join(work, 'not-empty')
    mkdirSync(target)
    writeFileSync(join(target, 'keep-me'), 'x')
    const r = await latchkey(['restore', '--from', join(work, 'backup'), '--data-dir', target])
    expect(r.code).toBe(1)
    expect(r.stderr).toMatch(/is not empty: restore only into a new or empty data dir/)
    expect(readdirSync(target)).toEqual(['keep-me'])
  })

  it('only the operator may take a backup: a SuperUser is refused, the API names no path', async () => {
    const s = restored!
    const admin: AdminClient = await adminLogin(s)
    await userWithKey(admin, 'super', 'SuperUser')
    const su = await adminLogin(s, 'super', 'super-password-1')
    const refused = await su.call('POST', '/api/admin/backup')
    expect(refused.status).toBe(403)
    expect(refused.json.error.message).toMatch(/Only the operator/)
    const made = await admin.call('POST', '/api/admin/backup', { path: '/tmp/elsewhere' })
    expect(made.status).toBe(201)
    expect(made.json.path.startsWith(join(s.dataDir, 'backups') + '/')).toBe(true)
  })
})

describe('PostgreSQL mode', () => {
  let pg: TestPostgres | undefined
  let node: TestServer | undefined
  beforeAll(async () => {
    pg = await startPostgres()
    if (pg === undefined) return
    node = await startServer({
      args: [
        '--database',
        await pg.createDatabase(),
        '--blob-store',
        `file:${join(work, 'pg-blobs')}`,
      ],
      env: { LATCHKEY_MASTER_KEY: MASTER_KEY },
    })
  }, 60_000)
  afterAll(async () => {
    await node?.stop()
    await pg?.stop()
  })

  it('latchkey backup answers one clear line pointing to pg_dump and docs/deploy.md, and writes nothing', async (ctx) => {
    if (node === undefined) return ctx.skip()
    const env = { XDG_CONFIG_HOME: join(work, 'pg-config') }
    const login = await latchkey(
      ['admin', 'login', '--endpoint', node.endpoint, '--password-stdin'],
      node.rootPassword + '\n',
      env,
    )
    expect(login, login.stderr).toMatchObject({ code: 0 })
    const dest = join(work, 'pg-backup')
    const r = await latchkey(['backup', '--to', dest], '', env)
    expect(r.code).toBe(1)
    expect(r.stderr.trim()).toMatch(
      /^latchkey backup: NotImplemented: latchkey backup is for SQLite mode\. With PostgreSQL, back up the database \(pg_dump\).*docs\/deploy\.md/,
    )
    expect(existsSync(dest)).toBe(false)
  })
})
