/**
 * S3 routing by table: (target kind, method, sub-resource) → Operation. No order-dependent
 * matching; two sub-resources at once → 400, a known-but-unsupported one → NotImplemented.
 * @module
 */
import { S3Error } from './errors.js'
import type { AnyOperation } from './operation.js'
import type { QueryMap } from '../http/raw-request.js'
import { listBuckets } from './operations/list-buckets.js'
import { createBucket } from './operations/create-bucket.js'
import { headBucket } from './operations/head-bucket.js'
import { deleteBucket } from './operations/delete-bucket.js'
import { getBucketLocation } from './operations/get-bucket-location.js'
import { listObjectsV1, listObjectsV2 } from './operations/list-objects.js'
import { listObjectVersions } from './operations/list-object-versions.js'
import { getBucketVersioning, putBucketVersioning } from './operations/bucket-versioning.js'
import { getBucketPolicy, putBucketPolicy, deleteBucketPolicy } from './operations/bucket-policy.js'
import { getBucketCors, putBucketCors, deleteBucketCors } from './operations/bucket-cors.js'
import {
  getBucketTagging,
  putBucketTagging,
  deleteBucketTagging,
} from './operations/bucket-tagging.js'
import { getBucketAcl, putBucketAcl } from './operations/bucket-acl.js'
import {
  getBucketLifecycle,
  putBucketLifecycle,
  deleteBucketLifecycle,
} from './operations/bucket-lifecycle.js'
import {
  getPublicAccessBlock,
  putPublicAccessBlock,
  deletePublicAccessBlock,
} from './operations/public-access-block.js'
import {
  getBucketOwnershipControls,
  putBucketOwnershipControls,
  deleteBucketOwnershipControls,
} from './operations/ownership-controls.js'
import { listMultipartUploads } from './operations/list-multipart-uploads.js'
import { postObject } from './operations/post-object.js'
import { getObject } from './operations/get-object.js'
import { getObjectAttributes } from './operations/get-object-attributes.js'
import { headObject } from './operations/head-object.js'
import { putObject } from './operations/put-object.js'
import { copyObject } from './operations/copy-object.js'
import { deleteObject } from './operations/delete-object.js'
import { deleteObjects } from './operations/delete-objects.js'
import {
  getObjectTagging,
  putObjectTagging,
  deleteObjectTagging,
} from './operations/object-tagging.js'
import { getObjectAcl, putObjectAcl } from './operations/object-acl.js'
import { createMultipartUpload } from './operations/create-multipart-upload.js'
import { uploadPart } from './operations/upload-part.js'
import { uploadPartCopy } from './operations/upload-part-copy.js'
import { completeMultipartUpload } from './operations/complete-multipart-upload.js'
import { abortMultipartUpload } from './operations/abort-multipart-upload.js'
import { listParts } from './operations/list-parts.js'

/** Sub-resources we serve. */
const SUPPORTED = [
  'acl',
  'attributes',
  'cors',
  'delete',
  'lifecycle',
  'location',
  'ownershipControls',
  'policy',
  'publicAccessBlock',
  'tagging',
  'uploads',
  'uploadId',
  'versioning',
  'versions',
] as const
/** Sub-resources S3 has and we do not (yet): NotImplemented, never a wrong success. */
const UNSUPPORTED = [
  'accelerate',
  'analytics',
  'encryption',
  'intelligent-tiering',
  'inventory',
  'legal-hold',
  'logging',
  'metadataConfiguration',
  'metrics',
  'notification',
  'object-lock',
  'policyStatus',
  'replication',
  'requestPayment',
  'restore',
  'retention',
  'select',
  'torrent',
  'website',
  'renameObject',
  'session',
] as const

type Sub = (typeof SUPPORTED)[number] | ''
type Table = Readonly<Partial<Record<Sub, AnyOperation>>>

const SERVICE: Readonly<Record<string, Table>> = { GET: { '': listBuckets } }

const BUCKET: Readonly<Record<string, Table>> = {
  GET: {
    '': listObjectsV1,
    location: getBucketLocation,
    versioning: getBucketVersioning,
    policy: getBucketPolicy,
    cors: getBucketCors,
    tagging: getBucketTagging,
    acl: getBucketAcl,
    lifecycle: getBucketLifecycle,
    publicAccessBlock: getPublicAccessBlock,
    ownershipControls: getBucketOwnershipControls,
    uploads: listMultipartUploads,
    versions: listObjectVersions,
  },
  HEAD: { '': headBucket },
  PUT: {
    '': createBucket,
    versioning: putBucketVersioning,
    policy: putBucketPolicy,
    cors: putBucketCors,
    tagging: putBucketTagging,
    acl: putBucketAcl,
    lifecycle: putBucketLifecycle,
    publicAccessBlock: putPublicAccessBlock,
    ownershipControls: putBucketOwnershipControls,
  },
  DELETE: {
    '': deleteBucket,
    policy: deleteBucketPolicy,
    cors: deleteBucketCors,
    tagging: deleteBucketTagging,
    lifecycle: deleteBucketLifecycle,
    publicAccessBlock: deletePublicAccessBlock,
    ownershipControls: deleteBucketOwnershipControls,
  },
  POST: { '': postObject, delete: deleteObjects },
}

const OBJECT: Readonly<Record<string, Table>> = {
  GET: {
    '': getObject,
    tagging: getObjectTagging,
    acl: getObjectAcl,
    uploadId: listParts,
    attributes: getObjectAttributes,
  },
  HEAD: { '': headObject },
  PUT: { '': putObject, tagging: putObjectTagging, acl: putObjectAcl, uploadId: uploadPart },
  DELETE: { '': deleteObject, tagging: deleteObjectTagging, uploadId: abortMultipartUpload },
  POST: { uploads: createMultipartUpload, uploadId: completeMultipartUpload },
}

const SUPPORTED_SET: ReadonlySet<string> = new Set(SUPPORTED)
const UNSUPPORTED_SET: ReadonlySet<string> = new Set(UNSUPPORTED)

function subResource(query: QueryMap): Sub {
  let found: Sub | undefined
  for (const k of query.keys()) {
    if (UNSUPPORTED_SET.has(k))
      throw new S3Error('NotImplemented', `The '${k}' sub-resource is not implemented.`)
    if (!SUPPORTED_SET.has(k)) continue
    if (found !== undefined && found !== k)
      throw new S3Error(
        'InvalidArgument',
        `Conflicting sub-resources in one request: ${found} and ${k}`,
      )
    found = k as Sub
  }
  return found ?? ''
}

export function route(
  method: string,
  bucket: string | undefined,
  key: string | undefined,
  query: QueryMap,
  headers: Readonly<Record<string, string | undefined>>,
): AnyOperation {
  const table = bucket === undefined ? SERVICE : key === undefined ? BUCKET : OBJECT
  const byMethod = table[method]
  if (byMethod === undefined)
    throw new S3Error('MethodNotAllowed', undefined, {
      Method: method,
      ResourceType: bucket === undefined ? 'SERVICE' : key === undefined ? 'BUCKET' : 'OBJECT',
    })
  let sub = subResource(query)
  // ListObjectsV2 is GET ?list-type=2 (not a sub-resource).
  if (
    key === undefined &&
    bucket !== undefined &&
    method === 'GET' &&
    sub === '' &&
    query.get('list-type') === '2'
  )
    return listObjectsV2
  // Copy variants are PUTs distinguished by x-amz-copy-source.
  const copying = headers['x-amz-copy-source'] !== undefined
  if (key !== undefined && method === 'PUT' && copying) {
    if (sub === 'uploadId') return uploadPartCopy
    if (sub === '') return copyObject
  }
  if (key !== undefined && method === 'PUT' && sub === 'uploadId' && !query.has('partNumber'))
    throw new S3Error('InvalidArgument', 'partNumber is required with uploadId')
  if (key !== undefined && method === 'PUT' && sub === '' && query.has('partNumber'))
    sub = 'uploadId'
  const op = byMethod[sub]
  if (op === undefined) {
    if (bucket !== undefined && key === undefined && method === 'POST' && sub === '')
      throw new S3Error('MethodNotAllowed', undefined, { Method: method, ResourceType: 'BUCKET' })
    throw new S3Error(
      sub === '' ? 'MethodNotAllowed' : 'NotImplemented',
      sub === '' ? undefined : `${method} ?${sub} is not implemented for this resource.`,
    )
  }
  return op
}
