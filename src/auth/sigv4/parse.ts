/**
 * Turns a request's SigV4 material (Authorization header or presigned query) into one
 * `SignatureInput`, so verification has a single path. Secret-free: no key is looked up here.
 * Bad input throws S3's own errors (AuthorizationHeaderMalformed, AuthorizationQueryParametersError,
 * InvalidRequest, AccessDenied, InvalidArgument), never a crash.
 * https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-auth-using-authorization-header.html
 * https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-query-string-auth.html
 * @module
 */
import type { QueryMap, RawRequest } from '../../http/raw-request.js'
import { AuthError } from '../errors.js'
import { describeDuration } from '../../lib/duration.js'
import { ALGORITHM, SCOPE_TERMINATOR, type Scope } from './string-to-sign.js'

export interface SignatureInput {
  readonly kind: 'header' | 'presigned'
  readonly accessKeyId: string
  /** ms epoch, from X-Amz-Date (or the Date header) / the X-Amz-Date query parameter. */
  readonly requestTime: number
  /** The literal yyyymmddThhmmssZ used in the string to sign. */
  readonly amzDate: string
  /** X-Amz-Security-Token header or query parameter (absent when empty). */
  readonly sessionToken?: string
  readonly scope: Scope
  /** Lower-case header names, in the order the client listed them. */
  readonly signedHeaders: readonly string[]
  /** 64 lower-case hex characters. */
  readonly signature: string
  /**
   * x-amz-content-sha256 (hex, UNSIGNED-PAYLOAD or a STREAMING-* literal); 'UNSIGNED-PAYLOAD' for
   * S3 presigned URLs; '' when a non-S3 service (STS) sent none: the caller then passes
   * sha256(body) to verifySignature.
   */
  readonly payloadHash: string
  /** Presigned only (1..the configured cap, at most 604800). */
  readonly expiresSeconds?: number
}

export type SignedService = 's3' | 'sts'

export const UNSIGNED_PAYLOAD = 'UNSIGNED-PAYLOAD'
export const STREAMING_SIGNED = 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD'
export const STREAMING_SIGNED_TRAILER = 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER'
export const STREAMING_UNSIGNED_TRAILER = 'STREAMING-UNSIGNED-PAYLOAD-TRAILER'
export const STREAMING_ECDSA = 'STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD'
export const STREAMING_ECDSA_TRAILER = 'STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD-TRAILER'

const PAYLOAD_LITERALS: ReadonlySet<string> = new Set([
  UNSIGNED_PAYLOAD,
  STREAMING_SIGNED,
  STREAMING_SIGNED_TRAILER,
  STREAMING_UNSIGNED_TRAILER,
  STREAMING_ECDSA,
  STREAMING_ECDSA_TRAILER,
])

/** AWS's cap on a presigned URL's lifetime (7 days); `--presign-max-age` may only lower it. */
export const MAX_PRESIGN_EXPIRES = 604800

const UNSUPPORTED_MECHANISM =
  'The authorization mechanism you have provided is not supported. Please use AWS4-HMAC-SHA256.'
const HEADER_MALFORMED = 'The authorization header is malformed;'
const QUERY_REQUIRED =
  'Query-string authentication version 4 requires the X-Amz-Algorithm, X-Amz-Credential, X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, and X-Amz-Expires parameters.'
const SIGNATURE_RE = /^[0-9a-f]{64}$/
const HEADER_NAME_RE = /^[a-z0-9!#$%&'*+\-.^_`|~]+$/
const AMZ_DATE_RE = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/

/** yyyymmddThhmmssZ → ms epoch, or undefined when not a real date/time. */
// One-entry memo: requests signed in the same second carry the same date string.
let lastAmzDateText = ''
let lastAmzDateValue: number | undefined

export function parseAmzDate(s: string): number | undefined {
  if (s === lastAmzDateText) return lastAmzDateValue
  const t = parseAmzDateUncached(s)
  lastAmzDateText = s
  lastAmzDateValue = t
  return t
}

function parseAmzDateUncached(s: string): number | undefined {
  const m = AMZ_DATE_RE.exec(s)
  if (m === null) return undefined
  const [y, mo, d, h, mi, se] = m.slice(1).map(Number) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ]
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || se > 59) return undefined
  const t = Date.UTC(y, mo - 1, d, h, mi, se)
  const back = new Date(t)
  if (back.getUTCDate() !== d || back.getUTCMonth() !== mo - 1) return undefined
  return t
}

/** ms epoch → yyyymmddThhmmssZ */
export function formatAmzDate(ms: number): string {
  return new Date(ms)
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}/, '')
}

// Its own one-entry memo: sharing parseAmzDate's would make the two alternate and always miss.
let lastValidScopeDate = ''

function isValidScopeDate(s: string): boolean {
  if (s === lastValidScopeDate) return true
  const ok = /^\d{8}$/.test(s) && parseAmzDateUncached(`${s}T000000Z`) !== undefined
  if (ok) lastValidScopeDate = s
  return ok
}

/** Checks the x-amz-content-sha256 value: a sha256 in hex or one of AWS's literals. */
export function isValidPayloadHash(v: string): boolean {
  return PAYLOAD_LITERALS.has(v) || /^[0-9a-fA-F]{64}$/.test(v)
}

function invalidPayloadHash(): AuthError {
  return new AuthError(
    'invalid-argument',
    'x-amz-content-sha256 must be UNSIGNED-PAYLOAD, STREAMING-UNSIGNED-PAYLOAD-TRAILER, STREAMING-AWS4-HMAC-SHA256-PAYLOAD, STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER, STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD, STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD-TRAILER or a valid sha256 value.',
    { ArgumentName: 'x-amz-content-sha256' },
  )
}

interface Credential {
  readonly accessKeyId: string
  readonly scope: Scope
}

/** Why a Credential was refused; `shape` when it is not five non-empty `/`-separated parts. */
interface CredentialError {
  readonly error: string
  readonly shape?: true
}

// Remembered valid credentials (a client sends the same one all day); cleared when full.
const credentialMemo = new Map<string, Credential>()
const CREDENTIAL_MEMO_MAX = 256

/** `AKID/yyyymmdd/region/service/aws4_request`; undefined when malformed (the caller picks the error). */
export function parseCredential(value: string): Credential | CredentialError {
  const hit = credentialMemo.get(value)
  if (hit !== undefined) return hit
  const c = parseCredentialUncached(value)
  if (!('error' in c)) {
    if (credentialMemo.size >= CREDENTIAL_MEMO_MAX) credentialMemo.clear()
    credentialMemo.set(value, c)
  }
  return c
}

function parseCredentialUncached(value: string): Credential | CredentialError {
  const parts = value.split('/')
  if (parts.length !== 5) {
    return {
      error:
        'the Credential is mal-formed; expecting "<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/aws4_request".',
      shape: true,
    }
  }
  const [accessKeyId, date, region, service, terminator] = parts as [
    string,
    string,
    string,
    string,
    string,
  ]
  if (accessKeyId === '' || region === '' || service === '') {
    return {
      error:
        'the Credential is mal-formed; expecting "<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/aws4_request".',
      shape: true,
    }
  }
  if (!isValidScopeDate(date))
    return {
      error: `incorrect date format "${date}". This date in the credential must be in the format "yyyyMMdd".`,
    }
  if (terminator !== SCOPE_TERMINATOR) {
    return { error: `incorrect terminal "${terminator}". This endpoint uses "aws4_request".` }
  }
  return { accessKeyId, scope: { date, region, service } }
}

// Clients send the same SignedHeaders list on every request: remember the last few valid ones.
// The arrays are shared, so callers must not modify them.
const signedHeadersMemo = new Map<string, readonly string[]>()
const SIGNED_HEADERS_MEMO_MAX = 64

function parseSignedHeaders(value: string): readonly string[] | undefined {
  const hit = signedHeadersMemo.get(value)
  if (hit !== undefined) return hit
  const names = parseSignedHeadersUncached(value)
  if (names !== undefined) {
    if (signedHeadersMemo.size >= SIGNED_HEADERS_MEMO_MAX) signedHeadersMemo.clear()
    signedHeadersMemo.set(value, names)
  }
  return names
}

function parseSignedHeadersUncached(value: string): string[] | undefined {
  if (value === '') return undefined
  const names = value.split(';')
  const seen = new Set<string>()
  for (const n of names) {
    if (!HEADER_NAME_RE.test(n) || seen.has(n)) return undefined
    seen.add(n)
  }
  return names
}

function nonEmpty(v: string | undefined): string | undefined {
  return v === undefined || v === '' ? undefined : v
}

/**
 * Parse the request's signature. `undefined` means the request carries none (anonymous).
 * `opts.service` (default 's3') decides whether x-amz-content-sha256 is required and which
 * service the credential scope must name.
 */
export interface ParseOptions {
  readonly service?: SignedService
  /** Default true: the credential scope must name `service`. Tests of other services turn it off. */
  readonly checkScopeService?: boolean
  /** Largest X-Amz-Expires accepted, seconds; default (and ceiling) MAX_PRESIGN_EXPIRES. */
  readonly maxPresignExpires?: number
}

export function parseSignature(
  raw: RawRequest,
  query: QueryMap,
  opts: ParseOptions = {},
): SignatureInput | undefined {
  const service = opts.service ?? 's3'
  const checkScope = opts.checkScopeService ?? true
  const auth = raw.headers['authorization']
  const hasAuthHeader = auth !== undefined && auth.trim() !== ''
  const hasQueryV4 =
    query.has('X-Amz-Algorithm') || query.has('X-Amz-Credential') || query.has('X-Amz-Signature')
  const hasQueryV2 = query.has('AWSAccessKeyId') && query.has('Signature')
  if (hasAuthHeader && (hasQueryV4 || hasQueryV2)) {
    throw new AuthError(
      'invalid-argument',
      'Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, Signature query string parameter or the Authorization header should be specified',
      { ArgumentName: 'Authorization', ArgumentValue: auth.slice(0, 64) },
    )
  }
  if (hasAuthHeader) return parseHeaderAuth(raw, auth, service, checkScope)
  if (hasQueryV4) {
    const max = Math.min(opts.maxPresignExpires ?? MAX_PRESIGN_EXPIRES, MAX_PRESIGN_EXPIRES)
    return parsePresigned(raw, query, service, checkScope, max)
  }
  if (hasQueryV2) throw new AuthError('unsupported-algorithm', UNSUPPORTED_MECHANISM)
  return undefined
}

/**
 * The three components in the SDKs' order and spelling, each value free of whitespace, `,` and
 * `=`: the split-and-trim loop below would find exactly these three fields, so they are taken as
 * matched (one native match instead of a split, trims and slices per request).
 */
const SDK_SHAPE =
  /^AWS4-HMAC-SHA256 Credential=([^\s,=]+), ?SignedHeaders=([^\s,=]+), ?Signature=([^\s,=]+)$/

function parseHeaderAuth(
  raw: RawRequest,
  auth: string,
  service: SignedService,
  checkScope: boolean,
): SignatureInput {
  const value = auth.trim()
  const sp = value.indexOf(' ')
  const algorithm = sp < 0 ? value : value.slice(0, sp)
  if (algorithm !== ALGORITHM) throw new AuthError('unsupported-algorithm', UNSUPPORTED_MECHANISM)
  const fast = SDK_SHAPE.exec(value)
  const fields = new Map<string, string>()
  if (fast !== null) {
    fields.set('Credential', fast[1] as string)
    fields.set('SignedHeaders', fast[2] as string)
    fields.set('Signature', fast[3] as string)
  } else
    for (const part of value.slice(sp + 1).split(',')) {
      const p = part.trim()
      if (p === '') continue
      const eq = p.indexOf('=')
      const k = eq < 0 ? p : p.slice(0, eq).trim()
      if (eq < 0 || fields.has(k)) {
        throw new AuthError(
          'malformed',
          `${HEADER_MALFORMED} the authorization component "${p.slice(0, 64)}" is malformed.`,
        )
      }
      fields.set(k, p.slice(eq + 1).trim())
    }
  const credential = fields.get('Credential')
  const signedHeadersRaw = fields.get('SignedHeaders')
  const signature = fields.get('Signature')
  if (credential === undefined || signedHeadersRaw === undefined || signature === undefined) {
    throw new AuthError(
      'malformed',
      `${HEADER_MALFORMED} the authorization header requires three components: Credential, SignedHeaders, and Signature.`,
    )
  }
  const cred = parseCredential(credential)
  if ('error' in cred)
    throw new AuthError(
      // STS has always answered a mis-shaped Credential as a wrong scope (SignatureDoesNotMatch).
      cred.shape === true ? 'malformed-credential' : 'malformed',
      `${HEADER_MALFORMED} ${cred.error}`,
    )
  if (checkScope) checkService(cred.scope, service, 'wrong-service', HEADER_MALFORMED)
  const signedHeaders = parseSignedHeaders(signedHeadersRaw)
  if (signedHeaders === undefined) {
    throw new AuthError(
      'malformed',
      `${HEADER_MALFORMED} the SignedHeaders component is malformed.`,
    )
  }
  if (!signedHeaders.includes('host')) {
    throw new AuthError('malformed', `${HEADER_MALFORMED} the host header must be signed.`)
  }
  if (!SIGNATURE_RE.test(signature)) {
    throw new AuthError('malformed', `${HEADER_MALFORMED} the Signature component is malformed.`)
  }

  // Request time: X-Amz-Date, else Date.
  const xAmzDate = raw.headers['x-amz-date']
  let requestTime: number | undefined
  let amzDate: string
  if (xAmzDate !== undefined) {
    amzDate = xAmzDate.trim()
    requestTime = parseAmzDate(amzDate)
  } else {
    const date = raw.headers['date']
    const t = date === undefined ? NaN : Date.parse(date)
    requestTime = Number.isNaN(t) ? undefined : t
    amzDate = requestTime === undefined ? '' : formatAmzDate(requestTime)
  }
  if (requestTime === undefined) {
    throw new AuthError(
      'date-missing',
      'AWS authentication requires a valid Date or x-amz-date header',
    )
  }
  if (amzDate.slice(0, 8) !== cred.scope.date) {
    throw new AuthError(
      'malformed',
      `${HEADER_MALFORMED} Invalid credential date "${cred.scope.date}". This date is not the same as X-Amz-Date: "${amzDate.slice(0, 8)}".`,
    )
  }

  // Payload hash: required for S3 (bound by the canonical request's last line); optional for STS.
  const contentSha = raw.headers['x-amz-content-sha256']
  let payloadHash: string
  if (contentSha === undefined) {
    if (service === 's3') {
      throw new AuthError(
        'invalid-request',
        'Missing required header for this request: x-amz-content-sha256',
      )
    }
    payloadHash = ''
  } else {
    payloadHash = contentSha.trim()
    if (!isValidPayloadHash(payloadHash)) throw invalidPayloadHash()
  }

  if (service === 's3') checkAmzHeadersSigned(raw.headers, signedHeaders, payloadHash)

  const sessionToken = nonEmpty(raw.headers['x-amz-security-token']?.trim())
  return {
    kind: 'header',
    accessKeyId: cred.accessKeyId,
    requestTime,
    amzDate,
    ...(sessionToken !== undefined ? { sessionToken } : {}),
    scope: cred.scope,
    signedHeaders,
    signature,
    payloadHash,
  }
}

/**
 * AWS's HeadersNotSigned rule, the same for the Authorization header and presigned URLs: every
 * x-amz-* header the request carries must be named in SignedHeaders, because handlers act on
 * them (x-amz-copy-source turns a PUT into a copy; x-amz-acl, x-amz-tagging, x-amz-meta-* change
 * what is stored) and only signed headers are bound to the signer's intent. Without it, whoever
 * holds a presigned PUT URL, or replays a signed request, could add any of them.
 *
 * The one exemption is x-amz-content-sha256 when its value is the payload hash the canonical
 * request already covers (S3 does not require it signed): for header auth that is always so
 * (the value is the canonical request's last line, so changing it breaks the signature); for a
 * presigned URL it must repeat X-Amz-Content-Sha256 (UNSIGNED-PAYLOAD by default). Any other
 * value would be unverified input that still reaches the s3:x-amz-content-sha256 condition key.
 * https://docs.aws.amazon.com/AmazonS3/latest/API/sig-v4-header-based-auth.html
 */
export function checkAmzHeadersSigned(
  headers: RawRequest['headers'],
  signedHeaders: readonly string[],
  payloadHash: string,
): void {
  let unsigned: string[] | undefined
  for (const h in headers) {
    const value = headers[h]
    if (!h.startsWith('x-amz-') || value === undefined || signedHeaders.includes(h)) continue
    if (h === 'x-amz-content-sha256' && value.trim() === payloadHash) continue
    ;(unsigned ??= []).push(h)
  }
  if (unsigned !== undefined) {
    throw new AuthError(
      'headers-not-signed',
      'There were headers present in the request which were not signed',
      { HeadersNotSigned: unsigned.sort().join(', ') },
    )
  }
}

function checkService(
  scope: Scope,
  service: SignedService,
  kind: 'wrong-service' | 'wrong-service-query',
  prefix: string,
): void {
  if (scope.service !== service) {
    throw new AuthError(
      kind,
      `${prefix} incorrect service "${scope.service}". This endpoint belongs to "${service}".`,
    )
  }
}

function parsePresigned(
  raw: RawRequest,
  query: QueryMap,
  service: SignedService,
  checkScope: boolean,
  maxExpires: number,
): SignatureInput {
  const algorithm = query.get('X-Amz-Algorithm')
  if (algorithm !== undefined && algorithm !== ALGORITHM) {
    throw new AuthError('unsupported-algorithm', UNSUPPORTED_MECHANISM)
  }
  const credential = query.get('X-Amz-Credential')
  const amzDate = query.get('X-Amz-Date')
  const signedHeadersRaw = query.get('X-Amz-SignedHeaders')
  const signature = query.get('X-Amz-Signature')
  const expires = query.get('X-Amz-Expires')
  if (
    algorithm === undefined ||
    credential === undefined ||
    amzDate === undefined ||
    signedHeadersRaw === undefined ||
    signature === undefined ||
    expires === undefined
  ) {
    throw new AuthError('malformed-query', QUERY_REQUIRED)
  }
  const cred = parseCredential(credential)
  if ('error' in cred) {
    throw new AuthError(
      'malformed-query',
      `Error parsing the X-Amz-Credential parameter; ${cred.error}`,
    )
  }
  if (checkScope) {
    checkService(
      cred.scope,
      service,
      'wrong-service-query',
      'Error parsing the X-Amz-Credential parameter;',
    )
  }
  const requestTime = parseAmzDate(amzDate)
  if (requestTime === undefined) {
    throw new AuthError(
      'malformed-query',
      "X-Amz-Date must be in the ISO8601 Long Format \"yyyyMMdd'T'HHmmss'Z'\"",
    )
  }
  if (amzDate.slice(0, 8) !== cred.scope.date) {
    throw new AuthError(
      'malformed-query',
      `Invalid credential date "${cred.scope.date}". This date is not the same as X-Amz-Date: "${amzDate.slice(0, 8)}".`,
    )
  }
  const expiresSeconds = parseExpires(expires, maxExpires)
  const signedHeaders = parseSignedHeaders(signedHeadersRaw)
  if (signedHeaders === undefined) {
    throw new AuthError('malformed-query', 'X-Amz-SignedHeaders is malformed.')
  }
  if (!signedHeaders.includes('host')) {
    throw new AuthError('malformed-query', 'X-Amz-SignedHeaders must contain host.')
  }
  if (!SIGNATURE_RE.test(signature)) {
    throw new AuthError(
      'malformed-query',
      'X-Amz-Signature must be 64 lower-case hexadecimal characters.',
    )
  }
  const contentSha = query.get('X-Amz-Content-Sha256')
  let payloadHash: string
  if (contentSha !== undefined) {
    if (!isValidPayloadHash(contentSha)) throw invalidPayloadHash()
    payloadHash = contentSha
  } else {
    payloadHash = service === 's3' ? UNSIGNED_PAYLOAD : ''
  }
  if (service === 's3') checkAmzHeadersSigned(raw.headers, signedHeaders, payloadHash)
  const sessionToken = nonEmpty(query.get('X-Amz-Security-Token'))
  return {
    kind: 'presigned',
    accessKeyId: cred.accessKeyId,
    requestTime,
    amzDate,
    ...(sessionToken !== undefined ? { sessionToken } : {}),
    scope: cred.scope,
    signedHeaders,
    signature,
    payloadHash,
    expiresSeconds,
  }
}

function parseExpires(v: string, max: number): number {
  if (/^-\d+$/.test(v)) {
    // A URL that expired before it was made (the S3 conformance suite's "expired" URL): expired
    // like any other, 403 AccessDenied, not a malformed parameter.
    throw new AuthError('presign-expired', 'Request has expired', { 'X-Amz-Expires': v })
  }
  if (!/^\d{1,12}$/.test(v)) {
    throw new AuthError('malformed-query', 'X-Amz-Expires should be a number')
  }
  const n = Number(v)
  if (n > max) {
    throw new AuthError(
      'malformed-query',
      max === MAX_PRESIGN_EXPIRES
        ? 'X-Amz-Expires must be less than a week (in seconds) that is 604800'
        : `X-Amz-Expires must be at most ${max} (${describeDuration(max)}, this server's limit for presigned URLs)`,
    )
  }
  if (n < 1) throw new AuthError('malformed-query', 'X-Amz-Expires must be at least 1 second')
  return n
}
