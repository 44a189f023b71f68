/**
 * latchkey migrate below the e2e suite: the two engines' spellings compare equal, the checksum is
 * order-independent but sees a changed field, usage errors, and runs against a throwaway
 * PostgreSQL with a source built row by row: pages smaller than the tables (keyset paging, the
 * reseller-first pass), bodies left in the source's store (the ledger follows them), a damaged
 * blob (refused, the target left empty, a rerun then succeeds) and a target that alters what it
 * is given (the verification reports it and exits 1).
 */
import { mkdtempSync, rmSync, truncateSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import { randomBytes } from 'node:crypto'
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest'
import { startPostgres, type TestPostgres } from '../../test/support/postgres.js'
import { openSqlite } from '../backends/sqlite/index.js'
import { openPostgres } from '../backends/postgres/db.js'
import { runPostgresMigrations } from '../backends/postgres/index.js'
import { FsBlobStore } from '../backends/fs/blob-store.js'
import { deriveKey, KEY_LABELS, seal } from '../crypto/index.js'
import { aadKey, aadMaster } from '../iam/labels.js'
import { normalize, redact, runMigrate, TableDigest, TABLES } from './migrate.js'

const KEY = Buffer.alloc(32, 7)
const KEY_B64 = KEY.toString('base64')
const NOW = 1_700_000_000_000

async function run(argv: string[], env: NodeJS.ProcessEnv = {}, batchRows = 2) {
  const out: string[] = []
  const err: string[] = []
  const code = await runMigrate(
    argv,
    env,
    { out: (l) => void out.push(l), err: (l) => void err.push(l) },
    { now: () => NOW, batchRows },
  )
  return { code, out: out.join('\n'), err: err.join('\n') }
}

describe('normalize and TableDigest', () => {
  const objects = TABLES.find((t) => t.name === 'objects')!
  const sqliteRow = {
    bucket: 'b',
    key: 'k',
    size: 5,
    etag: '"e"',
    last_modified: NOW,
    owner: 'o',
    meta: '{}',
    tags: '{}',
    body_kind: 'blob',
    body_ref: '{"k":"b","r":"ref1","s":5}',
    body: null,
  }
  // How PostgreSQL hands the same row back: BIGINT as text, JSONB parsed (keys reordered).
  const pgRow = {
    ...sqliteRow,
    size: '5',
    last_modified: String(NOW),
    body_ref: { s: 5, r: 'ref1', k: 'b' },
  }

  it('spells both engines alike', () => {
    expect(normalize('bool', 1)).toBe(normalize('bool', true))
    expect(normalize('bool', 0)).toBe(normalize('bool', false))
    expect(normalize('int', 12)).toBe(normalize('int', '12'))
    expect(normalize('bytes', Buffer.from('ab'))).toBe('YWI=')
    expect(normalize('text', null)).toBe(null)
    const a = new TableDigest()
    a.add(objects, sqliteRow)
    const b = new TableDigest()
    b.add(objects, pgRow)
    expect(b.hex()).toBe(a.hex())
  })

  it('is independent of row order and sees one changed field', () => {
    const other = { ...sqliteRow, key: 'k2' }
    const a = new TableDigest()
    a.add(objects, sqliteRow)
    a.add(objects, other)
    const b = new TableDigest()
    b.add(objects, other)
    b.add(objects, pgRow)
    expect(b.hex()).toBe(a.hex())
    const c = new TableDigest()
    c.add(objects, sqliteRow)
    c.add(objects, { ...other, etag: '"x"' })
    expect(c.hex()).not.toBe(a.hex())
    expect(c.rows).toBe(2)
  })

  it('hides the password of a URL it prints', () => {
    expect(redact('postgres://u:secret@h:5432/db')).toBe('postgres://u:***@h:5432/db')
    expect(redact('postgres://u@h/db')).toBe('postgres://u@h/db')
  })
})

describe('latchkey migrate usage', () => {
  it('refuses bad arguments with exit 2 and the usage line', async () => {
    for (const [argv, msg] of [
      [['--to', 'postgres://u@h/db'], /--from sqlite:DIR is required/],
      [['--from', 'sqlite:./d'], /--to postgres:\/\/… is required/],
      [['--from', 'sqlite:./d', '--to', 'mysql://u@h/db'], /--to must be a postgres:\/\/ URL/],
      [['--from', 'postgres://u@h/db', '--to', 'postgres://u@h/db'], /--from must be sqlite:DIR/],
      [['--from', './d', '--to', 'postgres://u@h/db', '--blob-store', 'file:rel'], /--blob-store/],
      [['--bogus'], /unknown argument --bogus/],
    ] as const) {
      const r = await run([...argv], { LATCHKEY_MASTER_KEY: KEY_B64 })
      expect(r.code).toBe(2)
      expect(r.err).toMatch(msg)
      expect(r.err).toContain('usage: latchkey migrate')
    }
  })

  it('needs LATCHKEY_MASTER_KEY, and says where the install keeps it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'latchkey-migrate-'))
    try {
      const r = await run(['--from', `sqlite:${dir}`, '--to', 'postgres://u@127.0.0.1:1/db'])
      expect(r.code).toBe(1)
      expect(r.err).toMatch(/LATCHKEY_MASTER_KEY is required.*its LATCHKEY_MASTER_KEY/)
      const bad = await run(['--from', dir, '--to', 'postgres://u@127.0.0.1:1/db'], {
        LATCHKEY_MASTER_KEY: 'short',
      })
      expect(bad.code).toBe(1)
      expect(bad.err).toMatch(/must be 32 bytes/)
      const none = await run(['--from', dir, '--to', 'postgres://u@127.0.0.1:1/db'], {
        LATCHKEY_MASTER_KEY: KEY_B64,
      })
      expect(none.code).toBe(1)
      expect(none.err).toMatch(/no Latchkey database in/)
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})

const pg: TestPostgres | undefined = await startPostgres()
afterAll(async () => {
  await pg?.stop()
})

describe.skipIf(pg === undefined)('latchkey migrate into PostgreSQL', () => {
  let dir: string
  let blobRef: string
  const blobBody = randomBytes(3000)

  /** A source with 3 accounts (one owned by a reseller), 5 objects, a part, a ledger row. */
  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'latchkey-migrate-'))
    const stores = await openSqlite(join(dir, 'latchkey.db'), { blobDir: join(dir, 'objects') })
    const blobs = await FsBlobStore.open(join(dir, 'objects'))
    blobRef = (await blobs.put(Readable.from([blobBody]))).ref
    const sealKey = deriveKey(KEY, KEY_LABELS.seal)
    const db = stores.db
    const account = db.prepare(
      `INSERT INTO iam_accounts (id, name, type, reseller_id, created_at, allowlist,
         master_access_key_id, master_secret, secret_version) VALUES (?, ?, ?, ?, 1, '[]', ?, ?, 1)`,
    )
    // 'a-child' sorts before 'z-reseller', whose row it references.
    for (const [id, type, reseller] of [
      ['z-reseller', 'reseller', null],
      ['a-child', 'customer', 'z-reseller'],
      ['m-plain', 'customer', null],
    ] as const)
      account.run(id, id, type, reseller, `AK${id}`, seal(sealKey, 'secret', aadMaster(id)))
    db.prepare(
      `INSERT INTO iam_users (id, account_id, username, username_key, password_hash, role,
         is_active, created_at) VALUES ('u1', 'm-plain', 'U', 'u', 'h', 'Writer', 1, 1)`,
    ).run()
    db.prepare(
      `INSERT INTO iam_access_keys (access_key_id, user_id, secret, created_at) VALUES (?, 'u1', ?, 1)`,
    ).run('AKU1', seal(sealKey, 'key-secret', aadKey('AKU1')))
    db.prepare(
      `INSERT INTO iam_operator (id, username, password_hash) VALUES (1, 'root', 'h')`,
    ).run()
    db.prepare(
      `INSERT INTO buckets (name, account_id, created_at, region) VALUES ('b', 'm-plain', 1, 'r')`,
    ).run()
    const obj = db.prepare(
      `INSERT INTO objects (bucket, key, size, etag, last_modified, owner, meta, tags, body_kind, body_ref, body)
       VALUES ('b', ?, ?, '"e"', 1, 'o', '{"h":{},"m":{}}', '{}', ?, ?, ?)`,
    )
    for (const k of ['k1', 'k2', 'k3', 'k4']) obj.run(k, 2, 'inline', null, Buffer.from(k))
    obj.run(
      'big',
      blobBody.length,
      'blob',
      JSON.stringify({ k: 'b', r: blobRef, s: blobBody.length }),
      null,
    )
    db.prepare(
      `INSERT INTO uploads (upload_id, bucket, key, initiated_at, owner, initiator, meta)
       VALUES ('up1', 'b', 'later', 1, 'o', 'i', '{"h":{},"m":{},"t":{}}')`,
    ).run()
    db.prepare(
      `INSERT INTO parts (upload_id, part_number, size, etag, last_modified, body_kind, body_ref, body)
       VALUES ('up1', 1, 3, '"p"', 1, 'inline', NULL, ?)`,
    ).run(Buffer.from('abc'))
    db.prepare(`INSERT INTO blob_ledger (ref, state, at) VALUES ('orphan1', 0, 1)`).run()
    // Upload-cap usage: a live session's counter, and an expired one (not copied).
    const usage = db.prepare(
      'INSERT INTO iam_session_usage (key, bytes, objects, expires_at) VALUES (?, ?, ?, ?)',
    )
    usage.run('ASIALIVE', 600, 2, NOW + 3_600_000)
    usage.run('ASIAGONE', 5, 1, NOW - 1)
    await stores.close()
  })
  afterEach(() => rmSync(dir, { recursive: true, force: true }))

  it('copies every table in small pages; without --blob-store the bodies and the ledger stay with the source objects dir', async () => {
    const url = await pg!.createDatabase()
    const r = await run(['--from', `sqlite:${dir}`, '--to', url], { LATCHKEY_MASTER_KEY: KEY_B64 })
    expect(r.err).toBe('')
    expect(r.code).toBe(0)
    expect(r.out).toMatch(/^ {2}iam_accounts +3 +3 {2}equal$/m)
    expect(r.out).toMatch(/^ {2}objects +5 +5 {2}equal$/m)
    expect(r.out).toMatch(/^ {2}blob_ledger +1 +1 {2}equal$/m)
    expect(r.out).toMatch(/^ {2}iam_session_usage +1 +1 {2}equal$/m)
    expect(r.out).toContain(`--blob-store file:${join(dir, 'objects')}`)
    expect(r.out).toMatch(/blob bodies: 1 \(0\.0 MiB\)/)
    const db = await openPostgres(url)
    try {
      const big = await db.query<{ body_ref: unknown; size: string }>(
        `SELECT body_ref, size FROM objects WHERE key = 'big'`,
      )
      expect(big.rows[0]).toEqual({
        body_ref: { k: 'b', r: blobRef, s: blobBody.length },
        size: String(blobBody.length),
      })
      const users = await db.query(`SELECT is_active FROM iam_users`)
      expect(users.rows).toEqual([{ is_active: true }])
      // Upload-cap usage survives the move to PostgreSQL (the expired counter is left behind).
      const usage = await db.query(`SELECT key, bytes, objects FROM iam_session_usage`)
      expect(usage.rows).toEqual([{ key: 'ASIALIVE', bytes: '600', objects: '2' }])
    } finally {
      await db.close()
    }
  })

  it('refuses a damaged source blob, leaving the target empty; a rerun after the repair succeeds', async () => {
    const url = await pg!.createDatabase()
    const target = mkdtempSync(join(tmpdir(), 'latchkey-migrate-target-'))
    try {
      const objects = join(
        dir,
        'objects',
        'blobs',
        blobRef.slice(0, 2),
        blobRef.slice(2, 4),
        blobRef,
      )
      truncateSync(objects, 10)
      const args = ['--from', dir, '--to', url, '--blob-store', `file:${target}`]
      const r = await run(args, { LATCHKEY_MASTER_KEY: KEY_B64 })
      expect(r.code).toBe(1)
      expect(r.err).toMatch(
        new RegExp(`blob ${blobRef}: the source holds 10 bytes, its record says 3000`),
      )
      const db = await openPostgres(url)
      try {
        expect((await db.query(`SELECT count(*)::int AS n FROM iam_accounts`)).rows).toEqual([
          { n: 0 },
        ])
      } finally {
        await db.close()
      }
      // Repaired (the same ref, whole again): the rerun overwrites what the first run wrote.
      const blobs = await FsBlobStore.open(join(dir, 'objects'))
      await blobs.delete(blobRef)
      await blobs.put(Readable.from([blobBody]), { ref: blobRef })
      const again = await run(args, { LATCHKEY_MASTER_KEY: KEY_B64 })
      expect(again.err).toBe('')
      expect(again.code).toBe(0)
      expect(again.out).toContain('SHA-256 of each equal in source and target')
      expect(again.out).not.toMatch(/blob_ledger/)
    } finally {
      rmSync(target, { recursive: true, force: true })
    }
  })

  it('reports a target that does not hold what it was given, and exits 1', async () => {
    const url = await pg!.createDatabase()
    const db = await openPostgres(url)
    try {
      await runPostgresMigrations(db)
      await db.query(`CREATE FUNCTION tamper() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN NEW.etag := '"tampered"'; RETURN NEW; END $$;
        CREATE TRIGGER tamper BEFORE INSERT ON objects FOR EACH ROW
          WHEN (NEW.key = 'k3') EXECUTE FUNCTION tamper();`)
    } finally {
      await db.close()
    }
    const r = await run(['--from', dir, '--to', url], { LATCHKEY_MASTER_KEY: KEY_B64 })
    expect(r.code).toBe(1)
    expect(r.out).toMatch(/^ {2}objects +5 +5 {2}DIFFERENT$/m)
    expect(r.out).toMatch(/^ {2}buckets +1 +1 {2}equal$/m)
    expect(r.err).toMatch(
      /MISMATCH objects: source 5 rows \(checksum [0-9a-f]{16}…\), target 5 rows/,
    )
    expect(r.err).toMatch(/verification failed/)
  })

  it('refuses a master key that does not open the source before touching the target, then an unreachable target', async () => {
    // Port 1: nothing listens there; the refusal must come first.
    const r = await run(['--from', dir, '--to', 'postgres://u@127.0.0.1:1/db'], {
      LATCHKEY_MASTER_KEY: Buffer.alloc(32, 9).toString('base64'),
    })
    expect(r.code).toBe(1)
    expect(r.err).toMatch(
      /LATCHKEY_MASTER_KEY does not decrypt the source's secrets \(iam_accounts a-child\).*Nothing was changed/,
    )
    // The right key: now the target is opened, and its failure is one line with the cause.
    const down = await run(['--from', dir, '--to', 'postgres://u:pw@127.0.0.1:1/db'], {
      LATCHKEY_MASTER_KEY: KEY_B64,
    })
    expect(down.code).toBe(1)
    expect(down.err).toMatch(
      /cannot open the target postgres:\/\/u:\*\*\*@127\.0\.0\.1:1\/db: .*ECONNREFUSED/,
    )
  })
})
