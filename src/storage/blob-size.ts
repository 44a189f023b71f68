/**
 * The one byte counter every BlobStore's `put` runs a body through: it fails with
 * StorageError('too-large') once more than `max` bytes pass and, given the announced `exact`
 * size (BlobPutOptions.size), when the body yields more or fewer bytes than that — so no store
 * acknowledges a blob of another size than the caller's Content-Length.
 * @module
 */
import type { TransformCallback } from 'node:stream'
import { BodyTransform } from '../lib/streams.js'
import { StorageError } from './errors.js'

export function blobSizeLimit(
  max: number,
  exact: number | undefined,
  counter: { n: number },
  highWaterMark: number,
): BodyTransform {
  return new BodyTransform({
    highWaterMark,
    transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback) {
      counter.n += chunk.length
      if (counter.n > max) cb(new StorageError('too-large', `body exceeds ${max} bytes`))
      else if (exact !== undefined && counter.n > exact)
        cb(new Error(`body is longer than its announced ${exact} bytes`))
      else cb(null, chunk)
    },
    flush(cb: TransformCallback) {
      if (exact !== undefined && counter.n !== exact)
        cb(new Error(`body ended after ${counter.n} of its announced ${exact} bytes`))
      else cb()
    },
  })
}
