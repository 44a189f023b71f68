/**
 * S3 access control lists, as AWS documents them: the canned ACLs, the x-amz-grant-* headers and
 * the AccessControlPolicy document are read into one request shape (`AclRequest`), resolved
 * against the accounts into what is stored (`StoredAcl`: grants to accounts by id and to the S3
 * groups by URI), rendered back with the grantees' canonical ids, and evaluated as one more allow
 * source beside the bucket policy (pipeline.ts asks `aclGrantFor` only when the policies alone do
 * not allow, so an explicit Deny still wins and the common request pays nothing).
 *
 * What a grant allows is AWS's "ACL permission to policy action" table (`ACL_ACTIONS`): a bucket's
 * READ lists it, its WRITE puts and deletes objects in it, READ_ACP / WRITE_ACP read and write
 * the ACL itself, an object's READ gets it; FULL_CONTROL is all of them. A grant to an account
 * plays the part of a bucket policy naming that account: it lets another account's principals
 * in (they still need their own identity policy, as across accounts on AWS) and adds nothing
 * inside the owner's account, where IAM decides. The AllUsers group is "*" (anyone, anonymous
 * included) and AuthenticatedUsers any signed Latchkey principal of any account.
 *
 * Object Ownership `BucketOwnerEnforced` disables ACLs: only ACLs that grant nothing beyond the
 * bucket owner are accepted (AccessControlListNotSupported otherwise) and stored ones are ignored.
 * @module
 */
import type { AclPermission, StoredAcl, StoredGrant } from '../storage/metadata-store.js'
import { S3Error } from './errors.js'

/** An account as S3 shows it: its canonical id and display name. */
export interface OwnerInfo {
  /** 64-hex canonical user id. */
  readonly id: string
  readonly displayName: string
}
import { child, doc, el, list, parseXml, text, wrap, type XmlNode, type XmlValue } from './xml.js'

export const ALL_USERS = 'http://acs.amazonaws.com/groups/global/AllUsers'
export const AUTHENTICATED_USERS = 'http://acs.amazonaws.com/groups/global/AuthenticatedUsers'
export const LOG_DELIVERY = 'http://acs.amazonaws.com/groups/s3/LogDelivery'
const GROUPS: ReadonlySet<string> = new Set([ALL_USERS, AUTHENTICATED_USERS, LOG_DELIVERY])

export const CANNED_ACLS: ReadonlySet<string> = new Set([
  'private',
  'public-read',
  'public-read-write',
  'authenticated-read',
  'aws-exec-read',
  'bucket-owner-read',
  'bucket-owner-full-control',
  'log-delivery-write',
])

export const PERMISSIONS: readonly AclPermission[] = [
  'FULL_CONTROL',
  'READ',
  'WRITE',
  'READ_ACP',
  'WRITE_ACP',
]

/** The grant headers and the permission each gives, in the order AWS lists them. */
export const GRANT_HEADERS: readonly (readonly [string, AclPermission])[] = [
  ['x-amz-grant-full-control', 'FULL_CONTROL'],
  ['x-amz-grant-read', 'READ'],
  ['x-amz-grant-read-acp', 'READ_ACP'],
  ['x-amz-grant-write', 'WRITE'],
  ['x-amz-grant-write-acp', 'WRITE_ACP'],
]

/**
 * The s3:x-amz-acl and s3:x-amz-grant-* condition keys of a request that sets an ACL (values as
 * sent), so a bucket or identity policy can demand or forbid them as on AWS.
 */
export function aclConditionKeys(h: HeaderFn): Record<string, string> {
  const ctx: Record<string, string> = {}
  const canned = h('x-amz-acl')
  if (canned !== undefined) ctx['s3:x-amz-acl'] = canned
  for (const [name] of GRANT_HEADERS) {
    const v = h(name)
    if (v !== undefined) ctx[`s3:${name}`] = v
  }
  return ctx
}

/** AWS caps an ACL at 100 grants. */
export const MAX_GRANTS = 100

export type RequestedGrantee =
  | { readonly type: 'id'; readonly id: string }
  | { readonly type: 'uri'; readonly uri: string }
  | { readonly type: 'email'; readonly email: string }

export interface RequestedGrant {
  readonly grantee: RequestedGrantee
  readonly permission: AclPermission
}

/** An ACL as a request states it, before the grantees are resolved. */
export type AclRequest =
  | { readonly kind: 'canned'; readonly name: string }
  | { readonly kind: 'grants'; readonly grants: readonly RequestedGrant[] }

type HeaderFn = (name: string) => string | undefined

/** Validate a canned ACL name (x-amz-acl, or the POST form's acl field). */
export function checkCannedAcl(value: string, argumentName = 'x-amz-acl'): string {
  if (!CANNED_ACLS.has(value))
    throw new S3Error('InvalidArgument', undefined, {
      ArgumentName: argumentName,
      ArgumentValue: value,
    })
  return value
}

const GRANTEE_PAIR = /^\s*(id|uri|emailaddress)\s*=\s*(?:"([^"]*)"|([^",\s]+))\s*$/i

/**
 * One x-amz-grant-* value: a comma-separated list of `id="…"`, `uri="…"` or `emailAddress="…"`
 * (quotes optional). Anything else is InvalidArgument naming the header, as AWS answers.
 */
export function parseGrantHeader(value: string, header: string, permission: AclPermission) {
  const out: RequestedGrant[] = []
  const bad = (): S3Error =>
    new S3Error('InvalidArgument', 'Argument format not recognized', {
      ArgumentName: header,
      ArgumentValue: value,
    })
  // Split on commas outside double quotes.
  const parts: string[] = []
  let cur = ''
  let quoted = false
  for (const ch of value) {
    if (ch === '"') quoted = !quoted
    if (ch === ',' && !quoted) {
      parts.push(cur)
      cur = ''
    } else cur += ch
  }
  if (quoted) throw bad()
  parts.push(cur)
  for (const part of parts) {
    const m = GRANTEE_PAIR.exec(part)
    if (m === null) throw bad()
    const kind = (m[1] as string).toLowerCase()
    const v = m[2] ?? m[3] ?? ''
    if (v === '') throw bad()
    const grantee: RequestedGrantee =
      kind === 'id'
        ? { type: 'id', id: v }
        : kind === 'uri'
          ? { type: 'uri', uri: v }
          : { type: 'email', email: v }
    out.push({ grantee, permission })
  }
  return out
}

/** The header form of one grantee (the inverse of parseGrantHeader, for tests and tools). */
export function granteeHeaderValue(g: RequestedGrantee): string {
  return g.type === 'id'
    ? `id="${g.id}"`
    : g.type === 'uri'
      ? `uri="${g.uri}"`
      : `emailAddress="${g.email}"`
}

/**
 * The ACL a request's headers ask for: x-amz-acl or x-amz-grant-* (both at once is
 * InvalidRequest, as AWS answers), or undefined when it sends neither.
 */
export function aclRequestOf(h: HeaderFn, cannedArgument = 'x-amz-acl'): AclRequest | undefined {
  const canned = h('x-amz-acl')
  const grants: RequestedGrant[] = []
  let anyGrant = false
  for (const [name, permission] of GRANT_HEADERS) {
    const v = h(name)
    if (v === undefined) continue
    anyGrant = true
    grants.push(...parseGrantHeader(v, name, permission))
  }
  if (canned !== undefined && anyGrant)
    throw new S3Error(
      'InvalidRequest',
      'Specifying both Canned ACLs and Header Grants is not allowed',
    )
  if (canned !== undefined) return { kind: 'canned', name: checkCannedAcl(canned, cannedArgument) }
  if (!anyGrant) return undefined
  if (grants.length > MAX_GRANTS) throw tooManyGrants()
  return { kind: 'grants', grants }
}

function tooManyGrants(): S3Error {
  return new S3Error('MalformedACLError', `An ACL may hold at most ${MAX_GRANTS} grants.`)
}

function malformedAcl(why: string): S3Error {
  return new S3Error(
    'MalformedACLError',
    `The XML you provided was not well-formed or did not validate against our published schema: ${why}`,
  )
}

function isNode(v: XmlValue | undefined): v is XmlNode {
  return v !== undefined && typeof v === 'object' && !Array.isArray(v)
}

/** An AccessControlPolicy document: its Owner ID (if any) and its grants. */
export function parseAccessControlPolicy(xml: string): {
  readonly ownerId?: string
  readonly request: AclRequest
} {
  const root = parseXml(xml)
  const acp = root['AccessControlPolicy']
  if (!isNode(acp)) throw malformedAcl('the root element must be AccessControlPolicy')
  const ownerId = text(child(child(acp, 'Owner'), 'ID'))?.trim()
  const acl = child(acp, 'AccessControlList')
  const nodes = isNode(acl) ? list(child(acl, 'Grant')) : []
  if (nodes.length > MAX_GRANTS) throw tooManyGrants()
  const grants: RequestedGrant[] = nodes.map((g) => {
    const grantee = child(g, 'Grantee')
    if (!isNode(grantee)) throw malformedAcl('every Grant needs a Grantee')
    const permission = text(child(g, 'Permission'))?.trim() as AclPermission | undefined
    if (permission === undefined || !PERMISSIONS.includes(permission))
      throw malformedAcl(
        'every Grant needs a Permission of FULL_CONTROL, READ, WRITE, READ_ACP or WRITE_ACP',
      )
    const id = text(child(grantee, 'ID'))?.trim()
    const uri = text(child(grantee, 'URI'))?.trim()
    const email = text(child(grantee, 'EmailAddress'))?.trim()
    const given = [id, uri, email].filter((v) => v !== undefined && v !== '')
    if (given.length !== 1)
      throw malformedAcl('a Grantee names exactly one ID, URI or EmailAddress')
    const who: RequestedGrantee =
      id !== undefined && id !== ''
        ? { type: 'id', id }
        : uri !== undefined && uri !== ''
          ? { type: 'uri', uri }
          : { type: 'email', email: email ?? '' }
    return { grantee: who, permission }
  })
  return Object.assign(ownerId !== undefined && ownerId !== '' ? { ownerId } : {}, {
    request: { kind: 'grants' as const, grants },
  })
}

export interface AclParties {
  /** The resource's owner (the bucket's, or the object's) account id. */
  readonly owner: string
  /** The bucket owner's account id (bucket-owner-read / -full-control name it). */
  readonly bucketOwner: string
  /** Account id of a canonical user id; undefined when no account has it. */
  readonly accountOfCanonicalId: (canonicalId: string) => string | undefined
}

/** The grants a canned ACL stands for (AWS's "Canned ACL" table). */
export function cannedGrants(name: string, p: Pick<AclParties, 'owner' | 'bucketOwner'>) {
  const own: StoredGrant = { account: p.owner, permission: 'FULL_CONTROL' }
  const group = (uri: string, permission: AclPermission): StoredGrant => ({
    group: uri,
    permission,
  })
  switch (name) {
    case 'private':
      return [own]
    case 'public-read':
      return [own, group(ALL_USERS, 'READ')]
    case 'public-read-write':
      return [own, group(ALL_USERS, 'READ'), group(ALL_USERS, 'WRITE')]
    case 'authenticated-read':
      return [own, group(AUTHENTICATED_USERS, 'READ')]
    case 'bucket-owner-read':
      return p.bucketOwner === p.owner
        ? [own]
        : [own, { account: p.bucketOwner, permission: 'READ' as const }]
    case 'bucket-owner-full-control':
      return p.bucketOwner === p.owner
        ? [own]
        : [own, { account: p.bucketOwner, permission: 'FULL_CONTROL' as const }]
    case 'log-delivery-write':
      return [own, group(LOG_DELIVERY, 'WRITE'), group(LOG_DELIVERY, 'READ_ACP')]
    default:
      // aws-exec-read grants Amazon EC2 a read: there is no EC2 here to grant it to.
      throw new S3Error('NotImplemented', `The canned ACL '${name}' is not implemented.`)
  }
}

/**
 * What to store for an ACL request: canned ACLs expand to their grants, canonical ids resolve to
 * accounts (unknown → InvalidArgument "Invalid id"), group URIs must be S3's (InvalidArgument),
 * and e-mail grantees are UnresolvableGrantByEmailAddress (Latchkey accounts have no e-mail on
 * record). Header and body grants are stored as given: like AWS, no owner grant is added.
 */
export function resolveAcl(req: AclRequest, p: AclParties): StoredAcl {
  if (req.kind === 'canned') return { grants: cannedGrants(req.name, p) }
  const grants = req.grants.map((g): StoredGrant => {
    const who = g.grantee
    if (who.type === 'id') {
      const account = p.accountOfCanonicalId(who.id)
      if (account === undefined)
        throw new S3Error('InvalidArgument', 'Invalid id', {
          ArgumentName: 'CanonicalUser/ID',
          ArgumentValue: who.id,
        })
      return { account, permission: g.permission }
    }
    if (who.type === 'uri') {
      if (!GROUPS.has(who.uri))
        throw new S3Error('InvalidArgument', 'Invalid group uri', {
          ArgumentName: 'Group/URI',
          ArgumentValue: who.uri,
        })
      return { group: who.uri, permission: g.permission }
    }
    throw new S3Error('UnresolvableGrantByEmailAddress', undefined, { Email: who.email })
  })
  return { grants }
}

/** The ACL a resource has when none is stored: its owner's FULL_CONTROL. */
export function privateAcl(owner: string): StoredAcl {
  return { grants: [{ account: owner, permission: 'FULL_CONTROL' }] }
}

/** True when the ACL grants anything to AllUsers or AuthenticatedUsers (AWS's "public" ACL). */
export function isPublicAcl(acl: StoredAcl): boolean {
  return acl.grants.some((g) => g.group === ALL_USERS || g.group === AUTHENTICATED_USERS)
}

/** True when every grant is to `owner` (what a bucket with ACLs disabled still accepts). */
export function grantsOnlyTo(acl: StoredAcl, owner: string): boolean {
  return acl.grants.every((g) => g.account === owner)
}

const XSI = 'http://www.w3.org/2001/XMLSchema-instance'

/** GetBucketAcl / GetObjectAcl's document. */
export function renderAcl(
  acl: StoredAcl,
  owner: OwnerInfo,
  ownerOf: (accountId: string) => OwnerInfo,
): string {
  const grants = acl.grants
    .map((g) => {
      const grantee =
        g.group !== undefined
          ? wrap('Grantee', el('URI', g.group), ` xmlns:xsi="${XSI}" xsi:type="Group"`)
          : wrap(
              'Grantee',
              el('ID', ownerOf(g.account ?? '').id) +
                el('DisplayName', ownerOf(g.account ?? '').displayName),
              ` xmlns:xsi="${XSI}" xsi:type="CanonicalUser"`,
            )
      return wrap('Grant', grantee + el('Permission', g.permission))
    })
    .join('')
  return doc(
    'AccessControlPolicy',
    wrap('Owner', el('ID', owner.id) + el('DisplayName', owner.displayName)) +
      wrap('AccessControlList', grants),
  )
}

/** Which ACL (the bucket's or the object's) and permission an action needs; AWS's mapping table. */
export const ACL_ACTIONS: Readonly<
  Record<string, { readonly on: 'bucket' | 'object'; readonly permission: AclPermission }>
> = {
  's3:ListBucket': { on: 'bucket', permission: 'READ' },
  's3:ListBucketVersions': { on: 'bucket', permission: 'READ' },
  's3:ListBucketMultipartUploads': { on: 'bucket', permission: 'READ' },
  's3:PutObject': { on: 'bucket', permission: 'WRITE' },
  's3:DeleteObject': { on: 'bucket', permission: 'WRITE' },
  's3:DeleteObjectVersion': { on: 'bucket', permission: 'WRITE' },
  's3:GetBucketAcl': { on: 'bucket', permission: 'READ_ACP' },
  's3:PutBucketAcl': { on: 'bucket', permission: 'WRITE_ACP' },
  's3:GetObject': { on: 'object', permission: 'READ' },
  's3:GetObjectVersion': { on: 'object', permission: 'READ' },
  's3:GetObjectAcl': { on: 'object', permission: 'READ_ACP' },
  's3:GetObjectVersionAcl': { on: 'object', permission: 'READ_ACP' },
  's3:PutObjectAcl': { on: 'object', permission: 'WRITE_ACP' },
  's3:PutObjectVersionAcl': { on: 'object', permission: 'WRITE_ACP' },
}

/**
 * Whether `acl` grants `permission` to a caller: 'public' through AllUsers / AuthenticatedUsers
 * (stands alone, like a bucket policy naming "*"), 'account' through a grant to the caller's
 * account (like a policy naming the account: only the resource side of a cross-account request),
 * or undefined. `ignorePublic` (IgnorePublicAcls) drops the group grants.
 */
export function aclGrantFor(
  acl: StoredAcl,
  permission: AclPermission,
  caller: { readonly accountId?: string | undefined },
  ignorePublic = false,
): 'public' | 'account' | undefined {
  let found: 'account' | undefined
  for (const g of acl.grants) {
    if (g.permission !== permission && g.permission !== 'FULL_CONTROL') continue
    if (g.group === ALL_USERS && !ignorePublic) return 'public'
    if (g.group === AUTHENTICATED_USERS && !ignorePublic && caller.accountId !== undefined)
      return 'public'
    if (g.account !== undefined && g.account === caller.accountId) found = 'account'
  }
  return found
}

/** Object Ownership values (PutBucketOwnershipControls, x-amz-object-ownership). */
export const OBJECT_OWNERSHIPS: ReadonlySet<string> = new Set([
  'BucketOwnerEnforced',
  'BucketOwnerPreferred',
  'ObjectWriter',
])

/** A bucket's public access block (every flag defaults to false). */
export interface PublicAccessBlock {
  readonly BlockPublicAcls: boolean
  readonly IgnorePublicAcls: boolean
  readonly BlockPublicPolicy: boolean
  readonly RestrictPublicBuckets: boolean
}

export const PAB_FLAGS = [
  'BlockPublicAcls',
  'IgnorePublicAcls',
  'BlockPublicPolicy',
  'RestrictPublicBuckets',
] as const

export const NO_PUBLIC_ACCESS_BLOCK: PublicAccessBlock = {
  BlockPublicAcls: false,
  IgnorePublicAcls: false,
  BlockPublicPolicy: false,
  RestrictPublicBuckets: false,
}

export const FULL_PUBLIC_ACCESS_BLOCK: PublicAccessBlock = {
  BlockPublicAcls: true,
  IgnorePublicAcls: true,
  BlockPublicPolicy: true,
  RestrictPublicBuckets: true,
}

/** The access-relevant configuration of a bucket (BucketConfig caches it). */
export interface BucketAccessConfig {
  /** undefined: none stored (private: the owner's FULL_CONTROL). */
  readonly acl?: StoredAcl
  /** undefined: no OwnershipControls set (ACLs enabled, objects owned by the bucket owner). */
  readonly ownership?: string
  /** undefined: no PublicAccessBlock configuration. */
  readonly publicAccessBlock?: PublicAccessBlock
}

/** ACLs are disabled (BucketOwnerEnforced): stored grants are ignored in evaluation. */
export function aclsDisabled(c: BucketAccessConfig): boolean {
  return c.ownership === 'BucketOwnerEnforced'
}

/**
 * The check every request that sets an ACL passes (PutBucketAcl, PutObjectAcl, CreateBucket,
 * PutObject, CopyObject, CreateMultipartUpload, POST uploads): with ACLs disabled only an ACL that
 * grants nothing beyond the bucket owner is accepted (AccessControlListNotSupported, as AWS), and
 * BlockPublicAcls refuses a public ACL with AccessDenied.
 */
export function checkAclAllowed(acl: StoredAcl, c: BucketAccessConfig, bucketOwner: string): void {
  if (aclsDisabled(c) && !grantsOnlyTo(acl, bucketOwner))
    throw new S3Error('AccessControlListNotSupported')
  if (c.publicAccessBlock?.BlockPublicAcls === true && isPublicAcl(acl))
    throw new S3Error(
      'AccessDenied',
      'Access Denied: the bucket has BlockPublicAcls set in its public access block, which refuses public ACLs',
    )
}
