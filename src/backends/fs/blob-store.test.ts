/**
 * Runs the BlobStore conformance suite against FsBlobStore, plus fs specifics: the on-disk
 * layout, temp files of interrupted puts removed when the store opens, and an open GET stream surviving
 * the blob's deletion.
 * @module
 */
import { mkdtempSync, readdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import {
  blobStoreConformance,
  chunked,
  readAll,
} from '../../../test/conformance/blob-store.case.js'
import { FsBlobStore } from './blob-store.js'

blobStoreConformance('fs', () => {
  const root = mkdtempSync(join(tmpdir(), 'lk-blob-'))
  const blobs = new FsBlobStore(root)
  return Promise.resolve({
    blobs,
    list: async () => {
      const out: string[] = []
      for await (const r of blobs.list()) out.push(r)
      return out
    },
    reopen: () => FsBlobStore.open(root),
    tempCount: () => {
      try {
        return Promise.resolve(readdirSync(join(root, 'tmp')).length)
      } catch {
        return Promise.resolve(0)
      }
    },
    cleanup: () => {
      rmSync(root, { recursive: true, force: true })
      return Promise.resolve()
    },
  })
})

describe('FsBlobStore specifics', () => {
  it('lays blobs out as blobs/aa/bb/ref and sweeps temp leftovers', async () => {
    const root = mkdtempSync(join(tmpdir(), 'lk-blob-'))
    try {
      const ids = {
        uid: () => 'abcdef0123456789',
        alnum: () => '',
        upperAlnum: () => '',
        accountId: () => '',
      }
      const b = new FsBlobStore(root, { ids })
      const { ref } = await b.put(chunked(Buffer.from('data')))
      expect(ref).toBe('abcdef0123456789')
      expect(readdirSync(join(root, 'blobs', 'ab', 'cd'))).toEqual([ref])
      writeFileSync(join(root, 'tmp', 'half-written'), 'partial')
      await FsBlobStore.open(root)
      expect(readdirSync(join(root, 'tmp'))).toEqual([])
      // The same uid again must not overwrite a temp file being written ('wx').
      writeFileSync(join(root, 'tmp', ref), 'someone else')
      await expect(b.put(chunked(Buffer.from('x')))).rejects.toMatchObject({ code: 'EEXIST' })
      expect(readdirSync(join(root, 'tmp'))).toEqual([ref])
    } finally {
      rmSync(root, { recursive: true, force: true })
    }
  })

  it('a shared directory (staleTempMs) sweeps only temp files older than the limit', async () => {
    const root = mkdtempSync(join(tmpdir(), 'lk-blob-'))
    try {
      await FsBlobStore.open(root)
      writeFileSync(join(root, 'tmp', 'other-node-writing'), 'partial')
      writeFileSync(join(root, 'tmp', 'crashed-long-ago'), 'partial')
      const old = new Date(Date.now() - 2 * 3600_000)
      utimesSync(join(root, 'tmp', 'crashed-long-ago'), old, old)
      await FsBlobStore.open(root, { staleTempMs: 3600_000 })
      expect(readdirSync(join(root, 'tmp'))).toEqual(['other-node-writing'])
    } finally {
      rmSync(root, { recursive: true, force: true })
    }
  })

  it('a GET stream opened before a delete still reads the whole blob', async () => {
    const root = mkdtempSync(join(tmpdir(), 'lk-blob-'))
    try {
      const b = new FsBlobStore(root)
      const data = Buffer.alloc(3 * 1024 * 1024, 7)
      const { ref } = await b.put(chunked(data))
      const stream = b.get(ref)
      await b.delete(ref)
      expect((await readAll(stream)).equals(data)).toBe(true)
    } finally {
      rmSync(root, { recursive: true, force: true })
    }
  })

  it('a directory shared by cluster nodes does not promise that reads hold their bytes', () => {
    // Another node may have read the old record and not opened the file yet: replaced blobs
    // there wait out the retire grace instead of being unlinked at once (storage/commit.ts).
    expect(new FsBlobStore('/nonexistent').readsHoldTheirBytes).toBe(true)
    expect(new FsBlobStore('/nonexistent', { staleTempMs: 1 }).readsHoldTheirBytes).toBe(false)
  })
})
