/**
 * ListObjects (v1, GET /bucket) and ListObjectsV2 (GET /bucket?list-type=2). One page per call,
 * O(page) in the store (`MetadataStore.listObjects`), whatever the bucket size. The differences
 * between the versions are only in how the resume point is named and echoed:
 * - v1: `marker`; NextMarker only when a delimiter was given (AWS's behaviour: without one,
 *   clients resume from the last key), Owner always present.
 * - v2: `continuation-token` (opaque: base64 of the last key or prefix returned, wins over
 *   `start-after`), KeyCount, Owner only with fetch-owner=true.
 * encoding-type=url encodes every name in the answer (keys, prefixes, delimiter, markers).
 * @module
 */
import { bucketArn } from '../bucket-name.js'
import type { AccessRequirement, Operation, OwnerInfo, S3Env, S3Request } from '../operation.js'
import {
  decodeContinuationToken,
  encodeContinuationToken,
  encodeName,
  parseEncodingType,
  parseMaxKeys,
  type EncodingType,
} from '../listing/params.js'
import { bucketRecordOf, ownerXml, xmlResponse } from '../responses.js'
import type { ListObjectsPage, ObjectSummary } from '../../storage/metadata-store.js'
import { doc, el, isoDate, wrap } from '../xml.js'

/** s3:ListBucket with the condition keys AWS sets for listings (prefix '' when absent). */
export function listBucketRequirement(req: S3Request, action = 's3:ListBucket'): AccessRequirement {
  const context: Record<string, string> = { 's3:prefix': req.query.get('prefix') ?? '' }
  const delimiter = req.query.get('delimiter')
  if (delimiter !== undefined) context['s3:delimiter'] = delimiter
  const maxKeys = req.query.get('max-keys')
  if (maxKeys !== undefined) context['s3:max-keys'] = maxKeys
  return { action, resource: bucketArn(req.bucket ?? ''), context }
}

/** Delimiter '' means none (AWS treats an empty delimiter as absent). */
function delimiterOf(req: S3Request): string | undefined {
  const d = req.query.get('delimiter')
  return d === undefined || d === '' ? undefined : d
}

export function contentsXml(
  o: ObjectSummary,
  enc: EncodingType | undefined,
  owner: OwnerInfo | undefined,
  tag = 'Contents',
  extra = '',
): string {
  return wrap(
    tag,
    el('Key', encodeName(o.key, enc)) +
      extra +
      el('LastModified', isoDate(o.lastModified)) +
      el('ETag', `"${o.etag}"`) +
      (o.checksum !== undefined
        ? el('ChecksumAlgorithm', o.checksum.algorithm) + el('ChecksumType', o.checksum.type)
        : '') +
      el('Size', o.size) +
      (owner !== undefined ? ownerXml(owner) : '') +
      el('StorageClass', 'STANDARD'),
  )
}

export function commonPrefixesXml(
  prefixes: readonly string[],
  enc: EncodingType | undefined,
): string {
  return prefixes.map((p) => wrap('CommonPrefixes', el('Prefix', encodeName(p, enc)))).join('')
}

interface Common {
  readonly bucket: string
  readonly prefix: string
  readonly delimiter: string | undefined
  readonly maxKeys: number
  readonly enc: EncodingType | undefined
}

function commonParams(req: S3Request): Common {
  return {
    bucket: bucketRecordOf(req).name,
    prefix: req.query.get('prefix') ?? '',
    delimiter: delimiterOf(req),
    maxKeys: parseMaxKeys(req.query.get('max-keys')),
    enc: parseEncodingType(req.query.get('encoding-type')),
  }
}

async function page(env: S3Env, c: Common, after: string | undefined): Promise<ListObjectsPage> {
  if (c.maxKeys === 0) return { objects: [], commonPrefixes: [], isTruncated: false }
  return env.meta.listObjects(c.bucket, {
    prefix: c.prefix,
    maxKeys: c.maxKeys,
    ...(c.delimiter !== undefined ? { delimiter: c.delimiter } : {}),
    ...(after !== undefined && after !== '' ? { after } : {}),
  })
}

function ownerFor(env: S3Env, withOwner: boolean): (o: ObjectSummary) => OwnerInfo | undefined {
  const cache = new Map<string, OwnerInfo>()
  return (o) => {
    if (!withOwner) return undefined
    let info = cache.get(o.ownerAccountId)
    if (info === undefined) {
      info = env.owner(o.ownerAccountId)
      cache.set(o.ownerAccountId, info)
    }
    return info
  }
}

export const listObjectsV1: Operation = {
  name: 'ListObjects',
  target: 'bucket',
  authorize: (req) => [listBucketRequirement(req)],
  async handle(req, env) {
    const c = commonParams(req)
    const marker = req.query.get('marker') ?? ''
    const p = await page(env, c, marker)
    const owner = ownerFor(env, true)
    const nextMarker =
      p.isTruncated && c.delimiter !== undefined && p.lastReturned !== undefined
        ? el('NextMarker', encodeName(p.lastReturned, c.enc))
        : ''
    const body =
      el('Name', c.bucket) +
      el('Prefix', encodeName(c.prefix, c.enc)) +
      el('Marker', encodeName(marker, c.enc)) +
      nextMarker +
      el('MaxKeys', c.maxKeys) +
      (c.delimiter !== undefined ? el('Delimiter', encodeName(c.delimiter, c.enc)) : '') +
      el('IsTruncated', p.isTruncated) +
      (c.enc !== undefined ? el('EncodingType', c.enc) : '') +
      p.objects.map((o) => contentsXml(o, c.enc, owner(o))).join('') +
      commonPrefixesXml(p.commonPrefixes, c.enc)
    return xmlResponse(doc('ListBucketResult', body))
  },
}

export const listObjectsV2: Operation = {
  name: 'ListObjectsV2',
  target: 'bucket',
  authorize: (req) => [listBucketRequirement(req)],
  async handle(req, env) {
    const c = commonParams(req)
    // An empty `continuation-token=` is no token, as on AWS (SDKs send it on the first page).
    const sentToken = req.query.get('continuation-token')
    const token = sentToken === '' ? undefined : sentToken
    const startAfter = req.query.get('start-after')
    const after = token !== undefined ? decodeContinuationToken(token) : startAfter
    const p = await page(env, c, after)
    const owner = ownerFor(env, (req.query.get('fetch-owner') ?? '').toLowerCase() === 'true')
    const next =
      p.isTruncated && p.lastReturned !== undefined
        ? el('NextContinuationToken', encodeContinuationToken(p.lastReturned))
        : ''
    const body =
      el('Name', c.bucket) +
      el('Prefix', encodeName(c.prefix, c.enc)) +
      (token !== undefined ? el('ContinuationToken', token) : '') +
      next +
      el('KeyCount', p.objects.length + p.commonPrefixes.length) +
      el('MaxKeys', c.maxKeys) +
      (c.delimiter !== undefined ? el('Delimiter', encodeName(c.delimiter, c.enc)) : '') +
      (c.enc !== undefined ? el('EncodingType', c.enc) : '') +
      el('IsTruncated', p.isTruncated) +
      (startAfter !== undefined ? el('StartAfter', encodeName(startAfter, c.enc)) : '') +
      p.objects.map((o) => contentsXml(o, c.enc, owner(o))).join('') +
      commonPrefixesXml(p.commonPrefixes, c.enc)
    return xmlResponse(doc('ListBucketResult', body))
  },
}
