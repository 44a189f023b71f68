/**
 * Shared pieces of the STS actions: the per-request context, stable role ids and names for the
 * assumed-role ARN, and the policy gate that lets operators deny STS per user (an explicit Deny on
 * `sts:AssumeRole` / `sts:GetSessionToken` in the caller's policies refuses; minio#21404).
 * @module
 */
import { createHash } from 'node:crypto'
import { parentArn, principalArn, principalType, principalUserId } from '../../auth/principal.js'
import { decide } from '../../policy/combine.js'
import type { RequestFacts } from '../../policy/types.js'
import type { RawRequest } from '../../http/raw-request.js'
import type { Params } from '../../http/query-protocol.js'
import type { KnownPrincipal, StsCoreDeps } from '../deps.js'
import { StsError } from '../errors.js'

export interface ActionContext {
  readonly deps: StsCoreDeps
  readonly params: Params
  readonly raw: RawRequest
  readonly requestId: string
  readonly now: number
}

const B32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567'

/** Role ids computed so far (a pure function of the seed; bounded, cleared when full). */
const roleIds = new Map<string, string>()
const ROLE_ID_CACHE_MAX = 4096

/** 'AROA' + 17 characters derived from a stable identity (AWS role ids are 21 characters). */
export function stableRoleId(seed: string): string {
  const hit = roleIds.get(seed)
  if (hit !== undefined) return hit
  const h = createHash('sha256').update(seed).digest()
  let out = 'AROA'
  for (let i = 0; i < 17; i++) out += B32[(h[i] ?? 0) & 31]
  if (roleIds.size >= ROLE_ID_CACHE_MAX) roleIds.clear()
  roleIds.set(seed, out)
  return out
}

/** The role name and id a session made by `caller` shows (chained sessions keep their role). */
export function roleFor(caller: KnownPrincipal): { roleName: string; roleId: string } {
  switch (caller.kind) {
    case 'account-root':
      return { roleName: 'root', roleId: stableRoleId(`root:${caller.accountId}`) }
    case 'user':
      return {
        roleName: caller.username,
        roleId: stableRoleId(`user:${caller.accountId}:${caller.userId}`),
      }
    case 'session':
      return { roleName: caller.roleName, roleId: caller.roleId }
  }
}

/** A name usable as RoleSessionName derived from free text (user names may be e-mails). */
export function sessionNameFrom(text: string): string {
  const s = text.replace(/[^\w+=,.@-]/g, '-').slice(0, 64)
  return s.length >= 2 ? s : `${s}--`.slice(0, 2)
}

/** Facts for evaluating an sts:* action by `caller` (condition keys lower-cased). */
export function stsFacts(
  c: ActionContext,
  caller: KnownPrincipal,
  action: string,
  resource: string,
  extra: Readonly<Record<string, string>> = {},
): RequestFacts {
  const ctx = new Map<string, readonly string[]>()
  const arn = principalArn(caller)
  ctx.set('aws:principalarn', [arn])
  ctx.set('aws:principalaccount', [caller.accountId])
  ctx.set('aws:userid', [principalUserId(caller)])
  ctx.set('aws:principaltype', [principalType(caller)])
  if (caller.kind === 'user') ctx.set('aws:username', [caller.username])
  if (caller.kind === 'session')
    ctx.set('aws:tokenissuetime', [new Date(caller.issuedAt).toISOString()])
  ctx.set('aws:sourceip', [c.raw.remoteAddress])
  ctx.set('aws:securetransport', [c.raw.secure ? 'true' : 'false'])
  ctx.set('aws:currenttime', [new Date(c.now).toISOString()])
  ctx.set('aws:epochtime', [String(Math.floor(c.now / 1000))])
  const ua = c.raw.headers['user-agent']
  if (ua !== undefined) ctx.set('aws:useragent', [ua])
  for (const [k, v] of Object.entries(extra)) ctx.set(k.toLowerCase(), [v])
  const pArn = caller.kind === 'session' ? parentArn(caller.parent) : undefined
  return {
    action,
    resource,
    principal: {
      kind: caller.kind,
      arn,
      accountId: caller.accountId,
      ...(pArn !== undefined ? { parentArn: pArn } : {}),
    },
    context: ctx,
  }
}

const POLICY_TYPE = {
  identity: 'an identity-based',
  resource: 'a resource-based',
  session: 'a session',
} as const

/**
 * Refuse when the caller's own policies explicitly deny the STS action. (An implicit deny is not
 * enough: the role presets say nothing about sts:*, and issuing is always bounded by the parent.)
 */
export async function checkNotDenied(
  c: ActionContext,
  caller: KnownPrincipal,
  facts: RequestFacts,
): Promise<void> {
  const pol = await c.deps.iam.policiesFor(caller)
  const d = decide({
    identity: pol.identity,
    ...(pol.session !== undefined ? { session: pol.session } : {}),
    ...(pol.sessionLayers !== undefined ? { sessionLayers: pol.sessionLayers } : {}),
    sameAccount: true,
    facts,
  })
  if (d.effect === 'deny' && d.explicit)
    throw new StsError(
      'AccessDenied',
      `User: ${principalArn(caller)} is not authorized to perform: ${facts.action} on resource: ${facts.resource} with an explicit deny in ${POLICY_TYPE[d.source]} policy`,
    )
}
