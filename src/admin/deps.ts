/**
 * What the admin API is built from: its dependencies, the narrow slice of the IAM service its
 * routes use (as STS depends on StsIam, not on the whole service), and who is calling.
 * @module
 */
import type { Clock } from '../lib/clock.js'
import type { Logger } from '../lib/logger.js'
import type { AccountView, IamService, UserPrincipal, UserView } from '../iam/service.js'
import type { SimulateInput, SimulateResult } from '../policy/simulate.js'
import type { BackupMade } from '../backup/manifest.js'

/** The IAM operations the admin routes call; the facade provides them, tests may fake them. */
export type AdminIam = Pick<
  IamService,
  // sign-in and the caller
  | 'authenticateAdmin'
  | 'operatorName'
  // the caller's policies, for authorization (authorization.ts)
  | 'policiesFor'
  // directory reads
  | 'byId'
  | 'byName'
  | 'getAccount'
  | 'getUser'
  | 'listAccounts'
  | 'listUsers'
  // users, keys, policies, TOTP
  | 'createUser'
  | 'updateUser'
  | 'deleteUser'
  | 'generateKey'
  | 'revokeKey'
  | 'putUserPolicy'
  | 'getUserPolicy'
  | 'deleteUserPolicy'
  | 'enrollTotp'
  | 'deleteTotp'
  // accounts
  | 'createAccount'
  | 'resetMasterKey'
  | 'setAllowlist'
  | 'stsLimits'
  | 'setStsLimits'
  // sessions
  | 'list'
  | 'getSession'
  | 'revoke'
  | 'revokeAll'
  // the console: its sessions are STS sessions, resolved as S3 resolves them
  | 'issue'
  | 'resolve'
  | 'checkSessionToken'
  | 'confirmPassword'
  | 'masterSecret'
  | 'keysLastUsed'
>

import type { AuditLog, AuditSink } from '../lib/audit-events.js'

export interface AdminDeps {
  readonly iam: AdminIam
  readonly clock: Clock
  readonly log: Logger
  /** HS256 key for admin JWTs (derive it from the master key). */
  readonly jwtKey: Buffer
  readonly simulate: (input: SimulateInput, now: number) => SimulateResult
  /**
   * Make a backup in the data dir (backends/sqlite/backup.ts), or why this node cannot (PostgreSQL, an
   * upstream S3 blob store: their own tools back them up). Absent: not offered.
   */
  readonly backup?: (() => Promise<BackupMade>) | { readonly unsupported: string }
  /** Where admin changes are recorded (the audit trail); absent: nothing recorded. */
  readonly auditSink?: AuditSink
  /** The audit trail, for GET /api/admin/audit; absent: that route answers NotImplemented. */
  readonly audit?: Pick<AuditLog, 'query'>
  /** What the console's credentials answer: the S3 region and the longest session allowed. */
  readonly console?: { readonly region: string; readonly maxDurationSeconds: number }
}

/**
 * Who is calling, re-read from IAM on every request: the operator (no account, every right), or
 * a user with its account and the principal the policy engine decides its requests for.
 */
export type Actor =
  | { readonly kind: 'operator'; readonly name: string }
  | {
      readonly kind: 'user'
      readonly user: UserView
      readonly account: AccountView
      readonly principal: UserPrincipal
    }

/** The console session a request's cookie names, verified and alive. */
export interface ConsoleSession {
  readonly accessKeyId: string
  readonly secretKey: string
  readonly sessionToken: string
  readonly expiresAt: number
  readonly kind: 'operator' | 'user'
}
