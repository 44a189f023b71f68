/**
 * storage/object-bodies.ts, storage/commit.ts and storage/gc.ts over the real backends
 * (FsBlobStore + SQLite metadata and ledger in one database): inline-vs-blob decisions and their
 * ledger intents, size limits, ranged reads across multipart parts (fast-check against a plain
 * Buffer), and garbage collection: a blob written but never committed is collected after the
 * orphan grace period and a committed one never is, a replaced blob only after the retire grace
 * period (a multipart read in between still completes), temp files go when the store opens.
 * @module
 */
import { randomBytes } from 'node:crypto'
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import fc from 'fast-check'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { chunked, readAll } from '../../../test/conformance/blob-store.case.js'
import { obj } from '../../../test/conformance/metadata-store.case.js'
import { silentLogger } from '../../lib/logger.js'
import { commitWrite, type CommitIo } from '../../storage/commit.js'
import { collectGarbage } from '../../storage/gc.js'
import type { BodyRef } from '../../storage/metadata-store.js'
import { blobRefs, bodySize, readBody, writeBody } from '../../storage/object-bodies.js'
import { MemoryBlobLedger } from '../memory/blob-ledger.js'
import { SqliteBlobLedger } from '../sqlite/blob-ledger.js'
import { openDatabase } from '../sqlite/db.js'
import { GroupCommit } from '../sqlite/group-commit.js'
import { SqliteMetadataStore } from '../sqlite/metadata-store.js'
import { FsBlobStore } from './blob-store.js'

let root: string
let blobs: FsBlobStore
let ledger: MemoryBlobLedger
const T0 = 1_000_000
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'lk-int-'))
  blobs = new FsBlobStore(join(root, 'blobs'))
  ledger = new MemoryBlobLedger()
})
afterEach(() => {
  rmSync(root, { recursive: true, force: true })
})

async function deleteBlobs(body: BodyRef): Promise<void> {
  for (const r of blobRefs(body)) await blobs.delete(r)
}

async function blobCount(): Promise<number> {
  let n = 0
  for await (const _ of blobs.list()) n++
  return n
}

describe('writeBody', () => {
  const opts = { inlineMax: 1000, maxSize: 5000, now: T0 }
  const late = T0 + 365 * 24 * 3600 * 1000

  it('keeps small bodies inline, with or without a known length', async () => {
    const data = randomBytes(1000)
    for (const knownLength of [undefined, 1000]) {
      const r = await writeBody(chunked(data, 300), {
        blobs,
        ledger,
        ...opts,
        ...(knownLength !== undefined ? { knownLength } : {}),
      })
      expect(r.size).toBe(1000)
      expect(r.body.kind).toBe('inline')
      expect(r.body.kind === 'inline' && r.body.bytes.equals(data)).toBe(true)
    }
    expect(await blobCount()).toBe(0)
    expect(await ledger.due(late, 10)).toEqual({ orphans: [], retired: [] })
  })

  it('spills bodies over inlineMax to a blob, probe bytes included', async () => {
    const data = randomBytes(1001)
    for (const knownLength of [undefined, 1001]) {
      const r = await writeBody(chunked(data, 300), {
        blobs,
        ledger,
        ...opts,
        ...(knownLength !== undefined ? { knownLength } : {}),
      })
      expect(r).toMatchObject({ size: 1001, body: { kind: 'blob', size: 1001 } })
      expect((await readAll(readBody(r.body, blobs))).equals(data)).toBe(true)
      // The blob was announced to the ledger before it was written.
      expect((await ledger.due(late, 10)).orphans).toContain(blobRefs(r.body)[0])
    }
  })

  it('refuses bodies over maxSize on every path', async () => {
    const big = randomBytes(5001)
    await expect(writeBody(chunked(big, 300), { blobs, ledger, ...opts })).rejects.toMatchObject({
      kind: 'too-large',
    })
    await expect(
      writeBody(chunked(big, 300), { blobs, ledger, ...opts, knownLength: 5001 }),
    ).rejects.toMatchObject({ kind: 'too-large' })
    // A lying Content-Length does not get past maxSize either.
    await expect(
      writeBody(chunked(big, 300), { blobs, ledger, ...opts, knownLength: 10 }),
    ).rejects.toMatchObject({ kind: 'too-large' })
    await expect(
      writeBody(chunked(big, 6000), { blobs, ledger, now: T0, inlineMax: 0, maxSize: 5000 }),
    ).rejects.toMatchObject({ kind: 'too-large' })
    expect(await blobCount()).toBe(0)
    // A failed put leaves no intent behind either.
    expect(await ledger.due(late, 10)).toEqual({ orphans: [], retired: [] })
  })
})

describe('readBody over parts', () => {
  it('streams any range of a parts body (inline and blob parts) exactly', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(fc.integer({ min: 0, max: 3000 }), fc.boolean()), {
          minLength: 1,
          maxLength: 6,
        }),
        fc.tuple(fc.nat(), fc.nat()),
        async (specs, [x, y]) => {
          const datas = specs.map(([n]) => randomBytes(n))
          const parts: { ref: BodyRef; size: number }[] = []
          for (const [i, d] of datas.entries()) {
            const inline = specs[i]?.[1] ?? false
            const ref: BodyRef = inline
              ? { kind: 'inline', bytes: d }
              : { kind: 'blob', ...(await blobs.put(chunked(d, 500))) }
            parts.push({ ref, size: d.length })
          }
          const whole = Buffer.concat(datas)
          const body: BodyRef = { kind: 'parts', parts }
          expect(bodySize(body)).toBe(whole.length)
          expect((await readAll(readBody(body, blobs))).equals(whole)).toBe(true)
          if (whole.length > 0) {
            const start = Math.min(x, y) % whole.length
            const end = start + ((Math.max(x, y) - Math.min(x, y)) % (whole.length - start))
            const got = await readAll(readBody(body, blobs, { start, end }))
            expect(got.equals(whole.subarray(start, end + 1))).toBe(true)
          }
          await deleteBlobs(body)
          expect(await blobCount()).toBe(0)
        },
      ),
      { numRuns: 40 },
    )
  })

  it('reads inline ranges and fails a stream whose blob is missing', async () => {
    const inline: BodyRef = { kind: 'inline', bytes: Buffer.from('0123456789') }
    expect((await readAll(readBody(inline, blobs, { start: 2, end: 4 }))).toString()).toBe('234')
    const missing: BodyRef = {
      kind: 'parts',
      parts: [
        { ref: inline, size: 10 },
        { ref: { kind: 'blob', ref: 'deadbeefdeadbeef', size: 5 }, size: 5 },
      ],
    }
    await expect(readAll(readBody(missing, blobs))).rejects.toMatchObject({ kind: 'not-found' })
  })
})

describe('garbage collection through the ledger', () => {
  const GRACE = { orphanGraceMs: 1000, retireGraceMs: 100 }
  const limits = { inlineMax: 100, maxSize: 1 << 20 }
  const LATE = Number.MAX_SAFE_INTEGER

  function open(): { meta: SqliteMetadataStore; ledger: SqliteBlobLedger; close(): Promise<void> } {
    const db = openDatabase(join(root, 'meta.db'))
    const commits = new GroupCommit(db)
    const meta = new SqliteMetadataStore(db, { commits })
    const ledger = new SqliteBlobLedger(db, { ...GRACE, commits })
    return {
      meta,
      ledger,
      async close() {
        await meta.close()
        await commits.drain()
        db.close()
      },
    }
  }

  function put(
    io: CommitIo,
    meta: SqliteMetadataStore,
    key: string,
    write: () => Promise<{ body: BodyRef; size: number }>,
  ): Promise<unknown> {
    return commitWrite(io, {
      write,
      async commit(w) {
        const { replaced } = await meta.putObject(obj('b', key, { body: w.body, size: w.size }))
        return { result: undefined, freed: [replaced] }
      },
    })
  }

  it('a blob written but never committed is collected after the orphan grace period; a committed one never is', async () => {
    const s = open()
    const io: CommitIo = { blobs, ledger: s.ledger, log: silentLogger, now: T0 }
    const write = (text: string) => () =>
      writeBody(chunked(Buffer.from(text.repeat(200))), {
        blobs,
        ledger: s.ledger,
        now: T0,
        ...limits,
      })
    await s.meta.createBucket({ name: 'b', accountId: 'a', createdAt: 0, region: 'r' })
    // committed through the protocol
    await put(io, s.meta, 'done', write('done'))
    // "crash" after the metadata commit, before the ledger settled it
    const unsettled = await write('unsettled')()
    await s.meta.putObject(obj('b', 'unsettled', { body: unsettled.body, size: unsettled.size }))
    // "crash" between the blob's put and the metadata commit
    const orphan = await write('orphan')()
    writeFileSync(join(root, 'blobs', 'tmp', 'interrupted'), 'x')
    await s.close()

    // restart: the store's temp files go when it opens, the blobs stay for the collector
    blobs = await FsBlobStore.open(join(root, 'blobs'))
    expect(readdirSync(join(root, 'blobs', 'tmp'))).toEqual([])
    const r = open()
    try {
      expect(await blobCount()).toBe(3)
      // not yet: the orphan's upload might still be running somewhere
      expect(await collectGarbage(r.ledger, blobs, r.meta, T0 + GRACE.orphanGraceMs)).toEqual({
        deleted: 0,
        kept: 0,
      })
      expect(await blobCount()).toBe(3)
      expect(await collectGarbage(r.ledger, blobs, r.meta, T0 + GRACE.orphanGraceMs + 1)).toEqual({
        deleted: 1,
        kept: 1,
      })
      const left: string[] = []
      for await (const ref of blobs.list()) left.push(ref)
      expect(left).not.toContain(blobRefs(orphan.body)[0])
      expect(left).toContain(blobRefs(unsettled.body)[0])
      // committed blobs are never collected, however late
      expect(await collectGarbage(r.ledger, blobs, r.meta, Number.MAX_SAFE_INTEGER)).toEqual({
        deleted: 0,
        kept: 0,
      })
      for (const key of ['done', 'unsettled']) {
        const rec = await r.meta.getObject('b', key)
        expect(rec, key).toBeDefined()
        if (rec !== undefined)
          expect((await readAll(readBody(rec.body, blobs))).length).toBe(rec.size)
      }
      expect(await blobCount()).toBe(2)
    } finally {
      await r.close()
    }
  })

  it('a replaced blob is deleted only after the retire grace period; a multipart read in between completes', async () => {
    const s = open()
    try {
      await s.meta.createBucket({ name: 'b', accountId: 'a', createdAt: 0, region: 'r' })
      const a = randomBytes(300_000)
      const b = randomBytes(300_000)
      const at = (now: number): CommitIo => ({ blobs, ledger: s.ledger, log: silentLogger, now })
      const wb = (data: Buffer, now: number) =>
        writeBody(chunked(data), { blobs, ledger: s.ledger, now, ...limits })
      await put(at(T0), s.meta, 'm', async () => {
        const pa = await wb(a, T0)
        const pb = await wb(b, T0)
        return {
          body: {
            kind: 'parts',
            parts: [
              { ref: pa.body, size: pa.size },
              { ref: pb.body, size: pb.size },
            ],
          },
          size: pa.size + pb.size,
        }
      })
      const rec = await s.meta.getObject('b', 'm')
      if (rec === undefined) throw new Error('missing')
      const it = readBody(rec.body, blobs)[Symbol.asyncIterator]()
      const chunks: Buffer[] = [(await it.next()).value as Buffer]
      // An overwrite lands mid-read: the old parts are retired, not deleted.
      await put(at(T0 + 10), s.meta, 'm', () => wb(Buffer.from('new'.repeat(100)), T0 + 10))
      expect(await collectGarbage(s.ledger, blobs, s.meta, T0 + 10 + GRACE.retireGraceMs)).toEqual({
        deleted: 0,
        kept: 0,
      })
      expect(await blobCount()).toBe(3)
      for (let r = await it.next(); r.done !== true; r = await it.next())
        chunks.push(r.value as Buffer)
      expect(Buffer.concat(chunks).equals(Buffer.concat([a, b]))).toBe(true)
      expect(
        await collectGarbage(s.ledger, blobs, s.meta, T0 + 10 + GRACE.retireGraceMs + 1),
      ).toEqual({ deleted: 2, kept: 0 })
      expect(await blobCount()).toBe(1)
      // a delete retires too
      await s.meta
        .deleteObject('b', 'm')
        .then((removed) => s.ledger.retire(blobRefs(removed), T0 + 20))
      expect(
        await collectGarbage(s.ledger, blobs, s.meta, T0 + 20 + GRACE.retireGraceMs + 1),
      ).toEqual({
        deleted: 1,
        kept: 0,
      })
      expect(await blobCount()).toBe(0)
    } finally {
      await s.close()
    }
  })

  it('a crash right after a commit loses no dropped blob: the commit itself records them (SQLite triggers)', async () => {
    const s = open()
    try {
      const meta = s.meta
      await meta.createBucket({ name: 'b', accountId: 'a', createdAt: 0, region: 'r' })
      // Each blob's own intent is settled at once (its commit completed normally), so the
      // only intents left below are the ones the later commits record.
      const wb = async (text: string): Promise<BodyRef> => {
        const w = await writeBody(chunked(Buffer.from(text.repeat(200))), {
          blobs,
          ledger: s.ledger,
          now: T0,
          ...limits,
        })
        await s.ledger.settle(blobRefs(w.body))
        return w.body
      }
      const ref = (b: BodyRef): string => blobRefs(b)[0] ?? ''
      // Everything below commits through the metadata store alone: no settle, no retire, as if
      // the process died right after each commit.
      const replacedObj = await wb('old')
      await meta.putObject(obj('b', 'k', { body: replacedObj }))
      const current = await wb('new')
      await meta.putObject(obj('b', 'k', { body: current }))
      const deletedObj = await wb('gone')
      await meta.putObject(obj('b', 'd', { body: deletedObj }))
      await meta.deleteObject('b', 'd')
      const upload = (id: string) =>
        meta.createUpload({
          uploadId: id,
          bucket: 'b',
          key: 'm',
          initiatedAt: 0,
          headers: {},
          userMetadata: {},
          tags: {},
          ownerAccountId: 'a',
          initiator: 'x',
        })
      const part = (id: string, n: number, body: BodyRef) =>
        meta.putPart(id, { partNumber: n, size: 1, etag: 'e', lastModified: 0, body })
      await upload('u1')
      const replacedPart = await wb('p1-old')
      await part('u1', 1, replacedPart)
      const used = await wb('p1-new')
      await part('u1', 1, used)
      const unused = await wb('p2')
      await part('u1', 2, unused)
      await meta.completeUpload(
        'u1',
        obj('b', 'm', { body: { kind: 'parts', parts: [{ ref: used, size: 1 }] } }),
        [1],
      )
      await upload('u2')
      const aborted = await wb('p3')
      await part('u2', 1, aborted)
      await meta.abortUpload('u2')
      // an inline object over an inline object: nothing for the ledger
      await meta.putObject(obj('b', 'i', { body: { kind: 'inline', bytes: Buffer.from('a') } }))
      await meta.putObject(obj('b', 'i', { body: { kind: 'inline', bytes: Buffer.from('b') } }))

      expect(await blobCount()).toBe(7)
      // the used part moved to the object: its intent (parts row deleted) is found referenced
      expect(await collectGarbage(s.ledger, blobs, s.meta, LATE)).toEqual({ deleted: 5, kept: 1 })
      const left: string[] = []
      for await (const r of blobs.list()) left.push(r)
      expect(left.sort()).toEqual([ref(current), ref(used)].sort())
      for (const gone of [replacedObj, deletedObj, replacedPart, unused, aborted])
        expect(left).not.toContain(ref(gone))
      expect(await s.ledger.due(LATE, 10)).toEqual({ orphans: [], retired: [] })
    } finally {
      await s.close()
    }
  })

  it('a failed commit discards the blob it wrote at once and leaves no intent', async () => {
    const s = open()
    try {
      const io: CommitIo = { blobs, ledger: s.ledger, log: silentLogger, now: T0 }
      await expect(
        put(io, s.meta, 'k', () =>
          writeBody(chunked(randomBytes(5000)), { blobs, ledger: s.ledger, now: T0, ...limits }),
        ),
      ).rejects.toMatchObject({ kind: 'bucket-not-found' })
      expect(await blobCount()).toBe(0)
      expect(await s.ledger.due(Number.MAX_SAFE_INTEGER, 10)).toEqual({ orphans: [], retired: [] })
    } finally {
      await s.close()
    }
  })
})
