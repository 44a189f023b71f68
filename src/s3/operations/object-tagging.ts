/**
 * Object tagging (?tagging): GET answers the tag set (an empty <TagSet/> when there is none, like
 * AWS), PUT replaces it after validation (InvalidTag), DELETE empties it (204). The object must
 * exist (NoSuchKey). Tag-conditioned policies are decided again in handle() with
 * s3:ExistingObjectTag/* (and, for PUT, s3:RequestObjectTag/*) once the data is known.
 * @module
 */
import type { Operation } from '../operation.js'
import {
  bucketOf,
  keyOf,
  loadObject,
  requestObjectArn,
  requireWithExistingTags,
} from '../object/access.js'
import { parseTaggingXml, renderTagging, requestTagContext } from '../object/tags.js'
import { readXmlBody } from '../xml.js'

export const TAGGING_MAX_BODY = 64 * 1024

export const getObjectTagging: Operation = {
  name: 'GetObjectTagging',
  target: 'object',
  authorize: (req) => [{ action: 's3:GetObjectTagging', resource: requestObjectArn(req) }],
  async handle(req, env) {
    const bucket = bucketOf(req)
    const o = await loadObject(env, bucket.name, keyOf(req))
    await requireWithExistingTags(req, env, 's3:GetObjectTagging', bucket, o)
    return {
      status: 200,
      headers: { 'content-type': 'application/xml' },
      body: renderTagging(o.tags),
    }
  },
}

export const putObjectTagging: Operation = {
  name: 'PutObjectTagging',
  target: 'object',
  authorize: (req) => [{ action: 's3:PutObjectTagging', resource: requestObjectArn(req) }],
  async handle(req, env) {
    const bucket = bucketOf(req)
    const key = keyOf(req)
    const tags = parseTaggingXml(await readXmlBody(req.body, TAGGING_MAX_BODY))
    const o = await loadObject(env, bucket.name, key)
    await requireWithExistingTags(
      req,
      env,
      's3:PutObjectTagging',
      bucket,
      o,
      requestTagContext(tags),
    )
    await env.meta.setObjectTags(bucket.name, key, tags)
    return { status: 200 }
  },
}

export const deleteObjectTagging: Operation = {
  name: 'DeleteObjectTagging',
  target: 'object',
  authorize: (req) => [{ action: 's3:DeleteObjectTagging', resource: requestObjectArn(req) }],
  async handle(req, env) {
    const bucket = bucketOf(req)
    const key = keyOf(req)
    const o = await loadObject(env, bucket.name, key)
    await requireWithExistingTags(req, env, 's3:DeleteObjectTagging', bucket, o)
    await env.meta.setObjectTags(bucket.name, key, {})
    return { status: 204 }
  },
}
