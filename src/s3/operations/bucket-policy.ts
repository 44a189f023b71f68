/**
 * Get/Put/DeleteBucketPolicy. The policy is validated by the policy engine's own parser (so what
 * is stored is what the engine will evaluate), every Resource must be this bucket or inside it
 * (AWS: "Policy has invalid resource"; the engine's check also admits `*` and trailing-wildcard
 * patterns that cover the bucket), and the document is stored exactly as sent because
 * GetBucketPolicy returns it verbatim. Caches learn of it from the store's ChangeFeed. A public
 * policy (public-policy.ts) is refused with AccessDenied while the bucket's public access block
 * has BlockPublicPolicy, as on AWS.
 * @module
 */
import { bucketArn } from '../bucket-name.js'
import { S3Error } from '../errors.js'
import type { Operation } from '../operation.js'
import { readVerifiedBody } from '../integrity/verify-body.js'
import { bucketRecordOf, emptyResponse } from '../responses.js'
import { checkBucketPolicyResources, parsePolicy } from '../../policy/document.js'
import { PolicyError } from '../../policy/types.js'
import { isPublicPolicy } from '../public-policy.js'

export const MAX_POLICY_BYTES = 20 * 1024

/**
 * Validate a bucket policy document for `bucket` with the policy engine's parser and its
 * resource check (every Resource in this bucket); throws MalformedPolicy with the reason.
 */
export function validateBucketPolicy(json: string, bucket: string): void {
  if (json.trim() === '')
    throw new S3Error(
      'MalformedPolicy',
      "Policies must be valid JSON and the first byte must be '{'",
    )
  try {
    const compiled = parsePolicy(json, {
      kind: 'resource',
      name: 'bucket-policy',
      source: 'resource',
    })
    checkBucketPolicyResources(compiled, bucket)
  } catch (e) {
    if (e instanceof PolicyError) throw new S3Error('MalformedPolicy', e.message)
    throw e
  }
}

export const getBucketPolicy: Operation = {
  name: 'GetBucketPolicy',
  target: 'bucket',
  authorize: (req) => [{ action: 's3:GetBucketPolicy', resource: bucketArn(req.bucket ?? '') }],
  async handle(req, env) {
    const b = bucketRecordOf(req)
    const stored = await env.meta.getBucketSubresource(b.name, 'policy')
    if (stored === undefined)
      throw new S3Error('NoSuchBucketPolicy', undefined, { BucketName: b.name })
    return { status: 200, headers: { 'content-type': 'application/json' }, body: stored }
  },
}

export const putBucketPolicy: Operation = {
  name: 'PutBucketPolicy',
  target: 'bucket',
  authorize: (req) => [{ action: 's3:PutBucketPolicy', resource: bucketArn(req.bucket ?? '') }],
  async handle(req, env) {
    const b = bucketRecordOf(req)
    const json = await readVerifiedBody(req, {
      maxBytes: MAX_POLICY_BYTES,
      requireChecksum: false,
      tooLarge: () => new S3Error('MalformedPolicy', 'Policies must be less than 20 KB'),
    })
    validateBucketPolicy(json, b.name)
    if (
      (await env.accessConfig(b.name)).publicAccessBlock?.BlockPublicPolicy === true &&
      isPublicPolicy(json)
    )
      throw new S3Error(
        'AccessDenied',
        'Access Denied: the bucket has BlockPublicPolicy set in its public access block, which refuses public bucket policies',
      )
    await env.meta.setBucketSubresource(b.name, 'policy', json)
    return emptyResponse(204)
  },
}

export const deleteBucketPolicy: Operation = {
  name: 'DeleteBucketPolicy',
  target: 'bucket',
  authorize: (req) => [{ action: 's3:DeleteBucketPolicy', resource: bucketArn(req.bucket ?? '') }],
  async handle(req, env) {
    const b = bucketRecordOf(req)
    await env.meta.setBucketSubresource(b.name, 'policy', null)
    return emptyResponse(204)
  },
}
