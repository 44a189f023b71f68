/**
 * The SigV2 StringToSign, as small pure functions:
 *   Verb \n Content-MD5 \n Content-Type \n Date|Expires \n CanonicalizedAmzHeaders CanonicalizedResource
 * CanonicalizedResource is built from the raw path as sent (prefixed `/bucket` for
 * virtual-hosted requests) plus the sub-resources of the query, sorted, values percent-decoded;
 * the sub-resource list is the union of AWS's documented list and botocore's, so every client's
 * string matches ours.
 * https://docs.aws.amazon.com/AmazonS3/latest/userguide/RESTAuthentication.html
 * @module
 */
import { createHmac } from 'node:crypto'
import { decodePlusLiteralOrKeep } from '../../http/percent.js'

/** Query parameters that are part of the CanonicalizedResource. */
export const SUB_RESOURCES: ReadonlySet<string> = new Set([
  // AWS documentation
  'acl',
  'cors',
  'delete',
  'lifecycle',
  'location',
  'logging',
  'notification',
  'partNumber',
  'policy',
  'requestPayment',
  'restore',
  'tagging',
  'torrent',
  'uploadId',
  'uploads',
  'versionId',
  'versioning',
  'versions',
  'website',
  'response-cache-control',
  'response-content-disposition',
  'response-content-encoding',
  'response-content-language',
  'response-content-type',
  'response-expires',
  // botocore's HmacV1Auth adds these
  'accelerate',
  'analytics',
  'defaultObjectAcl',
  'inventory',
  'metrics',
  'object-lock',
  'replication',
  'select',
  'select-type',
  'storageClass',
])

export type HeaderBag = Readonly<Record<string, string | undefined>>

/** Unfold folded header lines and trim, as AWS asks. */
function headerValue(v: string): string {
  return v.replace(/\s*\r?\n\s*/g, ' ').trim()
}

/**
 * `name:value\n` for every x-amz-* header, names lower-cased and sorted; repeated headers are
 * already joined with ',' by the listener (and botocore joins them the same way).
 */
export function canonicalAmzHeaders(headers: HeaderBag): string {
  const names = Object.keys(headers)
    .filter((k) => k.startsWith('x-amz-') && headers[k] !== undefined)
    .sort()
  let out = ''
  for (const n of names) out += `${n}:${headerValue(headers[n] ?? '')}\n`
  return out
}

/**
 * `/bucket/key` from the raw path (percent-encoding as sent), then `?sub&sub=value` for the
 * sub-resources in the query, stably sorted by name, values percent-decoded ('+' stays '+').
 */
export function canonicalResource(
  rawPath: string,
  rawQuery: string,
  virtualHostBucket?: string,
): string {
  let out = virtualHostBucket !== undefined ? `/${virtualHostBucket}${rawPath}` : rawPath
  if (rawQuery === '') return out
  const subs: [string, string | undefined][] = []
  for (const part of rawQuery.split('&')) {
    const eq = part.indexOf('=')
    const name = eq < 0 ? part : part.slice(0, eq)
    if (!SUB_RESOURCES.has(name)) continue
    subs.push([name, eq < 0 ? undefined : decodePlusLiteralOrKeep(part.slice(eq + 1))])
  }
  if (subs.length === 0) return out
  subs.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
  out += '?' + subs.map(([k, v]) => (v === undefined ? k : `${k}=${v}`)).join('&')
  return out
}

export interface StringToSignParts {
  readonly method: string
  readonly contentMd5: string
  readonly contentType: string
  /** Date header (header auth, '' when x-amz-date is sent) or Expires (presigned). */
  readonly date: string
  /** From canonicalAmzHeaders (already '\n'-terminated per header). */
  readonly amzHeaders: string
  readonly resource: string
}

export function stringToSignV2(p: StringToSignParts): string {
  const head = `${p.method.toUpperCase()}\n${p.contentMd5.trim()}\n${p.contentType.trim()}\n${p.date}\n`
  return head + p.amzHeaders + p.resource
}

/** base64(HMAC-SHA1(secret, stringToSign)) */
export function signV2(secret: string, stringToSign: string): string {
  return createHmac('sha1', secret).update(stringToSign, 'utf8').digest('base64')
}
