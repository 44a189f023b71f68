/**
 * Who is calling: one path for every signed surface. Parse the signature (header or presigned)
 * into one SignatureInput, resolve the access key from memory, check the session token, verify
 * the signature with a cached signing key, and wrap the body in the payload decoder that verifies
 * the payload hash / chunk signatures while it streams. S3 also accepts SigV2 (sigv2/), checked
 * first with a prefix test so the SigV4 path costs the same.
 * Steps are numbered as they run; each failure throws an AuthError naming what failed (each
 * surface maps the kind to its own code: FROM_AUTH in s3/errors.ts and sts/errors.ts).
 * @module
 */
import type { Readable } from 'node:stream'
import type { Clock } from '../lib/clock.js'
import type { RawRequest, QueryMap } from '../http/raw-request.js'
import type { CredentialProvider, ResolvedCredential } from './credentials.js'
import { AuthError } from './errors.js'
import type { Principal } from './principal.js'
import { parseSignature, type SignatureInput } from './sigv4/parse.js'
import { verifySignature } from './sigv4/verify.js'
import { decodePayload } from './sigv4/payload.js'
import type { SigningKeyCache } from './sigv4/signing-key.js'
import { parseSigV2, type SigV2Input } from './sigv2/parse.js'
import { verifySigV2 } from './sigv2/verify.js'

export interface AuthDeps {
  readonly credentials: CredentialProvider
  readonly keyCache: SigningKeyCache
  readonly clock: Clock
  /** S3 domain for virtual-hosted-style addressing; SigV2 signs `/bucket` from the Host. */
  readonly domain?: string
  /**
   * Longest presigned URL lifetime, seconds (`--presign-max-age`): SigV4's X-Amz-Expires and
   * SigV2's Expires (measured from now). Default and ceiling: 7 days, AWS's limit.
   */
  readonly presignMaxAgeSeconds?: number
}

export interface Authenticated {
  readonly principal: Principal
  readonly credential?: ResolvedCredential
  readonly signature?: SignatureInput
  readonly signingKey?: Buffer
  /** Set instead of `signature` for SigV2 (S3 only); its body is passed through unverified. */
  readonly signatureV2?: SigV2Input
  /**
   * The signature matched only with `+` in the query read as a space (verify.ts QueryReading).
   * The S3 pipeline then parses its query again; STS reads query-protocol parameters as a form
   * (`+` a space) in any case.
   */
  readonly queryPlusAsSpace?: true
}

export interface AuthenticatedWithBody extends Authenticated {
  readonly body: Readable
  readonly contentLength?: number
  readonly trailers: Map<string, string>
}

/** Resolve a credential and check its token; throws InvalidAccessKeyId / InvalidToken / ExpiredToken. */
export function resolveCredential(
  deps: AuthDeps,
  accessKeyId: string,
  sessionToken: string | undefined,
): ResolvedCredential | Promise<ResolvedCredential> {
  // A key or a cached session is answered from memory: no await on every signed request.
  const found = deps.credentials.resolve(accessKeyId)
  return found instanceof Promise
    ? found.then((cred) => checkCredential(deps, accessKeyId, cred, sessionToken))
    : checkCredential(deps, accessKeyId, found, sessionToken)
}

function checkCredential(
  deps: AuthDeps,
  accessKeyId: string,
  cred: ResolvedCredential | undefined,
  sessionToken: string | undefined,
): ResolvedCredential {
  if (cred === undefined)
    throw new AuthError('unknown-key', undefined, { AWSAccessKeyId: accessKeyId })
  switch (deps.credentials.checkSessionToken(cred, sessionToken, deps.clock.now())) {
    case 'ok':
      return cred
    case 'expired':
      throw new AuthError('token-expired', undefined, { 'Token-0': sessionToken ?? '' })
    case 'missing':
      throw new AuthError('token-missing', 'The provided token is malformed or otherwise invalid.')
    case 'invalid':
      throw new AuthError('token-invalid')
  }
}

type AuthOptions = { readonly service: 's3' | 'sts'; readonly bodySha256Hex?: string }

/** Authenticate headers/query only (the body is left untouched). */
export async function authenticate(
  raw: RawRequest,
  query: QueryMap,
  deps: AuthDeps,
  opts: AuthOptions,
): Promise<Authenticated> {
  return authenticateNow(raw, query, deps, opts)
}

/**
 * `authenticate` for the request paths: without an await when the credential is in memory (a
 * key, a cached session), a promise only when one must be loaded. It may throw instead of
 * rejecting: call it where both end in the same catch.
 */
export function authenticateNow(
  raw: RawRequest,
  query: QueryMap,
  deps: AuthDeps,
  opts: AuthOptions,
): Authenticated | Promise<Authenticated> {
  // 0. S3 also speaks SigV2 (boto3 presigns with it); STS stays SigV4-only.
  if (opts.service === 's3') {
    const v2 = parseSigV2(raw, query)
    if (v2 !== undefined) return authenticateV2(raw, query, deps, v2)
  }
  // 1. Parse: undefined means no signature at all → anonymous.
  const sig = parseSignature(raw, query, {
    service: opts.service,
    ...(deps.presignMaxAgeSeconds !== undefined
      ? { maxPresignExpires: deps.presignMaxAgeSeconds }
      : {}),
  })
  if (sig === undefined) return { principal: { kind: 'anonymous' } }
  if (sig.scope.service !== opts.service)
    throw new AuthError(
      'wrong-service',
      `The authorization header is malformed; the service '${sig.scope.service}' in the credential scope is wrong; expecting '${opts.service}'.`,
    )
  // 2. Credential and session token.
  const found = resolveCredential(deps, sig.accessKeyId, sig.sessionToken)
  return found instanceof Promise
    ? found.then((cred) => verified(raw, query, deps, opts, sig, cred))
    : verified(raw, query, deps, opts, sig, found)
}

/** 3. The signature, with a signing key cached per (key, secret version, scope). */
function verified(
  raw: RawRequest,
  query: QueryMap,
  deps: AuthDeps,
  opts: AuthOptions,
  sig: SignatureInput,
  cred: ResolvedCredential,
): Authenticated {
  const signingKey = deps.keyCache.get(
    cred.accessKeyId,
    cred.secretVersion,
    cred.secretKey,
    sig.scope,
  )
  const reading = verifySignature(
    raw,
    query,
    sig,
    signingKey,
    { now: deps.clock.now() },
    opts.bodySha256Hex,
  )
  return {
    principal: cred.principal,
    credential: cred,
    signature: sig,
    signingKey,
    ...(reading === 'plus-as-space' ? { queryPlusAsSpace: true as const } : {}),
  }
}

/** SigV2: same credential and session-token checks as SigV4, then HMAC-SHA1 (constant-time compare). */
async function authenticateV2(
  raw: RawRequest,
  query: QueryMap,
  deps: AuthDeps,
  sig: SigV2Input,
): Promise<Authenticated> {
  const cred = await resolveCredential(deps, sig.accessKeyId, sig.sessionToken)
  verifySigV2(raw, query, sig, cred.secretKey, {
    now: deps.clock.now(),
    ...(deps.domain !== undefined ? { domain: deps.domain } : {}),
    ...(deps.presignMaxAgeSeconds !== undefined
      ? { maxPresignAgeSeconds: deps.presignMaxAgeSeconds }
      : {}),
  })
  return { principal: cred.principal, credential: cred, signatureV2: sig }
}

/**
 * S3: authenticate, then wrap the body in the verifying payload decoder; without an await when
 * the credential is in memory, as `authenticateNow`. The decoder may then be made in the
 * request's first tick, and may fail there (a garbled aws-chunked body already buffered): the
 * next stage is piped onto it only later, which `pipeInto` (lib/streams.ts) handles by failing
 * that stage at once (REGRESSION piped-after-failure; test/e2e/fuzz.test.ts found it).
 */
export function authenticateS3(
  raw: RawRequest,
  query: QueryMap,
  deps: AuthDeps,
): AuthenticatedWithBody | Promise<AuthenticatedWithBody> {
  const a = authenticateNow(raw, query, deps, { service: 's3' })
  return a instanceof Promise ? a.then((done) => withBody(raw, done)) : withBody(raw, a)
}

/**
 * The answer built field by field, not spread from `a`: a spread into a literal here left most of
 * its object outliving two scavenges (promoted to the old generation, collected there later),
 * as `writeResponse`'s header spread did.
 */
function withBody(raw: RawRequest, a: Authenticated): AuthenticatedWithBody {
  const decoded = decodePayload(raw, a.signature, a.signingKey)
  const out: Mutable<AuthenticatedWithBody> = {
    principal: a.principal,
    body: decoded.body,
    trailers: decoded.trailers,
  }
  if (a.credential !== undefined) out.credential = a.credential
  if (a.signature !== undefined) out.signature = a.signature
  if (a.signingKey !== undefined) out.signingKey = a.signingKey
  if (a.signatureV2 !== undefined) out.signatureV2 = a.signatureV2
  if (a.queryPlusAsSpace !== undefined) out.queryPlusAsSpace = a.queryPlusAsSpace
  if (decoded.contentLength !== undefined) out.contentLength = decoded.contentLength
  return out
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] }
