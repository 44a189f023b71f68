/**
 * Flexible checksums (x-amz-checksum-*), Content-MD5 and the body digests every upload needs.
 * Native code where it exists: CRC32 (zlib.crc32), CRC32C (@node-rs/crc32), SHA1/SHA256/MD5
 * (node:crypto). CRC64NVME is a slice-by-8 table implementation in JS (the SDK's own digest is
 * async); it runs only when a client asks for it. Values are base64 of the big-endian digest.
 * https://docs.aws.amazon.com/AmazonS3/latest/userguide/checking-object-integrity.html
 * @module
 */
import { createHash, type Hash } from 'node:crypto'
import type { TransformCallback } from 'node:stream'
import { BodyTransform } from '../../lib/streams.js'
import { decodeBase64Strict } from '../../lib/base64.js'
import { crc32 as zlibCrc32 } from 'node:zlib'
import { crc32c } from '@node-rs/crc32'
import { S3Error } from '../errors.js'
import type { ChecksumAlgorithm } from '../../storage/metadata-store.js'

export type { ChecksumAlgorithm } from '../../storage/metadata-store.js'

export const CHECKSUM_ALGORITHMS: readonly ChecksumAlgorithm[] = [
  'CRC32',
  'CRC32C',
  'CRC64NVME',
  'SHA1',
  'SHA256',
]

/** Digest length in bytes per algorithm. */
export const DIGEST_LENGTH: Readonly<Record<ChecksumAlgorithm, number>> = {
  CRC32: 4,
  CRC32C: 4,
  CRC64NVME: 8,
  SHA1: 20,
  SHA256: 32,
}

export interface Checksummer {
  update(chunk: Buffer): void
  digest(): Buffer
}

function u32be(n: number): Buffer {
  const b = Buffer.allocUnsafe(4)
  b.writeUInt32BE(n >>> 0, 0)
  return b
}

class Crc32Checksummer implements Checksummer {
  private crc = 0
  update(chunk: Buffer): void {
    this.crc = zlibCrc32(chunk, this.crc)
  }
  digest(): Buffer {
    return u32be(this.crc)
  }
}

class Crc32cChecksummer implements Checksummer {
  private crc = 0
  update(chunk: Buffer): void {
    this.crc = crc32c(chunk, this.crc)
  }
  digest(): Buffer {
    return u32be(this.crc)
  }
}

// CRC-64/NVME: reflected, poly 0xad93d23594c93659 (reflected 0x9a6c9329ac4bc9b5), init/xorout all ones.
// The 64-bit state is kept as two uint32 halves; tables T[k] advance a byte k+1 positions.
const POLY_HI = 0x9a6c9329
const POLY_LO = 0xac4bc9b5
const T_HI: Uint32Array[] = []
const T_LO: Uint32Array[] = []
/** The eight tables laid end to end (table k at offset 256·k). */
const TH = new Uint32Array(8 * 256)
const TL = new Uint32Array(8 * 256)
function buildCrc64Tables(): void {
  if (T_HI.length > 0) return
  const hi0 = new Uint32Array(256)
  const lo0 = new Uint32Array(256)
  for (let i = 0; i < 256; i++) {
    let hi = 0
    let lo = i
    for (let j = 0; j < 8; j++) {
      const bit = lo & 1
      lo = ((lo >>> 1) | ((hi & 1) << 31)) >>> 0
      hi = hi >>> 1
      if (bit !== 0) {
        hi = (hi ^ POLY_HI) >>> 0
        lo = (lo ^ POLY_LO) >>> 0
      }
    }
    hi0[i] = hi
    lo0[i] = lo
  }
  T_HI.push(hi0)
  T_LO.push(lo0)
  for (let k = 1; k < 8; k++) {
    const ph = T_HI[k - 1] as Uint32Array
    const pl = T_LO[k - 1] as Uint32Array
    const h = new Uint32Array(256)
    const l = new Uint32Array(256)
    for (let i = 0; i < 256; i++) {
      const vh = ph[i] as number
      const vl = pl[i] as number
      const idx = vl & 0xff
      h[i] = ((vh >>> 8) ^ (hi0[idx] as number)) >>> 0
      l[i] = (((vl >>> 8) | ((vh & 0xff) << 24)) ^ (lo0[idx] as number)) >>> 0
    }
    T_HI.push(h)
    T_LO.push(l)
  }
  for (let k = 0; k < 8; k++) {
    TH.set(T_HI[k] as Uint32Array, 256 * k)
    TL.set(T_LO[k] as Uint32Array, 256 * k)
  }
}

export class Crc64NvmeChecksummer implements Checksummer {
  private hi = 0xffffffff
  private lo = 0xffffffff
  constructor() {
    buildCrc64Tables()
  }
  update(chunk: Buffer): void {
    const th = TH
    const tl = TL
    let hi = this.hi
    let lo = this.lo
    let i = 0
    const n = chunk.length
    const end8 = n - (n % 8)
    for (; i < end8; i += 8) {
      lo ^=
        (chunk[i] as number) |
        ((chunk[i + 1] as number) << 8) |
        ((chunk[i + 2] as number) << 16) |
        ((chunk[i + 3] as number) << 24)
      hi ^=
        (chunk[i + 4] as number) |
        ((chunk[i + 5] as number) << 8) |
        ((chunk[i + 6] as number) << 16) |
        ((chunk[i + 7] as number) << 24)
      // Table k lives at offset 256·k; byte j of the 8 uses table 7 - j.
      const a0 = 1792 + (lo & 0xff)
      const a1 = 1536 + ((lo >>> 8) & 0xff)
      const a2 = 1280 + ((lo >>> 16) & 0xff)
      const a3 = 1024 + (lo >>> 24)
      const b0 = 768 + (hi & 0xff)
      const b1 = 512 + ((hi >>> 8) & 0xff)
      const b2 = 256 + ((hi >>> 16) & 0xff)
      const b3 = hi >>> 24
      hi =
        (th[a0] as number) ^
        (th[a1] as number) ^
        (th[a2] as number) ^
        (th[a3] as number) ^
        (th[b0] as number) ^
        (th[b1] as number) ^
        (th[b2] as number) ^
        (th[b3] as number)
      lo =
        (tl[a0] as number) ^
        (tl[a1] as number) ^
        (tl[a2] as number) ^
        (tl[a3] as number) ^
        (tl[b0] as number) ^
        (tl[b1] as number) ^
        (tl[b2] as number) ^
        (tl[b3] as number)
    }
    for (; i < n; i++) {
      const idx = (lo ^ (chunk[i] as number)) & 0xff
      const nl = ((lo >>> 8) | ((hi & 0xff) << 24)) ^ (tl[idx] as number)
      hi = (hi >>> 8) ^ (th[idx] as number)
      lo = nl
    }
    this.hi = hi >>> 0
    this.lo = lo >>> 0
  }
  digest(): Buffer {
    const b = Buffer.allocUnsafe(8)
    b.writeUInt32BE((this.hi ^ 0xffffffff) >>> 0, 0)
    b.writeUInt32BE((this.lo ^ 0xffffffff) >>> 0, 4)
    return b
  }
}

class HashChecksummer implements Checksummer {
  private readonly hash: Hash
  constructor(alg: 'sha1' | 'sha256' | 'md5') {
    this.hash = createHash(alg)
  }
  update(chunk: Buffer): void {
    this.hash.update(chunk)
  }
  digest(): Buffer {
    return this.hash.digest()
  }
}

export function createChecksummer(alg: ChecksumAlgorithm): Checksummer {
  switch (alg) {
    case 'CRC32':
      return new Crc32Checksummer()
    case 'CRC32C':
      return new Crc32cChecksummer()
    case 'CRC64NVME':
      return new Crc64NvmeChecksummer()
    case 'SHA1':
      return new HashChecksummer('sha1')
    case 'SHA256':
      return new HashChecksummer('sha256')
  }
}

/** Upper-case algorithm name from a header value ('crc32c' → 'CRC32C'), or undefined. */
export function parseChecksumAlgorithm(value: string | undefined): ChecksumAlgorithm | undefined {
  if (value === undefined) return undefined
  const v = value.trim().toUpperCase()
  return (CHECKSUM_ALGORITHMS as readonly string[]).includes(v)
    ? (v as ChecksumAlgorithm)
    : undefined
}

export function checksumHeaderName(alg: ChecksumAlgorithm): string {
  return `x-amz-checksum-${alg.toLowerCase()}`
}

export { decodeBase64Strict }

/** Checks a base64 checksum value has the algorithm's digest length. */
export function isValidChecksumValue(alg: ChecksumAlgorithm, value: string): boolean {
  const bytes = decodeBase64Strict(value.trim())
  return bytes !== undefined && bytes.length === DIGEST_LENGTH[alg]
}

export interface ExpectedChecksum {
  readonly algorithm: ChecksumAlgorithm
  /** base64 from the header; undefined when it comes in a trailer. */
  readonly value?: string
  readonly fromTrailer: boolean
}

/** x-amz-checksum-* headers that are not a checksum value. */
const NOT_VALUE_HEADERS: ReadonlySet<string> = new Set([
  'x-amz-checksum-mode',
  'x-amz-checksum-type',
  'x-amz-checksum-algorithm',
])

/**
 * The checksum a request announces: an x-amz-checksum-<alg> header, or (aws-chunked) the
 * x-amz-trailer naming one. x-amz-sdk-checksum-algorithm must agree. Throws InvalidRequest.
 */
export function expectedChecksum(
  headers: Readonly<Record<string, string | undefined>>,
): ExpectedChecksum | undefined {
  const found: { alg: ChecksumAlgorithm; value: string }[] = []
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined || !name.startsWith('x-amz-checksum-') || NOT_VALUE_HEADERS.has(name))
      continue
    const alg = parseChecksumAlgorithm(name.slice('x-amz-checksum-'.length))
    if (alg === undefined) {
      throw new S3Error(
        'InvalidRequest',
        `The algorithm type you specified in ${name} header is invalid.`,
      )
    }
    found.push({ alg, value: value.trim() })
  }
  const trailerHeader = headers['x-amz-trailer']
  let trailerAlg: ChecksumAlgorithm | undefined
  if (trailerHeader !== undefined && trailerHeader.trim() !== '') {
    const names = trailerHeader
      .split(',')
      .map((s) => s.trim().toLowerCase())
      .filter((s) => s !== '')
    for (const n of names) {
      const alg = n.startsWith('x-amz-checksum-')
        ? parseChecksumAlgorithm(n.slice('x-amz-checksum-'.length))
        : undefined
      if (alg === undefined)
        throw new S3Error(
          'InvalidRequest',
          'The value specified in the x-amz-trailer header is not supported',
        )
      if (trailerAlg !== undefined) {
        throw new S3Error(
          'InvalidRequest',
          'Expecting a single x-amz-checksum- header. Multiple checksum Types are not allowed.',
        )
      }
      trailerAlg = alg
    }
  }
  if (found.length + (trailerAlg !== undefined ? 1 : 0) > 1) {
    throw new S3Error(
      'InvalidRequest',
      'Expecting a single x-amz-checksum- header. Multiple checksum Types are not allowed.',
    )
  }
  const sdkHeader = headers['x-amz-sdk-checksum-algorithm']
  const sdkAlg = parseChecksumAlgorithm(sdkHeader)
  if (sdkHeader !== undefined && sdkAlg === undefined) {
    throw new S3Error('InvalidRequest', 'Value for x-amz-sdk-checksum-algorithm header is invalid.')
  }
  const chosen = found[0]
  if (chosen !== undefined) {
    if (!isValidChecksumValue(chosen.alg, chosen.value)) {
      throw new S3Error(
        'InvalidRequest',
        `Value for ${checksumHeaderName(chosen.alg)} header is invalid.`,
      )
    }
    if (sdkAlg !== undefined && sdkAlg !== chosen.alg) {
      throw new S3Error(
        'InvalidRequest',
        'Value for x-amz-sdk-checksum-algorithm header is invalid.',
      )
    }
    return { algorithm: chosen.alg, value: chosen.value, fromTrailer: false }
  }
  if (trailerAlg !== undefined) {
    if (sdkAlg !== undefined && sdkAlg !== trailerAlg) {
      throw new S3Error(
        'InvalidRequest',
        'Value for x-amz-sdk-checksum-algorithm header is invalid.',
      )
    }
    return { algorithm: trailerAlg, fromTrailer: true }
  }
  if (sdkAlg !== undefined) {
    throw new S3Error(
      'InvalidRequest',
      'x-amz-sdk-checksum-algorithm specified, but no corresponding x-amz-checksum-* or x-amz-trailer headers were found.',
    )
  }
  return undefined
}

/**
 * Pass-through that always computes MD5 (the ETag) and optionally one flexible checksum.
 * Read md5Hex() / checksumBase64() / size once the stream has ended.
 */
export class BodyDigests extends BodyTransform {
  readonly algorithm: ChecksumAlgorithm | undefined
  private readonly md5 = createHash('md5')
  private readonly checksummer: Checksummer | undefined
  private bytes = 0
  private md5Digest: Buffer | undefined
  private checksumDigest: Buffer | undefined

  constructor(algorithm?: ChecksumAlgorithm) {
    super()
    this.algorithm = algorithm
    this.checksummer = algorithm === undefined ? undefined : createChecksummer(algorithm)
  }

  get size(): number {
    return this.bytes
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.bytes += chunk.length
    this.md5.update(chunk)
    this.checksummer?.update(chunk)
    cb(null, chunk)
  }

  override _flush(cb: TransformCallback): void {
    this.md5Digest = this.md5.digest()
    this.checksumDigest = this.checksummer?.digest()
    cb()
  }

  private ended(): void {
    if (this.md5Digest === undefined) throw new Error('BodyDigests read before the stream ended')
  }

  md5Hex(): string {
    this.ended()
    return (this.md5Digest as Buffer).toString('hex')
  }

  md5Base64(): string {
    this.ended()
    return (this.md5Digest as Buffer).toString('base64')
  }

  /** base64 of the flexible checksum; undefined when none was asked for. */
  checksumBase64(): string | undefined {
    this.ended()
    return this.checksumDigest?.toString('base64')
  }
}

/** Multipart COMPOSITE checksum: checksum of the concatenated part digests, then "-N". */
export function compositeChecksum(
  alg: ChecksumAlgorithm,
  partChecksumsBase64: readonly string[],
): string {
  const c = createChecksummer(alg)
  for (const p of partChecksumsBase64) {
    const bytes = decodeBase64Strict(p)
    if (bytes === undefined || bytes.length !== DIGEST_LENGTH[alg]) {
      throw new S3Error('InvalidRequest', `Invalid ${alg} part checksum.`)
    }
    c.update(bytes)
  }
  return `${c.digest().toString('base64')}-${partChecksumsBase64.length}`
}

// CRC combination (zlib's crc32_combine generalised): crc(A‖B) = crc(A)·x^(8|B|) mod P ⊕ crc(B),
// in the reflected representation, with BigInt (it runs once per part).
const CRC_PARAMS = {
  CRC32: { width: 32n, poly: 0xedb88320n },
  CRC32C: { width: 32n, poly: 0x82f63b78n },
  CRC64NVME: { width: 64n, poly: 0x9a6c9329ac4bc9b5n },
} as const

function multModP(a: bigint, b: bigint, width: bigint, poly: bigint): bigint {
  let m = 1n << (width - 1n)
  let p = 0n
  let bb = b
  for (;;) {
    if ((a & m) !== 0n) {
      p ^= bb
      if ((a & (m - 1n)) === 0n) break
    }
    m >>= 1n
    if (m === 0n) break
    bb = (bb & 1n) !== 0n ? (bb >> 1n) ^ poly : bb >> 1n
  }
  return p
}

/** x^(8·n) mod P (reflected). */
function xPow8n(n: number, width: bigint, poly: bigint): bigint {
  let result = 1n << (width - 1n) // x^0
  let square = 1n << (width - 2n) // x^1
  // x^(8n) = (x)^(8n): raise by squaring over the bits of 8n.
  let e = BigInt(n) * 8n
  while (e > 0n) {
    if ((e & 1n) !== 0n) result = multModP(square, result, width, poly)
    square = multModP(square, square, width, poly)
    e >>= 1n
  }
  return result
}

/**
 * FULL_OBJECT CRC of a multipart object from its parts' CRCs (base64) and sizes.
 * Only the CRC algorithms combine; SHA checksums answer InvalidRequest.
 */
export function combineCrcFullObject(
  alg: ChecksumAlgorithm,
  parts: readonly { readonly checksumBase64: string; readonly size: number }[],
): string {
  if (alg !== 'CRC32' && alg !== 'CRC32C' && alg !== 'CRC64NVME') {
    throw new S3Error(
      'InvalidRequest',
      `The FULL_OBJECT checksum type is not supported for ${alg}.`,
    )
  }
  const { width, poly } = CRC_PARAMS[alg]
  const bytes = Number(width / 8n)
  let crc: bigint | undefined
  for (const part of parts) {
    const raw = decodeBase64Strict(part.checksumBase64)
    if (raw === undefined || raw.length !== bytes)
      throw new S3Error('InvalidRequest', `Invalid ${alg} part checksum.`)
    const value = BigInt(`0x${raw.toString('hex')}`)
    crc =
      crc === undefined ? value : multModP(xPow8n(part.size, width, poly), crc, width, poly) ^ value
  }
  const out = Buffer.alloc(bytes)
  const hex = (crc ?? 0n).toString(16).padStart(bytes * 2, '0')
  Buffer.from(hex, 'hex').copy(out)
  return out.toString('base64')
}

/** Content-MD5 header → the 16 digest bytes; InvalidDigest unless base64 of exactly 16 bytes. */
export function verifyContentMd5(header: string | undefined): Buffer | undefined {
  if (header === undefined) return undefined
  const bytes = decodeBase64Strict(header.trim())
  if (bytes === undefined || bytes.length !== 16) throw new S3Error('InvalidDigest')
  return bytes
}
