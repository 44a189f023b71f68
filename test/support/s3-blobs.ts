/**
 * The BlobStore conformance harness for S3BlobStore on any upstream: a fresh key prefix and spool
 * directory per test, the blobs seen through the bucket listing, cleaned up afterwards. Used by
 * the suites on Ceph RGW (src/backends/s3/blob-store.test.ts) and on a second Latchkey
 * (test/e2e/s3-blob-store-on-latchkey.test.ts).
 * @module
 */
import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { BlobStoreHarness } from '../conformance/blob-store.case.js'
import { S3BlobStore, type S3BlobStoreOptions } from '../../src/backends/s3/blob-store.js'

/** Where the blobs go: bucket, endpoint, credentials. */
export type Upstream = Omit<S3BlobStoreOptions, 'spoolDir' | 'prefix'>

export function s3BlobHarness(upstream: Upstream): () => Promise<BlobStoreHarness> {
  return async () => {
    const spoolDir = mkdtempSync(join(tmpdir(), 'lk-s3-spool-'))
    const opts = { ...upstream, spoolDir, prefix: `t-${randomBytes(6).toString('hex')}/` }
    const opened: S3BlobStore[] = []
    const open = async (): Promise<S3BlobStore> => {
      const s = await S3BlobStore.open(opts)
      opened.push(s)
      return s
    }
    const blobs = await open()
    return {
      blobs,
      list: async () => {
        const out: string[] = []
        for await (const r of blobs.list()) out.push(r)
        return out
      },
      reopen: open,
      tempCount: () => blobs.spoolCount(),
      cleanup: async () => {
        for await (const r of blobs.list()) await blobs.delete(r)
        for (const s of opened) s.close()
        rmSync(spoolDir, { recursive: true, force: true })
      },
    }
  }
}
