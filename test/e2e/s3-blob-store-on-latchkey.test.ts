/**
 * The BlobStore conformance suite for S3BlobStore with a second Latchkey process (file mode, a
 * real server from dist/) as its upstream: Latchkey must be a usable upstream for another
 * Latchkey, and the store must hold on an S3 that is not RGW.
 * @module
 */
import { afterAll } from 'vitest'
import { CreateBucketCommand } from '@aws-sdk/client-s3'
import { blobStoreConformance } from '../conformance/blob-store.case.js'
import { s3BlobHarness } from '../support/s3-blobs.js'
import { startServer, type TestServer } from './harness.js'

const latchkey: TestServer = await startServer()
afterAll(async () => {
  await latchkey.stop()
})
{
  const c = latchkey.s3()
  await c.send(new CreateBucketCommand({ Bucket: 'blobs' }))
  c.destroy()
}
blobStoreConformance(
  's3 on Latchkey (file mode)',
  s3BlobHarness({
    bucket: 'blobs',
    endpoint: latchkey.endpoint,
    region: 'us-east-1',
    accessKeyId: latchkey.accessKeyId,
    secretAccessKey: latchkey.secretAccessKey,
    forcePathStyle: true,
  }),
)
