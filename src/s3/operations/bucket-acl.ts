/**
 * GetBucketAcl / PutBucketAcl. Buckets are owner-only (BucketOwnerEnforced): access is granted
 * with bucket policies. GetBucketAcl reports the owner's FULL_CONTROL grant (same Owner as
 * ListBuckets); PutBucketAcl accepts exactly that state (`x-amz-acl: private` or a body whose one
 * grant is the owner's FULL_CONTROL) and answers NotImplemented for anything it would otherwise
 * have to ignore.
 * @module
 */
import { bucketArn } from '../bucket-name.js'
import { checkCannedAcl } from '../acl.js'
import { S3Error } from '../errors.js'
import type { Operation, OwnerInfo } from '../operation.js'
import { readVerifiedBody } from '../integrity/verify-body.js'
import { bucketRecordOf, emptyResponse, ownerXml, xmlResponse } from '../responses.js'
import { child, doc, el, list, parseXml, text, wrap, type XmlNode } from '../xml.js'

const XSI = 'http://www.w3.org/2001/XMLSchema-instance'
const GRANT_HEADERS = [
  'x-amz-grant-full-control',
  'x-amz-grant-read',
  'x-amz-grant-read-acp',
  'x-amz-grant-write',
  'x-amz-grant-write-acp',
]

export function renderOwnerOnlyAcl(owner: OwnerInfo): string {
  const grantee = wrap(
    'Grantee',
    el('ID', owner.id) + el('DisplayName', owner.displayName),
    ` xmlns:xsi="${XSI}" xsi:type="CanonicalUser"`,
  )
  return doc(
    'AccessControlPolicy',
    ownerXml(owner) +
      wrap('AccessControlList', wrap('Grant', grantee + el('Permission', 'FULL_CONTROL'))),
  )
}

/** True when the AccessControlPolicy body grants exactly FULL_CONTROL to the owner and nothing else. */
export function isOwnerOnlyAcl(xml: string, owner: OwnerInfo): boolean {
  const root = parseXml(xml)
  const acp = root['AccessControlPolicy']
  if (acp === undefined || typeof acp !== 'object' || Array.isArray(acp))
    throw new S3Error('MalformedXML')
  const acl = child(acp, 'AccessControlList')
  const grants = acl === undefined || typeof acl === 'string' ? [] : list(child(acl, 'Grant'))
  if (grants.length !== 1) return false
  const g = grants[0] as XmlNode
  const grantee = child(g, 'Grantee')
  if (grantee === undefined || typeof grantee !== 'object') throw new S3Error('MalformedXML')
  if (child(grantee, 'URI') !== undefined || child(grantee, 'EmailAddress') !== undefined)
    return false
  return (
    text(child(grantee, 'ID'))?.trim() === owner.id &&
    text(child(g, 'Permission'))?.trim() === 'FULL_CONTROL'
  )
}

export const getBucketAcl: Operation = {
  name: 'GetBucketAcl',
  target: 'bucket',
  authorize: (req) => [{ action: 's3:GetBucketAcl', resource: bucketArn(req.bucket ?? '') }],
  handle(req, env) {
    const b = bucketRecordOf(req)
    return Promise.resolve(xmlResponse(renderOwnerOnlyAcl(env.owner(b.accountId))))
  },
}

export const putBucketAcl: Operation = {
  name: 'PutBucketAcl',
  target: 'bucket',
  authorize(req) {
    const acl = req.header('x-amz-acl')
    return [
      {
        action: 's3:PutBucketAcl',
        resource: bucketArn(req.bucket ?? ''),
        ...(acl !== undefined ? { context: { 's3:x-amz-acl': acl } } : {}),
      },
    ]
  },
  async handle(req, env) {
    const b = bucketRecordOf(req)
    const owner = env.owner(b.accountId)
    for (const h of GRANT_HEADERS)
      if (req.header(h) !== undefined) throw new S3Error('AccessControlListNotSupported')
    const acl = req.header('x-amz-acl')
    const body = await readVerifiedBody(req, { maxBytes: 64 * 1024, requireChecksum: false })
    if (acl !== undefined) {
      if (body.trim() !== '')
        throw new S3Error(
          'InvalidRequest',
          'Specifying both Canned ACLs and Header Grants is not allowed',
        )
      checkCannedAcl(acl)
      return emptyResponse(200)
    }
    if (body.trim() === '') throw new S3Error('MalformedXML')
    if (!isOwnerOnlyAcl(body, owner)) throw new S3Error('AccessControlListNotSupported')
    return emptyResponse(200)
  },
}
