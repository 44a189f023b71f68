/**
 * What the STS surface needs from the rest of the system, as narrow interfaces (style.md §8:
 * depend on the subset you use). `StsIam` is the slice of the IAM service STS calls; the wiring
 * passes the real IamService (adapted in index.ts); the unit tests pass the same adapter over a
 * real IamService on memory stores (fakes.case.ts).
 * @module
 */
import type { Principal } from '../auth/principal.js'
import type { Clock } from '../lib/clock.js'
import type { Logger } from '../lib/logger.js'
import type { AccountDirectory, PolicyProvider, SessionService } from '../iam/types.js'
import type { RawRequest, QueryMap } from '../http/raw-request.js'
import type { Authenticated } from '../auth/authenticate.js'
import type { AuditSink } from '../lib/audit-events.js'

export type UserPrincipal = Extract<Principal, { kind: 'user' }>
export type KnownPrincipal = Exclude<Principal, { kind: 'anonymous' }>

/** The user facts RSLogin's UserInfo shows. */
export interface StsUserDetails {
  readonly id: string
  readonly username: string
  readonly email?: string
  readonly firstname?: string
  readonly lastname?: string
  readonly createdAt: number
  readonly lastAccess?: number
  readonly totpEnabled: boolean
  readonly mustChangePassword?: boolean
}

export interface PasswordLogin {
  readonly customer?: string
  readonly username: string
  readonly password: string
  readonly otp?: string
  readonly address: string
}

export interface StsIam
  extends Pick<SessionService, 'issue'>, Omit<AccountDirectory, 'byCanonicalId'>, PolicyProvider {
  /** The user principal, or IamError('unauthorized' | 'throttled'). */
  authenticatePassword(login: PasswordLogin, now: number): Promise<UserPrincipal>
  userDetails(userId: string): StsUserDetails | undefined
  /** The access key id of the account's master key. */
  masterAccessKeyId(accountId: string): string | undefined
}

export interface StsConfig {
  readonly stsDefaultDuration: number
  readonly stsMaxDuration: number
}

/** The authentication step as src/auth/authenticate.ts provides it (injected so tests can fake it). */
export type AuthenticateFn = (
  raw: RawRequest,
  query: QueryMap,
  opts: { readonly service: 'sts'; readonly bodySha256Hex: string },
) => Authenticated | Promise<Authenticated>

export interface StsCoreDeps {
  readonly iam: StsIam
  /** Where credential issuances are recorded (none in unit tests that do not ask). */
  readonly audit?: AuditSink
  readonly authenticate: AuthenticateFn
  readonly clock: Clock
  readonly log: Logger
  readonly config: StsConfig
}
