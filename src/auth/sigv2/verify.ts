/**
 * SigV2 verification: the time window first (±15 min skew for header auth; for presigned URLs,
 * Expires not past and at most the presigned lifetime cap ahead), then HMAC-SHA1 over the
 * StringToSign compared in constant time. A mismatch carries the
 * non-secret StringToSign (session token masked) so clients can debug their signer, as S3 does.
 * Presigned URLs may carry x-amz-* / Content-Type / Content-MD5 as query parameters (botocore
 * puts them there); a header of the same name wins, since the header is what the request acts on.
 * @module
 */
import { timingSafeEqual } from 'node:crypto'
import { isoSeconds } from '../../lib/time-format.js'
import type { QueryMap, RawRequest } from '../../http/raw-request.js'
import { AuthError } from '../errors.js'
import { describeDuration } from '../../lib/duration.js'
import { DEFAULT_MAX_SKEW_MS } from '../sigv4/verify.js'
import { MAX_PRESIGN_EXPIRES } from '../sigv4/parse.js'
import type { SigV2Input } from './parse.js'
import {
  canonicalAmzHeaders,
  canonicalResource,
  signV2,
  stringToSignV2,
  type HeaderBag,
} from './string-to-sign.js'

export interface VerifyV2Options {
  /** Server time, ms epoch (from the injected clock). */
  readonly now: number
  readonly maxSkewMs?: number
  /** The S3 domain for virtual-hosted-style addressing (`bucket.<domain>`). */
  readonly domain?: string
  /** Presigned URLs: the longest lifetime accepted, seconds; default (and ceiling) 7 days. */
  readonly maxPresignAgeSeconds?: number
}

/** ServerTime and Expires details: whole seconds, as AWS prints them. */
const iso = isoSeconds

/**
 * Time window checks; throws RequestTimeTooSkewed (header) / AccessDenied (presigned: expired,
 * or Expires further ahead than the cap). V2 URLs carry no signing time, so the cap is measured
 * from now: a URL may never have more than `maxPresignAgeSeconds` of life left, the bound SigV4
 * keeps with X-Amz-Expires (without it a 10-year URL would work for 10 years).
 */
export function checkRequestTimeV2(
  input: SigV2Input,
  now: number,
  maxSkewMs = DEFAULT_MAX_SKEW_MS,
  maxPresignAgeSeconds = MAX_PRESIGN_EXPIRES,
): void {
  if (input.kind === 'header') {
    const t = input.requestTime ?? Number.NaN
    if (!(Math.abs(now - t) <= maxSkewMs)) {
      throw new AuthError('request-skewed', undefined, {
        RequestTime: input.requestDate ?? '',
        ServerTime: iso(now),
        MaxAllowedSkewMilliseconds: String(maxSkewMs),
      })
    }
    return
  }
  const expiresAt = Number(input.expires) * 1000
  if (!(now <= expiresAt)) {
    throw new AuthError('presign-expired', 'Request has expired', {
      Expires:
        Number.isFinite(expiresAt) && expiresAt <= 8.64e15 ? iso(expiresAt) : String(input.expires),
      ServerTime: iso(now),
    })
  }
  const max = Math.min(maxPresignAgeSeconds, MAX_PRESIGN_EXPIRES)
  if (expiresAt - now > max * 1000) {
    const human = describeDuration(max)
    throw new AuthError(
      'presign-too-long',
      `Expires must be at most ${max} seconds (${human}) from now: presigned URLs are valid for ${human} at most`,
      {
        Expires: expiresAt <= 8.64e15 ? iso(expiresAt) : String(input.expires),
        ServerTime: iso(now),
      },
    )
  }
}

/** The bucket named by a virtual-hosted-style Host (`bucket.<domain>`), as s3/addressing.ts reads it. */
export function virtualHostBucket(
  host: string | undefined,
  domain: string | undefined,
): string | undefined {
  if (host === undefined || domain === undefined) return undefined
  const h = host.toLowerCase().replace(/:\d+$/, '')
  const d = domain.replace(/:\d+$/, '')
  return h.endsWith('.' + d) ? h.slice(0, -(d.length + 1)) : undefined
}

/**
 * Headers the StringToSign reads: for presigned URLs, query x-amz-* and content-* parameters
 * fill in absent headers.
 */
function signedHeaderBag(raw: RawRequest, query: QueryMap, presigned: boolean): HeaderBag {
  if (!presigned) return raw.headers
  let merged: Record<string, string | undefined> | undefined
  for (const [k, v] of query) {
    const lk = k.toLowerCase()
    if (!(lk.startsWith('x-amz-') || lk === 'content-md5' || lk === 'content-type')) continue
    if (raw.headers[lk] !== undefined || merged?.[lk] !== undefined) continue
    merged ??= { ...raw.headers }
    merged[lk] = v
  }
  return merged ?? raw.headers
}

/**
 * The StringToSign candidates, the AWS-documented form first. Two spellings of the same request
 * are also accepted, each fully covered by the secret:
 * - header auth with both x-amz-date and Date: AWS signs an empty Date line; some signers
 *   (MinIO's) sign the Date value anyway;
 * - a path-style bucket request (`/bucket`): botocore signs `/bucket/`, as AWS canonicalizes it.
 */
export function stringsToSignV2(
  raw: RawRequest,
  query: QueryMap,
  input: SigV2Input,
  domain?: string,
): string[] {
  const headers = signedHeaderBag(raw, query, input.kind === 'presigned')
  const vhost = virtualHostBucket(raw.headers['host'], domain)
  const resource = canonicalResource(raw.rawPath, raw.rawQuery, vhost)
  const resources = [resource]
  if (vhost === undefined && /^\/[^/]+$/.test(raw.rawPath)) {
    resources.push(canonicalResource(`${raw.rawPath}/`, raw.rawQuery))
  }
  const dates: string[] = []
  if (input.kind === 'presigned') dates.push(input.expires ?? '')
  else {
    const date = raw.headers['date']?.trim() ?? ''
    if (headers['x-amz-date'] === undefined) dates.push(date)
    else {
      dates.push('')
      if (date !== '') dates.push(date)
    }
  }
  const base = {
    method: raw.method,
    contentMd5: headers['content-md5'] ?? '',
    contentType: headers['content-type'] ?? '',
    amzHeaders: canonicalAmzHeaders(headers),
  }
  const out: string[] = []
  for (const r of resources)
    for (const date of dates)
      out.push(stringToSignV2(Object.assign({}, base, { date, resource: r })))
  return out
}

/** Constant-time comparison of two base64 signatures (length is not secret). */
export function signatureEqualsV2(given: string, expected: string): boolean {
  const a = Buffer.from(given, 'utf8')
  const b = Buffer.from(expected, 'utf8')
  return a.length === b.length && timingSafeEqual(a, b)
}

/** Mask the session token in a StringToSign shown in an error: errors end up in logs. */
export function redactTokenV2(sts: string): string {
  return sts.replace(/^x-amz-security-token:.*$/m, 'x-amz-security-token:<redacted>')
}

/** Verify a parsed V2 signature with the credential's secret. Throws AuthError. */
export function verifySigV2(
  raw: RawRequest,
  query: QueryMap,
  input: SigV2Input,
  secret: string,
  opts: VerifyV2Options,
): void {
  checkRequestTimeV2(input, opts.now, opts.maxSkewMs, opts.maxPresignAgeSeconds)
  const candidates = stringsToSignV2(raw, query, input, opts.domain)
  let ok = false
  // Every candidate is computed and compared, so timing does not depend on which one matched.
  for (const sts of candidates) ok = signatureEqualsV2(input.signature, signV2(secret, sts)) || ok
  if (!ok) {
    throw new AuthError('signature-mismatch', undefined, {
      AWSAccessKeyId: input.accessKeyId,
      StringToSign: redactTokenV2(candidates[0] ?? ''),
      SignatureProvided: input.signature,
    })
  }
}
