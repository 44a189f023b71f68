/**
 * Get/Put/DeleteBucketOwnershipControls (?ownershipControls). One rule, ObjectOwnership:
 * BucketOwnerEnforced disables ACLs (acl.ts: stored grants are ignored, only owner-only ACLs are
 * accepted, others are AccessControlListNotSupported), BucketOwnerPreferred and ObjectWriter keep
 * them. AWS refuses BucketOwnerEnforced while the bucket's ACL grants anyone but the owner
 * (InvalidBucketAclWithObjectOwnership): the owner must reset it first. Objects here are always
 * owned by the bucket owner, so the three differ only in whether ACLs count. Stored as the
 * `ownership` sub-resource, cached and settled like the policy.
 * @module
 */
import { bucketArn } from '../bucket-name.js'
import { grantsOnlyTo, OBJECT_OWNERSHIPS } from '../acl.js'
import { S3Error } from '../errors.js'
import type { Operation } from '../operation.js'
import { readVerifiedBody } from '../integrity/verify-body.js'
import { bucketRecordOf, emptyResponse, xmlResponse } from '../responses.js'
import { child, doc, el, list, parseXml, text, wrap } from '../xml.js'

export function parseOwnershipControls(xml: string): string {
  const root = parseXml(xml)['OwnershipControls']
  if (root === undefined || typeof root === 'string' || Array.isArray(root))
    throw new S3Error('MalformedXML')
  const rules = list(child(root, 'Rule'))
  if (rules.length !== 1) throw new S3Error('MalformedXML')
  const v = text(child(rules[0], 'ObjectOwnership'))?.trim()
  if (v === undefined || !OBJECT_OWNERSHIPS.has(v)) throw new S3Error('MalformedXML')
  return v
}

export const getBucketOwnershipControls: Operation = {
  name: 'GetBucketOwnershipControls',
  target: 'bucket',
  authorize: (req) => [
    { action: 's3:GetBucketOwnershipControls', resource: bucketArn(req.bucket ?? '') },
  ],
  async handle(req, env) {
    const b = bucketRecordOf(req)
    const ownership = (await env.accessConfig(b.name)).ownership
    if (ownership === undefined)
      throw new S3Error('OwnershipControlsNotFoundError', undefined, { BucketName: b.name })
    return xmlResponse(doc('OwnershipControls', wrap('Rule', el('ObjectOwnership', ownership))))
  },
}

export const putBucketOwnershipControls: Operation = {
  name: 'PutBucketOwnershipControls',
  target: 'bucket',
  authorize: (req) => [
    { action: 's3:PutBucketOwnershipControls', resource: bucketArn(req.bucket ?? '') },
  ],
  async handle(req, env) {
    const b = bucketRecordOf(req)
    const body = await readVerifiedBody(req, { maxBytes: 64 * 1024, requireChecksum: false })
    if (body.trim() === '') throw new S3Error('MalformedXML')
    const ownership = parseOwnershipControls(body)
    if (ownership === 'BucketOwnerEnforced') {
      const acl = (await env.accessConfig(b.name)).acl
      if (acl !== undefined && !grantsOnlyTo(acl, b.accountId))
        throw new S3Error('InvalidBucketAclWithObjectOwnership')
    }
    await env.meta.setBucketSubresource(b.name, 'ownership', ownership)
    return emptyResponse(200)
  },
}

/** AWS authorizes DeleteBucketOwnershipControls as s3:PutBucketOwnershipControls. */
export const deleteBucketOwnershipControls: Operation = {
  name: 'DeleteBucketOwnershipControls',
  target: 'bucket',
  authorize: (req) => [
    { action: 's3:PutBucketOwnershipControls', resource: bucketArn(req.bucket ?? '') },
  ],
  async handle(req, env) {
    const b = bucketRecordOf(req)
    await env.meta.setBucketSubresource(b.name, 'ownership', null)
    return emptyResponse(204)
  },
}
