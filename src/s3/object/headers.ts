/**
 * Request headers that describe an object (PutObject, CopyObject with REPLACE,
 * CreateMultipartUpload) and the response headers GetObject/HeadObject replay. One module so
 * the three writers accept exactly the same set (the ACL too: x-amz-acl or x-amz-grant-*, read by
 * s3/acl.ts) and reject the same unsupported features (server-side encryption, object lock) with
 * NotImplemented instead of silently ignoring them.
 * @module
 */
import { dict } from '../../lib/dict.js'
import { aclRequestOf, type AclRequest } from '../acl.js'
import { S3Error } from '../errors.js'
import type { ObjectHeaders, ObjectRecord } from '../../storage/metadata-store.js'
import { httpDate } from '../xml.js'

type HeaderFn = (name: string) => string | undefined

/** AWS: user-defined metadata (keys + values, UTF-8 bytes) is limited to 2 KB. */
export const MAX_USER_METADATA_BYTES = 2048

const UNSUPPORTED_PREFIXES = [
  'x-amz-server-side-encryption',
  'x-amz-object-lock-',
  'x-amz-website-redirect-location',
  'x-amz-write-offset-bytes',
] as const

/** Reject headers asking for features we do not implement (never a silent wrong success). */
export function rejectUnsupportedHeaders(
  headers: Readonly<Record<string, string | undefined>>,
): void {
  for (const name of Object.keys(headers)) {
    if (UNSUPPORTED_PREFIXES.some((p) => name.startsWith(p)) && headers[name] !== undefined) {
      throw new S3Error('NotImplemented', `The header '${name}' is not implemented.`, {
        Header: name,
      })
    }
  }
}

/**
 * Content-Encoding as stored: as sent, minus `aws-chunked` (a transport coding of this request's
 * body, not of the object). `deflate, gzip` stays `deflate, gzip`; `aws-chunked, gzip` is `gzip`;
 * `aws-chunked` alone leaves no header, as on AWS.
 */
export function storedContentEncoding(sent: string | undefined): string | undefined {
  if (sent === undefined) return undefined
  const tokens = sent.split(',').map((s) => s.trim())
  if (!tokens.some((t) => t.toLowerCase() === 'aws-chunked')) return sent.trim()
  return tokens.filter((t) => t !== '' && t.toLowerCase() !== 'aws-chunked').join(', ')
}

/** Content-* and friends, as stored. `aws-chunked` is a transport coding and is stripped. */
export function parseObjectHeaders(h: HeaderFn): ObjectHeaders {
  const encoding = storedContentEncoding(h('content-encoding'))
  const out: { -readonly [K in keyof ObjectHeaders]: ObjectHeaders[K] } = {}
  const set = (k: keyof ObjectHeaders, v: string | undefined): void => {
    if (v !== undefined && v !== '') out[k] = v
  }
  set('contentType', h('content-type'))
  set('contentEncoding', encoding)
  set('contentDisposition', h('content-disposition'))
  set('contentLanguage', h('content-language'))
  set('cacheControl', h('cache-control'))
  set('expires', h('expires'))
  return out
}

const UTF8 = new TextDecoder('utf-8', { fatal: true })

/**
 * A header value as the client meant it. Node hands header bytes over as latin1 (one char per
 * byte); boto3 and curl send non-ASCII metadata as UTF-8 bytes, so bytes that form valid UTF-8
 * are read as UTF-8 (`Hello Worldé`, not `Hello WorldÃ©`), anything else stays byte for char.
 */
export function metadataValueFromWire(value: string): string {
  if (!/[^\x00-\x7f]/.test(value)) return value
  try {
    return UTF8.decode(Buffer.from(value, 'latin1'))
  } catch {
    return value
  }
}

/**
 * A stored metadata value as a header node can send. Up to U+00FF a char goes out as one latin1
 * byte, which is how botocore (http.client) and node decode response headers, so boto3 and the
 * SDKs read back the string they stored. Beyond, HTTP has no way to say it: AWS's RFC 2047
 * encoded word (`=?UTF-8?B?…?=`), as AWS returns non-ASCII metadata.
 */
export function metadataValueToWire(value: string): string {
  if (!/[^\x00-\xff]/.test(value)) return value
  return `=?UTF-8?B?${Buffer.from(value, 'utf8').toString('base64')}?=`
}

/** x-amz-meta-* (names lower-cased, prefix removed); more than 2 KB → MetadataTooLarge. */
export function parseUserMetadata(
  headers: Readonly<Record<string, string | undefined>>,
): Record<string, string> {
  const out = dict<string>() // `x-amz-meta-__proto__` names a key like any other (lib/dict.ts)
  let bytes = 0
  for (const [rawName, value] of Object.entries(headers)) {
    const name = rawName.toLowerCase()
    if (!name.startsWith('x-amz-meta-') || value === undefined) continue
    const key = name.slice('x-amz-meta-'.length)
    if (key === '') continue
    out[key] = metadataValueFromWire(value)
    bytes += Buffer.byteLength(key) + Buffer.byteLength(value)
  }
  if (bytes > MAX_USER_METADATA_BYTES) {
    throw new S3Error('MetadataTooLarge', undefined, {
      Size: String(bytes),
      MaxSizeAllowed: String(MAX_USER_METADATA_BYTES),
    })
  }
  return out
}

/** Only STANDARD exists here; any other value → InvalidStorageClass. */
export function checkStorageClass(value: string | undefined): void {
  if (value !== undefined && value !== 'STANDARD') {
    throw new S3Error('InvalidStorageClass', undefined, { StorageClassRequested: value })
  }
}

/** Everything a new object takes from its request headers. Throws on invalid or unsupported input. */
export interface ObjectDescription {
  readonly headers: ObjectHeaders
  readonly userMetadata: Record<string, string>
  /** x-amz-acl or x-amz-grant-* (resolved and checked against the bucket by acl-apply.ts). */
  readonly acl?: AclRequest
}

export function describeObject(
  h: HeaderFn,
  all: Readonly<Record<string, string | undefined>>,
): ObjectDescription {
  rejectUnsupportedHeaders(all)
  checkStorageClass(h('x-amz-storage-class'))
  const acl = aclRequestOf(h)
  const d = { headers: parseObjectHeaders(h), userMetadata: parseUserMetadata(all) }
  return acl === undefined ? d : Object.assign(d, { acl })
}

/** The headers GET/HEAD send for an object (before range and override handling). */
export function objectResponseHeaders(o: Omit<ObjectRecord, 'body'>): Record<string, string> {
  const out: Record<string, string> = {
    etag: `"${o.etag}"`,
    'last-modified': httpDate(o.lastModified),
    'accept-ranges': 'bytes',
    'content-type': o.headers.contentType ?? 'application/octet-stream',
  }
  if (o.headers.contentEncoding !== undefined) out['content-encoding'] = o.headers.contentEncoding
  if (o.headers.contentDisposition !== undefined)
    out['content-disposition'] = o.headers.contentDisposition
  if (o.headers.contentLanguage !== undefined) out['content-language'] = o.headers.contentLanguage
  if (o.headers.cacheControl !== undefined) out['cache-control'] = o.headers.cacheControl
  if (o.headers.expires !== undefined) out['expires'] = o.headers.expires
  for (const [k, v] of Object.entries(o.userMetadata))
    out[`x-amz-meta-${k}`] = metadataValueToWire(v)
  const tagCount = Object.keys(o.tags).length
  if (tagCount > 0) out['x-amz-tagging-count'] = String(tagCount)
  return out
}

/** response-* query overrides of GetObject/HeadObject, mapped to the header they replace. */
export const RESPONSE_OVERRIDES = {
  'response-content-type': 'content-type',
  'response-content-language': 'content-language',
  'response-expires': 'expires',
  'response-cache-control': 'cache-control',
  'response-content-disposition': 'content-disposition',
  'response-content-encoding': 'content-encoding',
} as const

const OVERRIDE_ENTRIES = Object.entries(RESPONSE_OVERRIDES)

/**
 * Apply response-* overrides. AWS refuses them on anonymous requests (InvalidRequest).
 */
export function applyResponseOverrides(
  headers: Record<string, string>,
  query: ReadonlyMap<string, string>,
  anonymous: boolean,
): void {
  if (query.size === 0) return
  for (const [param, header] of OVERRIDE_ENTRIES) {
    const v = query.get(param)
    if (v === undefined) continue
    if (anonymous) {
      throw new S3Error(
        'InvalidRequest',
        'Request specific response headers cannot be used for anonymous GET requests.',
      )
    }
    headers[header] = v
  }
}
