/**
 * The one check of a request body against the digests the request announced: Content-MD5 and
 * x-amz-checksum-* (from a header, or from the aws-chunked trailer once the body has ended).
 * Uploads (object/ingest.ts) compute the digests while streaming into storage; small bodies
 * (bucket policy, CORS, tagging, ACL, DeleteObjects) are buffered and digested here. Either way
 * the headers are read before the body, so a malformed header is refused before a byte is read,
 * and the comparison happens once the digests are known.
 * @module
 */
import { createHash } from 'node:crypto'
import { readBounded } from '../../http/read-bounded.js'
import type { ChecksumAlgorithm } from '../../storage/metadata-store.js'
import { S3Error } from '../errors.js'
import type { S3Request } from '../operation.js'
import {
  checksumHeaderName,
  createChecksummer,
  expectedChecksum,
  verifyContentMd5,
  type ExpectedChecksum,
} from './checksum.js'

/** What the request says its body must digest to. */
export interface ExpectedDigests {
  /** The decoded Content-MD5 header (16 bytes). */
  readonly contentMd5?: Buffer | undefined
  readonly checksum?: ExpectedChecksum | undefined
}

/** What the body did digest to. */
export interface ComputedDigests {
  readonly md5Hex: string
  /** base64 of the announced checksum algorithm; undefined when none was computed. */
  readonly checksumB64?: string | undefined
}

/** Read the digest headers; InvalidDigest / InvalidRequest for malformed ones. */
export function expectedDigests(req: S3Request): ExpectedDigests {
  return {
    contentMd5: verifyContentMd5(req.header('content-md5')),
    checksum: expectedChecksum(req.raw.headers),
  }
}

/** AWS's httpChecksum.requestChecksumRequired: InvalidRequest with `message` when neither came. */
export function requireSomeDigest(expected: ExpectedDigests, message: string): void {
  if (expected.contentMd5 === undefined && expected.checksum === undefined)
    throw new S3Error('InvalidRequest', message)
}

/**
 * Compare: Content-MD5 first, then the checksum (a trailer that was declared but never sent is
 * InvalidRequest). A Content-MD5 mismatch is `md5Mismatch(expectedHex, calculatedHex)`, by
 * default BadDigest with both digests as AWS reports them for uploads.
 */
export function verifyBodyDigests(
  req: S3Request,
  expected: ExpectedDigests,
  computed: ComputedDigests,
  md5Mismatch: (expectedHex: string, calculatedHex: string) => S3Error = md5MismatchWithDigests,
): void {
  const md5 = expected.contentMd5
  if (md5 !== undefined && md5.toString('hex') !== computed.md5Hex)
    throw md5Mismatch(md5.toString('hex'), computed.md5Hex)
  const c = expected.checksum
  if (c === undefined) return
  // Header values and trailer values both arrive trimmed (checksum.ts, sigv4/chunked.ts).
  const given = c.fromTrailer ? req.trailers.get(checksumHeaderName(c.algorithm)) : c.value
  if (given === undefined) {
    throw new S3Error(
      'InvalidRequest',
      `The trailer ${checksumHeaderName(c.algorithm)} declared in x-amz-trailer was not sent.`,
    )
  }
  if (given !== computed.checksumB64) {
    throw new S3Error(
      'BadDigest',
      `The ${c.algorithm} you specified did not match the calculated checksum.`,
    )
  }
}

function md5MismatchWithDigests(expectedHex: string, calculatedHex: string): S3Error {
  return new S3Error('BadDigest', 'The Content-MD5 you specified did not match what we received.', {
    ExpectedDigest: expectedHex,
    CalculatedDigest: calculatedHex,
  })
}

/** MD5 and (when asked) one checksum of a buffered body. */
export function digestBuffer(
  data: Buffer,
  algorithm: ChecksumAlgorithm | undefined,
): ComputedDigests {
  const md5Hex = createHash('md5').update(data).digest('hex')
  if (algorithm === undefined) return { md5Hex }
  const c = createChecksummer(algorithm)
  c.update(data)
  return { md5Hex, checksumB64: c.digest().toString('base64') }
}

export interface SmallBodyOptions {
  readonly maxBytes: number
  /** AWS's httpChecksum.requestChecksumRequired: Content-MD5 or x-amz-checksum-* must be sent. */
  readonly requireChecksum: boolean
  /** Error for an oversize body (default MaxMessageLengthExceeded). */
  readonly tooLarge?: () => S3Error
}

/**
 * Small configuration bodies (bucket policy, CORS, tagging, ACL): read with a size cap and
 * verify Content-MD5 and x-amz-checksum-* before anything is stored. AWS requires one of them on
 * PutBucketCors/PutBucketTagging; we enforce the same so a client that works here works there.
 * Bodies are a few KB, so digesting the buffer is fine. Returns the body as UTF-8 text.
 */
export async function readVerifiedBody(req: S3Request, opts: SmallBodyOptions): Promise<string> {
  const expected = expectedDigests(req)
  if (opts.requireChecksum)
    requireSomeDigest(
      expected,
      'Missing required header for this request: Content-MD5 or x-amz-checksum-*',
    )
  const read = await readBounded(req.body, opts.maxBytes)
  if (!read.ok) throw opts.tooLarge?.() ?? new S3Error('MaxMessageLengthExceeded')
  const data = read.bytes
  verifyBodyDigests(
    req,
    expected,
    digestBuffer(data, expected.checksum?.algorithm),
    () => new S3Error('BadDigest'),
  )
  return data.toString('utf8')
}
