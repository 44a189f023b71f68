/**
 * Pre-signing for the load generator. The AWS SDK spends ~380 µs of client CPU per request,
 * more than the server under test, so requests are signed once up front with
 * `@smithy/signature-v4` (the SDK's own signer, so what we send is what the SDK would send) and
 * replayed: a header signature stays valid for the 15-minute skew window.
 * @module
 */
import { createHash, createHmac, type Hash, type Hmac } from 'node:crypto'
import { HttpRequest } from '@smithy/protocol-http'
import { SignatureV4 } from '@smithy/signature-v4'

export interface Credentials {
  readonly accessKeyId: string
  readonly secretAccessKey: string
  readonly sessionToken?: string
}

/** A request ready to replay: everything undici needs, nothing computed per send. */
export interface PreparedRequest {
  readonly method: string
  /** Path plus query, already encoded. */
  readonly path: string
  readonly headers: Readonly<Record<string, string>>
  readonly body?: Buffer | string
}

/** node:crypto behind smithy's Checksum interface (sha256-js is pure JS and ~10× slower). */
class NodeSha256 {
  private readonly secret: Buffer | undefined
  private h: Hash | Hmac
  constructor(secret?: string | ArrayBuffer | ArrayBufferView) {
    this.secret = secret === undefined ? undefined : toBuffer(secret)
    this.h = this.fresh()
  }
  private fresh(): Hash | Hmac {
    return this.secret === undefined ? createHash('sha256') : createHmac('sha256', this.secret)
  }
  update(data: string | ArrayBuffer | ArrayBufferView): void {
    this.h.update(toBuffer(data))
  }
  digest(): Promise<Uint8Array> {
    return Promise.resolve(new Uint8Array(this.h.digest()))
  }
  reset(): void {
    this.h = this.fresh()
  }
}

function toBuffer(d: string | ArrayBuffer | ArrayBufferView): Buffer {
  if (typeof d === 'string') return Buffer.from(d, 'utf8')
  if (ArrayBuffer.isView(d)) return Buffer.from(d.buffer, d.byteOffset, d.byteLength)
  return Buffer.from(d)
}

export function sha256Hex(data: Buffer | string): string {
  return createHash('sha256').update(data).digest('hex')
}

export interface SignOptions {
  readonly origin: string
  readonly creds: Credentials
  /** 's3' (default), 'sts', or any other service name (signing vectors use 'service'). */
  readonly service?: string
  readonly region?: string
  readonly method: string
  /** Encoded path, no query. */
  readonly path: string
  readonly query?: Readonly<Record<string, string>>
  readonly headers?: Readonly<Record<string, string>>
  readonly body?: Buffer | string
  /** x-amz-content-sha256 value; default: sha256 of the body (S3 only). */
  readonly payloadHash?: string
  readonly signingDate?: Date
}

const signers = new Map<string, SignatureV4>()

function signerFor(creds: Credentials, service: string, region: string): SignatureV4 {
  const k = [
    creds.accessKeyId,
    creds.secretAccessKey,
    creds.sessionToken ?? '',
    service,
    region,
  ].join('\0')
  let s = signers.get(k)
  if (s === undefined) {
    s = new SignatureV4({
      credentials: {
        accessKeyId: creds.accessKeyId,
        secretAccessKey: creds.secretAccessKey,
        ...(creds.sessionToken !== undefined ? { sessionToken: creds.sessionToken } : {}),
      },
      region,
      service,
      sha256: NodeSha256,
      uriEscapePath: service !== 's3',
      // S3 requests carry x-amz-content-sha256 (set by signRequest); the query APIs don't.
      applyChecksum: false,
    })
    signers.set(k, s)
  }
  return s
}

function encodeQuery(q: Readonly<Record<string, string>>): string {
  const enc = (s: string): string =>
    encodeURIComponent(s).replace(
      /[!'()*]/g,
      (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
    )
  return Object.entries(q)
    .map(([k, v]) => `${enc(k)}=${enc(v)}`)
    .join('&')
}

/** Sign one request with SigV4 header auth. */
export async function signRequest(o: SignOptions): Promise<PreparedRequest> {
  const service = o.service ?? 's3'
  const u = new URL(o.origin)
  const headers: Record<string, string> = { host: u.host, ...o.headers }
  if (service === 's3') headers['x-amz-content-sha256'] = o.payloadHash ?? sha256Hex(o.body ?? '')
  const req = new HttpRequest({
    method: o.method,
    protocol: u.protocol,
    hostname: u.hostname,
    ...(u.port !== '' ? { port: Number(u.port) } : {}),
    path: o.path,
    query: { ...o.query },
    headers,
    ...(o.body !== undefined ? { body: o.body } : {}),
  })
  const signed = (await signerFor(o.creds, service, o.region ?? 'us-east-1').sign(req, {
    ...(o.signingDate !== undefined ? { signingDate: o.signingDate } : {}),
  })) as HttpRequest
  const hasQuery = o.query !== undefined && Object.keys(o.query).length > 0
  const qs = hasQuery && o.query !== undefined ? '?' + encodeQuery(o.query) : ''
  const out: Record<string, string> = {}
  for (const [k, v] of Object.entries(signed.headers)) out[k.toLowerCase()] = String(v)
  return {
    method: o.method,
    path: o.path + qs,
    headers: out,
    ...(o.body !== undefined ? { body: o.body } : {}),
  }
}

/** Sign many requests; the signer is cached per credential so this is ~20 µs each. */
export async function signMany(items: readonly SignOptions[]): Promise<PreparedRequest[]> {
  const out: PreparedRequest[] = []
  for (const it of items) out.push(await signRequest(it))
  return out
}
