/**
 * Small configuration bodies (bucket policy, CORS, tagging, ACL): read with a size cap and
 * verify Content-MD5 and x-amz-checksum-* (header or aws-chunked trailer) before anything is
 * stored. AWS requires one of them on PutBucketCors/PutBucketTagging; we enforce the same so a
 * client that works here works there. Bodies are a few KB, so digesting the buffer is fine.
 * Header rules and digests come from s3/integrity/checksum.ts (one implementation for the server).
 * @module
 */
import { createHash } from 'node:crypto'
import {
  checksumHeaderName,
  createChecksummer,
  expectedChecksum,
  verifyContentMd5,
} from '../integrity/checksum.js'
import { readBounded } from '../../http/read-bounded.js'
import { S3Error } from '../errors.js'
import type { S3Request } from '../operation.js'

export interface ReadOptions {
  readonly maxBytes: number
  /** AWS's httpChecksum.requestChecksumRequired: Content-MD5 or x-amz-checksum-* must be sent. */
  readonly requireChecksum: boolean
  /** Error for an oversize body (default MaxMessageLengthExceeded). */
  readonly tooLarge?: () => S3Error
}

/** Read and verify a small body; returns it as UTF-8 text. */
export async function readVerifiedBody(req: S3Request, opts: ReadOptions): Promise<string> {
  const md5 = verifyContentMd5(req.header('content-md5'))
  const expected = expectedChecksum(req.raw.headers)
  if (opts.requireChecksum && md5 === undefined && expected === undefined)
    throw new S3Error(
      'InvalidRequest',
      'Missing required header for this request: Content-MD5 or x-amz-checksum-*',
    )
  const read = await readBounded(req.body, opts.maxBytes)
  if (!read.ok) throw opts.tooLarge?.() ?? new S3Error('MaxMessageLengthExceeded')
  const data = read.bytes
  if (md5 !== undefined && !createHash('md5').update(data).digest().equals(md5))
    throw new S3Error('BadDigest')
  if (expected !== undefined) {
    const name = checksumHeaderName(expected.algorithm)
    const given = expected.fromTrailer ? req.trailers.get(name) : expected.value
    if (given === undefined)
      throw new S3Error(
        'InvalidRequest',
        `The trailer ${name} declared in x-amz-trailer was not sent.`,
      )
    const c = createChecksummer(expected.algorithm)
    c.update(data)
    if (c.digest().toString('base64') !== given.trim())
      throw new S3Error(
        'BadDigest',
        `The ${expected.algorithm} you specified did not match the calculated checksum.`,
      )
  }
  return data.toString('utf8')
}
