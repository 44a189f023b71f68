/**
 * Long session texts stored once (session-texts.ts): rows refer to one copy of a policy or parent
 * JSON, read back whole through the store; a text's bound is written only when a row outlives it;
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
  it('rows refer to one copy of a long text and read it back whole; short texts stay inline', async () => {
    expect(POLICY.length).toBeGreaterThanOrEqual(MIN_CHARS)
    expect(PARENT.length).toBeGreaterThanOrEqual(MIN_CHARS)
    const db = openDatabase(':memory:')
    const store = SqliteIdentityStore.open(db)
    const a = session()
    const b = session()
    const short = session({ policies: '[]' })
    for (const s of [a, b, short]) await store.insertSession(s)
    expect(raw(db, a.accessKeyId)).toEqual({ parent: refFor(PARENT), policies: refFor(POLICY) })
    expect(raw(db, b.accessKeyId)).toEqual(raw(db, a.accessKeyId))
    expect(raw(db, short.accessKeyId).policies).toBe('[]')
    expect(texts(db).map((t) => t.ref)).toEqual([refFor(PARENT), refFor(POLICY)].sort())
    // Read back whole, one by one and in a listing.
    expect(await store.getSession(a.accessKeyId)).toEqual(a)
    expect(await store.getSession(short.accessKeyId)).toEqual(short)
    expect(await store.listActiveSessions({}, T0)).toEqual([a, b, short])
    db.close()
  })

  it('writes a text again only when a row would outlive its bound', async () => {
    const db = openDatabase(':memory:')
    const store = SqliteIdentityStore.open(db)
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
    const late = session({ policies: other, expiresAt: T0 + 10 * HOUR })
    for (const s of [...early, late]) await store.insertSession(s)
    expect(texts(db)).toHaveLength(3)
    // Rows expired, but texts are kept until their bound (an hour of slack) has passed too.
    const ended = await store.deleteEndedSessions(T0 + HOUR + 1, 100)
    expect(ended.deleted).toBe(2)
    expect(texts(db)).toHaveLength(3)
    // While an expired row is left (a batch of 1 deletes one row), no text goes.
    const d1 = await store.deleteEndedSessions(T0 + 11 * HOUR + SLACK_MS + 1, 1)
    expect([d1.deleted, texts(db).length]).toEqual([1, 3])
    // No expired row left: at most `limit` texts go per call.
    await store.deleteEndedSessions(T0 + 11 * HOUR + SLACK_MS + 1, 1)
    expect(texts(db)).toHaveLength(2)
    await store.deleteEndedSessions(T0 + 11 * HOUR + SLACK_MS + 1, 5)
    expect(texts(db)).toHaveLength(0)
    // A new row with a swept text writes it again.
    const again = session({ expiresAt: T0 + 20 * HOUR })
    await store.insertSession(again)
    expect(await store.getSession(again.accessKeyId)).toEqual(again)
    db.close()
  })

  it('keeps texts a live row refers to while others go', async () => {
    const db = openDatabase(':memory:')
    const store = SqliteIdentityStore.open(db)
    const gone = session({ policies: JSON.stringify(['z'.repeat(300)]) })
    const live = session({ expiresAt: T0 + 48 * HOUR })
    for (const s of [gone, live]) await store.insertSession(s)
    await store.deleteEndedSessions(T0 + HOUR + SLACK_MS + 1, 100)
    expect(await store.getSession(gone.accessKeyId)).toBeUndefined()
    expect(await store.getSession(live.accessKeyId)).toEqual(live)
    expect(texts(db).map((t) => t.ref)).toEqual([refFor(PARENT), refFor(live.policies)].sort())
    db.close()
  })

  it('a refused row (duplicate id) leaves the store consistent', async () => {
    const db = openDatabase(':memory:')
    const store = SqliteIdentityStore.open(db)
    const a = session()
    await store.insertSession(a)
    await expect(
      store.insertSession({ ...a, policies: JSON.stringify(['q'.repeat(300)]) }),
    ).rejects.toMatchObject({ kind: 'conflict' })
    expect(await store.getSession(a.accessKeyId)).toEqual(a)
    const b = session()
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
    const a = session()
    await SqliteIdentityStore.open(db).insertSession(a)
    db.close()
    db = openDatabase(path)
    const store = SqliteIdentityStore.open(db)
    expect(await store.getSession(a.accessKeyId)).toEqual(a)
    const b = session({ expiresAt: T0 + 5 * HOUR })
    await store.insertSession(b)
    expect(await store.getSession(b.accessKeyId)).toEqual(b)
    expect(texts(db)).toHaveLength(2)
    db.close()
  })
})
