/**
 * MemoryBlobStore: blobs in a Map, for unit tests of code above the storage seam (handlers,
 * object-bodies) that should not touch the disk. Not durable, holds everything in RAM: never use
 * it to serve real traffic. Passes the same BlobStore conformance suite as FsBlobStore.
 * @module
 */
import { Readable } from 'node:stream'
import { randomIds, type IdSource } from '../../lib/clock.js'
import type { BlobPutOptions, BlobPutResult, BlobStore } from '../../storage/blob-store.js'
import { StorageError } from '../../storage/errors.js'

export class MemoryBlobStore implements BlobStore {
  /** `get` opens the blob as it is called (see BlobStore.readsHoldTheirBytes). */
  readonly readsHoldTheirBytes: boolean = true
  private readonly blobs = new Map<string, Buffer>()
  private readonly ids: IdSource

  /** Always answers: it is this process's memory. */
  probe(): Promise<string | undefined> {
    return Promise.resolve(undefined)
  }

  constructor(opts: { readonly ids?: IdSource } = {}) {
    this.ids = opts.ids ?? randomIds
  }

  newRef(): string {
    return this.ids.uid()
  }

  async put(body: Readable, opts: BlobPutOptions = {}): Promise<BlobPutResult> {
    const max = opts.maxSize ?? Number.POSITIVE_INFINITY
    const chunks: Buffer[] = opts.prefix !== undefined ? [opts.prefix] : []
    let n = opts.prefix?.length ?? 0
    if (n > max) {
      body.destroy()
      throw new StorageError('too-large', `body exceeds ${max} bytes`)
    }
    for await (const c of body) {
      const buf = c as Buffer
      n += buf.length
      if (n > max) {
        body.destroy()
        throw new StorageError('too-large', `body exceeds ${max} bytes`)
      }
      chunks.push(buf)
    }
    if (opts.size !== undefined && n !== opts.size)
      throw new Error(`body yielded ${n} of its announced ${opts.size} bytes`)
    const ref = opts.ref ?? this.ids.uid()
    this.blobs.set(ref, Buffer.concat(chunks, n))
    return { ref, size: n }
  }

  get(ref: string, range?: { readonly start: number; readonly end: number }): Readable {
    const buf = this.blobs.get(ref)
    let done = false
    return new Readable({
      read() {
        if (buf === undefined) {
          this.destroy(new StorageError('not-found', `blob ${ref} is missing`, { ref }))
          return
        }
        if (!done) {
          done = true
          const part = range === undefined ? buf : buf.subarray(range.start, range.end + 1)
          if (part.length > 0) this.push(part)
        }
        this.push(null)
      },
    })
  }

  delete(ref: string): Promise<void> {
    this.blobs.delete(ref)
    return Promise.resolve()
  }

  /** Every blob present (tests; not part of the port). */
  async *list(): AsyncIterable<string> {
    await Promise.resolve()
    yield* [...this.blobs.keys()]
  }
}
