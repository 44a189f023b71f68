/**
 * Long session texts stored once (session-texts.ts): a text seen again is stored once and rows
 * refer to it (the first sight stays inline), read back whole through the store; a text's bound is written only when a row outlives it;
 * the sweep deletes texts no row can refer to any more, in bounded steps; rows written before
 * (texts inline) still read; and everything survives a reopen of the database file.
 * @module
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import type { SessionRow } from '../../storage/identity-store.js'
import { openDatabase, type Database } from './db.js'
import { SqliteIdentityStore } from './identity-store.js'
import { MIN_CHARS, refFor, SLACK_MS } from './session-texts.js'

const HOUR = 3_600_000
const T0 = Date.UTC(2026, 11, 3, 12)
const POLICY = JSON.stringify([
  JSON.stringify({
    Version: '2012-10-17',
    Statement: [
      {
        Effect: 'Allow',
        Action: ['s3:PutObject'],
        Resource: Array.from({ length: 12 }, (_, i) => `arn:aws:s3:::uploads/u-${String(i)}/*`),
      },
    ],
  }),
])
const PARENT = JSON.stringify({
  parent: { kind: 'account-root', accountId: '111111111111', accessKeyId: 'LKIAROOT' },
  checks: [{ kind: 'key', id: 'LKIAROOT' }],
  source: 'AssumeRole',
  tagging: { tags: { project: 'x'.repeat(200) } },
})
let n = 0
function session(o: Partial<SessionRow> = {}): SessionRow {
  n++
  return {
    accessKeyId: `ASIATEXTS${String(n).padStart(11, '0')}`,
    accountId: '111111111111',
    quotaKey: 'root:111111111111',
    originKeyId: 'LKIAROOT',
    parent: PARENT,
    secret: 'sealed',
    tokenHmac: 'ab',
    sessionName: `s${String(n)}`,
    policies: POLICY,
    roleName: 'r',
    roleId: 'AROA1',
    issuedAt: T0,
    expiresAt: T0 + HOUR,
    revoked: false,
    ...o,
  }
}

const raw = (db: Database, id: string) =>
  db.prepare('SELECT parent, policies FROM iam_sessions WHERE access_key_id = ?').get(id) as {
    parent: string
    policies: string
  }
const texts = (db: Database) =>
  db.prepare('SELECT ref, expires_at FROM iam_session_texts ORDER BY ref').all() as {
    ref: string
    expires_at: number
  }[]

let dir: string | undefined
afterEach(() => {
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true })
  dir = undefined
})

describe('session texts stored once', () => {
  it('rows refer to one copy of a long text seen again and read it back whole; others stay inline', async () => {
    expect(POLICY.length).toBeGreaterThanOrEqual(MIN_CHARS)
    expect(PARENT.length).toBeGreaterThanOrEqual(MIN_CHARS)
    const db = openDatabase(':memory:')
    const store = SqliteIdentityStore.open(db)
    const first = session()
    const b = session()
    const c = session()
    const short = session({ policies: '[]' })
    for (const s of [first, b, c, short]) await store.insertSession(s)
    // The first sight of a text stays in its row (a text used once gains nothing by reference).
    expect(raw(db, first.accessKeyId)).toEqual({ parent: PARENT, policies: POLICY })
    expect(raw(db, b.accessKeyId)).toEqual({ parent: refFor(PARENT), policies: refFor(POLICY) })
    expect(raw(db, c.accessKeyId)).toEqual(raw(db, b.accessKeyId))
    expect(raw(db, short.accessKeyId)).toEqual({ parent: refFor(PARENT), policies: '[]' })
    expect(texts(db).map((t) => t.ref)).toEqual([refFor(PARENT), refFor(POLICY)].sort())
    // Read back whole, one by one and in a listing.
    expect(await store.getSession(b.accessKeyId)).toEqual(b)
    expect(await store.getSession(short.accessKeyId)).toEqual(short)
    expect(await store.listActiveSessions({}, T0)).toEqual([first, b, c, short])
    db.close()
  })

  it("stores a master key's parent (the upload flow's parent, ~190 characters) by reference", async () => {
    // The parent JSON every session minted with an account's master key carries, as the STS
    // surface writes it: long enough to go by reference from its second session on.
    const parent = JSON.stringify({
      parent: {
        kind: 'account-root',
        accountId: '240154725126',
        accessKeyId: 'LKIABENCHROOTKEY0001',
      },
      checks: [{ kind: 'root', accountId: '240154725126', version: 1 }],
      source: 'AssumeRole',
    })
    expect(parent.length).toBeLessThan(256)
    expect(parent.length).toBeGreaterThanOrEqual(MIN_CHARS)
    const db = openDatabase(':memory:')
    const store = SqliteIdentityStore.open(db)
    const [a, b] = [session({ parent }), session({ parent })]
    for (const s of [a, b]) await store.insertSession(s)
    expect(raw(db, a.accessKeyId).parent).toBe(parent)
    expect(raw(db, b.accessKeyId).parent).toBe(refFor(parent))
    expect(await store.getSession(b.accessKeyId)).toEqual(b)
    db.close()
  })

  it('keeps a text used once inline: a different policy per call writes no text rows', async () => {
    const db = openDatabase(':memory:')
    const store = SqliteIdentityStore.open(db)
    const own = (i: number) => JSON.stringify([`{"Sid":"${String(i)}","pad":"${'p'.repeat(300)}"}`])
    const rows = Array.from({ length: 5 }, (_, i) => session({ policies: own(i), parent: '{}' }))
    for (const r of rows) await store.insertSession(r)
    expect(texts(db)).toEqual([])
    for (const r of rows) expect(raw(db, r.accessKeyId).policies).toBe(r.policies)
    db.close()
  })

  it('writes a text again only when a row would outlive its bound', async () => {
    const db = openDatabase(':memory:')
    const store = SqliteIdentityStore.open(db)
    await store.insertSession(session()) // first sight: inline
    expect(texts(db)).toEqual([])
    await store.insertSession(session())
    const bound = T0 + HOUR + SLACK_MS
    expect(texts(db).map((t) => t.expires_at)).toEqual([bound, bound])
    // Within the bound: no SQL for the texts (a trigger would see a write).
    db.exec(`CREATE TEMP TABLE writes (n INTEGER);
      CREATE TEMP TRIGGER w AFTER UPDATE ON iam_session_texts BEGIN INSERT INTO writes VALUES (1); END;`)
    await store.insertSession(session({ expiresAt: bound - 1 }))
    await store.insertSession(session({ expiresAt: T0 + 2 }))
    const writes = () => (db.prepare('SELECT count(*) AS n FROM writes').get() as { n: number }).n
    expect(writes()).toBe(0)
    // Past it: the bound moves (both texts), and never back.
    await store.insertSession(session({ expiresAt: bound + 1 }))
    expect(writes()).toBe(2)
    expect(texts(db).map((t) => t.expires_at)).toEqual([bound + 1 + SLACK_MS, bound + 1 + SLACK_MS])
    db.close()
  })

  it('the sweep deletes a text once no row can refer to it, a bounded number per call', async () => {
    const db = openDatabase(':memory:')
    const store = SqliteIdentityStore.open(db)
    const other = JSON.stringify(['y'.repeat(300)])
    const early = [session(), session()]
    const late = [0, 1].map(() => session({ policies: other, expiresAt: T0 + 10 * HOUR }))
    for (const s of [...early, ...late]) await store.insertSession(s)
    expect(texts(db)).toHaveLength(3)
    // Rows expired, but texts are kept until their bound (an hour of slack) has passed too.
    const ended = await store.deleteEndedSessions(T0 + HOUR + 1, 100)
    expect(ended.deleted).toBe(2)
    expect(texts(db)).toHaveLength(3)
    // While an expired row is left (a batch of 1 deletes one row), no text goes.
    const d1 = await store.deleteEndedSessions(T0 + 11 * HOUR + SLACK_MS + 1, 1)
    expect([d1.deleted, texts(db).length]).toEqual([1, 3])
    const d2 = await store.deleteEndedSessions(T0 + 11 * HOUR + SLACK_MS + 1, 1)
    expect([d2.deleted, texts(db).length]).toEqual([1, 3])
    // No expired row left: at most `limit` texts go per call.
    await store.deleteEndedSessions(T0 + 11 * HOUR + SLACK_MS + 1, 1)
    expect(texts(db)).toHaveLength(2)
    await store.deleteEndedSessions(T0 + 11 * HOUR + SLACK_MS + 1, 5)
    expect(texts(db)).toHaveLength(0)
    // A swept text is written again when seen again.
    const again = [0, 1].map(() => session({ expiresAt: T0 + 20 * HOUR }))
    for (const s of again) await store.insertSession(s)
    expect(raw(db, again[1]!.accessKeyId).policies).toBe(refFor(POLICY))
    for (const s of again) expect(await store.getSession(s.accessKeyId)).toEqual(s)
    db.close()
  })

  it('keeps texts a live row refers to while others go', async () => {
    const db = openDatabase(':memory:')
    const store = SqliteIdentityStore.open(db)
    const z = JSON.stringify(['z'.repeat(300)])
    const gone = [0, 1].map(() => session({ policies: z }))
    const live = [0, 1].map(() => session({ expiresAt: T0 + 48 * HOUR }))
    for (const s of [...gone, ...live]) await store.insertSession(s)
    expect(texts(db)).toHaveLength(3)
    await store.deleteEndedSessions(T0 + HOUR + SLACK_MS + 1, 100)
    for (const s of gone) expect(await store.getSession(s.accessKeyId)).toBeUndefined()
    for (const s of live) expect(await store.getSession(s.accessKeyId)).toEqual(s)
    expect(texts(db).map((t) => t.ref)).toEqual([refFor(PARENT), refFor(POLICY)].sort())
    db.close()
  })

  it('a refused row (duplicate id) leaves the store consistent', async () => {
    const db = openDatabase(':memory:')
    const store = SqliteIdentityStore.open(db)
    const q = JSON.stringify(['q'.repeat(300)])
    await store.insertSession(session({ policies: q }))
    const a = session()
    await store.insertSession(a)
    // Refused after its (second-sight) text was written: the text stays, the row does not.
    await expect(store.insertSession({ ...a, policies: q })).rejects.toMatchObject({
      kind: 'conflict',
    })
    expect(await store.getSession(a.accessKeyId)).toEqual(a)
    const b = session({ policies: q })
    await store.insertSession(b)
    expect(await store.getSession(b.accessKeyId)).toEqual(b)
    db.close()
  })

  it('reads rows written before (texts inline) and refuses a reference whose text is missing', async () => {
    const db = openDatabase(':memory:')
    const store = SqliteIdentityStore.open(db)
    const old = session()
    const dangling = session()
    for (const s of [old, dangling]) await store.insertSession(s)
    expect(raw(db, dangling.accessKeyId).policies).toBe(refFor(POLICY))
    db.prepare('UPDATE iam_sessions SET parent = ?, policies = ? WHERE access_key_id = ?').run(
      PARENT,
      POLICY,
      old.accessKeyId,
    )
    expect(await store.getSession(old.accessKeyId)).toEqual(old)
    db.prepare('UPDATE iam_sessions SET policies = ? WHERE access_key_id = ?').run(
      '#missing',
      dangling.accessKeyId,
    )
    // Read as the reference itself: not JSON, so the session is refused where it is decoded.
    expect((await store.getSession(dangling.accessKeyId))!.policies).toBe('#missing')
    db.close()
  })

  it('survives a reopen of the database file: rows read, and a new store writes the same text', async () => {
    dir = mkdtempSync(join(tmpdir(), 'lk-texts-'))
    const path = join(dir, 'x.db')
    let db = openDatabase(path)
    const before = [session(), session()]
    const first = SqliteIdentityStore.open(db)
    for (const s of before) await first.insertSession(s)
    expect(raw(db, before[1]!.accessKeyId).policies).toBe(refFor(POLICY))
    db.close()
    db = openDatabase(path)
    const store = SqliteIdentityStore.open(db)
    for (const s of before) expect(await store.getSession(s.accessKeyId)).toEqual(s)
    // A new store meets the stored texts again: inline once, then the same references.
    const after = [0, 1].map(() => session({ expiresAt: T0 + 5 * HOUR }))
    for (const s of after) await store.insertSession(s)
    expect(raw(db, after[1]!.accessKeyId).policies).toBe(refFor(POLICY))
    for (const s of after) expect(await store.getSession(s.accessKeyId)).toEqual(s)
    expect(texts(db)).toHaveLength(2)
    db.close()
  })
})
