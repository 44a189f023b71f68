/**
 * Shared fixtures for iam/ and admin/ tests: a service over an in-memory SQLite database with a
 * manual clock, plus a SessionRequest builder.
 * @module
 */
import { randomBytes } from 'node:crypto'
import type { Principal } from '../auth/principal.js'
import { openDatabase, type Database } from '../backends/sqlite/db.js'
import { SqliteIdentityStore } from '../backends/sqlite/identity-store.js'
import { ManualClock, randomIds } from '../lib/clock.js'
import { silentLogger } from '../lib/logger.js'
import { parsePolicy } from '../policy/document.js'
import { IamService, type BootstrapOptions, type BootstrapResult } from './service.js'
import type { SessionRequest } from './types.js'

export interface Fixture {
  readonly iam: IamService
  readonly clock: ManualClock
  readonly db: Database
  readonly masterKey: Buffer
  readonly generated: BootstrapResult
}

export async function makeIam(
  opts: {
    bootstrap?: BootstrapOptions
    maxSessionsPerParent?: number
    db?: Database
    masterKey?: Buffer
    scryptN?: number
  } = {},
): Promise<Fixture> {
  const db = opts.db ?? openDatabase(':memory:')
  const clock = new ManualClock()
  const masterKey = opts.masterKey ?? randomBytes(32)
  const { iam, generated } = await IamService.open({
    store: SqliteIdentityStore.open(db),
    masterKey,
    clock,
    ids: randomIds,
    log: silentLogger,
    bootstrap: opts.bootstrap ?? { rootPassword: 'operator-pass-1' },
    scryptN: opts.scryptN ?? 1024,
    ...(opts.maxSessionsPerParent !== undefined
      ? { maxSessionsPerParent: opts.maxSessionsPerParent }
      : {}),
  })
  return { iam, clock, db, masterKey, generated }
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
