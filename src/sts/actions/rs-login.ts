/**
 * RSLogin (Lyve Cloud, seed 003): an unsigned form POST with Customer, UserName, Password, OTP and
 * DurationSeconds, answered in JSON with credentials and the user's details. The session is
 * issued without a token (SessionToken ""), so the key pair alone works on S3.
 * Any wrong customer, user, password or OTP gets the same refusal (no user enumeration); the IAM
 * service throttles failures per user and per address, answered here as 429 + Retry-After.
 * DurationSeconds: 60..43200, default 900 (Lyve's own example asks for 300).
 * @module
 */
import { jsonResponse, type HttpResponse } from '../../http/http-response.js'
import { isoMillis } from '../../lib/time-format.js'
import { IamError } from '../../iam/types.js'
import { StsError, validationError } from '../errors.js'
import { issueSession } from '../issuance.js'
import type { RsLoginAnswer } from '../responses.js'
import { parseDuration } from '../validate.js'
import { roleFor, sessionNameFrom, type ActionContext } from './common.js'

export const RS_MIN_DURATION = 60
export const RS_MAX_DURATION = 43_200
export const RS_DEFAULT_DURATION = 900

/** The account an unsigned request names: the Customer parameter, else the Lyve/RStor header. */
export function namedCustomers(c: Pick<ActionContext, 'params' | 'raw'>): {
  login?: string
  all: string[]
} {
  const fromParam = c.params.get('Customer')
  const fromHeaders = [c.raw.headers['x-rstor-customer'], c.raw.headers['x-lyve-customer']].filter(
    (v): v is string => v !== undefined && v !== '',
  )
  const login = fromParam !== undefined && fromParam !== '' ? fromParam : fromHeaders[0]
  const all = [...new Set([...(login !== undefined ? [login] : []), ...fromHeaders])]
  return Object.assign(login !== undefined ? { login } : {}, { all })
}

/** Refuse when any account the request names has an allow-list that excludes the address. */
export function checkNamedAllowlists(c: ActionContext, names: readonly string[]): void {
  for (const name of names) {
    const acct = c.deps.iam.byName(name)
    if (acct !== undefined && !c.deps.iam.addressAllowed(acct.id, c.raw.remoteAddress))
      throw new StsError(
        'AccessDenied',
        `Access from ${c.raw.remoteAddress} is not allowed for this account`,
      )
  }
}

const iso = isoMillis

export async function rsLogin(c: ActionContext): Promise<HttpResponse> {
  const username = c.params.get('UserName')
  const password = c.params.get('Password')
  if (username === undefined || username === '')
    throw validationError('userName', undefined, 'Member must not be null')
  if (password === undefined || password === '')
    throw validationError('password', undefined, 'Member must not be null')
  const durationSeconds =
    parseDuration(c.params, RS_MIN_DURATION, RS_MAX_DURATION) ?? RS_DEFAULT_DURATION
  const customers = namedCustomers(c)
  checkNamedAllowlists(c, customers.all)
  const otp = c.params.get('OTP')
  let user
  try {
    user = await c.deps.iam.authenticatePassword(
      Object.assign(customers.login !== undefined ? { customer: customers.login } : {}, {
        username,
        password,
        ...(otp !== undefined && otp !== '' ? { otp } : {}),
        address: c.raw.remoteAddress,
      }),
      c.now,
    )
  } catch (err) {
    if (err instanceof IamError && err.code === 'throttled')
      throw new StsError(
        'Throttling',
        'Rate exceeded',
        err.retryAfter !== undefined ? { retryAfter: err.retryAfter } : {},
      )
    if (err instanceof IamError) throw new StsError('AccessDenied', 'Invalid credentials')
    throw err
  }
  if (!c.deps.iam.addressAllowed(user.accountId, c.raw.remoteAddress))
    throw new StsError(
      'AccessDenied',
      `Access from ${c.raw.remoteAddress} is not allowed for this account`,
    )
  const { roleName, roleId } = roleFor(user)
  const issued = await issueSession(c, {
    caller: user,
    sessionName: sessionNameFrom(user.username),
    durationSeconds,
    policies: [],
    roleName,
    roleId,
    withToken: false,
  })
  const d = c.deps.iam.userDetails(user.userId)
  const answer: RsLoginAnswer = {
    RequestId: c.requestId,
    Credentials: {
      SessionToken: '',
      SecretAccessKey: issued.secretAccessKey,
      Expiration: iso(issued.expiresAt),
      AccessKeyId: issued.accessKeyId,
    },
    UserInfo: {
      Id: user.userId,
      Name: user.username,
      PwdMustChange: d?.mustChangePassword ?? false,
      Email: d?.email ?? '',
      Firstname: d?.firstname ?? '',
      Lastname: d?.lastname ?? '',
      Type: 'user',
      CreatedOn: iso(d?.createdAt ?? c.now),
      LastAccess: iso(c.now),
      Path: '',
      Root: `lyve:${user.accountName}`,
      TFAEnabled: d?.totpEnabled ?? false,
    },
  }
  return jsonResponse(200, answer, { 'x-amzn-requestid': c.requestId, 'cache-control': 'no-store' })
}
