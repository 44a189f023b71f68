/**
 * Test support for the object operations: a real in-process env (the memory metadata store,
 * FsBlobStore on a temp dir), authorizers that allow, deny, or deny selectively, and a
 * fake S3Request builder. Not imported by production code.
 * @module
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import type { Principal } from '../../auth/principal.js'
import { FsBlobStore } from '../../backends/fs/blob-store.js'
import { MemoryChangeFeed } from '../../backends/memory/change-feed.js'
import { MemoryMetadataStore } from '../../backends/memory/metadata-store.js'
import { MemoryBlobLedger } from '../../backends/memory/blob-ledger.js'
import { ManualClock, randomIds } from '../../lib/clock.js'
import { silentLogger } from '../../lib/logger.js'
import type { BucketRecord } from '../../storage/metadata-store.js'
import { loadAccessConfig } from '../bucket-config.js'
import { collectGarbage } from '../../storage/gc.js'
import { S3Error, toS3Error } from '../errors.js'
import type {
  AccessRequirement,
  Authorizer,
  AnyOperation,
  S3Env,
  S3Limits,
  S3Request,
  S3Response,
} from '../operation.js'

export const ACCOUNT = '111122223333'
export const ROOT: Principal = {
  kind: 'account-root',
  accountId: ACCOUNT,
  accountName: 'default',
  accessKeyId: 'AKROOT',
}
export const ANON: Principal = { kind: 'anonymous' }

export interface Decision {
  readonly need: AccessRequirement
  readonly bucket: string
}

/** An authorizer deciding with a predicate; records every decision asked of it. */
export class TestAuthorizer implements Authorizer {
  readonly asked: Decision[] = []
  predicate: (need: AccessRequirement) => boolean
  constructor(predicate: (need: AccessRequirement) => boolean = () => true) {
    this.predicate = predicate
  }
  require(_req: S3Request, need: AccessRequirement, bucket: BucketRecord): Promise<void> {
    this.asked.push({ need, bucket: bucket.name })
    if (!this.predicate(need)) return Promise.reject(new S3Error('AccessDenied'))
    return Promise.resolve()
  }
  allows(_req: S3Request, need: AccessRequirement, bucket: BucketRecord): Promise<boolean> {
    this.asked.push({ need, bucket: bucket.name })
    return Promise.resolve(this.predicate(need))
  }
}

export const SMALL_LIMITS: S3Limits = {
  inlineMax: 64,
  maxObjectSize: 1024 * 1024,
  minPartSize: 1024,
  maxPartSize: 512 * 1024,
  maxParts: 10000,
}

export interface TestEnv extends S3Env {
  readonly blobs: FsBlobStore
  readonly authz: TestAuthorizer
  readonly clock: ManualClock
  readonly bucket: BucketRecord
  close(): Promise<void>
}

/** A fresh env with bucket `bkt` (and `other`) owned by ACCOUNT. */
export async function makeEnv(limits: Partial<S3Limits> = {}): Promise<TestEnv> {
  const dir = mkdtempSync(join(tmpdir(), 'latchkey-obj-'))
  const meta = new MemoryMetadataStore({ changes: new MemoryChangeFeed() })
  const blobs = new FsBlobStore(dir)
  const ledger = new MemoryBlobLedger()
  const clock = new ManualClock(Date.UTC(2026, 0, 1, 12, 0, 0))
  const bucket: BucketRecord = {
    name: 'bkt',
    accountId: ACCOUNT,
    createdAt: clock.now(),
    region: 'us-east-1',
  }
  await meta.createBucket(bucket)
  await meta.createBucket({ ...bucket, name: 'other' })
  const authz = new TestAuthorizer()
  return {
    meta,
    blobs,
    ledger,
    authz,
    clock,
    ids: randomIds,
    bucket,
    owner: (accountId) => ({ id: accountId.padStart(64, '0'), displayName: `acct-${accountId}` }),
    accessConfig: (name) => loadAccessConfig(meta, name),
    accountOfCanonicalId: (id) => (/^0+\d{12}$/.test(id) ? id.slice(-12) : undefined),
    awsBucketDefaults: false,
    limits: { ...SMALL_LIMITS, ...limits },
    region: 'us-east-1',
    authenticatePostForm: () => Promise.reject(new S3Error('NotImplemented')),
    async close() {
      await meta.close()
      rmSync(dir, { recursive: true, force: true })
    },
  }
}

export interface FakeRequest {
  readonly method?: string
  readonly bucket?: string
  readonly key?: string
  readonly query?: Record<string, string>
  readonly headers?: Record<string, string>
  readonly body?: Buffer | string | Readable
  /** Defaults to the body's length for buffers; pass null for "unknown". */
  readonly contentLength?: number | null
  readonly trailers?: Record<string, string>
  readonly principal?: Principal
}

export function fakeRequest(env: TestEnv, r: FakeRequest = {}): S3Request {
  const bodyBuf =
    r.body === undefined
      ? Buffer.alloc(0)
      : typeof r.body === 'string'
        ? Buffer.from(r.body)
        : r.body
  const body = Buffer.isBuffer(bodyBuf)
    ? Readable.from(bodyBuf.length === 0 ? [] : [bodyBuf])
    : bodyBuf
  const headers: Record<string, string> = {}
  for (const [k, v] of Object.entries(r.headers ?? {})) headers[k.toLowerCase()] = v
  const contentLength =
    r.contentLength === null
      ? undefined
      : (r.contentLength ?? (Buffer.isBuffer(bodyBuf) ? bodyBuf.length : undefined))
  if (contentLength !== undefined && headers['content-length'] === undefined)
    headers['content-length'] = String(contentLength)
  const bucketName = r.bucket ?? env.bucket.name
  const trailers = new Map(Object.entries(r.trailers ?? {}))
  const query = new Map(Object.entries(r.query ?? {}))
  const req: S3Request = {
    raw: {
      method: r.method ?? 'GET',
      rawPath: `/${bucketName}/${r.key ?? ''}`,
      rawQuery: '',
      headers,
      body,
      remoteAddress: '127.0.0.1',
      secure: false,
    },
    ctx: { requestId: 'req-1', clock: env.clock, log: silentLogger, receivedAt: env.clock.now() },
    query,
    bucket: bucketName,
    key: r.key ?? 'obj',
    principal: r.principal ?? ROOT,
    body,
    trailers,
    bucketRecord: bucketName === env.bucket.name ? env.bucket : { ...env.bucket, name: bucketName },
    header: (name) => headers[name.toLowerCase()],
    ...(contentLength === undefined ? {} : { contentLength }),
  }
  return req
}

/** Run an operation, mapping thrown errors like the pipeline does. */
export async function run(
  op: AnyOperation,
  env: TestEnv,
  r: FakeRequest = {},
): Promise<S3Response> {
  return op.handle(fakeRequest(env, r), env)
}

/** Run and expect an S3 error; returns it. */
export async function runError(
  op: AnyOperation,
  env: TestEnv,
  r: FakeRequest = {},
): Promise<S3Error> {
  try {
    await op.handle(fakeRequest(env, r), env)
  } catch (e) {
    return toS3Error(e, ACCOUNT)
  }
  throw new Error(`${op.name} succeeded but an error was expected`)
}

/** Read a response body (string, buffer or stream) fully. */
export async function bodyOf(res: S3Response): Promise<Buffer> {
  const b = res.body
  if (b === undefined) return Buffer.alloc(0)
  if (typeof b === 'string') return Buffer.from(b)
  if (Buffer.isBuffer(b)) return b
  const chunks: Buffer[] = []
  for await (const c of b) chunks.push(c as Buffer)
  return Buffer.concat(chunks)
}

export function header(res: S3Response, name: string): string | undefined {
  const v = res.headers?.[name]
  return Array.isArray(v) ? v.join(',') : (v as string | undefined)
}

/** Deterministic pseudo-random bytes (fast, no crypto needed for test data). */
export function bytes(n: number, seed = 1): Buffer {
  const b = Buffer.allocUnsafe(n)
  let x = seed >>> 0 || 1
  for (let i = 0; i < n; i++) {
    x ^= x << 13
    x ^= x >>> 17
    x ^= x << 5
    b[i] = x & 0xff
  }
  return b
}

/**
 * Count blob files present once the garbage collector has run past every grace period (to check
 * nothing is left behind: replaced and deleted blobs are only retired by the writes).
 */
export async function blobCount(env: TestEnv): Promise<number> {
  await collectGarbage(env.ledger, env.blobs, env.meta, Number.MAX_SAFE_INTEGER)
  let n = 0
  for await (const _ of env.blobs.list()) n++
  return n
}
