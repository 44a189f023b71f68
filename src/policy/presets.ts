/**
 * The fixed user roles and the master key, written as ordinary identity policies so one engine
 * decides everything. Resource "*" is safe: decide() needs a bucket-policy grant as well for
 * buckets of other accounts, so every preset stays inside its own account.
 *
 * - Reader: list and download (plus reading tags, ACLs, CORS, versioning, multipart listings)
 *   and the STS calls a user needs to mint scoped credentials for itself.
 * - Writer: Reader + create/delete buckets, upload, delete, multipart, object tags/ACLs,
 *   bucket CORS and bucket tags. Not bucket policies or bucket ACLs (security settings).
 * - SuperUser: everything in its account: s3:*, sts:*, admin:* (users, keys, sessions).
 * - Master key: "*" (everything in its account).
 * @module
 */
import { parsePolicy, type CompiledPolicy } from './document.js'
import type { RoleName } from './roles.js'
export type { RoleName } from './roles.js'

export const READER_ACTIONS: readonly string[] = Object.freeze([
  's3:ListAllMyBuckets',
  's3:ListBucket',
  's3:ListBucketVersions',
  's3:ListBucketMultipartUploads',
  's3:ListMultipartUploadParts',
  's3:GetBucketLocation',
  's3:GetObject',
  's3:GetObjectVersion',
  's3:GetObjectTagging',
  's3:GetObjectVersionTagging',
  's3:GetObjectAcl',
  's3:GetObjectAttributes',
  's3:GetBucketAcl',
  's3:GetBucketCORS',
  's3:GetBucketTagging',
  's3:GetBucketVersioning',
  // scoped credentials for oneself (the caller's own rights, possibly narrowed)
  'sts:AssumeRole',
  'sts:GetSessionToken',
  'sts:GetCallerIdentity',
])

export const WRITER_EXTRA_ACTIONS: readonly string[] = Object.freeze([
  's3:CreateBucket',
  's3:DeleteBucket',
  's3:PutObject',
  's3:DeleteObject',
  's3:DeleteObjectVersion',
  's3:AbortMultipartUpload',
  's3:PutObjectTagging',
  's3:DeleteObjectTagging',
  's3:PutObjectAcl',
  's3:PutBucketCORS',
  's3:PutBucketTagging',
])

export const SUPERUSER_ACTIONS: readonly string[] = Object.freeze(['s3:*', 'sts:*', 'admin:*'])

function preset(name: string, actions: readonly string[]): CompiledPolicy {
  return parsePolicy(
    {
      Version: '2012-10-17',
      Statement: [
        { Sid: name.replace(/[^A-Za-z0-9]/g, ''), Effect: 'Allow', Action: actions, Resource: '*' },
      ],
    },
    { kind: 'identity', name, source: 'identity' },
  )
}

const cache = new Map<RoleName, CompiledPolicy>()

/** The compiled policy of a role (compiled once, then shared: compiled policies are immutable). */
export function rolePolicy(role: RoleName): CompiledPolicy {
  let p = cache.get(role)
  if (p === undefined) {
    const actions =
      role === 'Reader'
        ? READER_ACTIONS
        : role === 'Writer'
          ? [...READER_ACTIONS, ...WRITER_EXTRA_ACTIONS]
          : role === 'SuperUser'
            ? SUPERUSER_ACTIONS
            : undefined
    if (actions === undefined) throw new Error(`unknown role ${String(role)}`)
    p = preset(`role:${role}`, actions)
    cache.set(role, p)
  }
  return p
}

/** The master key's implicit policy: everything (decide() keeps it inside its account). */
export const MASTER_KEY_POLICY: CompiledPolicy = preset('master-key', ['*'])
