/**
 * Who is calling. Every surface (S3, STS, admin) turns its credentials into one of these;
 * `switch (p.kind)` must stay exhaustive.
 * @module
 */
import type { RoleName } from '../policy/roles.js'
import type { UploadCaps } from '../policy/upload-caps.js'

/** What a session was made from; revocation follows this link. */
export type ParentRef =
  | { readonly kind: 'account-root'; readonly accountId: string; readonly accessKeyId: string }
  | {
      readonly kind: 'user'
      readonly accountId: string
      readonly userId: string
      readonly username: string
      readonly accessKeyId?: string
    }

export type Principal =
  | { readonly kind: 'anonymous' }
  | {
      readonly kind: 'account-root'
      readonly accountId: string
      readonly accountName: string
      readonly accessKeyId: string
    }
  | {
      readonly kind: 'user'
      readonly accountId: string
      readonly accountName: string
      readonly userId: string
      readonly username: string
      readonly role: UserRole
      readonly accessKeyId: string
    }
  | {
      readonly kind: 'session'
      readonly accountId: string
      readonly accountName: string
      readonly accessKeyId: string
      readonly sessionName: string
      readonly parent: ParentRef
      readonly expiresAt: number
      /** The role name shown in the assumed-role ARN (caller name when RoleArn was a placeholder). */
      readonly roleName: string
      /** Unique id of the role/user the session acts for (AssumedRoleId = `${roleId}:${sessionName}`). */
      readonly roleId: string
      readonly issuedAt: number
      /**
       * GetSessionToken: the session is its parent's own identity, not an assumed role, so its ARN
       * and user id are the parent's (as AWS shows them), with the parent's rights.
       */
      readonly asParent?: true
      /**
       * Role chaining: the access key ids of the sessions between this one and its parent, the
       * oldest first (absent for a session minted straight from a key or a login). For the audit
       * trail's parent chain.
       */
      readonly via?: readonly string[]
      /** Session tags (aws:PrincipalTag/<key>), including the caps' `latchkey:*` keys. */
      readonly tags?: Readonly<Record<string, string>>
      /** Upload caps the S3 writers enforce (policy/upload-caps.ts). */
      readonly caps?: UploadCaps
      /**
       * Its ARN, made once with the principal (iam/session-cache.ts: one object per cached
       * session, and every request the session makes names it); `principalArn` builds it when
       * absent.
       */
      readonly arn?: string
    }

/** One spelling of the role list: `policy/roles.ts`. */
export type UserRole = RoleName

/** The principal's ARN as AWS would print it (aws:PrincipalArn, AccessDenied messages). */
export function principalArn(p: Principal): string {
  switch (p.kind) {
    case 'anonymous':
      return '*'
    case 'account-root':
    case 'user':
      return parentArn(p)
    case 'session':
      return p.arn ?? sessionArn(p)
  }
}

/** A session's ARN: assumed-role, or its parent's for a GetSessionToken session. */
function sessionArn(p: Extract<Principal, { kind: 'session' }>): string {
  return p.asParent === true
    ? parentArn(p.parent)
    : assumedRoleArn(p.accountId, p.roleName, p.sessionName)
}

/** `arn:aws:sts::ACCOUNT:assumed-role/ROLE/SESSION`. */
export function assumedRoleArn(accountId: string, roleName: string, sessionName: string): string {
  return `arn:aws:sts::${accountId}:assumed-role/${roleName}/${sessionName}`
}

/** aws:PrincipalType: GetSessionToken sessions are their parent (User or Account). */
export function principalType(p: Principal): 'Anonymous' | 'Account' | 'User' | 'AssumedRole' {
  switch (p.kind) {
    case 'anonymous':
      return 'Anonymous'
    case 'account-root':
      return 'Account'
    case 'user':
      return 'User'
    case 'session':
      if (p.asParent !== true) return 'AssumedRole'
      return p.parent.kind === 'user' ? 'User' : 'Account'
  }
}

/** The ARN of what a session was made from. */
export function parentArn(p: ParentRef): string {
  return p.kind === 'user'
    ? `arn:aws:iam::${p.accountId}:user/${p.username}`
    : `arn:aws:iam::${p.accountId}:root`
}

/** aws:userid as AWS defines it: account id for root, unique user id, `roleId:session` for sessions. */
export function principalUserId(p: Principal): string {
  switch (p.kind) {
    case 'anonymous':
      return 'anonymous'
    case 'account-root':
      return p.accountId
    case 'user':
      return p.userId
    case 'session':
      if (p.asParent === true) return p.parent.kind === 'user' ? p.parent.userId : p.accountId
      return `${p.roleId}:${p.sessionName}`
  }
}

export function principalAccountId(p: Principal): string | undefined {
  return p.kind === 'anonymous' ? undefined : p.accountId
}

/**
 * The principal as the access log names it: identifiers only (an access key id is not a secret),
 * undefined for anonymous.
 */
export function loggedPrincipal(p: Principal):
  | {
      readonly kind: string
      readonly accessKeyId: string
      readonly account: string
      readonly user?: string
    }
  | undefined {
  switch (p.kind) {
    case 'anonymous':
      return undefined
    case 'account-root':
      return { kind: p.kind, accessKeyId: p.accessKeyId, account: p.accountName }
    case 'user':
      return { kind: p.kind, accessKeyId: p.accessKeyId, account: p.accountName, user: p.username }
    case 'session':
      return {
        kind: p.kind,
        accessKeyId: p.accessKeyId,
        account: p.accountName,
        user: p.parent.kind === 'user' ? p.parent.username : p.parent.accessKeyId,
      }
  }
}

/**
 * A session caller as the audit trail names it: its access key id, the human or long-term key
 * behind it, and the chain between them. Identifiers only.
 */
export function sessionAccess(p: Extract<Principal, { kind: 'session' }>): SessionAccessFacts {
  // Once per session principal (the session cache keeps one object per session): the hot path
  // of a session's every request builds nothing.
  let got = accessOf.get(p)
  if (got === undefined) {
    got = buildSessionAccess(p)
    accessOf.set(p, got)
  }
  return got
}

interface SessionAccessFacts {
  readonly accessKeyId: string
  readonly accountId: string
  readonly sessionName: string
  readonly issuedAt: number
  readonly parent: string
  readonly chain: readonly string[]
}

const accessOf = new WeakMap<object, SessionAccessFacts>()

type SessionPrincipal = Extract<Principal, { kind: 'session' }>

/** The name of the human or long-term key behind a session: a username or an access key id. */
export function sessionParentName(p: SessionPrincipal): string {
  return p.parent.kind === 'user' ? p.parent.username : p.parent.accessKeyId
}

/** The last link of a session's chain: `user:alice (AKIA…)` or `account-root:AKIA…`. */
function sessionOrigin(p: SessionPrincipal): string {
  return p.parent.kind === 'user'
    ? `user:${p.parent.username}${p.parent.accessKeyId !== undefined ? ` (${p.parent.accessKeyId})` : ''}`
    : `account-root:${p.parent.accessKeyId}`
}

/**
 * What a session was made from, as its chain's second link names it: the calling session of a
 * role chain (`session:ASIA…`), else the origin. Built for one use (the issuance record of a
 * session that may never make a request), nothing remembered.
 */
export function sessionMadeFrom(p: SessionPrincipal): string {
  const via = p.via
  return via !== undefined && via.length > 0
    ? `session:${via[via.length - 1] as string}`
    : sessionOrigin(p)
}

function buildSessionAccess(p: SessionPrincipal): SessionAccessFacts {
  return {
    accessKeyId: p.accessKeyId,
    accountId: p.accountId,
    sessionName: p.sessionName,
    issuedAt: p.issuedAt,
    parent: sessionParentName(p),
    chain: [
      `session:${p.accessKeyId}`,
      ...(p.via ?? []).map((id) => `session:${id}`).reverse(),
      sessionOrigin(p),
    ],
  }
}
