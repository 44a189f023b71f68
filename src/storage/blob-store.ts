/**
 * BlobStore: durable, immutable byte blobs named by opaque refs. Local files today
 * (backends/fs), an upstream S3 cluster later. A blob is written once and never modified;
 * replacing an object writes a new blob and deletes the old one after the metadata commit.
 * @module
 */
import type { Readable } from 'node:stream'

export interface BlobPutResult {
  readonly ref: string
  readonly size: number
}

export interface BlobStore {
  /**
   * Stream `body` into a new blob. Resolves only once the bytes are durable (fsync of file and
   * directory). Rejects, leaving nothing behind, if the stream errors or exceeds `maxSize`
   * (StorageError 'too-large'). `prefix` (optional) is a leading chunk already read from the body.
   */
  put(
    body: Readable,
    opts?: { readonly maxSize?: number; readonly prefix?: Buffer },
  ): Promise<BlobPutResult>
  /** Stream a blob, or the inclusive byte range [start, end] of it. */
  get(ref: string, range?: { readonly start: number; readonly end: number }): Readable
  /** Remove a blob; missing blobs are not an error. */
  delete(ref: string): Promise<void>
  /** Every blob ref present (for the start-up orphan sweep). */
  list(): AsyncIterable<string>
  /** Remove leftovers of interrupted writes (temp files). Called once at start. */
  sweepTemp(): Promise<void>
}
