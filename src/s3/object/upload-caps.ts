/**
 * Enforcing a session's upload caps (policy/upload-caps.ts) in the S3 writers: PutObject,
 * UploadPart, CompleteMultipartUpload, CopyObject, UploadPartCopy and POST uploads.
 *
 * - max-object-size: an upload whose declared length exceeds it is refused before a byte is read;
 *   one of unknown length is cut when the stream crosses it (the writers' maxSize): EntityTooLarge
 *   naming the cap, nothing stored.
 * - content-types: the object's Content-Type (parameters ignored; none = application/octet-stream,
 *   what a GET would answer) must match: AccessDenied naming the cap.
 * - max-bytes / max-objects: counted across nodes through the shared-limits port
 *   (storage/session-usage.ts), keyed by the first session of the caller's role chain so chained
 *   sessions share one total. A write reserves before it stores: a declared length at once, an
 *   unknown length in steps as the bytes stream (`CapGate`), so a crossing cuts the upload
 *   mid-stream. A failed or cut write gives its reservation back; crossing is AccessDenied naming
 *   the cap.
 *
 * Multipart: bytes count as parts are written (UploadPart, UploadPartCopy: a part cut by a cap
 * leaves nothing and counts nothing; a re-uploaded part counts again, it was written again); the
 * object counts once, at CompleteMultipartUpload, which also checks the whole object's size and
 * the upload's Content-Type against the completing session's caps. Bytes are "written", never
 * refunded by a later delete or abort.
 * @module
 */
import type { TransformCallback } from 'node:stream'
import type { Principal } from '../../auth/principal.js'
import { BodyTransform } from '../../lib/streams.js'
import { CAP_KEYS, contentTypeAllowed, type UploadCaps } from '../../policy/upload-caps.js'
import { StorageError } from '../../storage/errors.js'
import type { SessionUsage, UsageDelta } from '../../storage/session-usage.js'
import { S3Error } from '../errors.js'

/** The type an object without Content-Type is served with. */
export const DEFAULT_CONTENT_TYPE = 'application/octet-stream'
/** Reservation step for bodies of unknown length. */
const STEP_BYTES = 1024 * 1024

interface SessionCaps {
  readonly caps: UploadCaps
  /** The usage counter: the first session of the chain. */
  readonly key: string
  readonly expiresAt: number
}

export function capsOf(p: Principal): SessionCaps | undefined {
  if (p.kind !== 'session' || p.caps === undefined) return undefined
  return { caps: p.caps, key: p.via?.[0] ?? p.accessKeyId, expiresAt: p.expiresAt }
}

/** The largest body `p` may write as one object or part: min(server limit, its cap). */
export function maxSizeFor(p: Principal, serverMax: number): number {
  const m = capsOf(p)?.caps.maxObjectSize
  return m === undefined ? serverMax : Math.min(serverMax, m)
}

function sizeCapError(max: number, proposed?: number): S3Error {
  return new S3Error(
    'EntityTooLarge',
    `Your proposed upload exceeds the maximum allowed object size of this session's upload cap ${CAP_KEYS.maxObjectSize} (${max} bytes).`,
    Object.assign(proposed !== undefined ? { ProposedSize: String(proposed) } : {}, {
      MaxSizeAllowed: String(max),
    }),
  )
}

/** EntityTooLarge naming the cap when `size` is over the session's max-object-size. */
export function checkObjectSize(p: Principal, size: number): void {
  const m = capsOf(p)?.caps.maxObjectSize
  if (m !== undefined && size > m) throw sizeCapError(m, size)
}

/**
 * A write's failure, restated when the session's max-object-size (not the server's limit) is what
 * the body crossed: the same EntityTooLarge, with a message naming the cap.
 */
export function capSizeError(p: Principal, serverMax: number, e: unknown): unknown {
  const m = capsOf(p)?.caps.maxObjectSize
  if (m === undefined || m >= serverMax) return e
  const tooLarge =
    (e instanceof StorageError && e.kind === 'too-large') ||
    (e instanceof S3Error && e.code === 'EntityTooLarge')
  if (!tooLarge) return e
  const proposed = e instanceof S3Error ? e.extra['ProposedSize'] : undefined
  return sizeCapError(m, proposed === undefined ? undefined : Number(proposed))
}

/** AccessDenied naming the cap when the object's Content-Type is not one the session may write. */
export function checkContentType(p: Principal, contentType: string | undefined): void {
  const allowed = capsOf(p)?.caps.contentTypes
  if (allowed === undefined) return
  const t =
    contentType === undefined || contentType.trim() === '' ? DEFAULT_CONTENT_TYPE : contentType
  if (!contentTypeAllowed(allowed, t))
    throw new S3Error(
      'AccessDenied',
      `Content-Type '${t.slice(0, 128)}' is not allowed by this session's upload cap ${CAP_KEYS.contentTypes} (${allowed.join(',')}).`,
    )
}

function crossed(cap: 'max-bytes' | 'max-objects', caps: UploadCaps, used: UsageDelta): S3Error {
  return cap === 'max-bytes'
    ? new S3Error(
        'AccessDenied',
        `This upload would cross the session's upload cap ${CAP_KEYS.maxBytes} (${caps.maxBytes ?? 0} bytes in total; ${used.bytes} written so far).`,
      )
    : new S3Error(
        'AccessDenied',
        `This upload would cross the session's upload cap ${CAP_KEYS.maxObjects} (${caps.maxObjects ?? 0} objects; ${used.objects} created so far).`,
      )
}

/**
 * One write's claim on the session's counters. `reserve` first (refused: AccessDenied naming the
 * cap), then exactly one of `commit` (what was stored) or `release` (nothing was).
 */
export class UploadCharge {
  private readonly usage: SessionUsage
  private readonly s: SessionCaps
  private reserved: { bytes: number; objects: number } = { bytes: 0, objects: 0 }
  private settled = false

  private constructor(usage: SessionUsage, s: SessionCaps) {
    this.usage = usage
    this.s = s
  }

  /**
   * Reserve `delta` for `p`'s write; undefined when the caller has no caps (nothing is counted).
   * A session with caps of any kind is counted, so the admin listing shows what it wrote. Throws
   * AccessDenied when a cap would be crossed.
   */
  static async open(
    p: Principal,
    usage: SessionUsage | undefined,
    delta: UsageDelta,
  ): Promise<UploadCharge | undefined> {
    const s = capsOf(p)
    if (s === undefined) return undefined
    if (usage === undefined)
      throw new S3Error('AccessDenied', 'Upload caps cannot be counted on this server.')
    const c = new UploadCharge(usage, s)
    await c.add(delta)
    return c
  }

  /** Whether byte growth must be reserved as a body streams (a byte cap exists). */
  get countsBytes(): boolean {
    return this.s.caps.maxBytes !== undefined
  }

  /** Reserve more (a body of unknown length grew past what was reserved). */
  async add(delta: UsageDelta): Promise<void> {
    const refused = await this.usage.reserveUsage(this.s.key, delta, this.s.caps, this.s.expiresAt)
    if (refused !== undefined) throw crossed(refused.cap, this.s.caps, refused.used)
    if (this.settled) {
      // The write ended (released or committed) while this step was on its way: give it back.
      await this.usage.releaseUsage(this.s.key, delta)
      return
    }
    this.reserved = {
      bytes: this.reserved.bytes + delta.bytes,
      objects: this.reserved.objects + delta.objects,
    }
  }

  get reservedBytes(): number {
    return this.reserved.bytes
  }

  async commit(stored: UsageDelta): Promise<void> {
    if (this.settled) return
    this.settled = true
    await this.usage.commitUsage(this.s.key, this.reserved, stored)
  }

  async release(): Promise<void> {
    if (this.settled) return
    this.settled = true
    await this.usage.releaseUsage(this.s.key, this.reserved)
  }
}

/**
 * Reserve bytes as a body of unknown length streams: before passing a chunk that would go past
 * what is reserved, reserve the shortfall (at least a 1 MiB step); a refusal errors the stream
 * with AccessDenied naming the cap, so the write is cut there and stores nothing.
 */
export class CapGate extends BodyTransform {
  private readonly charge: UploadCharge
  private n = 0

  constructor(charge: UploadCharge) {
    super()
    this.charge = charge
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.n += chunk.length
    const short = this.n - this.charge.reservedBytes
    if (short <= 0) {
      cb(null, chunk)
      return
    }
    this.charge.add({ bytes: Math.max(short, STEP_BYTES), objects: 0 }).then(
      () => cb(null, chunk),
      (e: unknown) => {
        // The step may be refused where the exact shortfall still fits: try that before failing.
        if (short >= STEP_BYTES) {
          cb(e instanceof Error ? e : new Error(String(e)))
          return
        }
        this.charge.add({ bytes: short, objects: 0 }).then(
          () => cb(null, chunk),
          (e2: unknown) => cb(e2 instanceof Error ? e2 : new Error(String(e2))),
        )
      },
    )
  }
}

/**
 * Run a write under a charge: reserve `delta`, `write` (given the charge, undefined when nothing
 * is counted), then settle with what `stored` says (commit), or release when `write` throws. A
 * caller without caps (the usual one) goes straight to `write`, without an await of its own.
 */
export function charged<T>(
  p: Principal,
  usage: SessionUsage | undefined,
  delta: UsageDelta,
  write: (charge: UploadCharge | undefined) => Promise<T>,
  stored: (result: T) => UsageDelta,
): Promise<T> {
  if (capsOf(p) === undefined) return write(undefined)
  return UploadCharge.open(p, usage, delta).then((charge) => settle(charge, write, stored))
}

/** `write` under an open charge: commit what `stored` says, or release when `write` throws. */
async function settle<T>(
  charge: UploadCharge | undefined,
  write: (charge: UploadCharge | undefined) => Promise<T>,
  stored: (result: T) => UsageDelta,
): Promise<T> {
  let result: T
  try {
    result = await write(charge)
  } catch (e) {
    await charge?.release().catch(() => undefined)
    throw e
  }
  await charge?.commit(stored(result)).catch(() => undefined)
  return result
}
