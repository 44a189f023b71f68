/**
 * The fixed user roles and the master key, written as ordinary identity policies so one engine
 * decides everything. The action lists come from the typed catalogue (actions.ts). Resource "*" is safe: decide() needs a bucket-policy grant as well for
 * buckets of other accounts, so every preset stays inside its own account.
 *
 * - Reader: list and download (plus reading tags, ACLs, CORS, versioning, multipart listings)
 *   and the STS calls a user needs to mint scoped credentials for itself.
 * - Writer: Reader + create/delete buckets, upload, delete, multipart, object tags/ACLs,
 *   bucket CORS and bucket tags. Not bucket policies, bucket ACLs, public access blocks or
 *   ownership controls (security settings).
 * - SuperUser: everything in its account: s3:*, sts:*, and the iam:* actions of the admin API
 *   (users, keys, user policies, customers, sessions: actions.ts IAM_ACTIONS), as real grants
 *   the admin API asks the engine about (admin-authorize.ts), not a role-name test.
 * - Master key: "*" (everything in its account).
 * @module
 */
import { parsePolicy, type CompiledPolicy } from './document.js'
import type { RoleName } from './roles.js'
import {
  IAM_ACTIONS,
  S3_READ_ACTIONS,
  S3_WRITE_ACTIONS,
  STS_ACTIONS,
  type Action,
} from './actions.js'
export type { RoleName } from './roles.js'

export const READER_ACTIONS: readonly Action[] = Object.freeze([
  ...S3_READ_ACTIONS,
  // scoped credentials for oneself (the caller's own rights, possibly narrowed)
  ...STS_ACTIONS,
])

export const WRITER_EXTRA_ACTIONS: readonly Action[] = Object.freeze([...S3_WRITE_ACTIONS])

/** s3:* and sts:* whole, and every IAM action the admin API asks for (iam:*, by name). */
export const SUPERUSER_ACTIONS: readonly string[] = Object.freeze(['s3:*', 'sts:*', ...IAM_ACTIONS])

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
