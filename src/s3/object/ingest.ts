/**
 * Taking a body in (PutObject, UploadPart) or copying one (CopyObject, UploadPartCopy): the bytes
 * stream through BodyDigests (MD5 for the ETag, plus the flexible checksum the client chose) into
 * writeBody, never buffered beyond writeBody's inline limit. Content-MD5 and x-amz-checksum-*
 * (from a header, or from the aws-chunked trailer once the body has ended) are verified after
 * the write; on any mismatch the written blob is discarded (storage/commit.ts) before the error
 * goes out, so nothing of a rejected upload remains. These are the `write` steps of the writers'
 * `commitWrite`.
 * @module
 */
import type { Readable } from 'node:stream'
import { BodyDigests, CHECKSUM_ALGORITHMS, checksumHeaderName } from '../integrity/checksum.js'
import { expectedDigests, verifyBodyDigests } from '../integrity/verify-body.js'
import { discardUncommitted, type CommitIo } from '../../storage/commit.js'
import { writeBody } from '../../storage/object-bodies.js'
import { pipeInto } from '../../lib/streams.js'
import type { BodyRef, ChecksumAlgorithm, StoredChecksum } from '../../storage/metadata-store.js'
import { S3Error } from '../errors.js'
import type { S3Env, S3Request } from '../operation.js'
import { CapGate, type UploadCharge } from './upload-caps.js'

export { CHECKSUM_ALGORITHMS, checksumHeaderName }

/** `ChecksumCRC32` for CRC32, etc. (XML element names). */
export function checksumElementName(alg: ChecksumAlgorithm): string {
  return `Checksum${alg}`
}

/** The x-amz-checksum-algorithm a request names; an unknown name is InvalidRequest. */
export function requireChecksumAlgorithm(value: string | undefined): ChecksumAlgorithm | undefined {
  if (value === undefined) return undefined
  const up = value.trim().toUpperCase()
  const alg = CHECKSUM_ALGORITHMS.find((a) => a === up)
  if (alg === undefined) {
    throw new S3Error(
      'InvalidRequest',
      'Checksum algorithm provided is unsupported. Please try again with any of the valid types: [CRC32, CRC32C, CRC64NVME, SHA1, SHA256]',
    )
  }
  return alg
}

/** Response headers announcing a stored checksum. */
export function checksumResponseHeaders(
  c: StoredChecksum | undefined,
  withType = true,
): Record<string, string> {
  if (c === undefined) return {}
  const h: Record<string, string> = { [checksumHeaderName(c.algorithm)]: c.value }
  if (withType) h['x-amz-checksum-type'] = c.type
  return h
}

export interface Written {
  readonly body: BodyRef
  readonly size: number
  readonly md5Hex: string
  /** base64 checksum of the algorithm asked for, if any. */
  readonly checksumB64?: string
}

/** The storage side of a request, for storage/commit.ts (stamped with the request's time). */
export function commitIo(req: S3Request, env: S3Env): CommitIo {
  return { blobs: env.blobs, ledger: env.ledger, log: req.ctx.log, now: req.ctx.clock.now() }
}

/** Stream `source` through digests into storage. The caller owns discarding `body` on later failure. */
export async function digestAndWrite(
  source: Readable,
  io: CommitIo,
  env: S3Env,
  opts: {
    readonly algorithm?: ChecksumAlgorithm | undefined
    readonly maxSize: number
    readonly knownLength?: number | undefined
  },
): Promise<Written> {
  const digests = pipeInto(source, new BodyDigests(opts.algorithm), (e) =>
    e instanceof Error ? e : new S3Error('IncompleteBody'),
  )
  const w = await writeBody(digests, {
    blobs: io.blobs,
    ledger: io.ledger,
    now: io.now,
    inlineMax: env.limits.inlineMax,
    maxSize: opts.maxSize,
    ...(opts.knownLength === undefined ? {} : { knownLength: opts.knownLength }),
  })
  const sum = opts.algorithm === undefined ? undefined : digests.checksumBase64()
  return sum === undefined
    ? { body: w.body, size: w.size, md5Hex: digests.md5Hex() }
    : { body: w.body, size: w.size, md5Hex: digests.md5Hex(), checksumB64: sum }
}

/** Transport checks every upload needs before reading: a known length, within `maxSize`. */
export function checkUploadLength(req: S3Request, maxSize: number): void {
  if (req.contentLength === undefined) {
    const te = req.header('transfer-encoding')
    const chunked = (req.header('content-encoding') ?? '').toLowerCase().includes('aws-chunked')
    if (te === undefined && !chunked) throw new S3Error('MissingContentLength')
  } else if (req.contentLength > maxSize) {
    throw new S3Error('EntityTooLarge', undefined, {
      ProposedSize: String(req.contentLength),
      MaxSizeAllowed: String(maxSize),
    })
  }
}

export interface Ingested extends Written {
  readonly checksum?: StoredChecksum
}

/**
 * Ingest the request body with full verification. `defaultAlgorithm` is computed when the
 * request names none (UploadPart of an upload created with a checksum algorithm);
 * `requiredAlgorithm`, when set, is the only algorithm the request may name.
 */
export async function ingestRequestBody(
  req: S3Request,
  io: CommitIo,
  env: S3Env,
  opts: {
    readonly maxSize: number
    readonly defaultAlgorithm?: ChecksumAlgorithm | undefined
    readonly requiredAlgorithm?: ChecksumAlgorithm | undefined
    /**
     * The session's upload-cap charge (object/upload-caps.ts): a body of unknown length reserves
     * its bytes as it streams, and is cut when the cap refuses.
     */
    readonly charge?: UploadCharge | undefined
  },
): Promise<Ingested> {
  checkUploadLength(req, opts.maxSize)
  const digests = expectedDigests(req)
  const expected = digests.checksum
  if (
    expected !== undefined &&
    opts.requiredAlgorithm !== undefined &&
    expected.algorithm !== opts.requiredAlgorithm
  ) {
    throw new S3Error(
      'InvalidRequest',
      `Checksum Type mismatch occurred, expected checksum Type: ${opts.requiredAlgorithm.toLowerCase()}, actual checksum Type: ${expected.algorithm.toLowerCase()}`,
    )
  }
  const algorithm = expected?.algorithm ?? opts.defaultAlgorithm
  const charge = opts.charge
  const source =
    charge !== undefined && charge.countsBytes && req.contentLength === undefined
      ? pipeInto(req.body, new CapGate(charge), (e) =>
          e instanceof Error ? e : new S3Error('IncompleteBody'),
        )
      : req.body
  const w = await digestAndWrite(source, io, env, {
    algorithm,
    maxSize: opts.maxSize,
    knownLength: req.contentLength,
  })
  try {
    if (req.contentLength !== undefined && w.size !== req.contentLength)
      throw new S3Error('IncompleteBody')
    verifyBodyDigests(req, digests, w)
  } catch (e) {
    await discardUncommitted(io, w.body)
    throw e
  }
  if (algorithm === undefined || w.checksumB64 === undefined) return w
  return Object.assign({}, w, {
    checksum: { algorithm, value: w.checksumB64, type: 'FULL_OBJECT' as const },
  })
}
