/**
 * Shared fixtures for iam/ and admin/ tests: a service over memory stores (or, given a `db`, over
 * the SQLite stores of that database, for tests of persistence, restarts and bytes at rest) with
 * a manual clock, plus a SessionRequest builder.
 * @module
 */
import { randomBytes } from 'node:crypto'
import type { Principal } from '../auth/principal.js'
import type { Database } from '../backends/sqlite/db.js'
import { SqliteIdentityStore } from '../backends/sqlite/identity-store.js'
import { SqliteSharedLimits } from '../backends/sqlite/shared-limits.js'
import { MemoryChangeFeed } from '../backends/memory/change-feed.js'
import { MemoryIdentityStore } from '../backends/memory/identity-store.js'
import { MemorySharedLimits } from '../backends/memory/shared-limits.js'
import type { ChangeFeed } from '../storage/change-feed.js'
import type { IdentityStore } from '../storage/identity-store.js'
import type { SharedLimits } from '../storage/shared-limits.js'
import { ManualClock, randomIds, type IdSource } from '../lib/clock.js'
import { silentLogger } from '../lib/logger.js'
import { parsePolicy } from '../policy/document.js'
import { IamService, type BootstrapOptions, type BootstrapResult } from './service.js'
import type { SessionRequest } from './types.js'
import { GroupCommit } from '../backends/sqlite/group-commit.js'

/** What IamService.open needs besides keys and clock: a store, its feed, the shared limits. */
export interface IamStores {
  readonly store: IdentityStore
  readonly changes: ChangeFeed
  readonly limits: SharedLimits
}

export function memoryStores(): IamStores {
  const changes = new MemoryChangeFeed()
  return { store: new MemoryIdentityStore({ changes }), changes, limits: new MemorySharedLimits() }
}

/** The SQLite stores over `db` (opening them again over the same db is a restart). */
export function sqliteStores(
  db: Database,
  now = Date.now(),
): IamStores & { readonly commits: GroupCommit } {
  const changes = new MemoryChangeFeed()
  const commits = new GroupCommit(db)
  const store = SqliteIdentityStore.open(db, { changes, commits })
  return { store, changes, limits: SqliteSharedLimits.open(db, { now, commits }), commits }
}

export interface Fixture {
  readonly iam: IamService
  readonly clock: ManualClock
  /** The SQLite database, when the fixture was made over one. */
  readonly db: Database | undefined
  readonly stores: IamStores
  readonly masterKey: Buffer
  readonly generated: BootstrapResult
}

export async function makeIam(
  opts: {
    bootstrap?: BootstrapOptions
    maxSessionsPerParent?: number
    stsIssueRate?: number
    stsIssueBurst?: number
    db?: Database | undefined
    /** Open over these (another fixture's `stores`: a second node sharing its store). */
    stores?: IamStores
    masterKey?: Buffer
    scryptN?: number
    /** Id source (default randomIds): tests that assert account ids pick them. */
    ids?: IdSource
  } = {},
): Promise<Fixture> {
  const db = opts.db
  const clock = new ManualClock()
  const stores = opts.stores ?? (db ? sqliteStores(db, clock.now()) : memoryStores())
  const masterKey = opts.masterKey ?? randomBytes(32)
  const { iam, generated } = await IamService.open({
    ...stores,
    masterKey,
    clock,
    ids: opts.ids ?? randomIds,
    log: silentLogger,
    bootstrap: opts.bootstrap ?? { rootPassword: 'operator-pass-1' },
    scryptN: opts.scryptN ?? 1024,
    ...(opts.maxSessionsPerParent !== undefined
      ? { maxSessionsPerParent: opts.maxSessionsPerParent }
      : {}),
    ...(opts.stsIssueRate !== undefined ? { stsIssueRate: opts.stsIssueRate } : {}),
    ...(opts.stsIssueBurst !== undefined ? { stsIssueBurst: opts.stsIssueBurst } : {}),
  })
  return { iam, clock, db, stores, masterKey, generated }
}

export function sessionReq(
  caller: Exclude<Principal, { kind: 'anonymous' }>,
  over: Partial<SessionRequest> & { policyJson?: string } = {},
): SessionRequest {
  const { policyJson, ...rest } = over
  const policies = policyJson
    ? [parsePolicy(policyJson, { kind: 'session', name: 'session-policy' })]
    : []
  return {
    caller,
    sessionName: 'test-session',
    durationSeconds: 3600,
    policies,
    ...(policyJson ? { policyText: policyJson } : {}),
    roleName: 'caller',
    roleId: 'AROATEST',
    withToken: true,
    ...rest,
  }
}

export const READ_ONLY_POLICY = JSON.stringify({
  Version: '2012-10-17',
  Statement: [{ Effect: 'Allow', Action: 's3:GetObject', Resource: 'arn:aws:s3:::b/*' }],
})
