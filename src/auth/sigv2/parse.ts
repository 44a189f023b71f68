/**
 * AWS Signature Version 2 for S3 (the `Authorization: AWS AKID:signature` header and the
 * `?AWSAccessKeyId=…&Expires=…&Signature=…` presigned query): detects it and turns it into one
 * secret-free `SigV2Input`. It exists because boto3/botocore still presigns S3 URLs with V2 by
 * default. Detection costs one header prefix check and two query lookups, so the SigV4 hot path
 * is unaffected. Mixing V2 with SigV4 material is InvalidArgument, as in S3.
 * https://docs.aws.amazon.com/AmazonS3/latest/userguide/RESTAuthentication.html
 * @module
 */
import type { QueryMap, RawRequest } from '../../http/raw-request.js'
import { AuthError } from '../errors.js'
import { parseAmzDate } from '../sigv4/parse.js'

/** The value of the s3:signatureversion condition key for V2 requests. */
export const SIGV2_VERSION = 'AWS'

export interface SigV2Input {
  readonly version: typeof SIGV2_VERSION
  readonly kind: 'header' | 'presigned'
  readonly accessKeyId: string
  /** base64 HMAC-SHA1 as sent (query value already percent-decoded). */
  readonly signature: string
  /** Header auth: ms epoch of x-amz-date (else Date). */
  readonly requestTime?: number
  /** Header auth: the literal date header used for the time check (for error details). */
  readonly requestDate?: string
  /** Presigned: the literal Expires value (epoch seconds) that goes into the StringToSign. */
  readonly expires?: string
  /** x-amz-security-token (header, or for presigned URLs also the query parameter); absent when empty. */
  readonly sessionToken?: string
}

const V2_PREFIX = 'AWS '
const ONE_MECHANISM =
  'Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, Signature query string parameter or the Authorization header should be specified'
const QUERY_REQUIRED =
  'Query-string authentication requires the Signature, Expires and AWSAccessKeyId parameters'
const HEADER_INVALID = 'AWS authorization header is invalid.  Expected AwsAccessKeyId:signature'
const NO_DATE = 'AWS authentication requires a valid Date or x-amz-date header'

function hasQueryV4(query: QueryMap): boolean {
  return (
    query.has('X-Amz-Algorithm') || query.has('X-Amz-Credential') || query.has('X-Amz-Signature')
  )
}

function nonEmpty(v: string | undefined): string | undefined {
  const t = v?.trim()
  return t === undefined || t === '' ? undefined : t
}

/** A query parameter looked up case-insensitively (botocore sends `x-amz-security-token`). */
export function queryParamCI(query: QueryMap, lowerName: string): string | undefined {
  for (const [k, v] of query) if (k.toLowerCase() === lowerName) return v
  return undefined
}

/**
 * The request's V2 signature, or undefined when it carries none (SigV4 or anonymous: the caller
 * goes on with SigV4 parsing, which also rejects a V4 header mixed with V2 query parameters).
 * Throws AuthError for malformed V2 material.
 */
export function parseSigV2(raw: RawRequest, query: QueryMap): SigV2Input | undefined {
  const auth = raw.headers['authorization']?.trim()
  if (auth !== undefined && auth !== '') {
    if (!auth.startsWith(V2_PREFIX)) return undefined
    if (hasQueryV4(query) || query.has('AWSAccessKeyId') || query.has('Signature')) {
      throw new AuthError('invalid-argument', ONE_MECHANISM, {
        ArgumentName: 'Authorization',
        ArgumentValue: auth.slice(0, 64),
      })
    }
    rejectChunked(raw)
    return parseHeader(raw, auth.slice(V2_PREFIX.length).trim())
  }
  if (!query.has('AWSAccessKeyId') && !query.has('Signature')) return undefined
  if (hasQueryV4(query)) {
    throw new AuthError('invalid-argument', ONE_MECHANISM, { ArgumentName: 'X-Amz-Algorithm' })
  }
  rejectChunked(raw)
  return parsePresigned(raw, query)
}

/** aws-chunked bodies carry SigV4 chunk signatures; V2 has nothing to verify them with. */
function rejectChunked(raw: RawRequest): void {
  const mode = raw.headers['x-amz-content-sha256']?.trim()
  if (mode !== undefined && mode.startsWith('STREAMING-')) {
    throw new AuthError(
      'invalid-request',
      `x-amz-content-sha256: ${mode.slice(0, 64)} (aws-chunked payloads) requires AWS Signature Version 4.`,
    )
  }
}

function parseHeader(raw: RawRequest, creds: string): SigV2Input {
  const colon = creds.lastIndexOf(':')
  const accessKeyId = colon < 0 ? '' : creds.slice(0, colon).trim()
  const signature = colon < 0 ? '' : creds.slice(colon + 1).trim()
  if (accessKeyId === '' || signature === '' || /\s/.test(accessKeyId)) {
    throw new AuthError('invalid-argument', HEADER_INVALID, {
      ArgumentName: 'Authorization',
      ArgumentValue: `AWS ${creds.slice(0, 64)}`,
    })
  }
  const xAmzDate = nonEmpty(raw.headers['x-amz-date'])
  const date = xAmzDate ?? nonEmpty(raw.headers['date'])
  const requestTime = date === undefined ? undefined : parseHttpOrAmzDate(date)
  if (date === undefined || requestTime === undefined) throw new AuthError('date-missing', NO_DATE)
  const sessionToken = nonEmpty(raw.headers['x-amz-security-token'])
  return {
    version: SIGV2_VERSION,
    kind: 'header',
    accessKeyId,
    signature,
    requestTime,
    requestDate: date,
    ...(sessionToken !== undefined ? { sessionToken } : {}),
  }
}

function parsePresigned(raw: RawRequest, query: QueryMap): SigV2Input {
  const accessKeyId = query.get('AWSAccessKeyId')
  const signature = query.get('Signature')
  const expires = query.get('Expires')
  if (!accessKeyId || !signature || expires === undefined) {
    throw new AuthError('malformed-presign', QUERY_REQUIRED)
  }
  if (!/^\d{1,12}$/.test(expires)) {
    throw new AuthError(
      'malformed-presign',
      `Invalid date (should be seconds since epoch): ${expires.slice(0, 64)}`,
    )
  }
  // A header wins over the query parameter: the header is what the request acts on.
  const sessionToken =
    nonEmpty(raw.headers['x-amz-security-token']) ??
    nonEmpty(queryParamCI(query, 'x-amz-security-token'))
  return {
    version: SIGV2_VERSION,
    kind: 'presigned',
    accessKeyId,
    signature,
    expires,
    ...(sessionToken !== undefined ? { sessionToken } : {}),
  }
}

/** RFC 1123 / RFC 850 / asctime (what Date.parse reads) or ISO 8601 basic (yyyymmddThhmmssZ). */
export function parseHttpOrAmzDate(s: string): number | undefined {
  const amz = parseAmzDate(s)
  if (amz !== undefined) return amz
  // Date.parse also accepts loose forms like "1"; require a weekday/month-name style date.
  if (!/[A-Za-z]{3}/.test(s)) return undefined
  const t = Date.parse(s)
  return Number.isNaN(t) ? undefined : t
}
