/**
 * STS success bodies in AWS's exact shape (facts §2.4, moto's templates): `<Op>Response` with the
 * STS namespace, `<Op>Result`, `ResponseMetadata/RequestId`. Element names matter because the SDKs
 * parse by name: `AssumedRoleId` (not MinIO's/Lyve's `AssumeRoleId`). Plus the Lyve RS* JSON.
 * @module
 */
import { el, xmlEscape } from '../http/xml.js'
import { isoSeconds } from '../lib/time-format.js'
import type { HttpResponse } from '../http/http-response.js'
import { STS_NS } from './errors.js'

export interface CredentialsOut {
  readonly accessKeyId: string
  readonly secretAccessKey: string
  readonly sessionToken: string
  readonly expiresAt: number
}

/** ISO-8601 in AWS's STS form: seconds precision, `Z`. */
export const awsIso = isoSeconds

function credentialsXml(c: CredentialsOut): string {
  return (
    '<Credentials>' +
    el('AccessKeyId', c.accessKeyId) +
    el('SecretAccessKey', c.secretAccessKey) +
    el('SessionToken', c.sessionToken) +
    el('Expiration', awsIso(c.expiresAt)) +
    '</Credentials>'
  )
}

function envelope(op: string, result: string, requestId: string): string {
  return (
    `<${op}Response xmlns="${STS_NS}">` +
    `<${op}Result>${result}</${op}Result>` +
    `<ResponseMetadata>${el('RequestId', requestId)}</ResponseMetadata>` +
    `</${op}Response>\n`
  )
}

export function assumeRoleXml(
  r: {
    readonly credentials: CredentialsOut
    readonly arn: string
    readonly assumedRoleId: string
    readonly packedPolicySize: number
    readonly sourceIdentity?: string
  },
  requestId: string,
): string {
  // One template (the same text envelope() and el() would build): this answers every AssumeRole.
  const c = r.credentials
  return (
    `<AssumeRoleResponse xmlns="${STS_NS}"><AssumeRoleResult>` +
    (r.sourceIdentity !== undefined ? el('SourceIdentity', r.sourceIdentity) : '') +
    `<AssumedRoleUser><Arn>${xmlEscape(r.arn)}</Arn><AssumedRoleId>${xmlEscape(r.assumedRoleId)}</AssumedRoleId></AssumedRoleUser>` +
    `<Credentials><AccessKeyId>${xmlEscape(c.accessKeyId)}</AccessKeyId><SecretAccessKey>${xmlEscape(c.secretAccessKey)}</SecretAccessKey><SessionToken>${xmlEscape(c.sessionToken)}</SessionToken><Expiration>${awsIso(c.expiresAt)}</Expiration></Credentials>` +
    `<PackedPolicySize>${String(r.packedPolicySize)}</PackedPolicySize></AssumeRoleResult>` +
    `<ResponseMetadata><RequestId>${xmlEscape(requestId)}</RequestId></ResponseMetadata></AssumeRoleResponse>\n`
  )
}

export function getSessionTokenXml(credentials: CredentialsOut, requestId: string): string {
  return envelope('GetSessionToken', credentialsXml(credentials), requestId)
}

export function getCallerIdentityXml(
  r: { readonly arn: string; readonly userId: string; readonly account: string },
  requestId: string,
): string {
  return envelope(
    'GetCallerIdentity',
    el('Arn', r.arn) + el('UserId', r.userId) + el('Account', r.account),
    requestId,
  )
}

/** A 200 text/xml answer with AWS's request-id header. */
export function xmlResponse(
  status: number,
  body: string,
  requestId: string,
  headers: Record<string, string> = {},
): HttpResponse {
  return {
    status,
    headers: { 'content-type': 'text/xml', 'x-amzn-requestid': requestId, ...headers },
    body,
  }
}

export interface RsLoginAnswer {
  readonly RequestId: string
  readonly Credentials: {
    readonly SessionToken: string
    readonly SecretAccessKey: string
    readonly Expiration: string
    readonly AccessKeyId: string
  }
  readonly UserInfo: {
    readonly Id: string
    readonly Name: string
    readonly PwdMustChange: boolean
    readonly Email: string
    readonly Firstname: string
    readonly Lastname: string
    readonly Type: 'user'
    readonly CreatedOn: string
    readonly LastAccess: string
    readonly Path: string
    readonly Root: string
    readonly TFAEnabled: boolean
  }
}

export interface RsAssumeCustomerRoleAnswer {
  readonly Ok: true
  readonly AccessKeyId: string
  readonly SecretAccessKey: string
  readonly Expiration: string
}
