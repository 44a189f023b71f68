/**
 * The STS request flow, independent of how authentication is wired (index.ts injects the real
 * one). Steps: 1 read parameters (body, then query), 2 check Action and Version, 3 authenticate
 * (signed actions; RSLogin is unsigned and ignores any signature), 4 enforce the account's address
 * allow-list, 5 run the action, 6 render any error in the action family's format (XML
 * `<ErrorResponse>`, JSON for the Lyve RS* actions).
 * @module
 */
import { sha256Hex } from '../crypto/hash.js'
import { loggedPrincipal, sessionAccess } from '../auth/principal.js'
import { assertAddressAllowed } from '../auth/errors.js'
import type { HttpResponse } from '../http/http-response.js'
import { jsonResponse } from '../http/http-response.js'
import {
  parseQuery,
  type QueryMap,
  type RawRequest,
  type RequestContext,
} from '../http/raw-request.js'
import type { KnownPrincipal, StsCoreDeps } from './deps.js'
import { StsError, renderStsErrorXml, stsErrorJson, toStsError } from './errors.js'
import { readParams } from '../http/query-protocol.js'
import { xmlResponse } from './responses.js'
import type { ActionContext } from './actions/common.js'
import { assumeRole } from './actions/assume-role.js'
import { getSessionToken } from './actions/get-session-token.js'
import { getCallerIdentity } from './actions/get-caller-identity.js'
import { rsLogin } from './actions/rs-login.js'
import { rsAssumeCustomerRole } from './actions/rs-assume-customer-role.js'

export const STS_VERSION = '2011-06-15'

/** A POST's usual empty query, shared (QueryMap is read-only). */
const NO_QUERY: QueryMap = new Map<string, string>()

type Signed = (c: ActionContext, caller: KnownPrincipal) => Promise<HttpResponse>
type Unsigned = (c: ActionContext) => Promise<HttpResponse>

interface ActionRow {
  readonly json: boolean
  readonly run:
    | { readonly signed: true; readonly fn: Signed }
    | { readonly signed: false; readonly fn: Unsigned }
}

export type StsActionName =
  'AssumeRole' | 'GetSessionToken' | 'GetCallerIdentity' | 'RSLogin' | 'RSAssumeCustomerRole'

export const ACTIONS = {
  AssumeRole: { json: false, run: { signed: true, fn: assumeRole } },
  GetSessionToken: { json: false, run: { signed: true, fn: getSessionToken } },
  GetCallerIdentity: { json: false, run: { signed: true, fn: getCallerIdentity } },
  RSLogin: { json: true, run: { signed: false, fn: rsLogin } },
  RSAssumeCustomerRole: { json: true, run: { signed: true, fn: rsAssumeCustomerRole } },
} as const satisfies Record<StsActionName, ActionRow>

/** Real AWS STS actions this server does not offer: NotImplemented, never a wrong success. */
const NOT_IMPLEMENTED: ReadonlySet<string> = new Set([
  'AssumeRoleWithWebIdentity',
  'AssumeRoleWithSAML',
  'AssumeRoot',
  'DecodeAuthorizationMessage',
  'GetAccessKeyInfo',
  'GetDelegatedAccessToken',
  'GetFederationToken',
  'GetWebIdentityToken',
])

function isAction(a: string): a is StsActionName {
  return Object.hasOwn(ACTIONS, a)
}

export type StsHandler = (
  raw: RawRequest,
  ctx: RequestContext,
  body: Buffer,
) => Promise<HttpResponse>

export function createStsCore(deps: StsCoreDeps): StsHandler {
  return async (raw, ctx, body) => {
    const requestId = ctx.requestId
    let json = false
    try {
      // 1. Parameters.
      const params = readParams(raw.rawQuery, body, raw.headers['content-type'])
      // 2. Action and Version.
      const action = params.get('Action') ?? ''
      json = action.startsWith('RS')
      if (NOT_IMPLEMENTED.has(action))
        throw new StsError('NotImplemented', `${action} is not implemented by this server.`)
      if (!isAction(action))
        throw new StsError(
          'InvalidAction',
          action === ''
            ? 'Missing Action'
            : `Could not find operation ${action.slice(0, 64)} for version ${(params.get('Version') ?? 'NO_VERSION_SPECIFIED').slice(0, 32)}`,
        )
      const version = params.get('Version')
      if (version !== STS_VERSION)
        throw new StsError(
          'InvalidAction',
          `Could not find operation ${action} for version ${version === undefined ? 'NO_VERSION_SPECIFIED' : version.slice(0, 32)}`,
        )
      const row: ActionRow = ACTIONS[action]
      json = row.json
      if (ctx.access !== undefined) ctx.access.operation = action
      const c: ActionContext = {
        deps,
        action,
        params,
        raw,
        requestId,
        now: deps.clock.now(),
      }
      if (!row.run.signed) return await row.run.fn(c)
      // 3. Authenticate (sha256 of the form body stands in for x-amz-content-sha256).
      const bodySha256Hex = sha256Hex(body)
      const query = raw.rawQuery === '' ? NO_QUERY : parseQuery(raw.rawQuery)
      const authenticated = deps.authenticate(raw, query, { service: 'sts', bodySha256Hex })
      const auth = authenticated instanceof Promise ? await authenticated : authenticated
      const caller = auth.principal
      if (ctx.access !== undefined) {
        ctx.access.principal = loggedPrincipal(caller)
        if (caller.kind === 'session') ctx.access.session = sessionAccess(caller)
      }
      if (caller.kind === 'anonymous') throw new StsError('MissingAuthenticationToken')
      // 4. Allow-list of the caller's account.
      assertAddressAllowed(deps.iam, caller.accountId, raw.remoteAddress)
      // 5. The action.
      return await row.run.fn(c, caller)
    } catch (err) {
      // 6. Errors in the family's format.
      const e = toStsError(err)
      if (ctx.access !== undefined) ctx.access.errorCode = e.code
      if (e.code === 'InternalFailure') deps.log.error({ err, requestId }, 'sts request failed')
      return json ? jsonError(e, requestId) : xmlError(e, requestId)
    }
  }
}

function xmlError(e: StsError, requestId: string): HttpResponse {
  const headers: Record<string, string> = {}
  if (e.retryAfter !== undefined) headers['retry-after'] = String(e.retryAfter)
  return xmlResponse(e.status, renderStsErrorXml(e, requestId), requestId, headers)
}

/** RS* errors: JSON; throttling is a 429 with Retry-After (what browsers and Lyve's console expect). */
function jsonError(e: StsError, requestId: string): HttpResponse {
  const headers: Record<string, string> = { 'x-amzn-requestid': requestId }
  let status: number = e.status
  if (e.code === 'Throttling') {
    status = 429
    headers['retry-after'] = String(e.retryAfter ?? 60)
  }
  return jsonResponse(status, stsErrorJson(e, requestId), headers)
}
