/**
 * Builders shared by the policy tests (not used by production code).
 * @module
 */
import { parsePolicy, type CompiledPolicy } from './document.js'
import type { PolicyKind, RequestFacts } from './types.js'

export const ACCT = '111122223333'
export const OTHER = '444455556666'
export const ALICE = `arn:aws:iam::${ACCT}:user/alice`

/** The object and listing actions the property tests draw from. */
export const ACTIONS = ['s3:GetObject', 's3:PutObject', 's3:ListBucket', 's3:DeleteObject']

export type P = RequestFacts['principal']

export const alice: P = { kind: 'user', arn: ALICE, accountId: ACCT }
export const anon: P = { kind: 'anonymous', arn: '*' }
export const bob: P = { kind: 'user', arn: `arn:aws:iam::${OTHER}:user/bob`, accountId: OTHER }
export const aliceSession: P = {
  kind: 'session',
  arn: `arn:aws:sts::${ACCT}:assumed-role/alice/s1`,
  accountId: ACCT,
  parentArn: ALICE,
}

export function facts(o: {
  action?: string
  resource?: string
  principal?: P
  ctx?: Record<string, string | string[]>
}): RequestFacts {
  const context = new Map<string, readonly string[]>()
  for (const [k, v] of Object.entries(o.ctx ?? {}))
    context.set(k.toLowerCase(), typeof v === 'string' ? [v] : v)
  return {
    action: o.action ?? 's3:GetObject',
    resource: o.resource ?? 'arn:aws:s3:::b/k',
    principal: o.principal ?? alice,
    context,
  }
}

export function pol(
  statements: unknown[],
  kind: PolicyKind = 'identity',
  name = 'p',
  version = '2012-10-17',
): CompiledPolicy {
  return parsePolicy({ Version: version, Statement: statements }, { kind, name })
}

export const allow = (extra: Record<string, unknown> = {}): Record<string, unknown> => ({
  Effect: 'Allow',
  Action: 's3:GetObject',
  Resource: 'arn:aws:s3:::b/*',
  ...extra,
})
export const deny = (extra: Record<string, unknown> = {}): Record<string, unknown> => ({
  ...allow(extra),
  Effect: 'Deny',
  ...extra,
})
