/**
 * GetObjectAttributes (GET /bucket/key?attributes,
 * docs.aws.amazon.com/AmazonS3/latest/API/API_GetObjectAttributes.html): HeadObject and ListParts
 * in one answer, without the body. `x-amz-object-attributes` names what to return (ETag,
 * Checksum, ObjectParts, StorageClass, ObjectSize; none or an unknown name → InvalidArgument);
 * ObjectParts pages by `x-amz-max-parts` (default and ceiling 1000) and
 * `x-amz-part-number-marker`. As on AWS (general purpose buckets), ObjectParts appears only for
 * a multipart object, and lists its parts only when the upload had a checksum algorithm (each
 * part's checksum is what the list is for); a composite checksum keeps its "-N".
 * Authorized as AWS does for an unversioned bucket: s3:GetObject and s3:GetObjectAttributes.
 * @module
 */
import type { ObjectRecord } from '../../storage/metadata-store.js'
import { S3Error } from '../errors.js'
import type { Operation } from '../operation.js'
import {
  bucketOf,
  checkVersionId,
  keyOf,
  loadObject,
  requestObjectArn,
  requireWithExistingTags,
} from '../object/access.js'
import { checksumElementName } from '../object/ingest.js'
import { doc, el, httpDate, wrap } from '../xml.js'

const ATTRIBUTES = ['ETag', 'Checksum', 'ObjectParts', 'StorageClass', 'ObjectSize'] as const
type Attribute = (typeof ATTRIBUTES)[number]
const MAX_PARTS = 1000

function invalid(name: string, value: string, message: string): S3Error {
  return new S3Error('InvalidArgument', message, { ArgumentName: name, ArgumentValue: value })
}

/** `x-amz-object-attributes`: a comma-separated list of ATTRIBUTES, at least one. */
export function parseAttributes(v: string | undefined): ReadonlySet<Attribute> {
  const names = (v ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '')
  if (names.length === 0)
    throw invalid(
      'x-amz-object-attributes',
      v ?? '',
      'The x-amz-object-attributes header specifying the attributes to be retrieved is either missing or empty',
    )
  const out = new Set<Attribute>()
  for (const n of names) {
    const a = ATTRIBUTES.find((x) => x === n)
    if (a === undefined)
      throw invalid('x-amz-object-attributes', n, 'Invalid attribute name specified.')
    out.add(a)
  }
  return out
}

function intHeader(name: string, v: string | undefined, dflt: number): number {
  if (v === undefined || v.trim() === '') return dflt
  const n = /^\d{1,10}$/.test(v.trim()) ? Number(v.trim()) : NaN
  if (!Number.isSafeInteger(n))
    throw invalid(name, v, `Provided ${name} not an integer or within integer range`)
  return n
}

function checksumXml(o: ObjectRecord): string {
  const c = o.checksum
  if (c === undefined) return ''
  return wrap(
    'Checksum',
    el(checksumElementName(c.algorithm), c.value) + el('ChecksumType', c.type),
  )
}

function partsXml(o: ObjectRecord, marker: number, maxParts: number): string {
  const sizes = o.partSizes
  if (sizes === undefined) return ''
  let parts = ''
  let last: number | undefined
  let truncated = false
  const checksums = o.checksum !== undefined ? o.partChecksums : undefined
  if (checksums !== undefined) {
    const alg = o.checksum?.algorithm ?? 'CRC32'
    for (let n = marker + 1; n <= sizes.length; n++) {
      if (n - marker > maxParts) {
        truncated = true
        break
      }
      parts += wrap(
        'Part',
        el('PartNumber', n) +
          el('Size', sizes[n - 1] ?? 0) +
          el(checksumElementName(alg), checksums[n - 1] ?? ''),
      )
      last = n
    }
  }
  return wrap(
    'ObjectParts',
    el('PartsCount', sizes.length) +
      el('PartNumberMarker', marker) +
      (truncated && last !== undefined ? el('NextPartNumberMarker', last) : '') +
      el('MaxParts', maxParts) +
      el('IsTruncated', truncated) +
      parts,
  )
}

export const getObjectAttributes: Operation = {
  name: 'GetObjectAttributes',
  target: 'object',
  authorize: (req) => [
    { action: 's3:GetObject', resource: requestObjectArn(req) },
    { action: 's3:GetObjectAttributes', resource: requestObjectArn(req) },
  ],
  async handle(req, env) {
    const bucket = bucketOf(req)
    checkVersionId(req)
    const want = parseAttributes(req.header('x-amz-object-attributes'))
    const maxParts = Math.min(
      MAX_PARTS,
      intHeader('x-amz-max-parts', req.header('x-amz-max-parts'), MAX_PARTS),
    )
    const marker = intHeader('x-amz-part-number-marker', req.header('x-amz-part-number-marker'), 0)
    const o = await loadObject(env, bucket.name, keyOf(req))
    await requireWithExistingTags(req, env, 's3:GetObject', bucket, o)
    await requireWithExistingTags(req, env, 's3:GetObjectAttributes', bucket, o)
    const body = doc(
      'GetObjectAttributesResponse',
      (want.has('ETag') ? el('ETag', o.etag) : '') +
        (want.has('Checksum') ? checksumXml(o) : '') +
        (want.has('ObjectParts') ? partsXml(o, marker, maxParts) : '') +
        (want.has('StorageClass') ? el('StorageClass', 'STANDARD') : '') +
        (want.has('ObjectSize') ? el('ObjectSize', o.size) : ''),
    )
    return {
      status: 200,
      headers: { 'content-type': 'application/xml', 'last-modified': httpDate(o.lastModified) },
      body,
    }
  },
}
