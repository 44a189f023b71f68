/**
 * The seam between the request surfaces (S3, STS, admin) and the identity domain. The pipeline
 * and STS only see these interfaces; iam/ implements them over an IdentityStore with in-memory
 * caches kept fresh only by the store's change feed, and every mutation returns once the feed has
 * been applied (so a revoked key is refused on the very next request, on every node).
 * @module
 */
import type { Principal, ParentRef } from '../auth/principal.js'
import type { CompiledPolicy } from '../policy/document.js'

export interface ResolvedCredential {
  readonly accessKeyId: string
  /** The secret in plain text (kept decrypted only in memory). */
  readonly secretKey: string
  /** Changes whenever the secret changes; part of the signing-key cache key. */
  readonly secretVersion: string
  readonly principal: Exclude<Principal, { kind: 'anonymous' }>
  /** Present for temporary credentials only. */
  readonly session?: {
    readonly expiresAt: number
    /** False for sessions issued without a token (RSLogin, RSAssumeCustomerRole). */
    readonly requiresToken: boolean
  }
}

export type TokenCheck = 'ok' | 'missing' | 'invalid' | 'expired'

export interface CredentialProvider {
  /**
   * The live credential for an access key id, or undefined when unknown, revoked, replaced, or
   * its user is inactive/deleted. Served from memory: no database round trip per request.
   */
  resolve(accessKeyId: string): Promise<ResolvedCredential | undefined>
  /**
   * Check X-Amz-Security-Token against the credential: sessions need their token (unless issued
   * without one) and must not be expired; long-term keys must not carry a token ('invalid').
   */
  checkSessionToken(cred: ResolvedCredential, token: string | undefined, now: number): TokenCheck
}

/** The policies that decide a principal's requests (compiled once, cached). */
export interface PrincipalPolicies {
  /** Identity-based policies: role preset, user extra policy, master key's full-rights policy. */
  readonly identity: readonly CompiledPolicy[]
  /**
   * Every session policy of the session in one list (inline + PolicyArns, and those inherited
   * through role chaining). Enough for a session with one layer; with several, decide with
   * `sessionLayers` (a flat list would union what must be intersected).
   */
  readonly session?: readonly CompiledPolicy[]
  /**
   * Role chaining: one layer per AssumeRole that gave session policies, oldest ancestor first.
   * The session may do only what its parent's identity policies AND every layer allow (within a
   * layer allows union). Present whenever `session` is.
   */
  readonly sessionLayers?: readonly (readonly CompiledPolicy[])[]
}

export interface PolicyProvider {
  policiesFor(p: Exclude<Principal, { kind: 'anonymous' }>): Promise<PrincipalPolicies>
}

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
  readonly tags?: Readonly<Record<string, string>>
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
}

export interface SessionService {
  /** Throws IamError('throttled') when the parent has too many active sessions. */
  issue(req: SessionRequest, now: number): Promise<IssuedSession>
  revoke(accessKeyId: string): Promise<boolean>
  list(
    filter: { readonly accountId?: string; readonly userId?: string },
    now: number,
  ): Promise<readonly SessionInfo[]>
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
