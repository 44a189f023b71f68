/**
 * Applying a request's ACL to what it writes: resolve the grantees against the accounts, check the
 * bucket's Object Ownership and public access block (acl.ts checkAclAllowed), and give the store
 * what to keep. An ACL equal to the default (the owner's FULL_CONTROL only) is not stored, and
 * neither is any ACL of a bucket whose ACLs are disabled (it can only grant the owner anyway).
 * @module
 */
import type { BucketRecord, StoredAcl } from '../storage/metadata-store.js'
import { aclsDisabled, checkAclAllowed, resolveAcl, type AclRequest } from './acl.js'
import type { S3Env } from './operation.js'

/** True when the ACL is exactly the default: FULL_CONTROL for `owner` and nothing else. */
export function isDefaultAcl(acl: StoredAcl, owner: string): boolean {
  const g = acl.grants
  return g.length === 1 && g[0]?.account === owner && g[0].permission === 'FULL_CONTROL'
}

/**
 * The ACL a new object of `bucket` gets from its request (PutObject, CopyObject, POST uploads,
 * CreateMultipartUpload for the completed object); undefined = the default. Objects here are
 * owned by the bucket owner (Latchkey records no other object owner).
 */
export async function objectAclFromRequest(
  request: AclRequest | undefined,
  bucket: BucketRecord,
  env: S3Env,
): Promise<StoredAcl | undefined> {
  if (request === undefined) return undefined
  return resolveChecked(request, bucket, env)
}

/** Resolve and check an ACL for `bucket` or one of its objects; undefined when nothing to store. */
export async function resolveChecked(
  request: AclRequest,
  bucket: BucketRecord,
  env: S3Env,
): Promise<StoredAcl | undefined> {
  const config = await env.accessConfig(bucket.name)
  const acl = resolveAcl(request, {
    owner: bucket.accountId,
    bucketOwner: bucket.accountId,
    accountOfCanonicalId: (id) => env.accountOfCanonicalId(id),
  })
  checkAclAllowed(acl, config, bucket.accountId)
  if (aclsDisabled(config) || isDefaultAcl(acl, bucket.accountId)) return undefined
  return acl
}
