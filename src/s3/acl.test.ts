import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import {
  ALL_USERS,
  AUTHENTICATED_USERS,
  aclConditionKeys,
  aclGrantFor,
  aclRequestOf,
  cannedGrants,
  checkAclAllowed,
  granteeHeaderValue,
  isPublicAcl,
  parseAccessControlPolicy,
  parseGrantHeader,
  renderAcl,
  resolveAcl,
  type RequestedGrantee,
} from './acl.js'
import { S3Error } from './errors.js'
import type { StoredAcl } from '../storage/metadata-store.js'

const OWNER = '111122223333'
const OTHER = '444455556666'
const canon = (a: string): string => a.padStart(64, 'c')
const parties = {
  owner: OWNER,
  bucketOwner: OWNER,
  accountOfCanonicalId: (id: string) => [OWNER, OTHER].find((a) => canon(a) === id),
}
const codeOf = (f: () => unknown): string => {
  try {
    f()
    return 'none'
  } catch (e) {
    return e instanceof S3Error ? e.code : `not an S3Error: ${String(e)}`
  }
}

describe('grant headers', () => {
  it('parses id, uri and emailAddress, quoted or not, several per header', () => {
    expect(
      parseGrantHeader(
        `id="${canon(OTHER)}", uri="${ALL_USERS}",emailAddress=a@b.c`,
        'x-amz-grant-read',
        'READ',
      ),
    ).toEqual([
      { grantee: { type: 'id', id: canon(OTHER) }, permission: 'READ' },
      { grantee: { type: 'uri', uri: ALL_USERS }, permission: 'READ' },
      { grantee: { type: 'email', email: 'a@b.c' }, permission: 'READ' },
    ])
  })

  it('refuses malformed values with InvalidArgument naming the header', () => {
    for (const bad of ['', 'bogus', 'id=', 'id="x', 'user="x"', 'id="a",', ',id="a"']) {
      let err: unknown
      try {
        parseGrantHeader(bad, 'x-amz-grant-write', 'WRITE')
      } catch (e) {
        err = e
      }
      expect(err, bad).toBeInstanceOf(S3Error)
      expect((err as S3Error).code).toBe('InvalidArgument')
      expect((err as S3Error).extra['ArgumentName']).toBe('x-amz-grant-write')
    }
  })

  it('property: rendering grantees as a header and parsing it back is the identity', () => {
    const value = fc.stringMatching(/^[A-Za-z0-9@.:/_-]{1,40}$/)
    const grantee: fc.Arbitrary<RequestedGrantee> = fc.oneof(
      value.map((id) => ({ type: 'id' as const, id })),
      value.map((uri) => ({ type: 'uri' as const, uri })),
      value.map((email) => ({ type: 'email' as const, email })),
    )
    fc.assert(
      fc.property(fc.array(grantee, { minLength: 1, maxLength: 8 }), (gs) => {
        const header = gs.map(granteeHeaderValue).join(', ')
        expect(parseGrantHeader(header, 'x-amz-grant-read', 'READ')).toEqual(
          gs.map((g) => ({ grantee: g, permission: 'READ' })),
        )
      }),
    )
  })

  it('property: any header value either parses or is an S3 InvalidArgument, never a crash', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 80 }), (v) => {
        const c = codeOf(() => parseGrantHeader(v, 'x-amz-grant-read', 'READ'))
        expect(['none', 'InvalidArgument']).toContain(c)
      }),
    )
  })

  it('x-amz-acl and x-amz-grant-* together are InvalidRequest; an unknown canned ACL InvalidArgument', () => {
    const h = (x: Record<string, string>) => (n: string) => x[n]
    expect(aclRequestOf(h({}))).toBeUndefined()
    expect(aclRequestOf(h({ 'x-amz-acl': 'public-read' }))).toEqual({
      kind: 'canned',
      name: 'public-read',
    })
    expect(
      codeOf(() => aclRequestOf(h({ 'x-amz-acl': 'private', 'x-amz-grant-read': 'id=a' }))),
    ).toBe('InvalidRequest')
    expect(codeOf(() => aclRequestOf(h({ 'x-amz-acl': 'everyone' })))).toBe('InvalidArgument')
    expect(
      aclRequestOf(h({ 'x-amz-grant-full-control': 'id=a', 'x-amz-grant-write-acp': 'id=b' })),
    ).toEqual({
      kind: 'grants',
      grants: [
        { grantee: { type: 'id', id: 'a' }, permission: 'FULL_CONTROL' },
        { grantee: { type: 'id', id: 'b' }, permission: 'WRITE_ACP' },
      ],
    })
  })
})

describe('condition keys', () => {
  it('gives s3:x-amz-acl and s3:x-amz-grant-* as sent', () => {
    const h: Record<string, string> = { 'x-amz-acl': 'public-read', 'x-amz-grant-read': 'id="a"' }
    expect(aclConditionKeys((n) => h[n])).toEqual({
      's3:x-amz-acl': 'public-read',
      's3:x-amz-grant-read': 'id="a"',
    })
  })
})

describe('canned ACLs and resolution', () => {
  it('expands each canned ACL as AWS documents it', () => {
    const p = { owner: OWNER, bucketOwner: OWNER }
    expect(cannedGrants('private', p)).toEqual([{ account: OWNER, permission: 'FULL_CONTROL' }])
    expect(cannedGrants('public-read-write', p).map((g) => [g.group, g.permission])).toEqual([
      [undefined, 'FULL_CONTROL'],
      [ALL_USERS, 'READ'],
      [ALL_USERS, 'WRITE'],
    ])
    expect(cannedGrants('authenticated-read', p)[1]).toEqual({
      group: AUTHENTICATED_USERS,
      permission: 'READ',
    })
    expect(cannedGrants('bucket-owner-full-control', p)).toHaveLength(1)
    expect(cannedGrants('bucket-owner-read', { owner: OTHER, bucketOwner: OWNER })[1]).toEqual({
      account: OWNER,
      permission: 'READ',
    })
    expect(codeOf(() => cannedGrants('aws-exec-read', p))).toBe('NotImplemented')
  })

  it('resolves canonical ids to accounts; unknown ids, groups and e-mail grantees are refused', () => {
    expect(
      resolveAcl(
        {
          kind: 'grants',
          grants: [{ grantee: { type: 'id', id: canon(OTHER) }, permission: 'READ' }],
        },
        parties,
      ),
    ).toEqual({ grants: [{ account: OTHER, permission: 'READ' }] })
    const one = (grantee: RequestedGrantee) => () =>
      resolveAcl({ kind: 'grants', grants: [{ grantee, permission: 'READ' }] }, parties)
    expect(codeOf(one({ type: 'id', id: 'nobody' }))).toBe('InvalidArgument')
    expect(codeOf(one({ type: 'uri', uri: 'http://acs.amazonaws.com/groups/global/Nobody' }))).toBe(
      'InvalidArgument',
    )
    expect(codeOf(one({ type: 'email', email: 'a@b.c' }))).toBe('UnresolvableGrantByEmailAddress')
  })
})

describe('AccessControlPolicy documents', () => {
  const grant = (grantee: string, permission: string): string =>
    `<Grant><Grantee xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="X">${grantee}</Grantee><Permission>${permission}</Permission></Grant>`

  it('parses what renderAcl writes (round trip through the document)', () => {
    const acl: StoredAcl = {
      grants: [
        { account: OWNER, permission: 'FULL_CONTROL' },
        { account: OTHER, permission: 'READ_ACP' },
        { group: ALL_USERS, permission: 'READ' },
      ],
    }
    const owners = (a: string) => ({ id: canon(a), displayName: `n-${a}` })
    const xml = renderAcl(acl, owners(OWNER), owners)
    expect(xml).toContain('<Owner><ID>' + canon(OWNER) + '</ID><DisplayName>n-' + OWNER)
    expect(xml).toContain('xsi:type="CanonicalUser"')
    expect(xml).toContain(`xsi:type="Group"><URI>${ALL_USERS}</URI>`)
    const parsed = parseAccessControlPolicy(xml)
    expect(parsed.ownerId).toBe(canon(OWNER))
    expect(resolveAcl(parsed.request, parties)).toEqual(acl)
  })

  it('refuses grants without a grantee or with a bad permission (MalformedACLError)', () => {
    const doc = (g: string) =>
      `<AccessControlPolicy><AccessControlList>${g}</AccessControlList></AccessControlPolicy>`
    expect(
      codeOf(() => parseAccessControlPolicy(doc(grant(`<URI>${ALL_USERS}</URI>`, 'READ')))),
    ).toBe('none')
    expect(
      codeOf(() => parseAccessControlPolicy(doc(grant(`<URI>${ALL_USERS}</URI>`, 'EVERYTHING')))),
    ).toBe('MalformedACLError')
    expect(codeOf(() => parseAccessControlPolicy(doc(grant('', 'READ'))))).toBe('MalformedACLError')
    expect(
      codeOf(() =>
        parseAccessControlPolicy(doc(grant(`<ID>a</ID><URI>${ALL_USERS}</URI>`, 'READ'))),
      ),
    ).toBe('MalformedACLError')
    expect(codeOf(() => parseAccessControlPolicy('<Other/>'))).toBe('MalformedACLError')
    expect(
      codeOf(() =>
        parseAccessControlPolicy(doc(grant(`<URI>${ALL_USERS}</URI>`, 'READ').repeat(101))),
      ),
    ).toBe('MalformedACLError')
  })
})

describe('evaluation', () => {
  const acl = (...grants: StoredAcl['grants']): StoredAcl => ({ grants })
  it('AllUsers admits anyone, AuthenticatedUsers any signed caller, an account grant its account', () => {
    const pub = acl({ group: ALL_USERS, permission: 'READ' })
    expect(aclGrantFor(pub, 'READ', {})).toBe('public')
    expect(aclGrantFor(pub, 'WRITE', {})).toBeUndefined()
    expect(aclGrantFor(pub, 'READ', {}, true)).toBeUndefined() // IgnorePublicAcls
    const auth = acl({ group: AUTHENTICATED_USERS, permission: 'READ' })
    expect(aclGrantFor(auth, 'READ', {})).toBeUndefined()
    expect(aclGrantFor(auth, 'READ', { accountId: OTHER })).toBe('public')
    const acct = acl({ account: OTHER, permission: 'FULL_CONTROL' })
    expect(aclGrantFor(acct, 'WRITE_ACP', { accountId: OTHER })).toBe('account')
    expect(aclGrantFor(acct, 'READ', { accountId: OWNER })).toBeUndefined()
  })

  it('public ACLs; ACLs disabled or public access blocked refuse what they must', () => {
    const pub = acl(
      { account: OWNER, permission: 'FULL_CONTROL' },
      { group: ALL_USERS, permission: 'READ' },
    )
    const own = acl({ account: OWNER, permission: 'FULL_CONTROL' })
    expect(isPublicAcl(pub)).toBe(true)
    expect(isPublicAcl(own)).toBe(false)
    expect(codeOf(() => checkAclAllowed(pub, {}, OWNER))).toBe('none')
    expect(codeOf(() => checkAclAllowed(pub, { ownership: 'BucketOwnerEnforced' }, OWNER))).toBe(
      'AccessControlListNotSupported',
    )
    expect(codeOf(() => checkAclAllowed(own, { ownership: 'BucketOwnerEnforced' }, OWNER))).toBe(
      'none',
    )
    const block = {
      publicAccessBlock: {
        BlockPublicAcls: true,
        IgnorePublicAcls: false,
        BlockPublicPolicy: false,
        RestrictPublicBuckets: false,
      },
    }
    expect(codeOf(() => checkAclAllowed(pub, block, OWNER))).toBe('AccessDenied')
    expect(codeOf(() => checkAclAllowed(own, block, OWNER))).toBe('none')
  })
})
