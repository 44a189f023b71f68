/**
 * Get/Put/DeleteBucketTagging. Tags are validated with S3's rules (at most 50 for a bucket, key
 * 1-128 and value 0-256 Unicode characters of letters, digits, spaces and `_ . : / = + - @`,
 * no `aws:` prefix, no duplicate keys → InvalidTag) and stored as a JSON list of pairs (a list,
 * not an object, so a key like `__proto__` stays plain data). Delete uses s3:PutBucketTagging,
 * as AWS does.
 * @module
 */
import { bucketArn } from '../bucket-name.js'
import { S3Error } from '../errors.js'
import type { Operation } from '../operation.js'
import { readVerifiedBody } from '../integrity/verify-body.js'
import { bucketRecordOf, emptyResponse, xmlResponse } from '../responses.js'
import { child, doc, el, list, parseXml, text, wrap, type XmlNode } from '../xml.js'

export const MAX_BUCKET_TAGS = 50
const TAG_CHARS = /^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$/u

export type TagPairs = readonly (readonly [string, string])[]

/** Parse and validate a <Tagging> document into ordered pairs. */
export function parseTaggingXml(xml: string, maxTags: number): TagPairs {
  const root = parseXml(xml)
  const tagging = root['Tagging']
  if (tagging === undefined || typeof tagging !== 'object' || Array.isArray(tagging))
    throw new S3Error('MalformedXML')
  const tagSet = child(tagging, 'TagSet')
  if (tagSet === undefined) throw new S3Error('MalformedXML')
  const tags = typeof tagSet === 'string' ? [] : list(child(tagSet, 'Tag'))
  if (tags.length > maxTags)
    throw new S3Error('InvalidTag', `Bucket tag count cannot be greater than ${maxTags}`)
  const out: [string, string][] = []
  const seen = new Set<string>()
  for (const t of tags) {
    if (typeof t !== 'object' || Array.isArray(t)) throw new S3Error('MalformedXML')
    const key = text((t as XmlNode)['Key'])
    const value = text((t as XmlNode)['Value'])
    if (key === undefined || value === undefined) throw new S3Error('MalformedXML')
    validateTag(key, value)
    if (seen.has(key))
      throw new S3Error('InvalidTag', 'Cannot provide multiple Tags with the same key')
    seen.add(key)
    out.push([key, value])
  }
  return out
}

export function validateTag(key: string, value: string): void {
  const keyLen = [...key].length
  if (keyLen < 1 || keyLen > 128)
    throw new S3Error('InvalidTag', 'The TagKey you have provided is invalid')
  if ([...value].length > 256)
    throw new S3Error('InvalidTag', 'The TagValue you have provided is invalid')
  if (!TAG_CHARS.test(key))
    throw new S3Error('InvalidTag', 'The TagKey you have provided is invalid')
  if (!TAG_CHARS.test(value))
    throw new S3Error('InvalidTag', 'The TagValue you have provided is invalid')
  if (key.toLowerCase().startsWith('aws:'))
    throw new S3Error('InvalidTag', 'System tags cannot be added/updated by requester')
}

export function renderTagging(pairs: TagPairs): string {
  return doc(
    'Tagging',
    wrap('TagSet', pairs.map(([k, v]) => wrap('Tag', el('Key', k) + el('Value', v))).join('')),
  )
}

function parseStored(stored: string): TagPairs {
  const raw: unknown = JSON.parse(stored)
  if (!Array.isArray(raw)) throw new Error('bad stored tag set')
  return (raw as unknown[]).map((p) => {
    if (!Array.isArray(p) || typeof p[0] !== 'string' || typeof p[1] !== 'string')
      throw new Error('bad stored tag set')
    return [p[0], p[1]] as const
  })
}

export const getBucketTagging: Operation = {
  name: 'GetBucketTagging',
  target: 'bucket',
  authorize: (req) => [{ action: 's3:GetBucketTagging', resource: bucketArn(req.bucket ?? '') }],
  async handle(req, env) {
    const b = bucketRecordOf(req)
    const stored = await env.meta.getBucketSubresource(b.name, 'tagging')
    if (stored === undefined) throw new S3Error('NoSuchTagSet', undefined, { BucketName: b.name })
    return xmlResponse(renderTagging(parseStored(stored)))
  },
}

export const putBucketTagging: Operation = {
  name: 'PutBucketTagging',
  target: 'bucket',
  authorize: (req) => [{ action: 's3:PutBucketTagging', resource: bucketArn(req.bucket ?? '') }],
  async handle(req, env) {
    const b = bucketRecordOf(req)
    const xml = await readVerifiedBody(req, { maxBytes: 64 * 1024, requireChecksum: true })
    const pairs = parseTaggingXml(xml, MAX_BUCKET_TAGS)
    await env.meta.setBucketSubresource(
      b.name,
      'tagging',
      pairs.length === 0 ? null : JSON.stringify(pairs),
    )
    // AWS documents 204 here, but MinIO answers 200 and minio-js's setBucketTagging accepts only
    // 200; every AWS SDK takes either, so 200 is the answer all clients accept.
    return emptyResponse(200)
  },
}

export const deleteBucketTagging: Operation = {
  name: 'DeleteBucketTagging',
  target: 'bucket',
  authorize: (req) => [{ action: 's3:PutBucketTagging', resource: bucketArn(req.bucket ?? '') }],
  async handle(req, env) {
    const b = bucketRecordOf(req)
    await env.meta.setBucketSubresource(b.name, 'tagging', null)
    return emptyResponse(204)
  },
}
