/**
 * Conditional requests (RFC 7232 §6 evaluation order, as S3 documents it for GetObject and
 * CopyObject): If-Match, then If-Unmodified-Since (only when If-Match is absent), then
 * If-None-Match, then If-Modified-Since (only when If-None-Match is absent). Dates compare at
 * whole-second precision because HTTP dates carry no milliseconds; unparsable dates are ignored.
 * @module
 */
import { StorageError } from '../../storage/errors.js'
import { preconditionFailure, type WriteConditions } from '../../storage/metadata-store.js'
import { S3Error } from '../errors.js'

export interface Conditions {
  readonly ifMatch?: string | undefined
  readonly ifNoneMatch?: string | undefined
  readonly ifModifiedSince?: string | undefined
  readonly ifUnmodifiedSince?: string | undefined
}

export type ConditionOutcome = 'ok' | 'not-modified' | 'precondition-failed'

/** Strip weak prefix and quotes: `W/"abc"` → `abc`. */
export function normalizeEtag(tag: string): string {
  let t = tag.trim()
  if (t.startsWith('W/')) t = t.slice(2)
  if (t.length >= 2 && t.startsWith('"') && t.endsWith('"')) t = t.slice(1, -1)
  return t
}

/** Does an If-Match / If-None-Match list (`"a", "b"` or `*`) name this ETag? */
export function etagListMatches(list: string, etag: string): boolean {
  const want = normalizeEtag(etag)
  return list.split(',').some((item) => {
    const t = item.trim()
    return t === '*' || (t !== '' && normalizeEtag(t) === want)
  })
}

function parseHttpDate(s: string | undefined): number | undefined {
  if (s === undefined || s.trim() === '') return undefined
  const ms = Date.parse(s)
  return Number.isNaN(ms) ? undefined : ms
}

/** Evaluate the four conditions against an object's ETag and Last-Modified (ms). */
export function evaluateConditions(
  c: Conditions,
  etag: string,
  lastModifiedMs: number,
): ConditionOutcome {
  const lm = Math.floor(lastModifiedMs / 1000) * 1000
  if (c.ifMatch !== undefined) {
    if (!etagListMatches(c.ifMatch, etag)) return 'precondition-failed'
  } else {
    const since = parseHttpDate(c.ifUnmodifiedSince)
    if (since !== undefined && lm > since) return 'precondition-failed'
  }
  if (c.ifNoneMatch !== undefined) {
    if (etagListMatches(c.ifNoneMatch, etag)) return 'not-modified'
  } else {
    const since = parseHttpDate(c.ifModifiedSince)
    if (since !== undefined && lm <= since) return 'not-modified'
  }
  return 'ok'
}

/** The GET/HEAD conditions from request headers. */
export function requestConditions(header: (name: string) => string | undefined): Conditions {
  return {
    ifMatch: header('if-match'),
    ifNoneMatch: header('if-none-match'),
    ifModifiedSince: header('if-modified-since'),
    ifUnmodifiedSince: header('if-unmodified-since'),
  }
}

/** The x-amz-copy-source-if-* conditions (CopyObject, UploadPartCopy). */
export function copySourceConditions(header: (name: string) => string | undefined): Conditions {
  return {
    ifMatch: header('x-amz-copy-source-if-match'),
    ifNoneMatch: header('x-amz-copy-source-if-none-match'),
    ifModifiedSince: header('x-amz-copy-source-if-modified-since'),
    ifUnmodifiedSince: header('x-amz-copy-source-if-unmodified-since'),
  }
}

/** For copies every failed condition is 412 PreconditionFailed (S3 never answers 304 there). */
export function checkCopySourceConditions(
  header: (name: string) => string | undefined,
  etag: string,
  lastModifiedMs: number,
): void {
  const c = copySourceConditions(header)
  if (evaluateConditions(c, etag, lastModifiedMs) !== 'ok') {
    throw new S3Error('PreconditionFailed', undefined, {
      Condition: failedCopyCondition(c, etag, lastModifiedMs),
    })
  }
}

function failedCopyCondition(c: Conditions, etag: string, lm: number): string {
  if (c.ifMatch !== undefined && !etagListMatches(c.ifMatch, etag))
    return 'x-amz-copy-source-If-Match'
  if (c.ifNoneMatch !== undefined && etagListMatches(c.ifNoneMatch, etag))
    return 'x-amz-copy-source-If-None-Match'
  const since = parseHttpDate(c.ifUnmodifiedSince)
  if (c.ifMatch === undefined && since !== undefined && Math.floor(lm / 1000) * 1000 > since)
    return 'x-amz-copy-source-If-Unmodified-Since'
  return 'x-amz-copy-source-If-Modified-Since'
}

/** Name of the GET/HEAD condition that failed with 412, for <Condition>. */
export function failedRequestCondition(c: Conditions): string {
  return c.ifMatch !== undefined ? 'If-Match' : 'If-Unmodified-Since'
}

/**
 * Conditional writes (PutObject, CopyObject's destination, CompleteMultipartUpload), as AWS has
 * them since 2024: `If-None-Match: *` fails with 412 when the key exists; `If-Match: <etag>`
 * (quoted or not, a list, or `*`) needs the current object to have that ETag (404 NoSuchKey when
 * there is none, as AWS answers). Other If-None-Match values are not supported by S3 either
 * (NotImplemented, thrown here before anything is read). The store decides the conditions in the
 * same transaction as the write (`putObject(o, conditions)`), so of racing conditional writers,
 * on one node or several, exactly one wins; undefined when the request carries none.
 */
export function writeConditions(
  header: (name: string) => string | undefined,
): WriteConditions | undefined {
  const inm = header('if-none-match')
  const im = header('if-match')
  if (inm === undefined && im === undefined) return undefined
  if (inm !== undefined && inm.trim() !== '*')
    throw new S3Error('NotImplemented', 'If-None-Match on writes supports only *.', {
      Header: 'If-None-Match',
    })
  return Object.assign(
    inm !== undefined ? { ifNoneMatch: '*' as const } : {},
    im !== undefined ? { ifMatch: etagList(im) } : {},
  )
}

/** An If-Match list (`"a", W/"b"` or `*`) as the bare ETags the store compares (see etagListMatches). */
function etagList(list: string): string[] {
  return list
    .split(',')
    .map((item) => item.trim())
    .filter((t) => t !== '')
    .map((t) => (t === '*' ? '*' : normalizeEtag(t)))
}

/**
 * The store's refusal of a conditional write as the S3 error clients get. `raced`: the same
 * conditions held against the object read before the body was uploaded, so another writer
 * committed (or deleted) the key meanwhile, which AWS answers with 409 ConditionalRequestConflict
 * ("retry"); else 404 NoSuchKey for If-Match on a missing key and 412 PreconditionFailed naming
 * the condition. Anything else is returned unchanged.
 */
export function writeConditionError(err: unknown, key: string, raced = false): unknown {
  if (!(err instanceof StorageError) || err.kind !== 'precondition') return err
  if (raced) return new S3Error('ConditionalRequestConflict', undefined, { Key: key })
  const condition = err.detail['condition'] ?? 'If-Match'
  if (condition === 'If-Match' && err.detail['current'] === 'absent')
    return new S3Error('NoSuchKey', undefined, { Key: key })
  return new S3Error('PreconditionFailed', undefined, { Condition: condition })
}

/**
 * The same decision against an object read earlier: a fast refusal before a body is uploaded
 * (the store's decision at commit is the one that counts). Returns the conditions for the store.
 */
export function checkWriteConditions(
  header: (name: string) => string | undefined,
  current: { readonly etag: string } | undefined,
  key: string,
): WriteConditions | undefined {
  const c = writeConditions(header)
  if (c === undefined) return undefined
  const failed = preconditionFailure(c, current?.etag)
  if (failed !== undefined) throw writeConditionError(failed, key)
  return c
}

/** True when a write request carries conditions (so the current object must be looked up). */
export function hasWriteConditions(header: (name: string) => string | undefined): boolean {
  return header('if-none-match') !== undefined || header('if-match') !== undefined
}
