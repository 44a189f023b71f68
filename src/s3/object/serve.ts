/**
 * GetObject and HeadObject share everything but the body: load, tag-aware decision,
 * conditional headers (304 is a normal response with ETag and Last-Modified, not an error
 * document), partNumber or Range (never both), response-* overrides, checksum headers when
 * `x-amz-checksum-mode: ENABLED` and the whole object is served. The body streams from storage;
 * HEAD never opens it.
 * @module
 */
import type { Readable } from 'node:stream'
import { readBody } from '../../storage/object-bodies.js'
import { StorageError } from '../../storage/errors.js'
import type { ObjectRecord } from '../../storage/metadata-store.js'
import { S3Error } from '../errors.js'
import type { S3Env, S3Request, S3Response } from '../operation.js'
import { bucketOf, checkVersionId, keyOf, loadObject, requireWithExistingTags } from './access.js'
import { evaluateConditions, failedRequestCondition, requestConditions } from './conditional.js'
import { applyResponseOverrides, objectResponseHeaders } from './headers.js'
import { checksumResponseHeaders } from './ingest.js'
import { invalidRange, parseRange } from './range.js'
import { httpDate } from '../xml.js'

/** ?partNumber=N: an integer 1..10000, else InvalidArgument. */
export function parsePartNumber(v: string | undefined, maxParts = 10000): number | undefined {
  if (v === undefined) return undefined
  const n = /^\d{1,6}$/.test(v) ? Number(v) : NaN
  if (!Number.isInteger(n) || n < 1 || n > maxParts) {
    throw new S3Error(
      'InvalidArgument',
      `Part number must be an integer between 1 and ${maxParts}, inclusive`,
      {
        ArgumentName: 'partNumber',
        ArgumentValue: v,
      },
    )
  }
  return n
}

/**
 * Byte span [start, end] of part `n` of an object. A single-part object has only part 1, the
 * whole object, which AWS answers as a range too (206, Content-Range, no x-amz-mp-parts-count).
 * A part past the last is InvalidPartNumber (416), AWS's documented error.
 */
function partSpan(o: ObjectRecord, n: number): { start: number; end: number } {
  const sizes = o.partSizes ?? [o.size]
  if (n > sizes.length) {
    throw new S3Error('InvalidPartNumber', undefined, {
      PartNumberRequested: String(n),
      ActualPartCount: String(sizes.length),
    })
  }
  let start = 0
  for (let i = 0; i < n - 1; i++) start += sizes[i] ?? 0
  return { start, end: start + (sizes[n - 1] ?? 0) - 1 }
}

/**
 * GET or HEAD of one object. Not an async function: each stage goes on in place when what it
 * needs is in memory (a cached record, no tags, cached lifecycle rules, an inline body), and
 * waits only on what must be read. It may throw instead of rejecting (the pipeline catches both).
 */
export function serveObject(
  req: S3Request,
  env: S3Env,
  head: boolean,
): S3Response | Promise<S3Response> {
  const bucket = bucketOf(req)
  const key = keyOf(req)
  checkVersionId(req)
  const partNumber = parsePartNumber(req.query.get('partNumber'), env.limits.maxParts)
  if (partNumber !== undefined && req.header('range') !== undefined) {
    throw new S3Error(
      'InvalidRequest',
      'Cannot specify both Range header and partNumber query parameter',
    )
  }
  const loaded = loadObject(env, bucket.name, key)
  const tagChecked = (o: ObjectRecord): S3Response | Promise<S3Response> => {
    const tagged = requireWithExistingTags(req, env, 's3:GetObject', bucket, o)
    return tagged === undefined
      ? serveDecided(req, env, head, o, partNumber)
      : tagged.then(() => serveDecided(req, env, head, o, partNumber))
  }
  return loaded instanceof Promise ? loaded.then(tagChecked) : tagChecked(loaded)
}

/** `serveObject` once the caller may read `o`: conditions, then the headers. */
function serveDecided(
  req: S3Request,
  env: S3Env,
  head: boolean,
  o: ObjectRecord,
  partNumber: number | undefined,
): S3Response | Promise<S3Response> {
  const conds = requestConditions((n) => req.header(n))
  const outcome = evaluateConditions(conds, o.etag, o.lastModified)
  if (outcome === 'precondition-failed') {
    throw new S3Error('PreconditionFailed', undefined, { Condition: failedRequestCondition(conds) })
  }
  if (outcome === 'not-modified') {
    return {
      status: 304,
      headers: { etag: `"${o.etag}"`, 'last-modified': httpDate(o.lastModified) },
    }
  }
  const headers = objectResponseHeaders(o)
  applyResponseOverrides(headers, req.query, req.principal.kind === 'anonymous')
  const expiration = env.expiration?.(o.bucket, o)
  if (expiration instanceof Promise)
    return expiration.then((e) => {
      Object.assign(headers, e)
      return serveBody(req, env, head, o, partNumber, headers)
    })
  if (expiration !== undefined) Object.assign(headers, expiration)
  return serveBody(req, env, head, o, partNumber, headers)
}

/** The span asked for (partNumber or Range), its headers, and the body. */
function serveBody(
  req: S3Request,
  env: S3Env,
  head: boolean,
  o: ObjectRecord,
  partNumber: number | undefined,
  headers: Record<string, string>,
): S3Response | Promise<S3Response> {
  let span: { start: number; end: number } | undefined
  if (partNumber !== undefined) {
    span = partSpan(o, partNumber)
    if (o.partSizes !== undefined) headers['x-amz-mp-parts-count'] = String(o.partSizes.length)
  } else {
    const rangeHeader = req.header('range')
    const r = parseRange(rangeHeader, o.size)
    if (r.kind === 'unsatisfiable') throw invalidRange(rangeHeader ?? '', o.size)
    if (r.kind === 'partial') span = { start: r.start, end: r.end }
  }

  if (span === undefined && (req.header('x-amz-checksum-mode') ?? '').toUpperCase() === 'ENABLED') {
    Object.assign(headers, checksumResponseHeaders(o.checksum))
  }
  let status = 200
  if (span !== undefined) {
    status = 206
    // An empty part of an empty object: nothing to select, answer the (empty) whole.
    if (span.end < span.start) {
      headers['content-length'] = '0'
      return head ? { status, headers } : { status, headers, body: Buffer.alloc(0) }
    }
    headers['content-range'] = `bytes ${span.start}-${span.end}/${o.size}`
    headers['content-length'] = String(span.end - span.start + 1)
  } else {
    headers['content-length'] = String(o.size)
  }
  if (head) return { status, headers }
  // Small objects live inline: answer them as one buffer, so headers and body leave in a single
  // write instead of going through a stream pipeline (the 4 KiB GET hot path).
  if (o.body.kind === 'inline') {
    const b = o.body.bytes
    return { status, headers, body: span === undefined ? b : b.subarray(span.start, span.end + 1) }
  }
  const body = readBody(o.body, env.blobs, span)
  // A blob fails at its first read (an upstream S3 that is away, a file that is gone): wait for
  // that before the status line goes out, so the client gets a 503 or 500 it can act on, never a
  // 200 cut short. The wait is one read the response needs anyway. A body the record names but the
  // store does not have is damage, not a missing key: 500, and the log says which.
  return firstBytes(body).then(
    () => ({ status, headers, body }),
    (e: unknown) => {
      if (e instanceof StorageError && e.kind === 'not-found')
        throw new Error(`the body of ${o.bucket}/${o.key} is missing from the blob store`, {
          cause: e,
        })
      throw e
    },
  )
}

/**
 * Resolves once `s` has data buffered (or has ended); rejects with its error. Nothing is consumed:
 * the 'readable' listener is removed again and the caller pipes the stream as usual.
 */
export function firstBytes(s: Readable): Promise<void> {
  return new Promise((resolve, reject) => {
    const done = (err?: Error): void => {
      s.off('readable', onReadable)
      s.off('error', done)
      s.off('end', onReadable)
      if (err !== undefined) {
        s.destroy()
        reject(err)
      } else resolve()
    }
    const onReadable = (): void => done()
    s.on('readable', onReadable)
    s.on('error', done)
    s.on('end', onReadable)
  })
}
