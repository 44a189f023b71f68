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
 *     when the policies alone do not allow, the bucket's or object's ACL is one more allow source
 *     (s3/acl.ts), and the public access block narrows public ACLs and policies;
 *  7. handle; add x-amz-request-id and CORS headers; render errors as S3 <Error> documents.
 * @module
 */
import type { RawRequest, RequestContext } from '../http/raw-request.js'
import { parseQuery } from '../http/raw-request.js'
import { discardRequestBody } from '../http/drain.js'
import { decodePlusLiteralOrKeep } from '../http/percent.js'
import type { HttpResponse } from '../http/http-response.js'
import type {
  MetadataStore,
  BucketRecord,
  ObjectRecord,
  ReadOptions,
} from '../storage/metadata-store.js'
import { MetadataStoreDecorator } from '../storage/metadata-store-decorator.js'
import type { BlobLedger } from '../storage/blob-ledger.js'
import type { BlobStore } from '../storage/blob-store.js'
import type { SessionUsage } from '../storage/session-usage.js'
import type { ChangeFeed } from '../storage/change-feed.js'
import { settleBucketWrites } from './settled-writes.js'
import type { AccountDirectory } from '../iam/types.js'
import type { CredentialProvider } from '../auth/credentials.js'
import type { PolicyProvider, PrincipalPolicies } from '../policy/principal-policies.js'
import type { CompiledPolicy } from '../policy/document.js'
import { authenticateS3, type AuthDeps } from '../auth/authenticate.js'
import { authenticatePostForm } from '../auth/post-form.js'
import {
  loggedPrincipal,
  sessionAccess,
  principalAccountId,
  principalArn,
  type Principal,
} from '../auth/principal.js'
import type { SigningKeyCache } from '../auth/sigv4/signing-key.js'
import type { SignatureInput } from '../auth/sigv4/parse.js'
import type { SigV2Input } from '../auth/sigv2/parse.js'
import type { ConditionContext } from '../policy/types.js'
import {
  authorize,
  NO_POLICIES,
  type Authorization,
  type AuthorizeInput,
} from '../policy/authorize.js'
import { normalizeIp, principalFacts, RequestConditionKeys } from '../policy/request-context.js'
import { S3Error, toS3Error, renderS3Error, fromAuthError } from './errors.js'
import { addressNotAllowed, assertAddressAllowed } from '../auth/errors.js'
import { resolveTarget } from './addressing.js'
import { checkObjectKey } from './object-key.js'
import { route } from './router.js'
import type { AccessRequirement, Authorizer, S3Env, S3Limits, S3Request } from './operation.js'
import { preflight, corsResponseHeaders, type CorsRule } from './cors.js'
import { BucketConfig } from './bucket-config.js'
import {
  DAY_MS,
  expirationHeader,
  objectExpiry,
  type LifecycleObject,
  type LifecycleRule,
} from './lifecycle.js'
import { ACL_ACTIONS, aclGrantFor, aclsDisabled, privateAcl } from './acl.js'
import { Readable } from 'node:stream'
import { InFlightShares } from '../lib/in-flight-shares.js'
import { randomIds, type IdSource } from '../lib/clock.js'

export interface S3PipelineDeps {
  readonly meta: MetadataStore
  readonly blobs: BlobStore
  /** Where the stores announce changes: bucket policy/CORS/owner caches subscribe here. */
  readonly changes: ChangeFeed
  readonly ledger: BlobLedger
  readonly iam: CredentialProvider & PolicyProvider & AccountDirectory
  readonly keyCache: SigningKeyCache
  readonly domain?: string
  /** Longest presigned URL lifetime, seconds (AuthDeps.presignMaxAgeSeconds); default 7 days. */
  readonly presignMaxAgeSeconds?: number
  readonly region: string
  /** The operator pinned the region (S3Env.regionPinned). */
  readonly regionPinned?: boolean
  /** New ids (upload ids); default random. */
  readonly ids?: IdSource
  readonly limits: S3Limits
  /** Upload-cap counters of sessions (the shared-limits port). */
  readonly usage?: SessionUsage
  /** How long a lifecycle "day" is (ms): 86,400,000 unless shortened for tests. */
  readonly lifecycleDayMs?: number
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
  /**
   * --aws-bucket-defaults: new buckets start as AWS's do since April 2023 (Object Ownership
   * BucketOwnerEnforced, every public access block flag set). Default false.
   */
  readonly awsBucketDefaults?: boolean
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

/** The `x-amz-expiration` header for `o` under the bucket's lifecycle rules (empty: none expires it). */
function expirationOf(
  rules: readonly LifecycleRule[] | undefined,
  o: LifecycleObject,
  dayMs: number,
): Record<string, string> {
  const e = rules === undefined ? undefined : objectExpiry(rules, o, dayMs)
  return e === undefined ? {} : { 'x-amz-expiration': expirationHeader(e.at, e.ruleId) }
}

/** Whether an answer to `raw` may carry CORS headers: a browser's request (with an Origin). */
function wantsCors(raw: RawRequest): boolean {
  return raw.headers['origin'] !== undefined && CORS_METHODS.has(raw.method)
}

export class S3Pipeline {
  private readonly deps: S3PipelineDeps
  private readonly authDeps: (clock: RequestContext['clock']) => AuthDeps
  /** Bucket policy, CORS and owner caches, kept fresh by the ChangeFeed. */
  private readonly bucketConfig: BucketConfig
  readonly env: S3Env

  constructor(deps: S3PipelineDeps) {
    this.deps = deps
    const lifecycleDayMs = deps.lifecycleDayMs ?? DAY_MS
    this.bucketConfig = new BucketConfig({
      meta: deps.meta,
      changes: deps.changes,
      accounts: deps.iam,
    })
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
      meta: settleBucketWrites(deps.meta, deps.changes),
      blobs: deps.blobs,
      ledger: deps.ledger,
      authz,
      owner: (accountId) => this.bucketConfig.owner(accountId),
      accessConfig: (bucket) => this.bucketConfig.accessConfig(bucket),
      accountOfCanonicalId: (id) => deps.iam.byCanonicalId(id)?.id,
      awsBucketDefaults: deps.awsBucketDefaults ?? false,
      limits: deps.limits,
      ...(deps.usage !== undefined ? { usage: deps.usage } : {}),
      region: deps.region,
      regionPinned: deps.regionPinned ?? false,
      ids: deps.ids ?? randomIds,
      authenticatePostForm: (fields, req) =>
        authenticatePostForm(fields, this.authDeps(req.ctx.clock), deps.iam, req.raw.remoteAddress),
      expiration: (bucket, o) => {
        const rules = this.bucketConfig.lifecycleRules(bucket)
        return rules instanceof Promise
          ? rules.then((r) => expirationOf(r, o, lifecycleDayMs))
          : expirationOf(rules, o, lifecycleDayMs)
      },
    }
  }

  private inFlight = 0
  private readonly shares: InFlightShares

  /** One S3 request (counted in flight from its start to its answer). */
  async handle(raw: RawRequest, ctx: RequestContext): Promise<HttpResponse> {
    let query = parseQuery(raw.rawQuery)
    let bucketName: string | undefined
    let principal: Principal = { kind: 'anonymous' }
    let bucketRecord: BucketRecord | undefined
    let release: (() => void) | undefined
    const access = ctx.access
    this.inFlight++
    try {
      if (this.inFlight > (this.deps.maxInFlight ?? 1024))
        throw new S3Error('SlowDown', undefined, {}, { 'retry-after': '1' })
      // 1. Target and operation.
      const target = resolveTarget(raw.rawPath, raw.headers['host'], this.deps.domain)
      bucketName = target.bucket
      if (access !== undefined) {
        access.bucket = target.bucket
        access.key = target.key
      }
      if (raw.method === 'OPTIONS') {
        if (access !== undefined) access.operation = 'PreflightCORS'
        return await this.preflight(raw, target.bucket)
      }
      let op = route(raw.method, target.bucket, target.key, query, raw.headers)
      if (access !== undefined) access.operation = op.name
      const version = query.get('versionId')
      if (version !== undefined && version !== 'null')
        throw new S3Error('InvalidArgument', 'Invalid version id specified', {
          ArgumentName: 'versionId',
          ArgumentValue: version,
        })

      // 3. Authenticate.
      const authenticated = authenticateS3(raw, query, this.authDeps(ctx.clock))
      const auth = authenticated instanceof Promise ? await authenticated : authenticated
      principal = auth.principal
      if (auth.queryPlusAsSpace === true) {
        // The signer meant `+` as a space (auth/sigv4/verify.ts QueryReading): read it so.
        query = parseQuery(raw.rawQuery.replaceAll('+', '%20'))
        op = route(raw.method, target.bucket, target.key, query, raw.headers)
        if (access !== undefined) access.operation = op.name
      }
      if (access !== undefined) {
        access.principal = loggedPrincipal(principal)
        if (principal.kind === 'session') access.session = sessionAccess(principal)
      }
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
      if (principal.kind !== 'anonymous')
        assertAddressAllowed(this.deps.iam, principal.accountId, raw.remoteAddress)

      // 5. Bucket and key.
      if (target.bucket !== undefined && op.target !== 'new-bucket') {
        const known = this.deps.meta.knownBucket?.(target.bucket)
        bucketRecord =
          known === undefined ? await this.deps.meta.getBucket(target.bucket) : (known ?? undefined)
        if (bucketRecord === undefined)
          throw new S3Error('NoSuchBucket', undefined, { BucketName: target.bucket })
        // The owner's list binds every caller (step 4 already checked the owner's own callers).
        if (principal.kind === 'anonymous' || principal.accountId !== bucketRecord.accountId)
          assertAddressAllowed(this.deps.iam, bucketRecord.accountId, raw.remoteAddress)
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
      const needs = op.authorize(req)
      const pin: AclPin = {}
      if (needs !== 'self')
        for (const need of needs) {
          const checked = this.check(req, need, bucketRecord, pin)
          const denied = checked instanceof Promise ? await checked : checked
          if (denied !== undefined) throw denied
        }

      // 7. Handle (an object its ACL admitted the caller to is served as it was decided on).
      const env =
        pin.record === undefined
          ? this.env
          : Object.assign({}, this.env, { meta: new PinnedObject(this.env.meta, pin.record) })
      const handled = op.handle(req, env)
      const res = handled instanceof Promise ? await handled : handled
      // CORS headers only answer a request with an Origin (browsers): no await for the others.
      if (bucketRecord === undefined || !wantsCors(raw)) return res
      const cors = await this.corsHeaders(raw, bucketRecord.name)
      return Object.assign({}, res, { headers: Object.assign({}, cors, res.headers) })
    } catch (err) {
      const e = toS3Error(err, principal.kind === 'anonymous' ? undefined : principal.accountId)
      if (access !== undefined) access.errorCode = e.code
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
      const resource = decodePlusLiteralOrKeep(raw.rawPath)
      return {
        status: e.status,
        headers: { 'content-type': 'application/xml', ...cors, ...e.headers, ...retry, ...drain },
        ...(raw.method === 'HEAD' ? {} : { body: renderS3Error(e, resource, ctx.requestId) }),
      }
    } finally {
      release?.()
      this.inFlight--
    }
  }

  /**
   * Decide one requirement; returns the AccessDenied error, or undefined when allowed. When an
   * object's ACL admitted the caller, `pin.record` is the record it was decided on. Answers in
   * place when the policies are in memory and decide by themselves (the usual request); a promise
   * when something must be loaded or read: the policies, the bucket's public-access settings, an
   * ACL.
   */
  private check(
    req: S3Request,
    need: AccessRequirement,
    bucket: BucketRecord | undefined,
    pin?: AclPin,
  ): S3Error | undefined | Promise<S3Error | undefined> {
    const p = req.principal
    // Another bucket than the request's own (a copy's source): its owner's allow-list applies too.
    if (
      bucket !== undefined &&
      bucket !== req.bucketRecord &&
      !this.deps.iam.addressAllowed(bucket.accountId, req.raw.remoteAddress)
    )
      return fromAuthError(addressNotAllowed(req.raw.remoteAddress))
    const found = p.kind === 'anonymous' ? NO_POLICIES : this.deps.iam.policiesFor(p)
    const loaded = bucket !== undefined ? this.bucketConfig.policy(bucket.name) : undefined
    if (found instanceof Promise || loaded instanceof Promise)
      return Promise.all([found, loaded]).then(([policies, resourcePolicy]) =>
        this.decide(req, need, bucket, pin, policies, resourcePolicy),
      )
    return this.decide(req, need, bucket, pin, found, loaded)
  }

  /** `check` once the caller's policies and the bucket policy are in hand. */
  private decide(
    req: S3Request,
    need: AccessRequirement,
    bucket: BucketRecord | undefined,
    pin: AclPin | undefined,
    policies: PrincipalPolicies,
    resourcePolicy: CompiledPolicy | undefined,
  ): S3Error | undefined | Promise<S3Error | undefined> {
    const p = req.principal
    const arn = principalArn(p)
    const input: AuthorizeInput = {
      principal: principalFacts(p, arn),
      policies,
      resourcePolicy,
      resourceAccountId: bucket?.accountId,
      requirement: need,
      context: conditionKeys(req, need, arn),
    }
    const sameAccount = bucket === undefined || principalAccountId(p) === bucket.accountId
    // Another account's caller under a bucket policy: RestrictPublicBuckets may apply (read).
    if (resourcePolicy !== undefined && bucket !== undefined && !sameAccount)
      return this.decideCrossAccount(input, p, need, bucket, pin)
    return this.withAcl(authorize(input), input, p, need, bucket, sameAccount, false, pin)
  }

  /**
   * RestrictPublicBuckets: while the bucket policy is public, nothing outside the owner's account
   * gets in, by the policy or by an ACL (AWS: "blocks all cross-account access"); the policy's
   * Denies still hold.
   */
  private async decideCrossAccount(
    input: AuthorizeInput,
    p: Principal,
    need: AccessRequirement,
    bucket: BucketRecord,
    pin: AclPin | undefined,
  ): Promise<S3Error | undefined> {
    if (
      (await this.bucketConfig.accessConfig(bucket.name)).publicAccessBlock
        ?.RestrictPublicBuckets === true &&
      (await this.bucketConfig.policyIsPublic(bucket.name))
    ) {
      const full = authorize(input)
      if (full.decision.effect === 'deny' && full.decision.explicit)
        return new S3Error('AccessDenied', full.denial)
      const restricted = Object.assign({}, input, { resourcePolicy: undefined })
      return this.withAcl(authorize(restricted), restricted, p, need, bucket, false, true, pin)
    }
    return this.withAcl(authorize(input), input, p, need, bucket, false, false, pin)
  }

  /**
   * The policies' answer, with the ACL as one more allow source: asked only when the policies do
   * not allow by themselves (an explicit Deny already won), so the common request never reads it.
   */
  private withAcl(
    first: Authorization,
    input: AuthorizeInput,
    p: Principal,
    need: AccessRequirement,
    bucket: BucketRecord | undefined,
    sameAccount: boolean,
    restricted: boolean,
    pin: AclPin | undefined,
  ): S3Error | undefined | Promise<S3Error | undefined> {
    if (first.denial === undefined) return undefined
    if (
      bucket === undefined ||
      restricted ||
      (first.decision.effect === 'deny' && first.decision.explicit)
    )
      return new S3Error('AccessDenied', first.denial)
    return this.aclAllows(p, need, bucket, sameAccount, pin).then((allowed) => {
      if (!allowed) return new S3Error('AccessDenied', first.denial)
      const withAcl = authorize(Object.assign({}, input, { aclAllow: true }))
      if (withAcl.denial === undefined) return undefined
      if (pin !== undefined) delete pin.record
      return new S3Error('AccessDenied', withAcl.denial)
    })
  }

  /**
   * Whether the bucket's ACL (bucket actions, and object writes: AWS's WRITE on the bucket) or the
   * object's ACL (object reads and ACL calls) grants what `need` asks to this caller. Disabled
   * ACLs (BucketOwnerEnforced) grant nothing; IgnorePublicAcls drops AllUsers/AuthenticatedUsers.
   * A grant to the caller's own account adds nothing inside the owner's account (IAM decides
   * there), as a bucket policy naming the account does not.
   */
  private async aclAllows(
    p: Principal,
    need: AccessRequirement,
    bucket: BucketRecord,
    sameAccount: boolean,
    pin: AclPin | undefined,
  ): Promise<boolean> {
    if (!Object.hasOwn(ACL_ACTIONS, need.action)) return false
    const m = ACL_ACTIONS[need.action]
    if (m === undefined) return false
    const config = await this.bucketConfig.accessConfig(bucket.name)
    if (aclsDisabled(config)) return false
    let acl = config.acl ?? privateAcl(bucket.accountId)
    let record: ObjectRecord | undefined
    if (m.on === 'object') {
      const prefix = `arn:aws:s3:::${bucket.name}/`
      if (!need.resource.startsWith(prefix)) return false
      const o = await this.deps.meta.getObject(bucket.name, need.resource.slice(prefix.length))
      if (o === undefined) return false
      acl = o.acl ?? privateAcl(o.ownerAccountId)
      record = o
    }
    const grant = aclGrantFor(
      acl,
      m.permission,
      { accountId: principalAccountId(p) },
      config.publicAccessBlock?.IgnorePublicAcls === true,
    )
    const allowed = grant === 'public' || (grant === 'account' && !sameAccount)
    // The handler must serve this record, not one written since with another ACL.
    if (allowed && record !== undefined && pin !== undefined) pin.record = record
    return allowed
  }

  private corsRules(bucket: string): Promise<readonly CorsRule[] | undefined> {
    return this.bucketConfig.corsRules(bucket)
  }

  private async corsHeaders(raw: RawRequest, bucket: string): Promise<Record<string, string>> {
    const origin = raw.headers['origin']
    if (origin === undefined || !wantsCors(raw)) return {}
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
}

/** Out-parameter of the authorization step: the object record an ACL decision was made on. */
interface AclPin {
  record?: ObjectRecord
}

/**
 * The store as one request's handler sees it once the object's ACL admitted the caller: a read of
 * that key answers the very record the ACL was read from, so an overwrite that lands between the
 * decision and the read (with a private ACL, say) is not served under the old decision. Fresh
 * reads (conditional writes) and other keys go to the store.
 */
class PinnedObject extends MetadataStoreDecorator {
  private readonly record: ObjectRecord
  constructor(inner: MetadataStore, record: ObjectRecord) {
    super(inner)
    this.record = record
  }
  override getObject(
    bucket: string,
    key: string,
    opts?: ReadOptions,
  ): Promise<ObjectRecord | undefined> {
    if (bucket === this.record.bucket && key === this.record.key && opts?.fresh !== true)
      return Promise.resolve(this.record)
    return this.inner.getObject(bucket, key, opts)
  }
  override knownObject(bucket: string, key: string): ObjectRecord | undefined {
    if (bucket === this.record.bucket && key === this.record.key) return this.record
    return this.inner.knownObject?.(bucket, key)
  }
}

/**
 * The condition keys of one request: the operation's (s3:prefix, …), S3's own below, and the aws:*
 * keys every surface shares (policy/request-context.ts). Computed only when a policy asks.
 */
function conditionKeys(req: S3Request, need: AccessRequirement, arn: string): ConditionContext {
  const raw = req.raw
  const now = (): number => req.ctx.clock.now()
  const sig = (req as SignedS3Request)[SIGNATURE]
  return new RequestConditionKeys(
    {
      principal: req.principal,
      remoteAddress: raw.remoteAddress,
      secure: raw.secure,
      headers: raw.headers,
      now,
    },
    { arn, requirement: need.context, surface: (key) => s3Key(key, raw, sig, now) },
  )
}

/** S3's service-specific keys (AWS defines s3:signatureAge for SigV4 only; SigV2 reports 'AWS'). */
function s3Key(
  key: string,
  raw: RawRequest,
  sig: SignatureInput | SigV2Input | undefined,
  now: () => number,
): readonly string[] | undefined {
  switch (key) {
    case 's3:authtype':
      return sig === undefined
        ? undefined
        : [sig.kind === 'header' ? 'REST-HEADER' : 'REST-QUERY-STRING']
    case 's3:signatureversion':
      return sig === undefined ? undefined : ['version' in sig ? sig.version : 'AWS4-HMAC-SHA256']
    case 's3:signatureage':
      return sig === undefined || 'version' in sig
        ? undefined
        : [String(Math.max(0, now() - sig.requestTime))]
    case 's3:x-amz-content-sha256': {
      const v = raw.headers['x-amz-content-sha256']
      return v === undefined ? undefined : [v]
    }
    default:
      return undefined
  }
}

/** Exposed for tests: an empty readable body. */
export function emptyBody(): Readable {
  return Readable.from([])
}
