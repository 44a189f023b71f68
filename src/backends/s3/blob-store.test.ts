/**
 * Runs the BlobStore conformance suite against S3BlobStore on a real Ceph RGW
 * (test/support/rgw.ts: reused when one answers, else started; skipped, saying why, when neither
 * works): one bucket, a fresh key prefix per test. (The same suite on a second Latchkey process
 * is test/e2e/s3-blob-store-on-latchkey.test.ts: it needs dist/.) Plus the S3 specifics: an unreachable upstream is
 * StorageError 'unavailable' for put, get (as the stream's error, never an exception) and delete;
 * `get` returns before any request is made.
 * @module
 */
import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import {
  blobStoreConformance,
  chunked,
  readAll,
} from '../../../test/conformance/blob-store.case.js'
import { startRgw } from '../../../test/support/rgw.js'
import { s3BlobHarness } from '../../../test/support/s3-blobs.js'
import { S3BlobStore } from './blob-store.js'

const rgw = await startRgw()
afterAll(async () => {
  if (!('unavailable' in rgw)) await rgw.stop()
})

if ('unavailable' in rgw) {
  describe.skip(`BlobStore conformance: s3 on Ceph RGW (${rgw.unavailable})`, () => {
    it('skipped', () => {})
  })
} else {
  const bucket = await rgw.createBucket()
  afterAll(() => rgw.removeBucket(bucket))
  blobStoreConformance(
    's3 on Ceph RGW',
    s3BlobHarness({
      bucket,
      endpoint: rgw.endpoint,
      region: rgw.region,
      accessKeyId: rgw.accessKeyId,
      secretAccessKey: rgw.secretAccessKey,
      forcePathStyle: true,
    }),
  )
}

/** A loopback port with nothing listening: connections are refused at once. */
async function closedPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer()
    s.once('error', reject)
    s.listen(0, '127.0.0.1', () => {
      const a = s.address()
      s.close(() => resolve(typeof a === 'object' && a !== null ? a.port : 0))
    })
  })
}

describe('S3BlobStore: an unreachable upstream', () => {
  it("is 'unavailable' for put (streamed and spooled), get and delete, and never throws from get", async () => {
    const spoolDir = mkdtempSync(join(tmpdir(), 'lk-s3-spool-'))
    const s = await S3BlobStore.open({
      bucket: 'b',
      endpoint: `http://127.0.0.1:${await closedPort()}`,
      region: 'us-east-1',
      accessKeyId: 'AKIAEXAMPLE000000000',
      secretAccessKey: 'secret',
      forcePathStyle: true,
      spoolDir,
    })
    try {
      await expect(s.put(chunked(randomBytes(1000)), { size: 1000 })).rejects.toMatchObject({
        kind: 'unavailable',
      })
      await expect(s.put(chunked(randomBytes(1000)))).rejects.toMatchObject({
        kind: 'unavailable',
      })
      expect(await s.spoolCount()).toBe(0)
      const stream = s.get(s.newRef())
      await expect(readAll(stream)).rejects.toMatchObject({ kind: 'unavailable' })
      await expect(s.delete(s.newRef())).rejects.toMatchObject({ kind: 'unavailable' })
    } finally {
      s.close()
      rmSync(spoolDir, { recursive: true, force: true })
    }
  }, 30_000)
})
