/**
 * The identity domain's shapes: what the facade's callers see (views, inputs, bootstrap results)
 * and what the parts share in memory (cached account/user state, a session's liveness checks).
 * Types only, so every part can import them without an import cycle.
 * @module
 */
import type { ParentRef, Principal, UserRole } from '../auth/principal.js'
import type { CompiledPolicy } from '../policy/document.js'
import type { UploadCaps } from '../policy/upload-caps.js'
import type { AccessKeyRow, AccountRow, UserRow } from '../storage/identity-store.js'
import type { AddressAllowlist } from './allowlist.js'
import type { AccountInfo, PrincipalPolicies, ResolvedCredential } from './types.js'

export type KnownPrincipal = Exclude<Principal, { kind: 'anonymous' }>
export type UserPrincipal = Extract<Principal, { kind: 'user' }>
export type SessionPrincipal = Extract<Principal, { kind: 'session' }>

/**
 * The LATCHKEY_ROOT_* values. They seed the default account's master key and the operator
 * password when none is stored; a stored one that differs (reset or changed since) is kept with a
 * warning, unless the matching override is set (then the configured value replaces it).
 */
export interface BootstrapOptions {
  readonly rootUser?: string
  readonly rootPassword?: string
  readonly rootAccessKey?: string
  readonly rootSecretKey?: string
  /** LATCHKEY_ROOT_KEY_OVERRIDE: rootAccessKey/rootSecretKey replace a different stored key. */
  readonly rootKeyOverride?: boolean
  /** LATCHKEY_ROOT_PASSWORD_OVERRIDE: rootPassword replaces a different stored password. */
  readonly rootPasswordOverride?: boolean
}

/**
 * What open() generated at first start and no start has shown yet (a start that failed after
 * generating them leaves them pending), for the caller to show once the server is up and then
 * confirm with firstStartSecretsShown(); never logged here. Only generated values are present
 * (rootUser accompanies a generated rootPassword); empty otherwise.
 */
export type BootstrapResult = {
  readonly rootUser?: string
  readonly rootPassword?: string
  readonly masterAccessKeyId?: string
  readonly masterSecretKey?: string
}

export interface AccountView extends AccountInfo {
  readonly createdAt: number
  readonly masterAccessKeyId: string
}

export interface UserView {
  readonly id: string
  readonly accountId: string
  readonly accountName: string
  readonly username: string
  readonly role: UserRole
  readonly isActive: boolean
  readonly email?: string
  readonly firstname?: string
  readonly lastname?: string
  readonly createdAt: number
  readonly lastAccess?: number
  /** The current access key id (never the secret). */
  readonly accessKeyId?: string
  /** When the current access key was made. */
  readonly accessKeyCreatedAt?: number
  readonly totpEnabled: boolean
  readonly hasPolicy: boolean
}

export interface NewKey {
  readonly accessKeyId: string
  readonly secretKey: string
}

export interface CreateUserInput {
  readonly accountId: string
  readonly username: string
  readonly password: string
  readonly role: UserRole
  readonly email?: string
  readonly firstname?: string
  readonly lastname?: string
}

/** `null` clears an optional field. */
export interface UpdateUserInput {
  readonly role?: UserRole
  readonly isActive?: boolean
  readonly password?: string
  readonly email?: string | null
  readonly firstname?: string | null
  readonly lastname?: string | null
}

/** How an update was asked for (not stored). */
export interface UpdateUserOptions {
  /**
   * A new password ends the user's sign-in sessions (console and RSLogin) except this one: the
   * console session that changed its own password stays signed in.
   */
  readonly keepSession?: string
}

export interface LoginInput {
  /** Account name; absent = the operator (if the name matches) or the default account. */
  readonly customer?: string
  readonly username: string
  readonly password: string
  readonly otp?: string
  readonly address: string
  /**
   * The caller can ask for a one-time code (the console): a right password for a user with TOTP
   * and no code given answers IamError('invalid', OTP_REQUIRED) instead of the generic refusal.
   */
  readonly otpPrompt?: boolean
  /**
   * Re-checking the password of a caller already signed in with its code (the console's own
   * password change): the one-time code is not asked again. Never for a sign-in.
   */
  readonly passwordOnly?: boolean
}

export type AdminIdentity =
  | { readonly kind: 'operator'; readonly username: string }
  | { readonly kind: 'user'; readonly principal: UserPrincipal }

/** What a session's life depends on; every check must hold for it to resolve. */
export type LivenessCheck =
  | { readonly kind: 'root'; readonly accountId: string; readonly version: number }
  | {
      readonly kind: 'user'
      readonly userId: string
      readonly accessKeyId?: string
      /** The role the user must still have (sessions that needed it to be minted). */
      readonly role?: UserRole
    }
  | { readonly kind: 'session'; readonly accessKeyId: string }

/** The JSON of SessionRow.parent. */
export interface StoredParent {
  readonly parent: ParentRef
  readonly checks: readonly LivenessCheck[]
  /** Made by GetSessionToken: the session shows its parent's identity. */
  readonly asParent?: true
  /** What made it (the admin listing's `source`); absent on rows written before it was kept. */
  readonly source?: SessionSource
  /** Session tags and upload caps (iam/session-tags.ts); absent when it has none. */
  readonly tagging?: StoredTagging
}

/** A session's tags as stored (inside StoredParent, so no column of its own). */
export interface StoredTagging {
  /** Effective tags: its own, inherited transitive ones, and the caps' `latchkey:*` values. */
  readonly tags: Readonly<Record<string, string>>
  /** Keys of `tags` passed on to chained sessions. */
  readonly transitive?: readonly string[]
  /** Effective upload caps (already tightened by every ancestor's). */
  readonly caps?: UploadCaps
}

/** What made a session, as the admin API's session listing shows it. */
export type SessionSource =
  'AssumeRole' | 'GetSessionToken' | 'RSLogin' | 'RSAssumeCustomerRole' | 'console'

/** An account as the directory caches it (secret unsealed, allow-list compiled). */
export interface AccountState {
  readonly row: AccountRow
  readonly secret: string
  readonly info: AccountInfo
  readonly allow: AddressAllowlist
  readonly cred: ResolvedCredential
}

/** A user as the directory caches it (key secret unsealed, policies compiled). */
export interface UserState {
  readonly row: UserRow
  readonly key?: { readonly row: AccessKeyRow; readonly secret: string }
  readonly cred?: ResolvedCredential
  /** What policiesFor answers for the user (role preset + extra policy). */
  readonly policies: PrincipalPolicies
}

export type KeyRef =
  | { readonly kind: 'master'; readonly accountId: string }
  | { readonly kind: 'user'; readonly userId: string }

export type Layers = readonly (readonly CompiledPolicy[])[]
