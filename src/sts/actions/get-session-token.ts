/**
 * GetSessionToken (API_GetSessionToken.html): temporary credentials with exactly the caller's own
 * rights (no session policy). 900..129600 s, default 43200; the account root is limited to one
 * hour and session credentials may not call it, as on AWS.
 * @module
 */
import type { HttpResponse } from '../../http/http-response.js'
import type { KnownPrincipal } from '../deps.js'
import { StsError } from '../errors.js'
import { issueSession } from '../issuance.js'
import { getSessionTokenXml, xmlResponse } from '../responses.js'
import { Violations, checkMfa, parseDuration } from '../validate.js'
import { checkNotDenied, roleFor, sessionNameFrom, stsFacts, type ActionContext } from './common.js'

export const GST_MIN = 900
export const GST_MAX = 129_600
export const GST_DEFAULT = 43_200
export const GST_ROOT_MAX = 3600

export async function getSessionToken(
  c: ActionContext,
  caller: KnownPrincipal,
): Promise<HttpResponse> {
  const max = caller.kind === 'account-root' ? GST_ROOT_MAX : GST_MAX
  // Both parameters checked, every violated constraint reported at once (validate.ts).
  const v = new Violations()
  const requested = v.check(() => parseDuration(c.params, GST_MIN, max))
  v.check(() => checkMfa(c.params))
  v.throwIfAny()
  if (caller.kind === 'session')
    throw new StsError('AccessDenied', 'Cannot call GetSessionToken with session credentials')
  const durationSeconds = requested ?? Math.min(GST_DEFAULT, max)
  await checkNotDenied(
    c,
    caller,
    stsFacts(c, caller, 'sts:GetSessionToken', '*', {
      'sts:durationseconds': String(durationSeconds),
    }),
  )
  const { roleName, roleId } = roleFor(caller)
  const issued = await issueSession(c, {
    caller,
    sessionName: sessionNameFrom(caller.kind === 'user' ? caller.username : 'root'),
    durationSeconds,
    policies: [],
    roleName,
    roleId,
    withToken: true,
    asCaller: true,
  })
  const body = getSessionTokenXml(
    {
      accessKeyId: issued.accessKeyId,
      secretAccessKey: issued.secretAccessKey,
      sessionToken: issued.sessionToken,
      expiresAt: issued.expiresAt,
    },
    c.requestId,
  )
  return xmlResponse(200, body, c.requestId)
}
