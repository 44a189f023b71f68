/**
 * Get/Put/DeletePublicAccessBlock (?publicAccessBlock), bucket level. The four flags, as AWS
 * defines them: BlockPublicAcls refuses requests that set a public ACL (AccessDenied; acl.ts
 * checkAclAllowed), IgnorePublicAcls makes evaluation ignore AllUsers/AuthenticatedUsers grants,
 * BlockPublicPolicy refuses PutBucketPolicy of a public policy (bucket-policy.ts), and
 * RestrictPublicBuckets confines a public bucket policy to the owner's account (pipeline.ts).
 * Stored as the `public-access-block` sub-resource (JSON), cached and settled like the policy.
 * A missing element is false, as on AWS; a value other than true/false is MalformedXML.
 * @module
 */
import { bucketArn } from '../bucket-name.js'
import { PAB_FLAGS, type PublicAccessBlock } from '../acl.js'
import { S3Error } from '../errors.js'
import type { Operation } from '../operation.js'
import { readVerifiedBody } from '../integrity/verify-body.js'
import { bucketRecordOf, emptyResponse, xmlResponse } from '../responses.js'
import { child, doc, el, parseXml, text } from '../xml.js'

export function parsePublicAccessBlock(xml: string): PublicAccessBlock {
  const root = parseXml(xml)['PublicAccessBlockConfiguration']
  if (root === undefined || Array.isArray(root)) throw new S3Error('MalformedXML')
  const out: Record<string, boolean> = {}
  for (const flag of PAB_FLAGS) {
    const v = typeof root === 'string' ? undefined : text(child(root, flag))?.trim().toLowerCase()
    if (v !== undefined && v !== 'true' && v !== 'false') throw new S3Error('MalformedXML')
    out[flag] = v === 'true'
  }
  return out as unknown as PublicAccessBlock
}

export function renderPublicAccessBlock(p: PublicAccessBlock): string {
  return doc('PublicAccessBlockConfiguration', PAB_FLAGS.map((f) => el(f, p[f])).join(''))
}

export const getPublicAccessBlock: Operation = {
  name: 'GetPublicAccessBlock',
  target: 'bucket',
  authorize: (req) => [
    { action: 's3:GetBucketPublicAccessBlock', resource: bucketArn(req.bucket ?? '') },
  ],
  async handle(req, env) {
    const b = bucketRecordOf(req)
    const pab = (await env.accessConfig(b.name)).publicAccessBlock
    if (pab === undefined)
      throw new S3Error('NoSuchPublicAccessBlockConfiguration', undefined, { BucketName: b.name })
    return xmlResponse(renderPublicAccessBlock(pab))
  },
}

export const putPublicAccessBlock: Operation = {
  name: 'PutPublicAccessBlock',
  target: 'bucket',
  authorize: (req) => [
    { action: 's3:PutBucketPublicAccessBlock', resource: bucketArn(req.bucket ?? '') },
  ],
  async handle(req, env) {
    const b = bucketRecordOf(req)
    const body = await readVerifiedBody(req, { maxBytes: 64 * 1024, requireChecksum: false })
    if (body.trim() === '') throw new S3Error('MalformedXML')
    const pab = parsePublicAccessBlock(body)
    await env.meta.setBucketSubresource(b.name, 'public-access-block', JSON.stringify(pab))
    return emptyResponse(200)
  },
}

/** AWS authorizes DeletePublicAccessBlock as s3:PutBucketPublicAccessBlock. */
export const deletePublicAccessBlock: Operation = {
  name: 'DeletePublicAccessBlock',
  target: 'bucket',
  authorize: (req) => [
    { action: 's3:PutBucketPublicAccessBlock', resource: bucketArn(req.bucket ?? '') },
  ],
  async handle(req, env) {
    const b = bucketRecordOf(req)
    await env.meta.setBucketSubresource(b.name, 'public-access-block', null)
    return emptyResponse(204)
  },
}
