/**
 * storage/body-writer.ts and storage/sweep.ts over the real backends (FsBlobStore + SQLite):
 * inline-vs-blob decisions, size limits, ranged reads across multipart parts (fast-check against
 * a plain Buffer), body deletion, and the start-up orphan sweep.
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
import { bodySize, deleteBody, readBody, writeBody } from '../../storage/body-writer.js'
import type { BodyRef } from '../../storage/metadata-store.js'
import { sweepOrphans } from '../../storage/sweep.js'
import { openDatabase } from '../sqlite/db.js'
import { SqliteMetadataStore } from '../sqlite/metadata-store.js'
import { FsBlobStore } from './blob-store.js'

let root: string
let blobs: FsBlobStore
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'lk-int-'))
  blobs = new FsBlobStore(join(root, 'blobs'))
})
afterEach(() => {
  rmSync(root, { recursive: true, force: true })
})

async function blobCount(): Promise<number> {
  let n = 0
  for await (const _ of blobs.list()) n++
  return n
}

describe('writeBody', () => {
  const opts = { inlineMax: 1000, maxSize: 5000 }

  it('keeps small bodies inline, with or without a known length', async () => {
    const data = randomBytes(1000)
    for (const knownLength of [undefined, 1000]) {
      const r = await writeBody(chunked(data, 300), {
        blobs,
        ...opts,
        ...(knownLength !== undefined ? { knownLength } : {}),
      })
      expect(r.size).toBe(1000)
      expect(r.body.kind).toBe('inline')
      expect(r.body.kind === 'inline' && r.body.bytes.equals(data)).toBe(true)
    }
    expect(await blobCount()).toBe(0)
  })

  it('spills bodies over inlineMax to a blob, probe bytes included', async () => {
    const data = randomBytes(1001)
    for (const knownLength of [undefined, 1001]) {
      const r = await writeBody(chunked(data, 300), {
        blobs,
        ...opts,
        ...(knownLength !== undefined ? { knownLength } : {}),
      })
      expect(r).toMatchObject({ size: 1001, body: { kind: 'blob', size: 1001 } })
      expect((await readAll(readBody(r.body, blobs))).equals(data)).toBe(true)
    }
  })

  it('refuses bodies over maxSize on every path', async () => {
    const big = randomBytes(5001)
    await expect(writeBody(chunked(big, 300), { blobs, ...opts })).rejects.toMatchObject({
      kind: 'too-large',
    })
    await expect(
      writeBody(chunked(big, 300), { blobs, ...opts, knownLength: 5001 }),
    ).rejects.toMatchObject({ kind: 'too-large' })
    // A lying Content-Length does not get past maxSize either.
    await expect(
      writeBody(chunked(big, 300), { blobs, ...opts, knownLength: 10 }),
    ).rejects.toMatchObject({ kind: 'too-large' })
    await expect(
      writeBody(chunked(big, 6000), { blobs, inlineMax: 0, maxSize: 5000 }),
    ).rejects.toMatchObject({ kind: 'too-large' })
    expect(await blobCount()).toBe(0)
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
          await deleteBody(body, blobs)
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

describe('sweepOrphans', () => {
  it('removes temp files and unreferenced blobs, keeps referenced ones', async () => {
    const db = openDatabase(join(root, 'meta.db'))
    const meta = new SqliteMetadataStore(db, { closeDb: true })
    try {
      await meta.createBucket({ name: 'b', accountId: 'a', createdAt: 0, region: 'r' })
      const kept = await blobs.put(chunked(Buffer.from('kept')))
      const partBlob = await blobs.put(chunked(Buffer.from('part')))
      const orphan1 = await blobs.put(chunked(Buffer.from('orphan1')))
      const orphan2 = await blobs.put(chunked(Buffer.from('orphan2')))
      await meta.putObject(obj('b', 'k', { body: { kind: 'blob', ...kept } }))
      await meta.createUpload({
        uploadId: 'u1',
        bucket: 'b',
        key: 'm',
        initiatedAt: 0,
        headers: {},
        userMetadata: {},
        tags: {},
        ownerAccountId: 'a',
        initiator: 'x',
      })
      await meta.putPart('u1', {
        partNumber: 1,
        size: 4,
        etag: 'e',
        lastModified: 0,
        body: { kind: 'blob', ...partBlob },
      })
      writeFileSync(join(root, 'blobs', 'tmp', 'interrupted'), 'x')
      const r = await sweepOrphans(meta, blobs)
      expect(r.removed).toBe(2)
      const left: string[] = []
      for await (const ref of blobs.list()) left.push(ref)
      expect(left.sort()).toEqual([kept.ref, partBlob.ref].sort())
      expect(left).not.toContain(orphan1.ref)
      expect(left).not.toContain(orphan2.ref)
      expect(readdirSync(join(root, 'blobs', 'tmp'))).toEqual([])
    } finally {
      await meta.close()
    }
  })
})

describe('reading a multipart body while it is deleted', () => {
  it('defers deleting part blobs until the reader is done, then removes them', async () => {
    const a = randomBytes(300_000)
    const b = randomBytes(300_000)
    const pa = await blobs.put(chunked(a))
    const pb = await blobs.put(chunked(b))
    const body: BodyRef = {
      kind: 'parts',
      parts: [
        { ref: { kind: 'blob', ref: pa.ref, size: pa.size }, size: pa.size },
        { ref: { kind: 'blob', ref: pb.ref, size: pb.size }, size: pb.size },
      ],
    }
    const stream = readBody(body, blobs)
    const chunks: Buffer[] = []
    const it = stream[Symbol.asyncIterator]()
    const first = await it.next()
    chunks.push(first.value as Buffer)
    // An overwrite lands mid-read and deletes the old body: the second part must still be readable.
    await deleteBody(body, blobs)
    expect(await blobCount()).toBe(2)
    for (let r = await it.next(); r.done !== true; r = await it.next())
      chunks.push(r.value as Buffer)
    expect(Buffer.concat(chunks).equals(Buffer.concat([a, b]))).toBe(true)
    await new Promise((r) => setImmediate(r))
    await new Promise((r) => setTimeout(r, 20))
    expect(await blobCount()).toBe(0)
  })

  it('deletes at once when nobody is reading', async () => {
    const pa = await blobs.put(chunked(randomBytes(1000)))
    await deleteBody({ kind: 'blob', ref: pa.ref, size: pa.size }, blobs)
    expect(await blobCount()).toBe(0)
  })
})
