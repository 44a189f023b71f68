/**
 * BlobStore: durable, immutable byte blobs named by opaque refs: local or shared files
 * (backends/fs), or an upstream S3 bucket (backends/s3). A blob is written once and never modified;
 * replacing an object writes a new blob, and the old one is retired through the BlobLedger and
 * deleted by the garbage collector after a grace period (storage/commit.ts, storage/gc.ts).
 * Cleaning up after interrupted puts is each store's own business when it opens (the fs store
 * empties its temp directory); nothing scans every blob.
 * @module
 */
import type { Readable } from 'node:stream'

export interface BlobPutResult {
  readonly ref: string
  readonly size: number
}

export interface BlobPutOptions {
  /** The blob's name (from `newRef`, already in the ledger); a fresh one when absent. */
  readonly ref?: string
  /** Largest body accepted; more → StorageError 'too-large', nothing stored. */
  readonly maxSize?: number
  /** A leading chunk already read from the body. */
  readonly prefix?: Buffer
  /**
   * The total length (prefix included) when the caller knows it (Content-Length): a store that
   * must announce the length upfront (S3) then streams instead of spooling. A body that yields
   * a different number of bytes fails the put, leaving nothing behind.
   */
  readonly size?: number
}

export interface BlobStore {
  /** Whether the store answers now (a stat, a HeadBucket): undefined when it does, else why not. */
  probe(): Promise<string | undefined>
  /**
   * A fresh name for a blob about to be written: the writer records it in the BlobLedger before
   * the bytes exist, then passes it to `put`.
   */
  newRef(): string
  /**
   * Stream `body` into a new blob named `ref` (a fresh one when absent). Resolves only once the
   * bytes are durable. Rejects, leaving nothing behind, if the stream errors or exceeds `maxSize`
   * (StorageError 'too-large'), or yields other than `size` bytes when that is given.
   */
  put(body: Readable, opts?: BlobPutOptions): Promise<BlobPutResult>
  /**
   * True when `get` takes hold of the bytes as it is called (the fs store opens the file at once,
   * and POSIX keeps an open file readable after an unlink), so deleting a whole-object blob right
   * after the commit that replaced it cannot break a GET that already found the old record: the
   * record read and the `get` happen in the same turn of the event loop, before the unlink can
   * complete. False for stores whose reads fetch lazily (an upstream S3): their replaced blobs
   * wait out the ledger's retire grace.
   */
  readonly readsHoldTheirBytes: boolean
  /** Stream a blob, or the inclusive byte range [start, end] of it. */
  get(ref: string, range?: { readonly start: number; readonly end: number }): Readable
  /** Remove a blob; missing blobs are not an error. */
  delete(ref: string): Promise<void>
}
