/**
 * HTTP Range for GetObject/HeadObject and x-amz-copy-source-range for UploadPartCopy.
 * S3 follows RFC 7233 for a single byte range, and ignores what it does not support instead of
 * failing: a malformed header, another unit, or several ranges give the whole object (200).
 * Only a well-formed range that selects no byte is an error (InvalidRange, 416).
 * @module
 */
import { S3Error } from '../errors.js'

export type RangeResult =
  | { readonly kind: 'full' }
  | { readonly kind: 'partial'; readonly start: number; readonly end: number }
  | { readonly kind: 'unsatisfiable' }

const SINGLE = /^bytes=(\d*)-(\d*)$/

/** Interpret a Range header against an object of `size` bytes. */
export function parseRange(header: string | undefined, size: number): RangeResult {
  if (header === undefined) return { kind: 'full' }
  const m = SINGLE.exec(header.trim())
  if (m === null) return { kind: 'full' } // other unit, several ranges, junk: ignored like S3
  const a = m[1] ?? ''
  const b = m[2] ?? ''
  if (a === '' && b === '') return { kind: 'full' }
  if (a === '') {
    // suffix range: the last n bytes
    const n = Number(b)
    if (!Number.isSafeInteger(n)) return { kind: 'full' }
    if (n === 0 || size === 0) return { kind: 'unsatisfiable' }
    return { kind: 'partial', start: Math.max(0, size - n), end: size - 1 }
  }
  const start = Number(a)
  if (!Number.isSafeInteger(start)) return { kind: 'full' }
  if (b === '') {
    if (start >= size) return { kind: 'unsatisfiable' }
    return { kind: 'partial', start, end: size - 1 }
  }
  const last = Number(b)
  if (!Number.isSafeInteger(last) || last < start) return { kind: 'full' } // syntactically invalid → ignored
  if (start >= size) return { kind: 'unsatisfiable' }
  return { kind: 'partial', start, end: Math.min(last, size - 1) }
}

/** The InvalidRange error S3 sends, with the Content-Range header telling the real size. */
export function invalidRange(header: string, size: number): S3Error {
  return new S3Error(
    'InvalidRange',
    undefined,
    { RangeRequested: header, ActualObjectSize: String(size) },
    { 'content-range': `bytes */${size}` },
  )
}

/**
 * x-amz-copy-source-range: only `bytes=first-last` (both present, first ≤ last) is accepted;
 * anything else is InvalidArgument, a range past the end of the source InvalidRange.
 */
export function parseCopySourceRange(
  header: string | undefined,
  size: number,
): { readonly start: number; readonly end: number } | undefined {
  if (header === undefined) return undefined
  const m = /^bytes=(\d+)-(\d+)$/.exec(header.trim())
  const start = m === null ? NaN : Number(m[1])
  const end = m === null ? NaN : Number(m[2])
  if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end) || start > end) {
    throw new S3Error(
      'InvalidArgument',
      'The x-amz-copy-source-range value must be of the form bytes=first-last where first and last are the zero-based offsets of the first and last bytes to copy',
      { ArgumentName: 'x-amz-copy-source-range', ArgumentValue: header },
    )
  }
  if (end >= size) {
    throw new S3Error(
      'InvalidRange',
      `Range specified is not valid for source object of size: ${size}`,
      {
        RangeRequested: header,
        ActualObjectSize: String(size),
      },
    )
  }
  return { start, end }
}
