/**
 * Admin changes in the audit trail: who (the operator or a user), what (the route's iam:* action
 * and the path), and the target's state before → after (a user, a customer, a user's policy, a
 * session, as the admin API shows them: identifiers, never a secret), plus the request body with
 * every secret-named field replaced by `[removed]` and the ids a creation made.
 *
 * Why the body is read before the route runs: after the route, a body it did not read has been
 * discarded; the text is read once and shared (`Call.text`).
 * @module
 */
import { accountOfIamArn } from '../policy/admin-authorize.js'
import type { AuditSink } from '../lib/audit-events.js'
import type { Call, Route } from './call.js'
import type { AdminDeps } from './deps.js'
import { customerJson, sessionJson, userJson } from './render.js'

/**
 * Which admin calls are recorded: every change (any method but GET, except the policy simulator,
 * which changes nothing), and the one read that reveals a secret (a master key).
 */
export function audited(method: string, action: string): boolean {
  if (action === 'iam:GetMasterKey') return true
  // The reveal records itself, allowed or refused (routes/customers.ts revealMasterKey).
  if (action === 'iam:RevealMasterKey') return false
  return method !== 'GET' && method !== 'HEAD' && action !== 'iam:SimulateCustomPolicy'
}

/** Field names whose values are never recorded (secrets, passwords, tokens, one-time codes). */
const SECRET_FIELD = /secret|password|passwd|token|signature|private|seed|^otp$|^code$|_code$/i

/** `value` with every secret-named field's value replaced by `[removed]`, at any depth. */
export function withoutSecrets(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutSecrets)
  if (value === null || typeof value !== 'object') return value
  const out: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(value))
    out[k] = SECRET_FIELD.test(k) ? '[removed]' : withoutSecrets(v)
  return out
}

/** The identifiers of what a creation made (its id, name, access key id), from its JSON answer. */
function createdIds(res: { readonly body?: unknown }): Record<string, unknown> | undefined {
  if (typeof res.body !== 'string' && !Buffer.isBuffer(res.body)) return undefined
  try {
    const v = JSON.parse(res.body.toString()) as Record<string, unknown>
    if (v === null || typeof v !== 'object' || Array.isArray(v)) return undefined
    const out: Record<string, unknown> = {}
    for (const k of ['id', 'name', 'username', 'access_key', 'customer_id'])
      if (typeof v[k] === 'string') out[k] = v[k]
    return Object.keys(out).length > 0 ? out : undefined
  } catch {
    return undefined
  }
}

/**
 * The state of what a route acts on, as the admin API shows it (no secret: the master key's
 * access key id at most), or null when it does not exist (before a creation, after a deletion),
 * or undefined for routes without one (creations of a new id, backup).
 */
async function stateOf(d: AdminDeps, pattern: readonly string[], c: Call): Promise<unknown> {
  const id = c.params[0] ?? ''
  switch (pattern[0]) {
    case 'users': {
      if (pattern.length < 2) return undefined
      const u = d.iam.getUser(id)
      if (u === undefined) return null
      if (pattern[2] === 'policy') {
        const text = d.iam.getUserPolicy(id)
        return { policy: text === undefined ? null : (JSON.parse(text) as unknown) }
      }
      return userJson(u)
    }
    case 'customers': {
      if (pattern.length < 2) return undefined
      const info = d.iam.byName(id)
      const a = info ? d.iam.getAccount(info.id) : undefined
      return a === undefined ? null : customerJson(d.iam, a)
    }
    case 'sessions': {
      if (pattern.length < 2) return undefined
      const s = await d.iam.getSession(id, c.now)
      return s === undefined ? null : sessionJson(d.iam, s)
    }
    default:
      return undefined
  }
}

/** What to record once the route has run. */
export interface AdminChange {
  done(res: { readonly status: number; readonly body?: unknown }): Promise<void>
}

/** Read what an audited call needs before its route runs: its body, its target, the state before. */
export async function beginAdminChange(
  d: AdminDeps,
  audit: AuditSink,
  fn: Route,
  c: Call,
  pattern: readonly string[],
  method: string,
): Promise<AdminChange> {
  const text = await c.text().catch(() => '')
  // The target's account, while it still exists (a DELETE removes it).
  let accountId = await Promise.resolve()
    .then(() => fn.resource(d, c))
    .then(accountOfIamArn, () => undefined)
  if (accountId === undefined && c.actor.kind === 'user') accountId = c.actor.account.id
  const before = await stateOf(d, pattern, c).catch(() => undefined)
  let request: unknown
  try {
    request = text === '' ? undefined : withoutSecrets(JSON.parse(text))
  } catch {
    request = undefined
  }
  const actor = c.actor
  return {
    done: (res) =>
      stateOf(d, pattern, c)
        .catch(() => undefined)
        .then((after) => {
          const created = createdIds(res)
          audit.record({
            at: c.now,
            kind: 'admin',
            action: fn.action,
            ...(accountId !== undefined ? { accountId } : {}),
            principal: actor.kind === 'operator' ? actor.name : actor.user.username,
            resource: `${method} ${c.raw.rawPath}`,
            decision: 'allow',
            source: c.raw.remoteAddress,
            detail: {
              actor: actor.kind === 'operator' ? 'operator' : `user:${actor.user.username}`,
              status: res.status,
              ...(before !== undefined ? { before: withoutSecrets(before) } : {}),
              ...(after !== undefined ? { after: withoutSecrets(after) } : {}),
              ...(request !== undefined ? { request } : {}),
              ...(created !== undefined ? { created } : {}),
            },
          })
        }),
  }
}
