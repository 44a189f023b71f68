/**
 * Request body decoding by x-amz-content-sha256 mode, as streams (bodies are never buffered):
 * - none / UNSIGNED-PAYLOAD: the body as sent; ending short of Content-Length → IncompleteBody.
 * - a sha256 in hex: pass-through hashing (native crypto); a mismatch at the end →
 *   XAmzContentSHA256Mismatch, emitted as a stream error before 'end'.
 * - STREAMING-*: the aws-chunked decoder (chunk signatures, trailer, decoded length).
 * - STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD* (SigV4a): NotImplemented.
 * Header-level problems throw synchronously; body-level problems destroy the returned stream.
 * @module
 */
import { createHash, type Hash } from 'node:crypto'
import type { Readable, TransformCallback } from 'node:stream'
import { BodyTransform, pipeInto } from '../../lib/streams.js'
import type { RawRequest } from '../../http/raw-request.js'
import { AuthError } from '../errors.js'
import { AwsChunkedDecoder, type ChunkedMode } from './chunked.js'
import {
  STREAMING_ECDSA,
  STREAMING_ECDSA_TRAILER,
  STREAMING_SIGNED,
  STREAMING_SIGNED_TRAILER,
  STREAMING_UNSIGNED_TRAILER,
  UNSIGNED_PAYLOAD,
  type SignatureInput,
} from './parse.js'
import { EMPTY_SHA256 } from './string-to-sign.js'

export interface DecodedPayload {
  /** Decoded bytes. */
  readonly body: Readable
  /** Decoded length when known. */
  readonly contentLength?: number
  /** Filled when an aws-chunked body ends. */
  readonly trailers: Map<string, string>
}

const CHUNKED_MODES: Readonly<Record<string, ChunkedMode>> = {
  [STREAMING_SIGNED]: 'signed',
  [STREAMING_SIGNED_TRAILER]: 'signed-trailer',
  [STREAMING_UNSIGNED_TRAILER]: 'unsigned-trailer',
}

/** Parses a non-negative decimal length header; undefined when absent, InvalidArgument when bad. */
export function parseLength(value: string | undefined, name: string): number | undefined {
  if (value === undefined) return undefined
  const v = value.trim()
  if (!/^\d{1,16}$/.test(v)) {
    throw new AuthError('invalid-argument', `${name} must be a non-negative integer.`, {
      ArgumentName: name,
      ArgumentValue: value.slice(0, 64),
    })
  }
  return Number(v)
}

/** Counts bytes and, optionally, hashes them; checks both at the end. */
class VerifyingPassThrough extends BodyTransform {
  private readonly expectedLength: number | undefined
  private readonly expectedSha256: string | undefined
  private readonly hash: Hash | undefined
  private seen = 0

  constructor(expectedLength: number | undefined, expectedSha256: string | undefined) {
    super()
    this.expectedLength = expectedLength
    this.expectedSha256 = expectedSha256?.toLowerCase()
    this.hash = expectedSha256 === undefined ? undefined : createHash('sha256')
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.seen += chunk.length
    if (this.expectedLength !== undefined && this.seen > this.expectedLength) {
      cb(new AuthError('incomplete-body', 'The body is longer than Content-Length.'))
      return
    }
    this.hash?.update(chunk)
    cb(null, chunk)
  }

  override _flush(cb: TransformCallback): void {
    if (this.expectedLength !== undefined && this.seen !== this.expectedLength) {
      cb(new AuthError('incomplete-body'))
      return
    }
    if (this.hash !== undefined && this.expectedSha256 !== undefined) {
      const computed = this.hash.digest('hex')
      if (computed !== this.expectedSha256) {
        cb(
          new AuthError('payload-hash-mismatch', undefined, {
            ClientComputedContentSHA256: this.expectedSha256,
            S3ComputedContentSHA256: computed,
          }),
        )
        return
      }
    }
    cb()
  }
}

/** Pipe the request body into `t`, turning an upstream failure (client abort) into IncompleteBody. */
function feed<T extends BodyTransform>(source: Readable, t: T): T {
  return pipeInto(source, t, (err) =>
    err instanceof AuthError ? err : new AuthError('incomplete-body'),
  )
}

export function decodePayload(
  raw: RawRequest,
  input: SignatureInput | undefined,
  signingKey: Buffer | undefined,
  opts: { maxChunkSize?: number } = {},
): DecodedPayload {
  const trailers = new Map<string, string>()
  const mode =
    input === undefined || input.payloadHash === '' ? UNSIGNED_PAYLOAD : input.payloadHash

  if (mode === STREAMING_ECDSA || mode === STREAMING_ECDSA_TRAILER) {
    throw new AuthError(
      'not-implemented',
      'SigV4a (AWS4-ECDSA-P256-SHA256) streaming payloads are not supported.',
    )
  }

  const chunkedMode = CHUNKED_MODES[mode]
  if (chunkedMode !== undefined) {
    const decodedLength = parseLength(
      raw.headers['x-amz-decoded-content-length'],
      'x-amz-decoded-content-length',
    )
    if (decodedLength === undefined) {
      throw new AuthError(
        'length-missing',
        'Missing required header for this request: x-amz-decoded-content-length',
      )
    }
    const signed = chunkedMode !== 'unsigned-trailer'
    if (signed && (input === undefined || signingKey === undefined)) {
      throw new AuthError('internal', 'signed aws-chunked body without a signing key')
    }
    const decoder = new AwsChunkedDecoder({
      mode: chunkedMode,
      decodedLength,
      trailers,
      ...(opts.maxChunkSize !== undefined ? { maxChunkSize: opts.maxChunkSize } : {}),
      ...(signed && input !== undefined && signingKey !== undefined
        ? {
            signing: {
              key: signingKey,
              amzDate: input.amzDate,
              scope: input.scope,
              seedSignature: input.signature,
            },
          }
        : {}),
    })
    return { body: feed(raw.body, decoder), contentLength: decodedLength, trailers }
  }

  const contentLength = parseLength(raw.headers['content-length'], 'Content-Length')
  const withLength = contentLength !== undefined ? { contentLength } : {}
  // No body at all (Content-Length 0, or a GET/HEAD without a length): nothing to stream through
  // a verifier, only the declared hash to check. This is the hot path of every small read.
  const bodyless =
    contentLength === 0 ||
    (contentLength === undefined &&
      raw.headers['transfer-encoding'] === undefined &&
      (raw.method === 'GET' || raw.method === 'HEAD'))
  if (bodyless) {
    if (mode !== UNSIGNED_PAYLOAD && mode.toLowerCase() !== EMPTY_SHA256) {
      throw new AuthError('payload-hash-mismatch', undefined, {
        ClientComputedContentSHA256: mode,
        S3ComputedContentSHA256: EMPTY_SHA256,
      })
    }
    return { body: raw.body, ...withLength, trailers }
  }
  if (mode === UNSIGNED_PAYLOAD) {
    if (contentLength === undefined) return { body: raw.body, trailers }
    return {
      body: feed(raw.body, new VerifyingPassThrough(contentLength, undefined)),
      ...withLength,
      trailers,
    }
  }

  // A hex sha256 (parse.ts validated the form).
  return {
    body: feed(raw.body, new VerifyingPassThrough(contentLength, mode)),
    ...withLength,
    trailers,
  }
}
