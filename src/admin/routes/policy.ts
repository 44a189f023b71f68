/**
 * The policy simulator: evaluate policies against one action and resource, as the S3 surface
 * would, and answer the decision with its reasons. An invalid policy is a ValidationError.
 * @module
 */
import { ADMIN_ROUTE_ACTIONS as A } from '../../policy/admin-authorize.js'
import type { SimulateInput } from '../../policy/simulate.js'
import { PolicyError } from '../../policy/types.js'
import type { Route } from '../call.js'
import { callJson } from '../call.js'
import { AdminError } from '../errors.js'
import { ok } from '../render.js'
import { parseBody, simulateBody, validatePolicyBody } from '../schemas.js'
import { parsePolicy } from '../../policy/document.js'
import { iamUserArn } from '../../policy/admin-authorize.js'

/** Simulation reads no account's data: it acts on no particular resource ('*'). */
export const simulatePolicy: Route = {
  action: A['POST policy/simulate'],
  resource: () => '*',
  run: async (d, c) => {
    const b = parseBody(simulateBody, await callJson(c))
    const input: SimulateInput = {
      policies: b.policies,
      action: b.action,
      resource: b.resource,
      ...(b.bucket_policy !== undefined ? { bucket_policy: b.bucket_policy } : {}),
      ...(b.session_policy !== undefined ? { session_policy: b.session_policy } : {}),
      ...(b.principal !== undefined ? { principal: b.principal } : {}),
      ...(b.context !== undefined ? { context: b.context } : {}),
    }
    try {
      return ok(200, d.simulate(input, c.now))
    } catch (e) {
      if (e instanceof PolicyError) throw new AdminError('ValidationError', e.message)
      throw e
    }
  },
}

/** Where in `text` (1-based line and column) a character offset is. */
export function lineColumn(text: string, offset: number): { line: number; column: number } {
  const before = text.slice(0, Math.max(0, Math.min(offset, text.length)))
  const lines = before.split('\n')
  return { line: lines.length, column: (lines[lines.length - 1]?.length ?? 0) + 1 }
}

/**
 * Where a policy error points: JSON syntax errors name a position; the engine's errors name a
 * field or value in quotes, found as a JSON string in the text (its first occurrence).
 */
export function errorPosition(
  text: string,
  message: string,
): { line: number; column: number } | undefined {
  const pos = /at position (\d+)/.exec(message)
  if (pos?.[1] !== undefined) return lineColumn(text, Number(pos[1]))
  if (/unexpected end of json/i.test(message)) return lineColumn(text, text.length)
  for (const m of message.matchAll(/'([^']{1,256})'|"([^"]{1,256})"/g)) {
    const name = m[1] ?? m[2]
    if (name === undefined) continue
    const at = text.indexOf(JSON.stringify(name))
    if (at >= 0) return lineColumn(text, at)
  }
  return undefined
}

/** As the places that store them check: PutBucketPolicy 20 KiB, STS 2048; user policies none. */
const MAX_LENGTH = { bucket: 20 * 1024, session: 2048 } as const

/**
 * POST policy/validate: check a policy's text as the engine will (the console's JSON editor
 * shows the errors inline, with their position). Any signed-in caller: it reads no data.
 */
export const validatePolicy: Route = {
  access: 'self',
  action: 'iam:SimulateCustomPolicy',
  resource: (_d, c) =>
    c.actor.kind === 'user' ? iamUserArn(c.actor.account.id, c.actor.user.username) : '*',
  run: async (_d, c) => {
    const b = parseBody(validatePolicyBody, await callJson(c))
    try {
      parsePolicy(b.policy, {
        kind: b.kind === 'bucket' ? 'resource' : b.kind,
        name: `${b.kind}-policy`,
        ...(b.kind !== 'identity' ? { maxLength: MAX_LENGTH[b.kind] } : {}),
      })
      return ok(200, { valid: true })
    } catch (e) {
      if (!(e instanceof PolicyError)) throw e
      const at = errorPosition(b.policy, e.message)
      return ok(200, { valid: false, errors: [{ message: e.message, ...(at ?? {}) }] })
    }
  },
}
