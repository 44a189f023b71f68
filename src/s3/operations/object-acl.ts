/**
 * Object ACLs (?acl). Latchkey has no ACL model (access is IAM + bucket policy, like S3 with
 * "bucket owner enforced"), so every object's ACL is the bucket owner with FULL_CONTROL. GET
 * answers exactly that; PUT accepts only what changes nothing (`x-amz-acl: private` or a body
 * granting just the owner FULL_CONTROL) and answers NotImplemented for anything else rather
 * than pretending to grant access.
 * @module
 */
import { checkCannedAcl } from '../acl.js'
import { S3Error } from '../errors.js'
import type { Operation, OwnerInfo } from '../operation.js'
import {
  bucketOf,
  keyOf,
  loadObject,
  requestObjectArn,
  requireWithExistingTags,
} from '../object/access.js'
import { child, doc, el, list, readXmlBody, text, wrap, type XmlNode } from '../xml.js'

export const ACL_MAX_BODY = 64 * 1024
const XSI = 'http://www.w3.org/2001/XMLSchema-instance'

export function renderOwnerAcl(owner: OwnerInfo): string {
  const who = el('ID', owner.id) + el('DisplayName', owner.displayName)
  const grant = wrap(
    'Grant',
    wrap('Grantee', who, ` xmlns:xsi="${XSI}" xsi:type="CanonicalUser"`) +
      el('Permission', 'FULL_CONTROL'),
  )
  return doc('AccessControlPolicy', wrap('Owner', who) + wrap('AccessControlList', grant))
}

/** True when the AccessControlPolicy grants exactly FULL_CONTROL to the owner and nothing else. */
export function isOwnerOnlyAcl(root: XmlNode, owner: OwnerInfo): boolean {
  const acp = root['AccessControlPolicy']
  if (acp === undefined) throw new S3Error('MalformedXML')
  const grants = list(child(child(acp, 'AccessControlList'), 'Grant'))
  if (grants.length !== 1) return false
  const g = grants[0]
  const id = text(child(child(g, 'Grantee'), 'ID'))
  return id === owner.id && text(child(g, 'Permission')) === 'FULL_CONTROL'
}

export const getObjectAcl: Operation = {
  name: 'GetObjectAcl',
  target: 'object',
  authorize: (req) => [{ action: 's3:GetObjectAcl', resource: requestObjectArn(req) }],
  async handle(req, env) {
    const bucket = bucketOf(req)
    const o = await loadObject(env, bucket.name, keyOf(req))
    await requireWithExistingTags(req, env, 's3:GetObjectAcl', bucket, o)
    return {
      status: 200,
      headers: { 'content-type': 'application/xml' },
      body: renderOwnerAcl(env.owner(bucket.accountId)),
    }
  },
}

export const putObjectAcl: Operation = {
  name: 'PutObjectAcl',
  target: 'object',
  authorize: (req) => {
    const acl = req.header('x-amz-acl')
    return [
      acl === undefined
        ? { action: 's3:PutObjectAcl', resource: requestObjectArn(req) }
        : {
            action: 's3:PutObjectAcl',
            resource: requestObjectArn(req),
            context: { 's3:x-amz-acl': acl },
          },
    ]
  },
  async handle(req, env) {
    const bucket = bucketOf(req)
    const o = await loadObject(env, bucket.name, keyOf(req))
    await requireWithExistingTags(req, env, 's3:PutObjectAcl', bucket, o)
    for (const name of Object.keys(req.raw.headers)) {
      if (name.startsWith('x-amz-grant-')) throw new S3Error('AccessControlListNotSupported')
    }
    const acl = req.header('x-amz-acl')
    if (acl !== undefined) {
      checkCannedAcl(acl)
      return { status: 200 }
    }
    const root = await readXmlBody(req.body, ACL_MAX_BODY)
    if (!isOwnerOnlyAcl(root, env.owner(bucket.accountId))) {
      throw new S3Error('AccessControlListNotSupported')
    }
    return { status: 200 }
  },
}
