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
import { parseBody, simulateBody } from '../schemas.js'

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
