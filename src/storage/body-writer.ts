/**
 * Where an object's bytes go, decided while streaming: bodies up to `inlineMax` are kept inline
 * in the metadata row (its commit is the durability point; reading a small object from its own
 * file is several times slower), anything larger spills to the BlobStore with the bytes already
 * read passed as `prefix`. Bodies are never buffered beyond `inlineMax` + one chunk.
 * Also: streaming any BodyRef back (with ranges spanning multipart parts) and deleting its blobs.
 * @module
 */
import { Readable } from 'node:stream'
import type { BlobStore } from './blob-store.js'
import { StorageError } from './errors.js'
import type { BodyRef } from './metadata-store.js'

export interface WriteBodyOptions {
  readonly blobs: BlobStore
  /** Largest body kept inline, in bytes. */
  readonly inlineMax: number
  /** Largest body accepted at all; more → StorageError 'too-large'. */
  readonly maxSize: number
  /** Content-Length when known: skips the probe for bodies that cannot be inline. */
  readonly knownLength?: number
}

function tooLarge(max: number): StorageError {
  return new StorageError('too-large', `body exceeds ${max} bytes`)
}

/** Store `body` inline or as a blob; resolves once durable (blob) or ready to commit (inline). */
export async function writeBody(
  body: Readable,
  opts: WriteBodyOptions,
): Promise<{ body: BodyRef; size: number }> {
  const { blobs, inlineMax, maxSize, knownLength } = opts
  if (knownLength !== undefined && knownLength > maxSize) {
    body.destroy()
    throw tooLarge(maxSize)
  }
  if (knownLength !== undefined && knownLength > inlineMax) {
    const r = await blobs.put(body, { maxSize })
    return { body: { kind: 'blob', ref: r.ref, size: r.size }, size: r.size }
  }
  // Probe: read until the end or until more than inlineMax bytes have arrived.
  const chunks: Buffer[] = []
  let n = 0
  let ended = true
  const it = body.iterator({ destroyOnReturn: false })
  for await (const chunk of it) {
    const buf = typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer)
    chunks.push(buf)
    n += buf.length
    if (n > maxSize) {
      body.destroy()
      throw tooLarge(maxSize)
    }
    if (n > inlineMax) {
      ended = false
      break
    }
  }
  const head = chunks.length === 1 && chunks[0] !== undefined ? chunks[0] : Buffer.concat(chunks, n)
  if (ended) return { body: { kind: 'inline', bytes: head }, size: n }
  const r = await blobs.put(body, { maxSize, prefix: head })
  return { body: { kind: 'blob', ref: r.ref, size: r.size }, size: r.size }
}

/** A byte stream (not object mode) over one buffer. */
function bufferStream(buf: Buffer): Readable {
  let done = false
  return new Readable({
    read() {
      if (!done) {
        done = true
        if (buf.length > 0) this.push(buf)
      }
      this.push(null)
    },
  })
}

/** Total size of a body. */
export function bodySize(ref: BodyRef): number {
  switch (ref.kind) {
    case 'inline':
      return ref.bytes.length
    case 'blob':
      return ref.size
    case 'parts':
      return ref.parts.reduce((s, p) => s + p.size, 0)
  }
}

/**
 * Stream a body, or its inclusive byte range [start, end] (the caller has already checked the
 * range is satisfiable). Parts are opened lazily, one at a time.
 */
export function readBody(
  ref: BodyRef,
  blobs: BlobStore,
  range?: { readonly start: number; readonly end: number },
): Readable {
  switch (ref.kind) {
    case 'inline':
      return bufferStream(
        range === undefined ? ref.bytes : ref.bytes.subarray(range.start, range.end + 1),
      )
    case 'blob':
      return blobs.get(ref.ref, range)
    case 'parts': {
      const start = range?.start ?? 0
      const end = range?.end ?? bodySize(ref) - 1
      // Parts are opened one at a time as the read reaches them, so hold a lease on their blobs:
      // an overwrite or delete meanwhile defers their removal until this stream is done.
      const refs = blobRefs(ref)
      const leases = leasesFor(blobs)
      leases.acquire(refs)
      const stream = Readable.from(partsChunks(ref.parts, blobs, start, end), { objectMode: false })
      stream.once('close', () => leases.release(refs))
      return stream
    }
  }
}

function blobRefs(ref: BodyRef): string[] {
  switch (ref.kind) {
    case 'inline':
      return []
    case 'blob':
      return [ref.ref]
    case 'parts':
      return ref.parts.flatMap((p) => blobRefs(p.ref))
  }
}

/**
 * Blobs that open readers still need. Deleting one defers the removal until the last reader
 * releases it; a crash in between leaves an orphan that the start-up sweep removes.
 */
class BlobLeases {
  private readonly readers = new Map<string, number>()
  private readonly deferred = new Map<string, () => Promise<void>>()

  acquire(refs: readonly string[]): void {
    for (const r of refs) this.readers.set(r, (this.readers.get(r) ?? 0) + 1)
  }

  release(refs: readonly string[]): void {
    for (const r of refs) {
      const n = (this.readers.get(r) ?? 1) - 1
      if (n > 0) {
        this.readers.set(r, n)
        continue
      }
      this.readers.delete(r)
      const del = this.deferred.get(r)
      if (del !== undefined) {
        this.deferred.delete(r)
        del().catch(() => undefined) // a failed late delete leaves an orphan for the sweep
      }
    }
  }

  deleteOrDefer(ref: string, del: () => Promise<void>): Promise<void> {
    if (!this.readers.has(ref)) return del()
    this.deferred.set(ref, del)
    return Promise.resolve()
  }
}

const LEASES = new WeakMap<BlobStore, BlobLeases>()

function leasesFor(blobs: BlobStore): BlobLeases {
  let l = LEASES.get(blobs)
  if (l === undefined) {
    l = new BlobLeases()
    LEASES.set(blobs, l)
  }
  return l
}

async function* partsChunks(
  parts: readonly { readonly ref: BodyRef; readonly size: number }[],
  blobs: BlobStore,
  start: number,
  end: number,
): AsyncGenerator<Buffer> {
  let offset = 0
  for (const p of parts) {
    const pStart = offset
    const pEnd = offset + p.size - 1
    offset += p.size
    if (p.size === 0 || pEnd < start) continue
    if (pStart > end) break
    const from = Math.max(start, pStart) - pStart
    const to = Math.min(end, pEnd) - pStart
    const whole = from === 0 && to === p.size - 1
    const s = readBody(p.ref, blobs, whole ? undefined : { start: from, end: to })
    for await (const chunk of s) yield chunk as Buffer
  }
}

/** Delete every blob a body references (none for inline). Missing blobs are not an error. */
export async function deleteBody(ref: BodyRef, blobs: BlobStore): Promise<void> {
  switch (ref.kind) {
    case 'inline':
      return
    case 'blob':
      return leasesFor(blobs).deleteOrDefer(ref.ref, () => blobs.delete(ref.ref))
    case 'parts':
      await Promise.all(ref.parts.map((p) => deleteBody(p.ref, blobs)))
  }
}
