/**
 * GetBucketAcl / PutBucketAcl. The ACL is a bucket sub-resource (`acl`, a StoredAcl as JSON; none
 * = the owner's FULL_CONTROL), cached on every node by BucketConfig and settled on every node
 * before PutBucketAcl answers (settled-writes.ts), so a grant or a revocation holds on the next
 * request anywhere. PutBucketAcl takes x-amz-acl, x-amz-grant-* or an AccessControlPolicy body
 * (headers and a body together are InvalidRequest); with ACLs disabled (BucketOwnerEnforced) only
 * an ACL granting nothing beyond the owner is accepted and GetBucketAcl shows the owner's grant.
 * @module
 */
import { bucketArn } from '../bucket-name.js'
import {
  aclRequestOf,
  aclsDisabled,
  aclConditionKeys,
  parseAccessControlPolicy,
  privateAcl,
  renderAcl,
  type AclRequest,
} from '../acl.js'
import { resolveChecked } from '../acl-apply.js'
import { S3Error } from '../errors.js'
import type { AccessRequirement, Operation, OwnerInfo, S3Env, S3Request } from '../operation.js'
import { readVerifiedBody } from '../integrity/verify-body.js'
import { bucketRecordOf, emptyResponse, xmlResponse } from '../responses.js'

export const ACL_MAX_BODY = 64 * 1024

export function aclRequirement(
  req: S3Request,
  action: string,
  resource: string,
): AccessRequirement {
  const context = aclConditionKeys((n) => req.header(n))
  return Object.keys(context).length === 0 ? { action, resource } : { action, resource, context }
}

/**
 * The ACL a Put*Acl request states: its headers, or its AccessControlPolicy body (whose Owner, if
 * given, must be the resource's owner). Neither → MalformedXML; both → InvalidRequest.
 */
export async function requestedAcl(req: S3Request, owner: OwnerInfo): Promise<AclRequest> {
  const fromHeaders = aclRequestOf((n) => req.header(n))
  const body = await readVerifiedBody(req, { maxBytes: ACL_MAX_BODY, requireChecksum: false })
  if (fromHeaders !== undefined) {
    if (body.trim() !== '')
      throw new S3Error(
        'InvalidRequest',
        'Specifying both an AccessControlPolicy body and ACL headers is not allowed',
      )
    return fromHeaders
  }
  if (body.trim() === '') throw new S3Error('MalformedXML')
  const parsed = parseAccessControlPolicy(body)
  if (parsed.ownerId !== undefined && parsed.ownerId !== owner.id)
    throw new S3Error(
      'AccessDenied',
      'Access Denied: the Owner of an AccessControlPolicy must be the resource owner',
    )
  return parsed.request
}

export const getBucketAcl: Operation = {
  name: 'GetBucketAcl',
  target: 'bucket',
  authorize: (req) => [{ action: 's3:GetBucketAcl', resource: bucketArn(req.bucket ?? '') }],
  async handle(req, env) {
    const b = bucketRecordOf(req)
    const config = await env.accessConfig(b.name)
    const acl =
      aclsDisabled(config) || config.acl === undefined ? privateAcl(b.accountId) : config.acl
    return xmlResponse(renderAcl(acl, env.owner(b.accountId), ownerOf(env)))
  },
}

export function ownerOf(env: S3Env): (accountId: string) => OwnerInfo {
  return (accountId) => env.owner(accountId)
}

export const putBucketAcl: Operation = {
  name: 'PutBucketAcl',
  target: 'bucket',
  authorize: (req) => [aclRequirement(req, 's3:PutBucketAcl', bucketArn(req.bucket ?? ''))],
  async handle(req, env) {
    const b = bucketRecordOf(req)
    const request = await requestedAcl(req, env.owner(b.accountId))
    const acl = await resolveChecked(request, b, env)
    await env.meta.setBucketSubresource(
      b.name,
      'acl',
      acl === undefined ? null : JSON.stringify(acl),
    )
    return emptyResponse(200)
  },
}
