/**
 * x-amz-copy-source (CopyObject, UploadPartCopy): `bucket/key` URL-encoded, optionally with a
 * leading '/' and `?versionId=`; the key obeys s3/object-key.ts like every other key. Only the `null` version exists here (no versioning), so any
 * other version id is refused rather than ignored.
 * @module
 */
import { decodePlusLiteralStrict } from '../../http/percent.js'
import { S3Error } from '../errors.js'
import { checkObjectKey } from '../object-key.js'

export interface CopySource {
  readonly bucket: string
  readonly key: string
}

function bad(message: string, value: string): S3Error {
  return new S3Error('InvalidArgument', message, {
    ArgumentName: 'x-amz-copy-source',
    ArgumentValue: value,
  })
}

export function parseCopySource(value: string | undefined): CopySource {
  if (value === undefined || value === '')
    throw bad('Copy Source must mention the source bucket and key: sourcebucket/sourcekey', '')
  let v = value
  const q = v.indexOf('?')
  if (q >= 0) {
    const params = new URLSearchParams(v.slice(q + 1))
    const version = params.get('versionId')
    if (version !== null && version !== 'null') throw bad('Invalid version id specified', value)
    v = v.slice(0, q)
  }
  let decoded = decodePlusLiteralStrict(v)
  if (decoded === undefined)
    throw bad('Copy Source must mention the source bucket and key: sourcebucket/sourcekey', value)
  if (decoded.startsWith('/')) decoded = decoded.slice(1)
  const slash = decoded.indexOf('/')
  if (slash <= 0 || slash === decoded.length - 1) {
    throw bad('Copy Source must mention the source bucket and key: sourcebucket/sourcekey', value)
  }
  const key = decoded.slice(slash + 1)
  // The same key rule as the request path: a source no path request could name is refused.
  checkObjectKey(key)
  return { bucket: decoded.slice(0, slash), key }
}

/** The value of the s3:x-amz-copy-source condition key (`bucket/key`, as AWS compares it). */
export function copySourceConditionValue(src: CopySource): string {
  return `${src.bucket}/${src.key}`
}
