/**
 * Object bodies over the BlobStore. Where an object's bytes go is decided while streaming:
 * bodies up to `inlineMax` are kept inline in the metadata row (its commit is the durability
 * point; reading a small object from its own file is several times slower, and an inline write
 * never touches the BlobLedger), anything larger spills to a blob whose name is recorded in the
 * BlobLedger first (so a crash before the metadata commit leaves an intent the garbage collector
 * finds), with the bytes already read passed as `prefix`. Bodies are never buffered beyond
 * `inlineMax` + one chunk. Also: streaming any BodyRef back (with ranges spanning multipart
 * parts) and naming the blobs a body uses.
 * @module
 */
import { Readable } from 'node:stream'
import type { BlobLedger } from './blob-ledger.js'
import type { BlobStore } from './blob-store.js'
import { StorageError } from './errors.js'
import type { BodyRef } from './metadata-store.js'

export interface WriteBodyOptions {
  readonly blobs: BlobStore
  readonly ledger: BlobLedger
  /** When the write started (ms): the time of its ledger intent. */
  readonly now: number
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
  const { inlineMax, maxSize, knownLength } = opts
  if (knownLength !== undefined && knownLength > maxSize) {
    body.destroy()
    throw tooLarge(maxSize)
  }
  if (knownLength !== undefined && knownLength > inlineMax) return spill(body, opts, undefined)
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
  return spill(body, opts, head)
}

/**
 * Intent first, then the blob. A failed put leaves no blob (the store's promise), so its intent
 * is dropped at once; if that fails too, the collector finds nothing to delete later. Except
 * when the store was 'unavailable' (an upstream S3 that timed out may have stored the bytes all
 * the same): then the intent stays, and the collector deletes whatever is there after the
 * orphan grace period.
 */
async function spill(
  body: Readable,
  opts: WriteBodyOptions,
  prefix: Buffer | undefined,
): Promise<{ body: BodyRef; size: number }> {
  const { blobs, ledger, now, maxSize, knownLength } = opts
  const ref = blobs.newRef()
  try {
    await ledger.intend([ref], now)
  } catch (err) {
    body.destroy()
    throw err
  }
  try {
    // The length is known only when nothing was probed (the probe path has no Content-Length).
    const r = await blobs.put(
      body,
      prefix === undefined
        ? { ref, maxSize, ...(knownLength !== undefined ? { size: knownLength } : {}) }
        : { ref, maxSize, prefix },
    )
    return { body: { kind: 'blob', ref: r.ref, size: r.size }, size: r.size }
  } catch (err) {
    if (!(err instanceof StorageError && err.kind === 'unavailable'))
      await ledger.forget([ref]).catch(() => undefined)
    throw err
  }
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
      // Parts are opened one at a time as the read reaches them. An overwrite or delete meanwhile
      // only retires their blobs: they are deleted after the ledger's retire grace period.
      return Readable.from(partsChunks(ref.parts, blobs, start, end), { objectMode: false })
    }
  }
}

/** The blob refs a body uses (none for inline). */
export function blobRefs(ref: BodyRef | undefined): string[] {
  if (ref === undefined) return []
  switch (ref.kind) {
    case 'inline':
      return []
    case 'blob':
      return [ref.ref]
    case 'parts':
      return ref.parts.flatMap((p) => blobRefs(p.ref))
  }
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
