/**
 * Auth's port to the identity domain: how an access key id becomes a live credential, and how a
 * session token is checked against it. Auth owns it (it is what authentication needs); iam/
 * implements it over its directory and sessions, tests pass fakes.
 * @module
 */
import type { Principal } from './principal.js'

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
  resolve(
    accessKeyId: string,
  ): ResolvedCredential | undefined | Promise<ResolvedCredential | undefined>
  /**
   * Check X-Amz-Security-Token against the credential: sessions need their token (unless issued
   * without one) and must not be expired; long-term keys must not carry a token ('invalid').
   */
  checkSessionToken(cred: ResolvedCredential, token: string | undefined, now: number): TokenCheck
}
