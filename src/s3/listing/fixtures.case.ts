/**
 * Test support for the bucket-operation unit tests: an in-process S3Env over the memory metadata
 * store (publishing to an in-process ChangeFeed, whose bucket policy/CORS changes the env records)
 * and a real FsBlobStore (temp dir), allow-all / deny-all authorizers, and a fake S3Request
 * builder. Not used by production code.
 * @module
 */
import { createHash } from 'node:crypto'
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
import { S3Error, toS3Error } from '../errors.js'
import { loadAccessConfig } from '../bucket-config.js'
import type {
  AccessRequirement,
  Authorizer,
  AnyOperation,
  OwnerInfo,
  S3Env,
  S3Request,
  S3Response,
} from '../operation.js'

export const ACCOUNT = '111122223333'
export const OTHER_ACCOUNT = '444455556666'

export const ROOT: Principal = {
  kind: 'account-root',
  accountId: ACCOUNT,
  accountName: 'default',
  accessKeyId: 'AKROOT',
}
export const OTHER_ROOT: Principal = {
  kind: 'account-root',
  accountId: OTHER_ACCOUNT,
  accountName: 'other',
  accessKeyId: 'AKOTHER',
}

export function ownerOf(accountId: string): OwnerInfo {
  return {
    id: createHash('sha256').update(accountId).digest('hex'),
    displayName: `acct-${accountId}`,
  }
}

export const allowAll: Authorizer = {
  require: () => Promise.resolve(),
  allows: () => Promise.resolve(true),
}

export const denyAll: Authorizer = {
  require: (_req, need) =>
    Promise.reject(new S3Error('AccessDenied', `denied ${need.action} on ${need.resource}`)),
  allows: () => Promise.resolve(false),
}

export interface TestEnv {
  readonly env: S3Env
  readonly meta: MemoryMetadataStore
  readonly blobs: FsBlobStore
  readonly clock: ManualClock
  /** Buckets whose policy changed (or that were deleted), as the ChangeFeed announced them. */
  readonly policyChanged: string[]
  /** Buckets whose CORS changed (or that were deleted), as the ChangeFeed announced them. */
  readonly corsChanged: string[]
  /** Requirements passed to authz.require/allows. */
  readonly authzCalls: AccessRequirement[]
  close(): Promise<void>
}

export interface EnvOptions {
  readonly authz?: Authorizer
  readonly region?: string
  readonly regionPinned?: boolean
  readonly inlineMax?: number
  readonly postPrincipal?: (fields: ReadonlyMap<string, string>) => Promise<Principal>
}

export function makeEnv(opts: EnvOptions = {}): TestEnv {
  const dir = mkdtempSync(join(tmpdir(), 'latchkey-s3b-'))
  const changes = new MemoryChangeFeed()
  const meta = new MemoryMetadataStore({ changes })
  const blobs = new FsBlobStore(dir)
  const policyChanged: string[] = []
  const corsChanged: string[] = []
  changes.subscribe({
    change: (c) => {
      if (c.kind !== 'bucket' || c.part === 'created') return
      if (c.part !== 'cors') policyChanged.push(c.bucket)
      if (c.part !== 'policy') corsChanged.push(c.bucket)
    },
    resync() {},
  })
  const authzCalls: AccessRequirement[] = []
  const inner = opts.authz ?? allowAll
  const authz: Authorizer = {
    require: (req, need, b) => {
      authzCalls.push(need)
      return inner.require(req, need, b)
    },
    allows: (req, need, b) => {
      authzCalls.push(need)
      return inner.allows(req, need, b)
    },
  }
  const env: S3Env = {
    meta,
    blobs,
    ledger: new MemoryBlobLedger(),
    authz,
    ids: randomIds,
    owner: ownerOf,
    accessConfig: (name) => loadAccessConfig(meta, name),
    accountOfCanonicalId: (id) => [ACCOUNT, OTHER_ACCOUNT].find((a) => ownerOf(a).id === id),
    awsBucketDefaults: false,
    limits: {
      inlineMax: opts.inlineMax ?? 1024,
      maxObjectSize: 5 * 1024 ** 3,
      minPartSize: 5 * 1024 ** 2,
      maxPartSize: 5 * 1024 ** 3,
      maxParts: 10000,
    },
    region: opts.region ?? 'us-east-1',
    regionPinned: opts.regionPinned ?? false,
    authenticatePostForm: (fields) => (opts.postPrincipal ?? (() => Promise.resolve(ROOT)))(fields),
  }
  return {
    env,
    meta,
    blobs,
    clock: new ManualClock(Date.UTC(2026, 0, 2, 3, 4, 5, 678)),
    policyChanged,
    corsChanged,
    authzCalls,
    async close() {
      await meta.close()
      rmSync(dir, { recursive: true, force: true })
    },
  }
}

export interface ReqOptions {
  readonly method?: string
  readonly bucket?: string
  readonly key?: string
  readonly query?: Readonly<Record<string, string>>
  readonly headers?: Readonly<Record<string, string>>
  readonly body?: string | Buffer | Readable
  readonly principal?: Principal
  readonly bucketRecord?: BucketRecord
  readonly trailers?: ReadonlyMap<string, string>
  readonly clock?: ManualClock
}

export function makeReq(o: ReqOptions): S3Request {
  const headers: Record<string, string> = {}
  for (const [k, v] of Object.entries(o.headers ?? {})) headers[k.toLowerCase()] = v
  const body =
    o.body instanceof Readable
      ? o.body
      : Readable.from(o.body === undefined ? [] : [Buffer.from(o.body)])
  const clock = o.clock ?? new ManualClock(Date.UTC(2026, 0, 2, 3, 4, 5, 678))
  const query = new Map(Object.entries(o.query ?? {}))
  return {
    raw: {
      method: o.method ?? 'GET',
      rawPath: `/${o.bucket ?? ''}${o.key !== undefined ? `/${o.key}` : ''}`,
      rawQuery: '',
      headers,
      body,
      remoteAddress: '127.0.0.1',
      secure: false,
    },
    ctx: { requestId: 'REQ1', clock, log: silentLogger, receivedAt: clock.now() },
    query,
    ...(o.bucket !== undefined ? { bucket: o.bucket } : {}),
    ...(o.key !== undefined ? { key: o.key } : {}),
    principal: o.principal ?? ROOT,
    body,
    trailers: o.trailers ?? new Map(),
    ...(o.bucketRecord !== undefined ? { bucketRecord: o.bucketRecord } : {}),
    header: (n) => headers[n.toLowerCase()],
  }
}

export interface Result {
  readonly status: number
  readonly headers: Readonly<Record<string, string | readonly string[]>>
  readonly body: string
  readonly error?: S3Error
}

async function bodyText(b: S3Response['body']): Promise<string> {
  if (b === undefined) return ''
  if (typeof b === 'string') return b
  if (Buffer.isBuffer(b)) return b.toString('utf8')
  const chunks: Buffer[] = []
  for await (const c of b) chunks.push(Buffer.from(c as Buffer))
  return Buffer.concat(chunks).toString('utf8')
}

/**
 * Run an operation the way the pipeline does: load the bucket record (NoSuchBucket when the
 * operation is bucket-level and the bucket is missing, except CreateBucket), then handle; errors
 * come back as `error` with their status.
 */
export async function run(op: AnyOperation, t: TestEnv, o: ReqOptions): Promise<Result> {
  try {
    let bucketRecord = o.bucketRecord
    if (bucketRecord === undefined && o.bucket !== undefined && op.name !== 'CreateBucket') {
      bucketRecord = await t.meta.getBucket(o.bucket)
      if (bucketRecord === undefined) throw new S3Error('NoSuchBucket')
    }
    const req = makeReq({
      clock: t.clock,
      ...o,
      ...(bucketRecord !== undefined ? { bucketRecord } : {}),
    })
    const res = await op.handle(req, t.env)
    return { status: res.status, headers: res.headers ?? {}, body: await bodyText(res.body) }
  } catch (e) {
    const err = toS3Error(e, accountOf(o.principal ?? ROOT))
    if (err.code === 'InternalError') throw e
    return { status: err.status, headers: err.headers, body: err.message, error: err }
  }
}

function accountOf(p: Principal): string | undefined {
  return p.kind === 'anonymous' ? undefined : p.accountId
}

export async function createTestBucket(
  t: TestEnv,
  name: string,
  accountId = ACCOUNT,
): Promise<BucketRecord> {
  const b: BucketRecord = { name, accountId, createdAt: t.clock.now(), region: 'us-east-1' }
  await t.meta.createBucket(b)
  return b
}

/** Put a small inline object directly through the store. */
export async function putTestObject(
  t: TestEnv,
  bucket: string,
  key: string,
  data = 'x',
  accountId = ACCOUNT,
): Promise<void> {
  const bytes = Buffer.from(data)
  await t.meta.putObject({
    bucket,
    key,
    size: bytes.length,
    etag: createHash('md5').update(bytes).digest('hex'),
    lastModified: t.clock.now(),
    headers: {},
    userMetadata: {},
    tags: {},
    body: { kind: 'inline', bytes },
    ownerAccountId: accountId,
  })
}

/** MD5 header value for a body. */
export function contentMd5(body: string | Buffer): string {
  return createHash('md5').update(body).digest('base64')
}
