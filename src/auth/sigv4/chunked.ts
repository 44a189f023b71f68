/**
 * aws-chunked body decoder (https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-streaming.html,
 * sigv4-streaming-trailers.html). A byte-level state machine in a Transform, so it is indifferent
 * to where the incoming buffers are split, holds at most one header/trailer line (never a chunk),
 * and passes chunk data downstream as it arrives. A chunk's signature is checked when the chunk
 * ends; any failure destroys the stream with an AuthError, so the consumer sees an error instead of
 * 'end' and must discard what it wrote (the same contract as the x-amz-content-sha256 check).
 *
 * Wire format:
 *   signed:   hex(size);chunk-signature=<sig>\r\n<data>\r\n ... 0;chunk-signature=<sig>\r\n
 *             then \r\n (no trailer) or trailer lines + x-amz-trailer-signature:<sig>\r\n\r\n
 *   unsigned: hex(size)\r\n<data>\r\n ... 0\r\n trailer lines \r\n
 * @module
 */
import { createHash, type Hash } from 'node:crypto'
import type { TransformCallback } from 'node:stream'
import { BodyTransform } from '../../lib/streams.js'
import { AuthError } from '../errors.js'
import {
  chunkStringToSign,
  EMPTY_SHA256,
  hmacSha256,
  sha256Hex,
  trailerStringToSign,
  type Scope,
} from './string-to-sign.js'
import { signatureEquals } from './verify.js'

export const DEFAULT_MAX_CHUNK_SIZE = 16 * 1024 * 1024
const MAX_LINE = 4096
const MAX_TRAILER_BYTES = 16 * 1024

export type ChunkedMode = 'signed' | 'signed-trailer' | 'unsigned-trailer'

export interface ChunkSigning {
  readonly key: Buffer
  readonly amzDate: string
  readonly scope: Scope
  /** The request's own signature: the chain's seed. */
  readonly seedSignature: string
}

export interface ChunkedDecoderOptions {
  readonly mode: ChunkedMode
  /** x-amz-decoded-content-length */
  readonly decodedLength: number
  readonly maxChunkSize?: number
  /** Required for the signed modes. */
  readonly signing?: ChunkSigning
  /** Filled with the trailer (lower-case names) when the body ends. */
  readonly trailers?: Map<string, string>
}

type State = 'header' | 'data' | 'data-crlf' | 'final-crlf' | 'trailer' | 'done'

const SIGNED_HEADER_RE = /^([0-9a-fA-F]{1,8});chunk-signature=([0-9a-f]{64})$/
const UNSIGNED_HEADER_RE = /^([0-9a-fA-F]{1,8})(?:;.*)?$/

function malformed(what: string): AuthError {
  return new AuthError('chunk-malformed', `Malformed aws-chunked body: ${what}.`)
}

export class AwsChunkedDecoder extends BodyTransform {
  readonly trailers: Map<string, string>
  private readonly mode: ChunkedMode
  private readonly decodedLength: number
  private readonly maxChunkSize: number
  private readonly signing: ChunkSigning | undefined
  private state: State = 'header'
  private line: Buffer[] = []
  private lineLength = 0
  private remaining = 0
  private crlfSeen = 0
  private decoded = 0
  private chunkHash: Hash | undefined
  private chunkSignature = ''
  private previousSignature: string
  private trailerCanonical = ''
  private trailerBytes = 0
  private trailerSignature: string | undefined

  constructor(opts: ChunkedDecoderOptions) {
    super()
    this.mode = opts.mode
    this.decodedLength = opts.decodedLength
    this.maxChunkSize = opts.maxChunkSize ?? DEFAULT_MAX_CHUNK_SIZE
    this.signing = opts.signing
    this.trailers = opts.trailers ?? new Map()
    if (this.mode !== 'unsigned-trailer' && this.signing === undefined) {
      throw new AuthError('internal', 'aws-chunked signed mode without a signing context')
    }
    this.previousSignature = this.signing?.seedSignature ?? ''
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    try {
      this.consume(chunk)
      cb()
    } catch (err) {
      cb(err as Error)
    }
  }

  override _flush(cb: TransformCallback): void {
    try {
      this.finish()
      cb()
    } catch (err) {
      cb(err as Error)
    }
  }

  private consume(buf: Buffer): void {
    let off = 0
    while (off < buf.length) {
      switch (this.state) {
        case 'header':
        case 'trailer': {
          const nl = buf.indexOf(0x0a, off)
          const end = nl < 0 ? buf.length : nl + 1
          this.appendLine(buf.subarray(off, end))
          off = end
          if (nl >= 0) {
            const line = this.takeLine()
            if (this.state === 'header') this.onHeaderLine(line)
            else this.onTrailerLine(line)
          }
          break
        }
        case 'data': {
          const n = Math.min(this.remaining, buf.length - off)
          const piece = buf.subarray(off, off + n)
          off += n
          this.remaining -= n
          this.decoded += n
          if (this.decoded > this.decodedLength) {
            throw new AuthError(
              'incomplete-body',
              'The decoded body is longer than x-amz-decoded-content-length.',
            )
          }
          this.chunkHash?.update(piece)
          this.push(piece)
          if (this.remaining === 0) {
            this.state = 'data-crlf'
            this.crlfSeen = 0
          }
          break
        }
        case 'data-crlf':
        case 'final-crlf': {
          const want = this.crlfSeen === 0 ? 0x0d : 0x0a
          if (buf[off] !== want) throw malformed('expected CRLF after chunk data')
          off++
          if (++this.crlfSeen === 2) {
            if (this.state === 'data-crlf') {
              this.verifyChunk(
                this.chunkHash === undefined ? EMPTY_SHA256 : this.chunkHash.digest('hex'),
              )
              this.chunkHash = undefined
              this.state = 'header'
            } else {
              this.state = 'done'
            }
          }
          break
        }
        case 'done':
          // Bytes after the terminating CRLF are ignored.
          return
      }
    }
  }

  private appendLine(piece: Buffer): void {
    this.lineLength += piece.length
    const limit = this.state === 'trailer' ? MAX_TRAILER_BYTES : MAX_LINE
    if (this.lineLength > limit)
      throw malformed(this.state === 'trailer' ? 'trailer too long' : 'chunk header too long')
    if (piece.length > 0) this.line.push(piece)
  }

  /** The pending line without its CRLF; a bare LF is malformed. */
  private takeLine(): string {
    const raw = Buffer.concat(this.line, this.lineLength)
    this.line = []
    this.lineLength = 0
    if (raw.length < 2 || raw[raw.length - 2] !== 0x0d)
      throw malformed('line not terminated by CRLF')
    return raw.subarray(0, raw.length - 2).toString('latin1')
  }

  private onHeaderLine(line: string): void {
    const signed = this.mode !== 'unsigned-trailer'
    const m = (signed ? SIGNED_HEADER_RE : UNSIGNED_HEADER_RE).exec(line)
    if (m === null) {
      throw signed && UNSIGNED_HEADER_RE.test(line)
        ? new AuthError('chunk-signature-mismatch', 'The chunk signature is missing or malformed.')
        : malformed('bad chunk header')
    }
    const size = parseInt(m[1] as string, 16)
    if (size > this.maxChunkSize) {
      throw new AuthError(
        'chunk-malformed',
        `Chunk size ${size} exceeds the maximum of ${this.maxChunkSize} bytes.`,
      )
    }
    this.chunkSignature = m[2] ?? ''
    if (size > 0) {
      this.state = 'data'
      this.remaining = size
      if (signed) this.chunkHash = createHash('sha256')
      return
    }
    // The final, empty chunk.
    if (signed) this.verifyChunk(EMPTY_SHA256)
    if (this.mode === 'signed') {
      this.state = 'final-crlf'
      this.crlfSeen = 0
    } else {
      this.state = 'trailer'
    }
  }

  private verifyChunk(dataSha256Hex: string): void {
    if (this.mode === 'unsigned-trailer' || this.signing === undefined) return
    const s = this.signing
    const expected = hmacSha256(
      s.key,
      chunkStringToSign(s.amzDate, s.scope, this.previousSignature, dataSha256Hex),
    )
    if (!signatureEquals(this.chunkSignature, expected)) {
      throw new AuthError(
        'chunk-signature-mismatch',
        'The chunk signature we calculated does not match the signature you provided.',
      )
    }
    this.previousSignature = this.chunkSignature
  }

  private onTrailerLine(line: string): void {
    if (line === '') {
      this.endTrailers()
      return
    }
    this.trailerBytes += line.length
    if (this.trailerBytes > MAX_TRAILER_BYTES) throw malformed('trailer too long')
    const colon = line.indexOf(':')
    if (colon <= 0) throw malformed('bad trailer line')
    const name = line.slice(0, colon).trim().toLowerCase()
    const value = line.slice(colon + 1).trim()
    if (name === 'x-amz-trailer-signature') {
      if (this.trailerSignature !== undefined) throw malformed('repeated trailer signature')
      this.trailerSignature = value
      return
    }
    if (this.trailerSignature !== undefined) throw malformed('trailer after the trailer signature')
    if (this.trailers.has(name)) throw malformed(`repeated trailer ${name}`)
    this.trailers.set(name, value)
    this.trailerCanonical += `${name}:${value}\n`
  }

  private endTrailers(): void {
    if (this.mode === 'signed-trailer' && this.signing !== undefined) {
      const s = this.signing
      const expected = hmacSha256(
        s.key,
        trailerStringToSign(
          s.amzDate,
          s.scope,
          this.previousSignature,
          sha256Hex(this.trailerCanonical),
        ),
      )
      if (
        this.trailerSignature === undefined ||
        !signatureEquals(this.trailerSignature, expected)
      ) {
        throw new AuthError(
          'chunk-signature-mismatch',
          'The trailer signature we calculated does not match the signature you provided.',
        )
      }
    } else if (this.trailerSignature !== undefined) {
      throw malformed('trailer signature in an unsigned upload')
    }
    this.state = 'done'
  }

  private finish(): void {
    if (this.state === 'trailer') {
      // Lenient on the very end: a last trailer line without CRLF, or no closing empty line.
      if (this.lineLength > 0) {
        const raw = Buffer.concat(this.line, this.lineLength).toString('latin1')
        this.line = []
        this.lineLength = 0
        this.onTrailerLine(raw.replace(/\r$/, ''))
      }
      if (this.state === 'trailer') this.endTrailers()
    } else if (this.state === 'final-crlf') {
      this.state = 'done' // the last chunk's signature was verified; a missing final CRLF is harmless
    }
    if (this.state !== 'done') {
      throw new AuthError('incomplete-body', 'The aws-chunked body ended before its final chunk.')
    }
    if (this.decoded !== this.decodedLength) {
      throw new AuthError(
        'incomplete-body',
        `The decoded body is ${this.decoded} bytes; x-amz-decoded-content-length is ${this.decodedLength}.`,
      )
    }
  }
}

/** Encode a body as aws-chunked (for tests and for clients of this codebase). */
export function encodeAwsChunked(
  data: Buffer,
  chunkSize: number,
  opts: { signing?: ChunkSigning; trailers?: ReadonlyArray<readonly [string, string]> } = {},
): Buffer {
  const parts: Buffer[] = []
  let prev = opts.signing?.seedSignature ?? ''
  const sign = (hash: string): string => {
    const s = opts.signing
    if (s === undefined) return ''
    prev = hmacSha256(s.key, chunkStringToSign(s.amzDate, s.scope, prev, hash)).toString('hex')
    return `;chunk-signature=${prev}`
  }
  for (let off = 0; off < data.length; off += chunkSize) {
    const piece = data.subarray(off, Math.min(off + chunkSize, data.length))
    parts.push(
      Buffer.from(`${piece.length.toString(16)}${sign(sha256Hex(piece))}\r\n`),
      piece,
      Buffer.from('\r\n'),
    )
  }
  parts.push(Buffer.from(`0${sign(EMPTY_SHA256)}\r\n`))
  if (opts.trailers === undefined) {
    if (opts.signing === undefined)
      throw new Error('unsigned aws-chunked needs trailers (may be empty)')
    parts.push(Buffer.from('\r\n'))
    return Buffer.concat(parts)
  }
  let canonical = ''
  for (const [k, v] of opts.trailers) {
    parts.push(Buffer.from(`${k}:${v}\r\n`))
    canonical += `${k}:${v}\n`
  }
  const s = opts.signing
  if (s !== undefined) {
    const sig = hmacSha256(
      s.key,
      trailerStringToSign(s.amzDate, s.scope, prev, sha256Hex(canonical)),
    ).toString('hex')
    parts.push(Buffer.from(`x-amz-trailer-signature:${sig}\r\n`))
  }
  parts.push(Buffer.from('\r\n'))
  return Buffer.concat(parts)
}
