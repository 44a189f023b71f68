/**
 * The identity rows as the relational stores (SQLite, PostgreSQL) read them back: the column
 * shapes of accounts, users, access keys and sessions, and their mapping to the port's rows. One
 * spelling for both engines, which differ only in how integers and flags arrive.
 * @module
 */
import type {
  AccessKeyRow,
  AccountRow,
  EndedSessions,
  SessionRow,
  StsLimitsRow,
  UserRow,
} from '../../storage/identity-store.js'
import type { RoleName as UserRole } from '../../policy/roles.js'

/**
 * Integer columns: numbers from SQLite, strings from PostgreSQL's BIGINT (they may exceed 2^53;
 * ours, milliseconds, never). Flags: 0/1 from SQLite, booleans from PostgreSQL.
 */
type Big = string | number
type Flag = number | boolean

export interface AccountDb {
  id: string
  name: string
  type: 'customer' | 'reseller'
  reseller_id: string | null
  created_at: Big
  allowlist: string
  master_access_key_id: string
  master_secret: string
  secret_version: number
  version: number
}
export interface UserDb {
  id: string
  account_id: string
  username: string
  password_hash: string
  role: UserRole
  is_active: Flag
  email: string | null
  firstname: string | null
  lastname: string | null
  policy: string | null
  totp_secret: string | null
  created_at: Big
  last_access: Big | null
  version: number
}
export interface KeyDb {
  access_key_id: string
  user_id: string
  secret: string
  created_at: Big
}
export interface SessionDb {
  access_key_id: string
  account_id: string
  quota_key: string
  user_id: string | null
  origin_key_id: string | null
  parent: string
  secret: string
  token_hmac: string | null
  session_name: string
  policies: string
  role_name: string
  role_id: string
  issued_at: Big
  expires_at: Big
  revoked: Flag
}

/** Spread helper: `{ key: value }` only when value is not null (exactOptionalPropertyTypes-safe). */
function opt<K extends string, V>(key: K, v: V | null | undefined): { [P in K]?: V } {
  return (v === null || v === undefined ? {} : { [key]: v }) as { [P in K]?: V }
}

export function toAccount(r: AccountDb): AccountRow {
  return {
    id: r.id,
    name: r.name,
    type: r.type,
    ...opt('resellerId', r.reseller_id),
    createdAt: Number(r.created_at),
    allowlist: JSON.parse(r.allowlist) as string[],
    masterAccessKeyId: r.master_access_key_id,
    masterSecret: r.master_secret,
    secretVersion: r.secret_version,
    version: r.version,
  }
}

export function toUser(r: UserDb): UserRow {
  return {
    id: r.id,
    accountId: r.account_id,
    username: r.username,
    passwordHash: r.password_hash,
    role: r.role,
    isActive: r.is_active === true || r.is_active === 1,
    ...opt('email', r.email),
    ...opt('firstname', r.firstname),
    ...opt('lastname', r.lastname),
    ...opt('policy', r.policy),
    ...opt('totpSecret', r.totp_secret),
    createdAt: Number(r.created_at),
    ...opt('lastAccess', r.last_access === null ? null : Number(r.last_access)),
    version: r.version,
  }
}

export function toKey(k: KeyDb): AccessKeyRow {
  return {
    accessKeyId: k.access_key_id,
    userId: k.user_id,
    secret: k.secret,
    createdAt: Number(k.created_at),
  }
}

export function toSession(r: SessionDb): SessionRow {
  return {
    accessKeyId: r.access_key_id,
    accountId: r.account_id,
    quotaKey: r.quota_key,
    ...opt('userId', r.user_id),
    ...opt('originKeyId', r.origin_key_id),
    parent: r.parent,
    secret: r.secret,
    ...opt('tokenHmac', r.token_hmac),
    sessionName: r.session_name,
    policies: r.policies,
    roleName: r.role_name,
    roleId: r.role_id,
    issuedAt: Number(r.issued_at),
    expiresAt: Number(r.expires_at),
    revoked: r.revoked === true || r.revoked === 1,
  }
}

/** iam_sts_limits as both SQL backends return it (PostgreSQL's INTEGER/DOUBLE come back as numbers). */
export interface StsLimitsDb {
  account_id: string
  issue_rate: number | null
  issue_burst: number | null
  max_active_sessions: number | null
}

export function toStsLimits(r: StsLimitsDb): StsLimitsRow {
  return {
    accountId: r.account_id,
    ...(r.issue_rate !== null ? { issueRate: Number(r.issue_rate) } : {}),
    ...(r.issue_burst !== null ? { issueBurst: Number(r.issue_burst) } : {}),
    ...(r.max_active_sessions !== null ? { maxActiveSessions: Number(r.max_active_sessions) } : {}),
  }
}

/** Deleted session rows (access key id, quota key), counted by quota key. */
export function endedOf(
  rows: readonly { readonly access_key_id: string; readonly quota_key: string }[],
): EndedSessions {
  const byQuota = new Map<string, number>()
  for (const r of rows) byQuota.set(r.quota_key, (byQuota.get(r.quota_key) ?? 0) + 1)
  return { deleted: rows.length, accessKeyIds: rows.map((r) => r.access_key_id), byQuota }
}
