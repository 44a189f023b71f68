/**
 * Canned ACLs. Buckets here behave like AWS buckets with Object Ownership "BucketOwnerEnforced"
 * (the AWS default since April 2023): ACLs are disabled, so only ACLs that grant nothing beyond the
 * owner are accepted, and any other canned ACL is refused with AccessControlListNotSupported, as AWS
 * does, instead of being silently ignored. Access is granted with bucket policies.
 * @module
 */
import { S3Error } from './errors.js'

export const CANNED_ACLS: ReadonlySet<string> = new Set([
  'private',
  'public-read',
  'public-read-write',
  'authenticated-read',
  'aws-exec-read',
  'bucket-owner-read',
  'bucket-owner-full-control',
  'log-delivery-write',
])

/** What an owner-enforced bucket accepts (they grant nothing beyond the owner). */
const OWNER_ONLY: ReadonlySet<string> = new Set([
  'private',
  'bucket-owner-full-control',
  'bucket-owner-read',
])

/** Validate x-amz-acl (or the POST form's acl field); returns it for condition keys. */
export function checkCannedAcl(
  value: string | undefined,
  argumentName = 'x-amz-acl',
): string | undefined {
  if (value === undefined) return undefined
  if (!CANNED_ACLS.has(value))
    throw new S3Error('InvalidArgument', undefined, {
      ArgumentName: argumentName,
      ArgumentValue: value,
    })
  if (!OWNER_ONLY.has(value)) throw new S3Error('AccessControlListNotSupported')
  return value
}
