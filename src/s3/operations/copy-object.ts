/**
 * CopyObject (PUT /bucket/key with x-amz-copy-source): reads the source through digests into a
 * *new* body (blobs are never shared between objects, so deleting one can't break another).
 * x-amz-metadata-directive COPY (default) keeps the source's headers and metadata, REPLACE takes
 * the request's; x-amz-tagging-directive likewise for tags. A copy onto itself must change
 * something (REPLACE), as in S3. Authorized as s3:PutObject on the destination with
 * s3:x-amz-copy-source and s3:x-amz-metadata-directive; s3:GetObject on the source is decided in
 * handle() (object/copy.ts). If-Match / If-None-Match: * make it a conditional write of the
 * destination, decided by the store atomically with the commit, as for PutObject. A session's
 * upload caps apply to the copy as to an upload (object/upload-caps.ts).
 * @module
 */
import { commitWrite } from '../../storage/commit.js'
import { readBody } from '../../storage/object-bodies.js'
import type { ObjectRecord, StoredChecksum } from '../../storage/metadata-store.js'
import { S3Error } from '../errors.js'
import type { Operation, S3Request } from '../operation.js'
import { bucketOf, enforceWriteConditions, keyOf } from '../object/access.js'
import { writeConditionError } from '../object/conditional.js'
import { loadCopySource } from '../object/copy.js'
import { copySourceConditionValue, parseCopySource } from '../object/copy-source.js'
import { describeObject } from '../object/headers.js'
import { objectAclFromRequest } from '../acl-apply.js'
import {
  checksumElementName,
  checksumResponseHeaders,
  digestAndWrite,
  commitIo,
  requireChecksumAlgorithm,
} from '../object/ingest.js'
import { parseTaggingHeader } from '../object/tags.js'
import { charged, checkContentType, checkObjectSize } from '../object/upload-caps.js'
import { doc, el, isoDate } from '../xml.js'
import {
  aclWriteRequirement,
  ifMatchReadRequirement,
  objectCreationContext,
  putRequirement,
} from './put-object.js'

export type Directive = 'COPY' | 'REPLACE'

export function parseDirective(value: string | undefined, header: string): Directive {
  if (value === undefined || value === 'COPY') return 'COPY'
  if (value === 'REPLACE') return 'REPLACE'
  throw new S3Error('InvalidArgument', `Unknown ${header}`, {
    ArgumentName: header,
    ArgumentValue: value,
  })
}

function copyContext(req: S3Request): Record<string, string> {
  const ctx: Record<string, string> = {}
  try {
    ctx['s3:x-amz-copy-source'] = copySourceConditionValue(
      parseCopySource(req.header('x-amz-copy-source')),
    )
  } catch {
    // reported by handle()
  }
  const md = req.header('x-amz-metadata-directive')
  if (md !== undefined) ctx['s3:x-amz-metadata-directive'] = md
  return ctx
}

const SELF_COPY =
  "This copy request is illegal because it is trying to copy an object to itself without changing the object's metadata, storage class, website redirect location or encryption attributes."

export const copyObject: Operation = {
  name: 'CopyObject',
  target: 'object',
  authorize: (req) => [
    putRequirement(req, Object.assign({}, copyContext(req), objectCreationContext(req, true))),
    ...aclWriteRequirement(req),
    ...ifMatchReadRequirement(req),
  ],
  async handle(req, env) {
    const bucket = bucketOf(req)
    const key = keyOf(req)
    const metadataDirective = parseDirective(
      req.header('x-amz-metadata-directive'),
      'x-amz-metadata-directive',
    )
    const taggingDirective = parseDirective(
      req.header('x-amz-tagging-directive'),
      'x-amz-tagging-directive',
    )
    const desc = describeObject((n) => req.header(n), req.raw.headers)
    const requestTags = parseTaggingHeader(req.header('x-amz-tagging'))
    const algorithmHeader = requireChecksumAlgorithm(req.header('x-amz-checksum-algorithm'))
    // The copy gets the request's ACL (or the default), never the source's, as on AWS.
    const acl = await objectAclFromRequest(desc.acl, bucket, env)
    const { src, object: source } = await loadCopySource(req, env)
    if (src.bucket === bucket.name && src.key === key && metadataDirective === 'COPY') {
      throw new S3Error('InvalidRequest', SELF_COPY)
    }
    if (source.size > env.limits.maxObjectSize) {
      throw new S3Error(
        'InvalidRequest',
        `The specified copy source is larger than the maximum allowable size for a copy source: ${env.limits.maxObjectSize}`,
      )
    }
    // If-Match / If-None-Match name the destination (AWS's conditional copy; the
    // x-amz-copy-source-if-* headers name the source and were checked by loadCopySource).
    const conditions = await enforceWriteConditions(req, env, bucket.name, key)
    const algorithm = algorithmHeader ?? source.checksum?.algorithm
    const replace = metadataDirective === 'REPLACE'
    // A session's upload caps: the copy's type and size, its bytes and one object.
    checkContentType(req.principal, replace ? desc.headers.contentType : source.headers.contentType)
    checkObjectSize(req.principal, source.size)
    const io = commitIo(req, env)
    const {
      written: w,
      result: { record, checksum },
    } = await charged(
      req.principal,
      env.usage,
      { bytes: source.size, objects: 1 },
      () =>
        commitWrite(io, {
          write: () =>
            digestAndWrite(readBody(source.body, env.blobs), io, env, {
              algorithm,
              maxSize: env.limits.maxObjectSize,
              knownLength: source.size,
            }),
          async commit(w) {
            const checksum: StoredChecksum | undefined =
              algorithm !== undefined && w.checksumB64 !== undefined
                ? { algorithm, value: w.checksumB64, type: 'FULL_OBJECT' }
                : undefined
            const record: ObjectRecord = {
              bucket: bucket.name,
              key,
              size: w.size,
              etag: w.md5Hex,
              lastModified: req.ctx.clock.now(),
              headers: replace ? desc.headers : source.headers,
              userMetadata: replace ? desc.userMetadata : source.userMetadata,
              tags: taggingDirective === 'REPLACE' ? (requestTags ?? {}) : source.tags,
              body: w.body,
              ownerAccountId: bucket.accountId,
              ...(checksum === undefined ? {} : { checksum }),
              ...(acl === undefined ? {} : { acl }),
            }
            const { replaced } = await env.meta
              .putObject(record, conditions)
              .catch((e: unknown) => {
                throw writeConditionError(e, key, true)
              })
            return { result: { record, checksum }, freed: [replaced] }
          },
        }),
      (r) => ({ bytes: r.written.size, objects: 1 }),
    )
    const checksumXml =
      checksum === undefined ? '' : el(checksumElementName(checksum.algorithm), checksum.value)
    return {
      status: 200,
      headers: {
        'content-type': 'application/xml',
        ...checksumResponseHeaders(checksum),
        ...(await env.expiration?.(bucket.name, record)),
      },
      body: doc(
        'CopyObjectResult',
        el('LastModified', isoDate(record.lastModified)) +
          el('ETag', `"${w.md5Hex}"`) +
          checksumXml,
      ),
    }
  },
}
