/**
 * GetCallerIdentity (API_GetCallerIdentity.html): who am I. Always allowed, even under an explicit
 * Deny, as on AWS; works for master keys, users and sessions.
 * @module
 */
import { principalArn, principalUserId } from '../../auth/principal.js'
import type { HttpResponse } from '../../http/http-response.js'
import type { KnownPrincipal } from '../deps.js'
import { getCallerIdentityXml, xmlResponse } from '../responses.js'
import type { ActionContext } from './common.js'

export function getCallerIdentity(c: ActionContext, caller: KnownPrincipal): Promise<HttpResponse> {
  const body = getCallerIdentityXml(
    { arn: principalArn(caller), userId: principalUserId(caller), account: caller.accountId },
    c.requestId,
  )
  return Promise.resolve(xmlResponse(200, body, c.requestId))
}
