/**
 * PutObject (PUT /bucket/key without x-amz-copy-source): validate the describing headers first
 * (nothing is read from the body before they pass), stream the body through digests into
 * storage, verify Content-MD5 / x-amz-checksum-*, commit the record, then retire the replaced
 * body (storage/commit.ts). Authorized as s3:PutObject with s3:RequestObjectTag/*, s3:RequestObjectTagKeys (from
 * x-amz-tagging), s3:x-amz-acl and the conditional-write keys (objectCreationContext), plus
 * s3:GetObject for If-Match; the pipeline adds s3:x-amz-content-sha256. A session's upload caps
 * (object/upload-caps.ts) are checked before the body (type, declared size) and while it streams.
 * @module
 */
import { commitWrite } from '../../storage/commit.js'
import type { ObjectRecord } from '../../storage/metadata-store.js'
import type { AccessRequirement, Operation, S3Request } from '../operation.js'
import { bucketOf, enforceWriteConditions, keyOf, requestObjectArn } from '../object/access.js'
import { writeConditionError } from '../object/conditional.js'
import { describeObject } from '../object/headers.js'
import { objectAclFromRequest } from '../acl-apply.js'
import { aclConditionKeys } from '../acl.js'
import { checksumResponseHeaders, commitIo, ingestRequestBody } from '../object/ingest.js'
import { parseTaggingHeader, requestTagContext } from '../object/tags.js'
import {
  capSizeError,
  charged,
  checkContentType,
  checkObjectSize,
  maxSizeFor,
} from '../object/upload-caps.js'

/** Condition keys of a write that carries x-amz-tagging / x-amz-acl / x-amz-grant-* (pure; bad values ignored here). */
export function writeContext(req: S3Request): Record<string, string | string[]> {
  let ctx: Record<string, string | string[]> = {}
  try {
    ctx = requestTagContext(parseTaggingHeader(req.header('x-amz-tagging')))
  } catch {
    // invalid tagging is reported by handle(); authorize must stay total
  }
  return Object.assign(
    {},
    ctx,
    aclConditionKeys((n) => req.header(n)),
  )
}

/**
 * Condition keys AWS gives bucket policies to enforce conditional writes: `s3:if-none-match` and
 * `s3:if-match` carry the headers when sent; `s3:ObjectCreationOperation` is "true" on the writes
 * that create an object (PutObject, CopyObject, CompleteMultipartUpload) and "false" on
 * CreateMultipartUpload, UploadPart and UploadPartCopy, which take no conditional headers, so a
 * policy demanding them can exempt the steps of a multipart upload.
 */
export function objectCreationContext(req: S3Request, creates: boolean): Record<string, string> {
  const ctx: Record<string, string> = { 's3:ObjectCreationOperation': String(creates) }
  if (!creates) return ctx
  const inm = req.header('if-none-match')
  const im = req.header('if-match')
  if (inm !== undefined) ctx['s3:if-none-match'] = inm
  if (im !== undefined) ctx['s3:if-match'] = im
  return ctx
}

/**
 * An If-Match write learns whether the object has that ETag, so AWS requires s3:GetObject on it
 * as well as s3:PutObject (an uploader allowed only to put must not probe what is stored).
 */
export function ifMatchReadRequirement(req: S3Request): AccessRequirement[] {
  return req.header('if-match') === undefined
    ? []
    : [{ action: 's3:GetObject', resource: requestObjectArn(req) }]
}

/**
 * A write that sets an ACL (x-amz-acl, x-amz-grant-*) also needs s3:PutObjectAcl, as on AWS: a
 * principal allowed to upload but not to change ACLs cannot publish what it uploads.
 */
export function aclWriteRequirement(req: S3Request): AccessRequirement[] {
  const context = aclConditionKeys((n) => req.header(n))
  return Object.keys(context).length === 0
    ? []
    : [{ action: 's3:PutObjectAcl', resource: requestObjectArn(req), context }]
}

export function putRequirement(
  req: S3Request,
  extra: Record<string, string | string[]> = {},
): AccessRequirement {
  const context = Object.assign(writeContext(req), extra)
  return Object.keys(context).length === 0
    ? { action: 's3:PutObject', resource: requestObjectArn(req) }
    : { action: 's3:PutObject', resource: requestObjectArn(req), context }
}

export const putObject: Operation = {
  name: 'PutObject',
  target: 'object',
  authorize: (req) => [
    putRequirement(req, objectCreationContext(req, true)),
    ...aclWriteRequirement(req),
    ...ifMatchReadRequirement(req),
  ],
  async handle(req, env) {
    const bucket = bucketOf(req)
    const key = keyOf(req)
    const desc = describeObject((n) => req.header(n), req.raw.headers)
    const tags = parseTaggingHeader(req.header('x-amz-tagging')) ?? {}
    // Each awaited only when there is something to read: an ACL header, a write condition.
    const acl =
      desc.acl === undefined ? undefined : await objectAclFromRequest(desc.acl, bucket, env)
    const checking = enforceWriteConditions(req, env, bucket.name, key)
    const conditions = checking === undefined ? undefined : await checking
    // Upload caps of a session (object/upload-caps.ts): type and declared size before any byte.
    const p = req.principal
    checkContentType(p, desc.headers.contentType)
    if (req.contentLength !== undefined) checkObjectSize(p, req.contentLength)
    const maxSize = maxSizeFor(p, env.limits.maxObjectSize)
    const io = commitIo(req, env)
    const { written: w, result: stored } = await charged(
      p,
      env.usage,
      { bytes: req.contentLength ?? 0, objects: 1 },
      (charge) =>
        commitWrite(io, {
          write: () => ingestRequestBody(req, io, env, { maxSize, charge }),
          async commit(w) {
            const record: ObjectRecord = {
              bucket: bucket.name,
              key,
              size: w.size,
              etag: w.md5Hex,
              lastModified: req.ctx.clock.now(),
              headers: desc.headers,
              userMetadata: desc.userMetadata,
              tags,
              body: w.body,
              ownerAccountId: bucket.accountId,
              ...(w.checksum === undefined ? {} : { checksum: w.checksum }),
              ...(acl === undefined ? {} : { acl }),
            }
            // The store decides If-Match / If-None-Match atomically with the write; they held at
            // the early check, so a refusal now is a writer that committed meanwhile (409).
            const { replaced } = await env.meta
              .putObject(record, conditions)
              .catch((e: unknown) => {
                throw writeConditionError(e, key, true)
              })
            return { result: record, freed: [replaced] }
          },
        }),
      (r) => ({ bytes: r.written.size, objects: 1 }),
    ).catch((e: unknown) => {
      throw capSizeError(p, env.limits.maxObjectSize, e)
    })
    const expiration = env.expiration?.(bucket.name, stored)
    return {
      status: 200,
      headers: {
        etag: `"${w.md5Hex}"`,
        ...checksumResponseHeaders(w.checksum),
        ...(expiration instanceof Promise ? await expiration : expiration),
      },
    }
  },
}
