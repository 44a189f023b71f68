/**
 * Small shared steps of every object operation: the object ARN, the bucket record and key the
 * pipeline resolved, loading an object (missing → NoSuchKey), and the second policy decision for
 * s3:ExistingObjectTag/<key>.
 *
 * Why a second decision: `authorize()` is pure and cannot read the object's tags, so the
 * pipeline decides without them. Once handle() has loaded the object, and only if it has tags,
 * we decide again with the s3:ExistingObjectTag/* keys present. This honours a Deny conditioned
 * on tags; an Allow that depends *only* on tags was already refused by the first decision (the
 * condition keys were absent there) — a known limitation shared with the pipeline design.
 * @module
 */
import type { BucketRecord, ObjectRecord, WriteConditions } from '../../storage/metadata-store.js'
import { S3Error } from '../errors.js'
import type { S3Env, S3Request } from '../operation.js'
import { checkWriteConditions, hasWriteConditions } from './conditional.js'
import { existingTagContext } from './tags.js'

export function objectArn(bucket: string, key: string): string {
  return `arn:aws:s3:::${bucket}/${key}`
}

/** The object ARN of the request (router guarantees bucket and key for object operations). */
export function requestObjectArn(req: S3Request): string {
  return objectArn(req.bucket ?? '', req.key ?? '')
}

export function bucketOf(req: S3Request): BucketRecord {
  if (req.bucketRecord === undefined)
    throw new S3Error('NoSuchBucket', undefined, { BucketName: req.bucket ?? '' })
  return req.bucketRecord
}

export function keyOf(req: S3Request): string {
  if (req.key === undefined || req.key === '')
    throw new S3Error('InvalidRequest', 'An object key is required.')
  return req.key
}

export function noSuchKey(key: string): S3Error {
  return new S3Error('NoSuchKey', undefined, { Key: key })
}

/** The object's record, NoSuchKey without one; the record itself when a cache holds it. */
export function loadObject(
  env: S3Env,
  bucket: string,
  key: string,
): ObjectRecord | Promise<ObjectRecord> {
  const known = env.meta.knownObject?.(bucket, key)
  if (known !== undefined) return known
  return env.meta.getObject(bucket, key).then((o) => {
    if (o === undefined) throw noSuchKey(key)
    return o
  })
}

/**
 * Decide `action` again with the object's tags as s3:ExistingObjectTag/*: a promise of the
 * decision, or undefined at once when there is nothing to decide (no tags, no extra keys).
 */
export function requireWithExistingTags(
  req: S3Request,
  env: S3Env,
  action: string,
  bucket: BucketRecord,
  o: { readonly key: string; readonly tags: Readonly<Record<string, string>> },
  extra: Readonly<Record<string, string | readonly string[]>> = {},
): Promise<void> | undefined {
  if (Object.keys(o.tags).length === 0 && Object.keys(extra).length === 0) return undefined
  return env.authz.require(
    req,
    {
      action,
      resource: objectArn(bucket.name, o.key),
      context: Object.assign({}, existingTagContext(o.tags), extra),
    },
    bucket,
  )
}

/**
 * The early check of a write's If-Match / If-None-Match against the current object, before its
 * body is uploaded (a refusal here saves the upload). Returns the conditions to hand the store,
 * which decides them again atomically with the commit; a refusal there means another writer
 * changed the key meanwhile (writeConditionError with raced = true). Undefined without them.
 */
export function enforceWriteConditions(
  req: S3Request,
  env: S3Env,
  bucket: string,
  key: string,
): Promise<WriteConditions | undefined> | undefined {
  const h = (n: string): string | undefined => req.header(n)
  if (!hasWriteConditions(h)) return undefined
  // Fresh: a record cached on this node may predate a write another node just acknowledged,
  // and refusing on it would fail the If-Match the client built from that write.
  return env.meta
    .getObject(bucket, key, { fresh: true })
    .then((o) => checkWriteConditions(h, o, key))
}

/** Only the `null` version exists (no versioning): any other versionId → InvalidArgument. */
export function checkVersionId(req: S3Request): void {
  const v = req.query.get('versionId')
  if (v !== undefined && v !== 'null') {
    throw new S3Error('InvalidArgument', 'Invalid version id specified', {
      ArgumentName: 'versionId',
      ArgumentValue: v,
    })
  }
}
