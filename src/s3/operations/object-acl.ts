/**
 * GetObjectAcl / PutObjectAcl (?acl). The ACL lives in the object record (ObjectRecord.acl; none
 * = the owner's FULL_CONTROL), so it changes atomically with nothing else and, having no per-node
 * cache on a shared database, holds on every node at once. PutObjectAcl takes the same three forms
 * as PutBucketAcl (bucket-acl.ts) and the same checks against the bucket's Object Ownership and
 * public access block; with ACLs disabled GetObjectAcl shows the owner's grant.
 * @module
 */
import { aclsDisabled, privateAcl, renderAcl } from '../acl.js'
import { resolveChecked } from '../acl-apply.js'
import type { Operation } from '../operation.js'
import {
  bucketOf,
  keyOf,
  loadObject,
  requestObjectArn,
  requireWithExistingTags,
} from '../object/access.js'
import { xmlResponse } from '../responses.js'
import { aclRequirement, ownerOf, requestedAcl } from './bucket-acl.js'

export const getObjectAcl: Operation = {
  name: 'GetObjectAcl',
  target: 'object',
  authorize: (req) => [{ action: 's3:GetObjectAcl', resource: requestObjectArn(req) }],
  async handle(req, env) {
    const bucket = bucketOf(req)
    const o = await loadObject(env, bucket.name, keyOf(req))
    await requireWithExistingTags(req, env, 's3:GetObjectAcl', bucket, o)
    const config = await env.accessConfig(bucket.name)
    const acl = aclsDisabled(config) || o.acl === undefined ? privateAcl(o.ownerAccountId) : o.acl
    return xmlResponse(renderAcl(acl, env.owner(o.ownerAccountId), ownerOf(env)))
  },
}

export const putObjectAcl: Operation = {
  name: 'PutObjectAcl',
  target: 'object',
  authorize: (req) => [aclRequirement(req, 's3:PutObjectAcl', requestObjectArn(req))],
  async handle(req, env) {
    const bucket = bucketOf(req)
    const key = keyOf(req)
    const o = await loadObject(env, bucket.name, key)
    await requireWithExistingTags(req, env, 's3:PutObjectAcl', bucket, o)
    const request = await requestedAcl(req, env.owner(o.ownerAccountId))
    const acl = await resolveChecked(request, bucket, env)
    await env.meta.setObjectAcl(bucket.name, key, acl ?? privateAcl(o.ownerAccountId))
    return { status: 200 }
  },
}
