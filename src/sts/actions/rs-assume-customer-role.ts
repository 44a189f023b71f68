/**
 * RSAssumeCustomerRole (Lyve Cloud, seed 003): a reseller account's SuperUser or master key gets
 * credentials with full rights over one customer account under that reseller (the session acts as
 * that account's master key). Anyone else, or a customer not under the caller's reseller account,
 * gets the same AccessDenied (no customer enumeration). JSON answer `{"Ok": true, …}`.
 * The session acts as the customer's root, so IAM ties its life to every link of the chain
 * (iam/service.ts `actAsRootChecks`): the customer's master key (a reset kills it), the caller's
 * key, and for a SuperUser caller its activity and its role (a demotion revokes it for good).
 * IAM re-checks who may act for whom when it issues, whatever this action checked.
 * @module
 */
import { jsonResponse, type HttpResponse } from '../../http/http-response.js'
import type { KnownPrincipal } from '../deps.js'
import { StsError, validationError } from '../errors.js'
import { issueSession } from '../issuance.js'
import type { RsAssumeCustomerRoleAnswer } from '../responses.js'
import { parseDuration } from '../validate.js'
import { sessionNameFrom, stableRoleId, type ActionContext } from './common.js'
import { RS_DEFAULT_DURATION, RS_MAX_DURATION, RS_MIN_DURATION } from './rs-login.js'

const DENIED = 'Only a reseller account may assume the role of one of its customers'

export async function rsAssumeCustomerRole(
  c: ActionContext,
  caller: KnownPrincipal,
): Promise<HttpResponse> {
  const name = c.params.get('Customer')
  if (name === undefined || name === '')
    throw validationError('customer', undefined, 'Member must not be null')
  const durationSeconds =
    parseDuration(c.params, RS_MIN_DURATION, RS_MAX_DURATION) ?? RS_DEFAULT_DURATION
  const mayAct =
    caller.kind === 'account-root' || (caller.kind === 'user' && caller.role === 'SuperUser')
  const own = c.deps.iam.byId(caller.accountId)
  if (!mayAct || own === undefined || own.type !== 'reseller')
    throw new StsError('AccessDenied', DENIED)
  const customer = c.deps.iam.byName(name)
  if (customer === undefined || customer.resellerId !== own.id)
    throw new StsError('AccessDenied', `Customer ${name} is not managed by this reseller account`)
  const masterKey = c.deps.iam.masterAccessKeyId(customer.id)
  if (masterKey === undefined) throw new StsError('InternalFailure')
  const issued = await issueSession(c, {
    caller,
    actAs: { kind: 'account-root', accountId: customer.id, accessKeyId: masterKey },
    sessionName: sessionNameFrom(`reseller-${own.name}`),
    durationSeconds,
    policies: [],
    roleName: 'root',
    roleId: stableRoleId(`root:${customer.id}`),
    withToken: false,
  })
  const answer: RsAssumeCustomerRoleAnswer = {
    Ok: true,
    AccessKeyId: issued.accessKeyId,
    SecretAccessKey: issued.secretAccessKey,
    Expiration: new Date(issued.expiresAt).toISOString(),
  }
  return jsonResponse(200, answer, { 'x-amzn-requestid': c.requestId, 'cache-control': 'no-store' })
}
