/**
 * BlobStore conformance suite, run by every blob backend (memory, fs, upstream S3) through
 * its own factory: put/get/ranges, prefix, maxSize, failing bodies, a known `size` (streamed
 * straight through by S3) and a body that belies it, delete, named puts, and a reopen keeping
 * finished blobs. What is stored is seen through the harness (`list`), since the
 * port itself has no listing: nothing in the product scans every blob.
 * @module
 */
import { createHash, randomBytes } from 'node:crypto'
import { Readable } from 'node:stream'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { BlobStore } from '../../src/storage/blob-store.js'
import { StorageError } from '../../src/storage/errors.js'

export interface BlobStoreHarness {
  readonly blobs: BlobStore
  /** Number of leftover temp files (so a failed put can be shown to leave nothing). */
  tempCount(): Promise<number>
  /** Every blob ref stored. */
  list(): Promise<string[]>
  /** The same storage opened again (as after a restart). */
  reopen(): Promise<BlobStore>
  cleanup(): Promise<void>
}

export async function readAll(s: Readable): Promise<Buffer> {
  const chunks: Buffer[] = []
  for await (const c of s) chunks.push(c as Buffer)
  return Buffer.concat(chunks)
}

/** A byte stream yielding `buf` in chunks of `chunk` bytes. */
export function chunked(buf: Buffer, chunk = 64 * 1024): Readable {
  let off = 0
  return new Readable({
    read() {
      if (off >= buf.length) this.push(null)
      else {
        this.push(buf.subarray(off, off + chunk))
        off += chunk
      }
    },
  })
}

export function blobStoreConformance(name: string, factory: () => Promise<BlobStoreHarness>): void {
  describe(`BlobStore conformance: ${name}`, () => {
    let h: BlobStoreHarness
    let b: BlobStore
    beforeEach(async () => {
      h = await factory()
      b = h.blobs
    })
    const listAll = async (): Promise<string[]> => (await h.list()).sort()
    afterEach(async () => {
      await h.cleanup()
    })

    it('stores and streams back bytes exactly', async () => {
      const data = randomBytes(300_000)
      const r = await b.put(chunked(data, 7000))
      expect(r.size).toBe(data.length)
      const back = await readAll(b.get(r.ref))
      expect(createHash('md5').update(back).digest('hex')).toBe(
        createHash('md5').update(data).digest('hex'),
      )
      expect(await listAll()).toEqual([r.ref])
    })

    it('stores empty blobs', async () => {
      const r = await b.put(chunked(Buffer.alloc(0)))
      expect(r.size).toBe(0)
      expect((await readAll(b.get(r.ref))).length).toBe(0)
    })

    it('writes the prefix first', async () => {
      const r = await b.put(chunked(Buffer.from('world')), { prefix: Buffer.from('hello ') })
      expect(r.size).toBe(11)
      expect((await readAll(b.get(r.ref))).toString()).toBe('hello world')
    })

    it('serves inclusive byte ranges', async () => {
      const data = randomBytes(10_000)
      const { ref } = await b.put(chunked(data, 999))
      for (const [start, end] of [
        [0, 0],
        [0, 9999],
        [5, 5004],
        [9999, 9999],
        [1234, 8765],
      ] as const) {
        expect(
          (await readAll(b.get(ref, { start, end }))).equals(data.subarray(start, end + 1)),
        ).toBe(true)
      }
    })

    it('refuses bodies over maxSize, leaving nothing behind', async () => {
      await expect(
        b.put(chunked(randomBytes(5000), 1000), { maxSize: 4999 }),
      ).rejects.toMatchObject({
        kind: 'too-large',
      })
      await expect(
        b.put(chunked(randomBytes(10)), { maxSize: 10, prefix: Buffer.alloc(1) }),
      ).rejects.toBeInstanceOf(StorageError)
      expect(await listAll()).toEqual([])
      expect(await h.tempCount()).toBe(0)
      const ok = await b.put(chunked(randomBytes(5000), 1000), { maxSize: 5000 })
      expect(ok.size).toBe(5000)
    })

    it('rejects when the body stream fails, leaving nothing behind', async () => {
      let n = 0
      const failing = new Readable({
        read() {
          if (n++ < 3) this.push(Buffer.alloc(1000, 1))
          else this.destroy(new Error('client went away'))
        },
      })
      await expect(b.put(failing)).rejects.toThrow('client went away')
      expect(await listAll()).toEqual([])
      expect(await h.tempCount()).toBe(0)
    })

    it('takes a known size: streams the body, prefix included', async () => {
      const data = randomBytes(200_000)
      const r = await b.put(chunked(data, 5000), { size: data.length })
      expect(r.size).toBe(data.length)
      expect((await readAll(b.get(r.ref))).equals(data)).toBe(true)
      const p = await b.put(chunked(Buffer.from('world')), {
        prefix: Buffer.from('hello '),
        size: 11,
      })
      expect((await readAll(b.get(p.ref))).toString()).toBe('hello world')
      const empty = await b.put(chunked(Buffer.alloc(0)), { size: 0 })
      expect((await readAll(b.get(empty.ref))).length).toBe(0)
      expect((await listAll()).length).toBe(3)
    })

    it('a body that belies its size, exceeds maxSize or fails fails the put, leaving nothing', async () => {
      await expect(b.put(chunked(randomBytes(1000)), { size: 1001 })).rejects.toThrow()
      await expect(b.put(chunked(randomBytes(1000), 100), { size: 999 })).rejects.toThrow()
      await expect(
        b.put(chunked(randomBytes(5000), 1000), { size: 5000, maxSize: 4999 }),
      ).rejects.toMatchObject({ kind: 'too-large' })
      let n = 0
      const failing = new Readable({
        read() {
          if (n++ < 3) this.push(Buffer.alloc(1000, 1))
          else this.destroy(new Error('client went away'))
        },
      })
      await expect(b.put(failing, { size: 10_000 })).rejects.toThrow('client went away')
      expect(await listAll()).toEqual([])
      expect(await h.tempCount()).toBe(0)
    })

    it('deletes, ignoring missing blobs; a missing blob streams an error', async () => {
      const { ref } = await b.put(chunked(Buffer.from('x')))
      await b.delete(ref)
      await b.delete(ref)
      expect(await listAll()).toEqual([])
      await expect(readAll(b.get(ref))).rejects.toMatchObject({ kind: 'not-found' })
      await expect(readAll(b.get('../../etc/passwd'))).rejects.toBeInstanceOf(StorageError)
    })

    it('lists many blobs and keeps them apart', async () => {
      const refs = await Promise.all(
        Array.from({ length: 30 }, (_, i) => b.put(chunked(Buffer.from(`blob-${i}`)))),
      )
      expect(await listAll()).toEqual(refs.map((r) => r.ref).sort())
      for (const [i, r] of refs.entries()) {
        expect((await readAll(b.get(r.ref))).toString()).toBe(`blob-${i}`)
      }
    })

    it('a reopen keeps finished blobs', async () => {
      const { ref } = await b.put(chunked(Buffer.from('keep')))
      const again = await h.reopen()
      expect(await listAll()).toEqual([ref])
      expect((await readAll(again.get(ref))).toString()).toBe('keep')
      expect(await h.tempCount()).toBe(0)
    })

    it('puts under a name from newRef, fresh each time', async () => {
      const ref = b.newRef()
      expect(b.newRef()).not.toBe(ref)
      const r = await b.put(chunked(Buffer.from('named')), { ref })
      expect(r).toEqual({ ref, size: 5 })
      expect((await readAll(b.get(ref))).toString()).toBe('named')
      expect(await listAll()).toEqual([ref])
    })
  })
}
