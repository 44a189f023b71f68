/**
 * The S3 request pipeline, in the order it runs:
 *  1. resolve bucket/key (path- or virtual-hosted-style) and route to an Operation (table);
 *  2. OPTIONS → CORS preflight (unauthenticated, as S3 does);
 *  3. authenticate (SigV4 header/presigned, or anonymous) and wrap the body in its verifier;
 *  4. enforce the address allow-lists: the caller's account's, and the bucket owner's for every
 *     request to its buckets (signed callers from other accounts included, as Lyve's
 *     per-customer whitelist implies; a copy's source bucket too);
 *  5. load the bucket (NoSuchBucket) and check the key;
 *  6. authorize every AccessRequirement of the operation with the policy engine (identity ∪/∩
 *     bucket policy, ∩ session policy, explicit Deny wins) → AccessDenied naming who/what/why;
 *  7. handle; add x-amz-request-id and CORS headers; render errors as S3 <Error> documents.
 * @module
 */
import type { RawRequest, RequestContext } from '../http/raw-request.js'
import { parseQuery } from '../http/raw-request.js'
import { discardRequestBody } from '../http/drain.js'
import type { HttpResponse } from '../http/http-response.js'
import type { MetadataStore, BucketRecord } from '../storage/metadata-store.js'
import type { BlobLedger } from '../storage/blob-ledger.js'
import type { BlobStore } from '../storage/blob-store.js'
import type { CredentialProvider, PolicyProvider, AccountDirectory } from '../iam/types.js'
import { authenticateS3, resolveCredential, type AuthDeps } from '../auth/authenticate.js'
import {
  parentArn,
  principalArn,
  principalType,
  principalUserId,
  type Principal,
} from '../auth/principal.js'
import type { SigningKeyCache } from '../auth/sigv4/signing-key.js'
import type { SignatureInput } from '../auth/sigv4/parse.js'
import type { SigV2Input } from '../auth/sigv2/parse.js'
import { parsePostAuth, verifyPostSignature } from '../auth/sigv4/post-policy.js'
import { parsePolicy, type CompiledPolicy } from '../policy/document.js'
import { decide } from '../policy/combine.js'
import { accessDeniedMessage } from '../policy/describe.js'
import type { ConditionContext, RequestFacts } from '../policy/types.js'
import { S3Error, toS3Error, renderS3Error } from './errors.js'
import { resolveTarget } from './addressing.js'
import { checkObjectKey } from './object-key.js'
import { route } from './router.js'
import type {
  AccessRequirement,
  Authorizer,
  OwnerInfo,
  S3Env,
  S3Limits,
  S3Request,
} from './operation.js'
import { parseCorsConfig, preflight, corsResponseHeaders, type CorsRule } from './cors.js'
import { Readable } from 'node:stream'
import { InFlightShares } from '../lib/in-flight-shares.js'

export interface S3PipelineDeps {
  readonly meta: MetadataStore
  readonly blobs: BlobStore
  readonly ledger: BlobLedger
  readonly iam: CredentialProvider & PolicyProvider & AccountDirectory
  readonly keyCache: SigningKeyCache
  readonly domain?: string
  /** Longest presigned URL lifetime, seconds (AuthDeps.presignMaxAgeSeconds); default 7 days. */
  readonly presignMaxAgeSeconds?: number
  readonly region: string
  readonly limits: S3Limits
  /**
   * Requests handled at once before new ones are turned away with 503 SlowDown (and Retry-After),
   * so a flood cannot grow memory without bound. Default 1024.
   */
  readonly maxInFlight?: number
  /**
   * Fair shares of maxInFlight: per caller (access key; address when anonymous), default 128,
   * and per account, default half of maxInFlight (see lib/in-flight-shares).
   */
  readonly maxInFlightPerCaller?: number
  readonly maxInFlightPerAccount?: number
}

export const DEFAULT_LIMITS: S3Limits = {
  inlineMax: 128 * 1024,
  maxObjectSize: 5 * 1024 ** 3,
  minPartSize: 5 * 1024 ** 2,
  maxPartSize: 5 * 1024 ** 3,
  maxParts: 10_000,
}

/**
 * The verified signature, which the authorizer needs (s3:authType, s3:signatureAge) but handlers
 * must not see: kept under a module-private symbol on the request (cheaper than a WeakMap).
 */
const SIGNATURE = Symbol('signature')
type SignedS3Request = S3Request & {
  readonly [SIGNATURE]?: SignatureInput | SigV2Input | undefined
}
const CORS_METHODS = new Set(['GET', 'PUT', 'POST', 'DELETE', 'HEAD'])

export class S3Pipeline {
  private readonly deps: S3PipelineDeps
  private readonly authDeps: (clock: RequestContext['clock']) => AuthDeps
  /** Compiled bucket policies; null = none. Invalidated on Put/DeleteBucketPolicy and bucket deletion. */
  private readonly policyCache = new Map<string, CompiledPolicy | null>()
  private readonly corsCache = new Map<string, readonly CorsRule[] | null>()
  private readonly ownerCache = new Map<string, OwnerInfo>()
  readonly env: S3Env

  constructor(deps: S3PipelineDeps) {
    this.deps = deps
    const maxInFlight = deps.maxInFlight ?? 1024
    const perCaller = Math.min(deps.maxInFlightPerCaller ?? 128, maxInFlight)
    this.shares = new InFlightShares({
      perCaller,
      perAccount: Math.max(perCaller, deps.maxInFlightPerAccount ?? Math.ceil(maxInFlight / 2)),
    })
    const authz: Authorizer = {
      require: async (req, need, bucket) => {
        const denied = await this.check(req, need, bucket)
        if (denied !== undefined) throw denied
      },
      allows: async (req, need, bucket) => (await this.check(req, need, bucket)) === undefined,
    }
    this.authDeps = (clock) => ({
      credentials: deps.iam,
      keyCache: deps.keyCache,
      clock,
      ...(deps.domain !== undefined ? { domain: deps.domain } : {}),
      ...(deps.presignMaxAgeSeconds !== undefined
        ? { presignMaxAgeSeconds: deps.presignMaxAgeSeconds }
        : {}),
    })
    this.env = {
      meta: deps.meta,
      blobs: deps.blobs,
      ledger: deps.ledger,
      authz,
      owner: (accountId) => this.owner(accountId),
      bucketPolicyChanged: (b) => this.policyCache.delete(b),
      bucketCorsChanged: (b) => this.corsCache.delete(b),
      limits: deps.limits,
      region: deps.region,
      authenticatePostForm: (fields, req) => this.authenticatePostForm(fields, req),
    }
  }

  private inFlight = 0
  private readonly shares: InFlightShares

  async handle(raw: RawRequest, ctx: RequestContext): Promise<HttpResponse> {
    this.inFlight++
    try {
      return await this.handleOne(raw, ctx)
    } finally {
      this.inFlight--
    }
  }

  private async handleOne(raw: RawRequest, ctx: RequestContext): Promise<HttpResponse> {
    const query = parseQuery(raw.rawQuery)
    let bucketName: string | undefined
    let principal: Principal = { kind: 'anonymous' }
    let bucketRecord: BucketRecord | undefined
    let release: (() => void) | undefined
    try {
      if (this.inFlight > (this.deps.maxInFlight ?? 1024))
        throw new S3Error('SlowDown', undefined, {}, { 'retry-after': '1' })
      // 1. Target and operation.
      const target = resolveTarget(raw.rawPath, raw.headers['host'], this.deps.domain)
      bucketName = target.bucket
      if (raw.method === 'OPTIONS') return await this.preflight(raw, target.bucket)
      const op = route(raw.method, target.bucket, target.key, query, raw.headers)
      const version = query.get('versionId')
      if (version !== undefined && version !== 'null')
        throw new S3Error('InvalidArgument', 'Invalid version id specified', {
          ArgumentName: 'versionId',
          ArgumentValue: version,
        })

      // 3. Authenticate.
      const auth = await authenticateS3(raw, query, this.authDeps(ctx.clock))
      principal = auth.principal
      const slot = this.shares.enter(
        principal.kind === 'anonymous'
          ? `addr:${normalizeIp(raw.remoteAddress)}`
          : principal.accessKeyId,
        principal.kind === 'anonymous' ? undefined : principal.accountId,
      )
      if (typeof slot === 'string')
        throw new S3Error(
          'SlowDown',
          `Too many requests in flight for this ${slot === 'caller' ? (principal.kind === 'anonymous' ? 'address' : 'access key') : 'account'}. Please reduce your request rate.`,
          {},
          { 'retry-after': '1' },
        )
      release = slot

      // 4. Allow-list of the caller's account.
      if (
        principal.kind !== 'anonymous' &&
        !this.deps.iam.addressAllowed(principal.accountId, raw.remoteAddress)
      )
        throw notOnAllowList(raw.remoteAddress)

      // 5. Bucket and key.
      if (target.bucket !== undefined && op.name !== 'CreateBucket') {
        bucketRecord = await this.deps.meta.getBucket(target.bucket)
        if (bucketRecord === undefined)
          throw new S3Error('NoSuchBucket', undefined, { BucketName: target.bucket })
        // The owner's list binds every caller (step 4 already checked the owner's own callers).
        if (
          (principal.kind === 'anonymous' || principal.accountId !== bucketRecord.accountId) &&
          !this.deps.iam.addressAllowed(bucketRecord.accountId, raw.remoteAddress)
        )
          throw notOnAllowList(raw.remoteAddress)
      }
      if (target.key !== undefined) checkObjectKey(target.key)

      const headers = raw.headers
      const signature = auth.signature ?? auth.signatureV2
      const req: SignedS3Request = {
        [SIGNATURE]: signature,
        raw,
        ctx,
        query,
        ...(target.bucket !== undefined ? { bucket: target.bucket } : {}),
        ...(target.key !== undefined ? { key: target.key } : {}),
        principal,
        body: auth.body,
        ...(auth.contentLength !== undefined ? { contentLength: auth.contentLength } : {}),
        trailers: auth.trailers,
        ...(bucketRecord !== undefined ? { bucketRecord } : {}),
        header: (name) => headers[name],
      }

      // 6. Authorize.
      for (const need of op.authorize(req)) {
        const denied = await this.check(req, need, bucketRecord)
        if (denied !== undefined) throw denied
      }

      // 7. Handle.
      const res = await op.handle(req, this.env)
      if (op.name === 'DeleteBucket' && target.bucket !== undefined) {
        this.policyCache.delete(target.bucket)
        this.corsCache.delete(target.bucket)
      }
      const cors = bucketRecord !== undefined ? await this.corsHeaders(raw, bucketRecord.name) : {}
      return { ...res, headers: { ...cors, ...res.headers } }
    } catch (err) {
      const e = toS3Error(err, principal.kind === 'anonymous' ? undefined : principal.accountId)
      if (e.code === 'InternalError')
        ctx.log.error({ err, requestId: ctx.requestId }, 'internal error')
      const retry: Record<string, string> =
        e.status === 503 && e.headers['retry-after'] === undefined ? { 'retry-after': '1' } : {}
      // Consume (or give up on) what is left of the body so the connection stays usable.
      const drain = discardRequestBody(raw)
      const cors =
        bucketName !== undefined && bucketRecord !== undefined
          ? await this.corsHeaders(raw, bucketName).catch(() => ({}))
          : {}
      const resource = safeResource(raw.rawPath)
      return {
        status: e.status,
        headers: { 'content-type': 'application/xml', ...cors, ...e.headers, ...retry, ...drain },
        ...(raw.method === 'HEAD' ? {} : { body: renderS3Error(e, resource, ctx.requestId) }),
      }
    } finally {
      release?.()
    }
  }

  /** Decide one requirement; returns the AccessDenied error, or undefined when allowed. */
  private async check(
    req: S3Request,
    need: AccessRequirement,
    bucket: BucketRecord | undefined,
  ): Promise<S3Error | undefined> {
    const p = req.principal
    // Another bucket than the request's own (a copy's source): its owner's allow-list applies too.
    if (
      bucket !== undefined &&
      bucket !== req.bucketRecord &&
      !this.deps.iam.addressAllowed(bucket.accountId, req.raw.remoteAddress)
    )
      return notOnAllowList(req.raw.remoteAddress)
    const identity = p.kind === 'anonymous' ? { identity: [] } : await this.deps.iam.policiesFor(p)
    const resourcePolicy = bucket !== undefined ? await this.bucketPolicy(bucket.name) : undefined
    const sameAccount =
      p.kind !== 'anonymous' && (bucket === undefined || bucket.accountId === p.accountId)
    const facts = this.facts(req, need)
    const decision = decide({
      identity: identity.identity,
      ...(resourcePolicy !== undefined ? { resource: resourcePolicy } : {}),
      ...(identity.session !== undefined ? { session: identity.session } : {}),
      ...(identity.sessionLayers !== undefined ? { sessionLayers: identity.sessionLayers } : {}),
      sameAccount,
      facts,
    })
    if (decision.effect === 'allow') return undefined
    // Cross-account and anonymous callers get the plain message, as AWS does (no policy details leak).
    const message =
      p.kind === 'anonymous' || !sameAccount
        ? 'Access Denied'
        : accessDeniedMessage(principalArn(p), need.action, need.resource, decision)
    return new S3Error('AccessDenied', message)
  }

  private facts(req: S3Request, need: AccessRequirement): RequestFacts {
    const p = req.principal
    const arn = principalArn(p)
    const sessionParent = p.kind === 'session' ? parentArn(p.parent) : undefined
    return {
      action: need.action,
      resource: need.resource,
      principal: {
        kind: p.kind,
        arn,
        ...(p.kind !== 'anonymous' ? { accountId: p.accountId } : {}),
        ...(sessionParent !== undefined ? { parentArn: sessionParent } : {}),
      },
      context: new RequestConditionKeys(req, need, (req as SignedS3Request)[SIGNATURE], arn),
    }
  }

  private async bucketPolicy(bucket: string): Promise<CompiledPolicy | undefined> {
    let cached = this.policyCache.get(bucket)
    if (cached === undefined) {
      const text = await this.deps.meta.getBucketSubresource(bucket, 'policy')
      cached =
        text === undefined
          ? null
          : parsePolicy(text, { kind: 'resource', name: 'bucket-policy', source: 'resource' })
      this.policyCache.set(bucket, cached)
    }
    return cached ?? undefined
  }

  private async corsRules(bucket: string): Promise<readonly CorsRule[] | undefined> {
    let cached = this.corsCache.get(bucket)
    if (cached === undefined) {
      const text = await this.deps.meta.getBucketSubresource(bucket, 'cors')
      cached = text === undefined ? null : parseCorsConfig(text)
      this.corsCache.set(bucket, cached)
    }
    return cached ?? undefined
  }

  private async corsHeaders(raw: RawRequest, bucket: string): Promise<Record<string, string>> {
    const origin = raw.headers['origin']
    if (origin === undefined || !CORS_METHODS.has(raw.method)) return {}
    const rules = await this.corsRules(bucket)
    if (rules === undefined) return {}
    return corsResponseHeaders(rules, origin, raw.method)
  }

  private async preflight(raw: RawRequest, bucket: string | undefined): Promise<HttpResponse> {
    discardRequestBody(raw)
    if (bucket === undefined)
      throw new S3Error('MethodNotAllowed', undefined, {
        Method: 'OPTIONS',
        ResourceType: 'SERVICE',
      })
    const record = await this.deps.meta.getBucket(bucket)
    if (record === undefined) throw new S3Error('NoSuchBucket', undefined, { BucketName: bucket })
    return preflight(await this.corsRules(bucket), raw.headers)
  }

  private owner(accountId: string): OwnerInfo {
    let o = this.ownerCache.get(accountId)
    if (o === undefined) {
      const acct = this.deps.iam.byId(accountId)
      o = { id: acct?.canonicalId ?? accountId, displayName: acct?.name ?? accountId }
      this.ownerCache.set(accountId, o)
    }
    return o
  }

  private async authenticatePostForm(
    fields: ReadonlyMap<string, string>,
    req: S3Request,
  ): Promise<Principal> {
    if (!fields.has('x-amz-signature') && !fields.has('policy')) return { kind: 'anonymous' }
    const a = parsePostAuth(fields)
    const cred = await resolveCredential(
      this.authDeps(req.ctx.clock),
      a.accessKeyId,
      a.sessionToken,
    )
    const key = this.deps.keyCache.get(
      cred.accessKeyId,
      cred.secretVersion,
      cred.secretKey,
      a.scope,
    )
    if (!verifyPostSignature(a.policyB64, a.signature, key))
      throw new S3Error('SignatureDoesNotMatch')
    if (!this.deps.iam.addressAllowed(cred.principal.accountId, req.raw.remoteAddress))
      throw notOnAllowList(req.raw.remoteAddress)
    return cred.principal
  }
}

/**
 * The condition keys of one request, computed only when a policy asks for one (most requests meet
 * no condition, and the master key's policy has none). Keys are lower-cased; values memoised.
 */
class RequestConditionKeys implements ConditionContext {
  private readonly req: S3Request
  private readonly need: AccessRequirement
  private readonly sig: SignatureInput | SigV2Input | undefined
  private readonly arn: string
  private memo: Map<string, readonly string[] | undefined> | undefined

  constructor(
    req: S3Request,
    need: AccessRequirement,
    sig: SignatureInput | SigV2Input | undefined,
    arn: string,
  ) {
    this.req = req
    this.need = need
    this.sig = sig
    this.arn = arn
  }

  get(key: string): readonly string[] | undefined {
    this.memo ??= new Map()
    if (this.memo.has(key)) return this.memo.get(key)
    const v = this.compute(key)
    this.memo.set(key, v)
    return v
  }

  private compute(key: string): readonly string[] | undefined {
    if (this.need.context !== undefined) {
      for (const [k, v] of Object.entries(this.need.context))
        if (k.toLowerCase() === key) return typeof v === 'string' ? [v] : [...v]
    }
    const one = (v: string | undefined): readonly string[] | undefined =>
      v === undefined ? undefined : [v]
    const p = this.req.principal
    const raw = this.req.raw
    const sig = this.sig
    const now = (): number => this.req.ctx.clock.now()
    const iso = (ms: number): string => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z')
    switch (key) {
      case 'aws:sourceip':
        return one(normalizeIp(raw.remoteAddress))
      case 'aws:securetransport':
        return one(raw.secure ? 'true' : 'false')
      case 'aws:currenttime':
        return one(iso(now()))
      case 'aws:epochtime':
        return one(String(Math.floor(now() / 1000)))
      case 'aws:useragent':
        return one(raw.headers['user-agent'])
      case 'aws:referer':
        return one(raw.headers['referer'])
      case 'aws:principalaccount':
        return p.kind === 'anonymous' ? undefined : one(p.accountId)
      case 'aws:principalarn':
        return p.kind === 'anonymous' ? undefined : one(this.arn)
      case 'aws:userid':
        return p.kind === 'anonymous' ? undefined : one(principalUserId(p))
      case 'aws:principaltype':
        return one(principalType(p))
      // Sessions made from a user keep the user's name so ${aws:username} statements in the
      // parent's policies (which the session is evaluated against) still apply.
      case 'aws:username':
        return p.kind === 'user'
          ? one(p.username)
          : p.kind === 'session' && p.parent.kind === 'user'
            ? one(p.parent.username)
            : undefined
      case 'aws:tokenissuetime':
        return p.kind === 'session' ? one(iso(p.issuedAt)) : undefined
      case 's3:authtype':
        return sig === undefined
          ? undefined
          : one(sig.kind === 'header' ? 'REST-HEADER' : 'REST-QUERY-STRING')
      // SigV2 reports 'AWS' and has no signature age (AWS defines s3:signatureAge for SigV4 only).
      case 's3:signatureversion':
        return sig === undefined
          ? undefined
          : one('version' in sig ? sig.version : 'AWS4-HMAC-SHA256')
      case 's3:signatureage':
        return sig === undefined || 'version' in sig
          ? undefined
          : one(String(Math.max(0, now() - sig.requestTime)))
      case 's3:x-amz-content-sha256':
        return one(raw.headers['x-amz-content-sha256'])
      default:
        return undefined
    }
  }
}

function notOnAllowList(address: string): S3Error {
  return new S3Error(
    'AccessDenied',
    `Access from ${address} is not allowed by the account's address allow-list`,
  )
}

function normalizeIp(addr: string): string {
  return addr.startsWith('::ffff:') ? addr.slice(7) : addr
}

function safeResource(rawPath: string): string {
  try {
    return decodeURIComponent(rawPath)
  } catch {
    return rawPath
  }
}

/** Exposed for tests: an empty readable body. */
export function emptyBody(): Readable {
  return Readable.from([])
}
