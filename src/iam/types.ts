/**
 * The seam between the request surfaces (S3, STS, admin) and the identity domain. The pipeline
 * and STS only see these interfaces; iam/ implements them over an IdentityStore with in-memory
 * caches kept fresh only by the store's change feed, and every mutation returns once the feed has
 * been applied (so a revoked key is refused on the very next request, on every node).
 * @module
 */
import type { Principal, ParentRef } from '../auth/principal.js'
import type { CompiledPolicy } from '../policy/document.js'
import type { UploadCaps } from '../policy/upload-caps.js'

// The ports moved to their owners; re-exported here while callers move over.
export type { ResolvedCredential, TokenCheck, CredentialProvider } from '../auth/credentials.js'
export type { PrincipalPolicies, PolicyProvider } from '../policy/principal-policies.js'

export interface AccountInfo {
  readonly id: string // 12 digits
  readonly name: string
  readonly type: 'customer' | 'reseller'
  /** The reseller that owns this account, if any. */
  readonly resellerId?: string
  /** 64-hex canonical user id (S3 Owner ID). */
  readonly canonicalId: string
  /** CIDR allow-list; empty = any address. */
  readonly allowlist: readonly string[]
}

export interface AccountDirectory {
  byId(id: string): AccountInfo | undefined
  byName(name: string): AccountInfo | undefined
  /** The account whose canonical user id (S3 Owner ID, ACL grantee ID) this is. */
  byCanonicalId(canonicalId: string): AccountInfo | undefined
  /** True when `address` is allowed by the account's allow-list (always true for an empty list). */
  addressAllowed(accountId: string, address: string): boolean
}

/** What STS asks IAM to mint. */
export interface SessionRequest {
  /** Who is asking (the session acts for this principal, or for `actAs` when given). */
  readonly caller: Exclude<Principal, { kind: 'anonymous' }>
  /** RSAssumeCustomerRole: act as another account's root instead of the caller. */
  readonly actAs?: ParentRef
  readonly sessionName: string
  readonly durationSeconds: number
  /** Inline session policy text, already validated by the caller (kept for the admin listing). */
  readonly policyText?: string
  /** Compiled session policies (inline + PolicyArns). */
  readonly policies: readonly CompiledPolicy[]
  readonly roleName: string
  readonly roleId: string
  /** False for RSLogin/RSAssumeCustomerRole, whose answers carry no token. */
  readonly withToken: boolean
  /** GetSessionToken: the session keeps the caller's own identity (ARN, user id). */
  readonly asCaller?: boolean
  readonly sourceIdentity?: string
  /** Session tags (latchkey:* keys are upload caps; checked by IAM, iam/session-tags.ts). */
  readonly tags?: Readonly<Record<string, string>>
  /** What makes it (the listing's `source`); default: derived from the fields above. */
  readonly source?: 'console'
  /** Keys of `tags` passed on to sessions chained from this one. */
  readonly transitiveTagKeys?: readonly string[]
}

export interface IssuedSession {
  readonly accessKeyId: string // 'ASIA' + 16 [A-Z0-9]
  readonly secretAccessKey: string // 40 chars
  readonly sessionToken: string // '' when withToken is false
  readonly expiresAt: number
  readonly principal: Extract<Principal, { kind: 'session' }>
}

export interface SessionInfo {
  readonly accessKeyId: string
  readonly accountId: string
  readonly parent: ParentRef
  readonly sessionName: string
  readonly issuedAt: number
  readonly expiresAt: number
  readonly hasPolicy: boolean
  /** What made it: AssumeRole, GetSessionToken, RSLogin, RSAssumeCustomerRole or console. */
  readonly source: string
  /** Session tags (own, inherited transitive, effective latchkey:* caps). */
  readonly tags?: Readonly<Record<string, string>>
  /** Upload caps and what the session's chain has used of them so far. */
  readonly caps?: SessionCapsInfo
}

/** A session's effective upload caps with the usage counted for its chain (shared-limits). */
export interface SessionCapsInfo extends UploadCaps {
  readonly bytesUsed: number
  readonly objectsUsed: number
}

export interface SessionService {
  /**
   * Throws IamError('throttled') beyond the parent's issuance rate (or, far beyond, its ceiling
   * on sessions held), with a message naming the limit.
   */
  issue(req: SessionRequest, now: number): Promise<IssuedSession>
  revoke(accessKeyId: string): Promise<boolean>
  /** One page of live sessions (oldest first) and how many match. */
  list(
    filter: {
      readonly accountId?: string
      readonly accountIds?: readonly string[]
      readonly userId?: string
    },
    now: number,
    page: { readonly limit: number; readonly offset: number },
  ): Promise<{ readonly items: readonly SessionInfo[]; readonly total: number }>
}

export type IamErrorCode =
  'not-found' | 'conflict' | 'invalid' | 'forbidden' | 'unauthorized' | 'throttled'

export class IamError extends Error {
  override readonly name = 'IamError'
  readonly code: IamErrorCode
  /** Seconds to wait, for 'throttled'. */
  readonly retryAfter?: number
  constructor(code: IamErrorCode, message: string, retryAfter?: number) {
    super(message)
    this.code = code
    if (retryAfter !== undefined) this.retryAfter = retryAfter
  }
}
