/**
 * Runs the BlobLedger conformance suite against PgBlobLedger (one throwaway cluster for the
 * file, a fresh database per ledger), and checks what only a shared database shows: the
 * triggers record a replaced or deleted object's blobs and a replaced or aborted upload's parts
 * inside the metadata commit's own transaction (rolled back with it), and isBlobReferenced is
 * exact. Skipped, saying so, when no PostgreSQL is installed.
 * @module
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { blobLedgerConformance, GRACE } from '../../../test/conformance/blob-ledger.case.js'
import { obj } from '../../../test/conformance/metadata-store.case.js'
import { startPostgres, type TestPostgres } from '../../../test/support/postgres.js'
import type { BodyRef, UploadRecord } from '../../storage/metadata-store.js'
import { PgBlobLedger } from './blob-ledger.js'
import { openPostgres, type PgDatabase } from './db.js'
import { PgMetadataStore } from './metadata-store.js'

let server: TestPostgres | undefined
let started: Promise<TestPostgres | undefined> | undefined
const pgServer = (): Promise<TestPostgres | undefined> => (started ??= startPostgres())
beforeAll(async () => {
  server = await pgServer()
})
afterAll(async () => {
  await server?.stop()
})

const SKIP = 'no PostgreSQL installed (initdb/pg_ctl not found, LATCHKEY_TEST_DATABASE_URL unset)'

if ((await pgServer()) !== undefined) {
  blobLedgerConformance('postgres', async (opts) => {
    const pg = await pgServer()
    if (pg === undefined) throw new Error(SKIP)
    const db = await openPostgres(await pg.createDatabase())
    return { ledger: await PgBlobLedger.open(db, opts), close: () => db.close() }
  })
} else {
  it.skip(`BlobLedger conformance: postgres (${SKIP})`, () => {})
}

const blob = (ref: string): BodyRef => ({ kind: 'blob', ref, size: 1 })
const upload = (uploadId: string, key: string): UploadRecord => ({
  uploadId,
  bucket: 'b',
  key,
  initiatedAt: 0,
  headers: {},
  userMetadata: {},
  tags: {},
  ownerAccountId: 'a',
  initiator: 'x',
})

describe('postgres blob ledger with the metadata store', () => {
  let db: PgDatabase
  let meta: PgMetadataStore
  let ledger: PgBlobLedger
  const orphans = async (): Promise<string[]> =>
    [...(await ledger.due(Date.now() + 10 * GRACE.orphanGraceMs, 100)).orphans].sort()

  beforeAll(async () => {
    if (server === undefined) return
    db = await openPostgres(await server.createDatabase())
    meta = await PgMetadataStore.open(db)
    ledger = await PgBlobLedger.open(db, GRACE)
    await meta.createBucket({ name: 'b', accountId: 'a', createdAt: 0, region: 'r' })
  })
  afterAll(async () => {
    await meta?.close()
    await db?.close()
  })

  it('a replaced or deleted body gets an intent from the trigger, in the same transaction', async (ctx) => {
    if (server === undefined) return ctx.skip(SKIP)
    await meta.putObject(obj('b', 'k', { body: blob('first') }))
    await meta.putObject(obj('b', 'inline'))
    expect(await orphans()).toEqual([]) // a new key runs no trigger
    await meta.putObject(obj('b', 'k', { body: blob('second') }))
    expect(await orphans()).toEqual(['first'])
    await meta.putObject(obj('b', 'inline')) // an inline body over an inline body: nothing
    expect(await orphans()).toEqual(['first'])
    await meta.putObject(
      obj('b', 'mp', {
        body: {
          kind: 'parts',
          parts: [
            { ref: blob('mp1'), size: 1 },
            { ref: { kind: 'inline', bytes: Buffer.from('"r":"fake"') }, size: 10 },
            { ref: blob('mp2'), size: 1 },
          ],
        },
      }),
    )
    await meta.deleteObject('b', 'k')
    await meta.deleteObject('b', 'mp')
    expect(await orphans()).toEqual(['first', 'mp1', 'mp2', 'second'])
    await ledger.forget(['first', 'mp1', 'mp2', 'second'])

    // A replaced part and an aborted upload's parts.
    await meta.createUpload(upload('u1', 'big'))
    await meta.putPart('u1', {
      partNumber: 1,
      size: 1,
      etag: 'e',
      lastModified: 0,
      body: blob('p1'),
    })
    await meta.putPart('u1', {
      partNumber: 1,
      size: 1,
      etag: 'e',
      lastModified: 0,
      body: blob('p1b'),
    })
    await meta.putPart('u1', {
      partNumber: 2,
      size: 1,
      etag: 'e',
      lastModified: 0,
      body: blob('p2'),
    })
    expect(await orphans()).toEqual(['p1'])
    await meta.abortUpload('u1')
    expect(await orphans()).toEqual(['p1', 'p1b', 'p2'])
    await ledger.forget(['p1', 'p1b', 'p2'])

    // Rolled back with the commit: a refused conditional put records nothing.
    await meta.putObject(obj('b', 'c', { body: blob('kept') }))
    await expect(
      meta.putObject(obj('b', 'c', { body: blob('never') }), { ifMatch: ['0'.repeat(32)] }),
    ).rejects.toMatchObject({ kind: 'precondition' })
    expect(await orphans()).toEqual([])
    // …and a transaction that deletes then fails leaves no intent either.
    await expect(
      db.tx(async (c) => {
        await c.query("DELETE FROM objects WHERE bucket = 'b' AND key = 'c'")
        throw new Error('abandoned')
      }),
    ).rejects.toThrow('abandoned')
    expect(await orphans()).toEqual([])
    expect(await meta.isBlobReferenced('kept')).toBe(true)
  })

  it('isBlobReferenced: exact refs in objects, multipart bodies and parts', async (ctx) => {
    if (server === undefined) return ctx.skip(SKIP)
    await meta.putObject(obj('b', 'single', { body: blob('abcdef01') }))
    await meta.putObject(
      obj('b', 'multi', {
        body: {
          kind: 'parts',
          parts: [
            { ref: blob('partblob1'), size: 1 },
            { ref: { kind: 'inline', bytes: Buffer.from('"r":"zzzz9999"') }, size: 14 },
          ],
        },
      }),
    )
    await meta.createUpload(upload('u2', 'm'))
    await meta.putPart('u2', {
      partNumber: 1,
      size: 1,
      etag: 'e',
      lastModified: 0,
      body: blob('uploaded1'),
    })
    for (const ref of ['abcdef01', 'partblob1', 'uploaded1'])
      expect(await meta.isBlobReferenced(ref), ref).toBe(true)
    // prefixes, suffixes, bytes inside inline bodies and jsonpath syntax are not references
    for (const ref of ['abcdef0', 'bcdef01', 'partblob', 'zzzz9999', 'nothing1', '*', '"'])
      expect(await meta.isBlobReferenced(ref), ref).toBe(false)
    await meta.deleteObject('b', 'single')
    await meta.abortUpload('u2')
    expect(await meta.isBlobReferenced('abcdef01')).toBe(false)
    expect(await meta.isBlobReferenced('uploaded1')).toBe(false)
  })
})

describe('postgres blob ledger: one elected collector', () => {
  it('a second node skips its pass while one leads, and leads once the first is done or dead', async (ctx) => {
    if (server === undefined) return ctx.skip(SKIP)
    const url = await server.createDatabase()
    const dbA = await openPostgres(url)
    const dbB = await openPostgres(url)
    try {
      const a = await PgBlobLedger.open(dbA, GRACE)
      const b = await PgBlobLedger.open(dbB, GRACE)
      let finish!: () => void
      const held = new Promise<void>((r) => (finish = r))
      let started!: () => void
      const leading = new Promise<void>((r) => (started = r))
      const aPass = a.lead(async () => {
        started()
        await held
        return 'a'
      })
      await leading
      expect(await b.lead(async () => 'b')).toBeUndefined()
      finish()
      expect(await aPass).toBe('a')
      expect(await b.lead(async () => 'b')).toBe('b')

      // A node that dies mid-pass (its connection is cut) loses the lead with its connection.
      let started2!: () => void
      const leading2 = new Promise<void>((r) => (started2 = r))
      void a
        .lead(() => {
          started2()
          return new Promise<string>(() => {})
        })
        .catch(() => {})
      await leading2
      expect(await b.lead(async () => 'b')).toBeUndefined()
      await dbB.query(
        `SELECT pg_terminate_backend(pid) FROM pg_locks
         WHERE locktype = 'advisory' AND objid = 7204519 AND granted`,
      )
      let led: string | undefined
      for (let i = 0; i < 50 && led === undefined; i++) {
        led = await b.lead(async () => 'b')
        if (led === undefined) await new Promise((r) => setTimeout(r, 20))
      }
      expect(led).toBe('b')
    } finally {
      // A's stuck pass never gives its connection back: do not wait for its pool.
      void dbA.close().catch(() => {})
      await dbB.close()
    }
  })

  it('each role has its own election: the lifecycle worker and the collector do not exclude each other', async (ctx) => {
    if (server === undefined) return ctx.skip(SKIP)
    const url = await server.createDatabase()
    const dbA = await openPostgres(url)
    const dbB = await openPostgres(url)
    try {
      const a = await PgBlobLedger.open(dbA, GRACE)
      const b = await PgBlobLedger.open(dbB, GRACE)
      let finish!: () => void
      const held = new Promise<void>((r) => (finish = r))
      let started!: () => void
      const leading = new Promise<void>((r) => (started = r))
      const aPass = a.lead(async () => {
        started()
        await held
        return 'a'
      }, 'lifecycle')
      await leading
      expect(await b.lead(async () => 'b', 'lifecycle')).toBeUndefined()
      expect(await b.lead(async () => 'b', 'collector')).toBe('b')
      expect(await b.lead(async () => 'b')).toBe('b')
      finish()
      expect(await aPass).toBe('a')
      expect(await b.lead(async () => 'b', 'lifecycle')).toBe('b')
    } finally {
      await dbA.close()
      await dbB.close()
    }
  })
})
