import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { XMLParser } from 'fast-xml-parser'
import type { Principal } from '../../auth/principal.js'
import { S3_NS } from '../xml.js'
import {
  ACCOUNT,
  OTHER_ACCOUNT,
  OTHER_ROOT,
  contentMd5,
  createTestBucket,
  makeEnv,
  makeReq,
  ownerOf,
  putTestObject,
  run,
  type TestEnv,
} from '../listing/fixtures.case.js'
import { createBucket } from './create-bucket.js'
import { listBuckets } from './list-buckets.js'
import { headBucket } from './head-bucket.js'
import { deleteBucket } from './delete-bucket.js'
import { getBucketLocation } from './get-bucket-location.js'
import { getBucketVersioning, putBucketVersioning } from './bucket-versioning.js'
import { getBucketAcl, putBucketAcl } from './bucket-acl.js'
import { deleteBucketTagging, getBucketTagging, putBucketTagging } from './bucket-tagging.js'
import { deleteBucketPolicy, getBucketPolicy, putBucketPolicy } from './bucket-policy.js'
import { deleteBucketCors, getBucketCors, putBucketCors } from './bucket-cors.js'
import { listMultipartUploads } from './list-multipart-uploads.js'

const xml = new XMLParser({
  ignoreAttributes: false,
  parseTagValue: false,
  isArray: (n) =>
    [
      'Bucket',
      'Upload',
      'Tag',
      'CORSRule',
      'AllowedMethod',
      'AllowedOrigin',
      'CommonPrefixes',
    ].includes(n),
})
const parse = (s: string): Record<string, any> => xml.parse(s) as Record<string, any>

let t: TestEnv
beforeEach(() => {
  t = makeEnv()
})
afterEach(async () => {
  await t.close()
})

describe('CreateBucket', () => {
  it('creates, answers Location, and lists', async () => {
    const r = await run(createBucket, t, { method: 'PUT', bucket: 'alpha' })
    expect(r.status).toBe(200)
    expect(r.headers['location']).toBe('/alpha')
    const b = await t.meta.getBucket('alpha')
    expect(b).toMatchObject({
      name: 'alpha',
      accountId: ACCOUNT,
      region: 'us-east-1',
      createdAt: t.clock.now(),
    })
  })
  it('BucketAlreadyOwnedByYou / BucketAlreadyExists', async () => {
    await run(createBucket, t, { method: 'PUT', bucket: 'alpha' })
    // us-east-1 (issue 12): re-creating one's own bucket answers 200 and changes nothing.
    const again = await run(createBucket, t, { method: 'PUT', bucket: 'alpha' })
    expect(again.status).toBe(200)
    expect((await t.meta.getBucket('alpha'))?.createdAt).toBe(t.clock.now())
    const e = makeEnv({ region: 'eu-central-1', regionPinned: true })
    try {
      await run(createBucket, e, { method: 'PUT', bucket: 'alpha' })
      const mine = await run(createBucket, e, { method: 'PUT', bucket: 'alpha' })
      expect(mine.error?.code).toBe('BucketAlreadyOwnedByYou')
      expect(mine.status).toBe(409)
    } finally {
      await e.close()
    }
    const theirs = await run(createBucket, t, {
      method: 'PUT',
      bucket: 'alpha',
      principal: OTHER_ROOT,
    })
    expect(theirs.error?.code).toBe('BucketAlreadyExists')
  })
  it('InvalidBucketName', async () => {
    for (const n of ['ab', 'Upper', '1.2.3.4', 'a..b', 'xn--x', 'x-s3alias']) {
      const r = await run(createBucket, t, { method: 'PUT', bucket: n })
      expect(r.error?.code, n).toBe('InvalidBucketName')
    }
    expect(await t.meta.listBuckets(ACCOUNT)).toHaveLength(0)
  })
  it('location constraints', async () => {
    const body = (lc: string): string =>
      `<CreateBucketConfiguration xmlns="${S3_NS}"><LocationConstraint>${lc}</LocationConstraint></CreateBucketConfiguration>`
    expect(
      (await run(createBucket, t, { method: 'PUT', bucket: 'bk1', body: body('') })).status,
    ).toBe(200)
    expect(
      (await run(createBucket, t, { method: 'PUT', bucket: 'bk2', body: body('us-east-1') }))
        .status,
    ).toBe(200)
    // Unpinned (issue 12): any well-formed region is the bucket's own.
    expect(
      (await run(createBucket, t, { method: 'PUT', bucket: 'bk7', body: body('us-west-1') }))
        .status,
    ).toBe(200)
    expect((await t.meta.getBucket('bk7'))?.region).toBe('us-west-1')
    const pinned = makeEnv({ regionPinned: true })
    try {
      expect(
        (await run(createBucket, pinned, { method: 'PUT', bucket: 'bk3', body: body('eu-west-1') }))
          .error?.code,
      ).toBe('IllegalLocationConstraintException')
      expect(await pinned.meta.getBucket('bk3')).toBeUndefined()
    } finally {
      await pinned.close()
    }
    expect(
      (await run(createBucket, t, { method: 'PUT', bucket: 'bk4', body: body('nowhere') })).error
        ?.code,
    ).toBe('InvalidLocationConstraint')
    expect(
      (await run(createBucket, t, { method: 'PUT', bucket: 'bk5', body: '<Nope/>' })).error?.code,
    ).toBe('MalformedXML')
    expect(
      (await run(createBucket, t, { method: 'PUT', bucket: 'bk6', body: '<<<' })).error?.code,
    ).toBe('MalformedXML')
  })
  it('region-specific server', async () => {
    const e = makeEnv({ region: 'eu-central-1' })
    try {
      const ok = await run(createBucket, e, {
        method: 'PUT',
        bucket: 'eu1',
        body: '<CreateBucketConfiguration><LocationConstraint>eu-central-1</LocationConstraint></CreateBucketConfiguration>',
      })
      expect(ok.status).toBe(200)
      expect((await e.meta.getBucket('eu1'))?.region).toBe('eu-central-1')
      const loc = await run(getBucketLocation, e, { bucket: 'eu1' })
      expect(parse(loc.body)['LocationConstraint']['#text']).toBe('eu-central-1')
    } finally {
      await e.close()
    }
  })
  it('ACL headers', async () => {
    expect(
      (
        await run(createBucket, t, {
          method: 'PUT',
          bucket: 'pk1',
          headers: { 'x-amz-acl': 'private' },
        })
      ).status,
    ).toBe(200)
    expect(
      (
        await run(createBucket, t, {
          method: 'PUT',
          bucket: 'pk2',
          headers: { 'x-amz-acl': 'public-read' },
        })
      ).status,
    ).toBe(200)
    expect(JSON.parse((await t.meta.getBucketSubresource('pk2', 'acl')) ?? '')).toEqual({
      grants: [
        { account: ACCOUNT, permission: 'FULL_CONTROL' },
        { group: 'http://acs.amazonaws.com/groups/global/AllUsers', permission: 'READ' },
      ],
    })
    expect(
      (
        await run(createBucket, t, {
          method: 'PUT',
          bucket: 'pk2b',
          headers: { 'x-amz-acl': 'public-read', 'x-amz-object-ownership': 'BucketOwnerEnforced' },
        })
      ).error?.code,
    ).toBe('InvalidBucketAclWithObjectOwnership')
    expect(await t.meta.getBucket('pk2b')).toBeUndefined()
    expect(
      (
        await run(createBucket, t, {
          method: 'PUT',
          bucket: 'pk3',
          headers: { 'x-amz-acl': 'bogus' },
        })
      ).error?.code,
    ).toBe('InvalidArgument')
    expect(
      (
        await run(createBucket, t, {
          method: 'PUT',
          bucket: 'pk4',
          headers: { 'x-amz-grant-read': 'id=x' },
        })
      ).error?.code,
    ).toBe('InvalidArgument')
    expect(
      (
        await run(createBucket, t, {
          method: 'PUT',
          bucket: 'pk5',
          headers: { 'x-amz-bucket-object-lock-enabled': 'true' },
        })
      ).error?.code,
    ).toBe('NotImplemented')
  })
  it('anonymous cannot create', async () => {
    const anon: Principal = { kind: 'anonymous' }
    expect(
      (await run(createBucket, t, { method: 'PUT', bucket: 'anon1', principal: anon })).error?.code,
    ).toBe('AccessDenied')
  })
  it('authorize: s3:CreateBucket on the bucket ARN with acl condition', () => {
    const req = makeReq({ method: 'PUT', bucket: 'zz1', headers: { 'x-amz-acl': 'private' } })
    expect(createBucket.authorize(req)).toEqual([
      {
        action: 's3:CreateBucket',
        resource: 'arn:aws:s3:::zz1',
        context: { 's3:x-amz-acl': 'private' },
      },
    ])
  })
})

describe('ListBuckets', () => {
  it("lists only the caller's account, sorted, with Owner", async () => {
    await createTestBucket(t, 'zeta')
    await createTestBucket(t, 'alpha')
    await createTestBucket(t, 'other-acct', OTHER_ACCOUNT)
    const r = await run(listBuckets, t, {})
    expect(r.headers['content-type']).toBe('application/xml')
    const d = parse(r.body)['ListAllMyBucketsResult']
    expect(d['Owner']).toEqual({
      ID: ownerOf(ACCOUNT).id,
      DisplayName: ownerOf(ACCOUNT).displayName,
    })
    expect(d['Buckets']['Bucket'].map((b: { Name: string }) => b.Name)).toEqual(['alpha', 'zeta'])
    expect(d['Buckets']['Bucket'][0]['CreationDate']).toBe('2026-01-02T03:04:05.678Z')
    expect(listBuckets.authorize(makeReq({}))).toEqual([
      { action: 's3:ListAllMyBuckets', resource: '*' },
    ])
  })
  it('paginates with max-buckets and prefix', async () => {
    for (const n of ['aa1', 'aa2', 'aa3', 'bb1']) await createTestBucket(t, n)
    const p1 = parse(
      (await run(listBuckets, t, { query: { 'max-buckets': '2', prefix: 'aa' } })).body,
    )['ListAllMyBucketsResult']
    expect(p1['Buckets']['Bucket'].map((b: { Name: string }) => b.Name)).toEqual(['aa1', 'aa2'])
    const token = p1['ContinuationToken'] as string
    const p2 = parse(
      (
        await run(listBuckets, t, {
          query: { 'max-buckets': '2', prefix: 'aa', 'continuation-token': token },
        })
      ).body,
    )['ListAllMyBucketsResult']
    expect(p2['Buckets']['Bucket'].map((b: { Name: string }) => b.Name)).toEqual(['aa3'])
    expect(p2['ContinuationToken']).toBeUndefined()
    expect((await run(listBuckets, t, { query: { 'max-buckets': '0' } })).error?.code).toBe(
      'InvalidArgument',
    )
  })
  it('anonymous → AccessDenied', async () => {
    expect((await run(listBuckets, t, { principal: { kind: 'anonymous' } })).error?.code).toBe(
      'AccessDenied',
    )
  })
})

describe('HeadBucket / DeleteBucket / GetBucketLocation', () => {
  it('head answers region, missing → NoSuchBucket', async () => {
    await createTestBucket(t, 'hb1')
    const r = await run(headBucket, t, { method: 'HEAD', bucket: 'hb1' })
    expect(r.status).toBe(200)
    expect(r.headers['x-amz-bucket-region']).toBe('us-east-1')
    expect((await run(headBucket, t, { method: 'HEAD', bucket: 'nope1' })).error?.code).toBe(
      'NoSuchBucket',
    )
    expect(headBucket.authorize(makeReq({ bucket: 'hb1' }))).toEqual([
      { action: 's3:ListBucket', resource: 'arn:aws:s3:::hb1' },
    ])
  })
  it('delete: BucketNotEmpty with objects; incomplete uploads go with the bucket (204)', async () => {
    await createTestBucket(t, 'db1')
    await putTestObject(t, 'db1', 'k')
    expect((await run(deleteBucket, t, { method: 'DELETE', bucket: 'db1' })).error?.code).toBe(
      'BucketNotEmpty',
    )
    await t.meta.deleteObject('db1', 'k')
    await t.meta.createUpload({
      uploadId: 'u1',
      bucket: 'db1',
      key: 'k',
      initiatedAt: 1,
      headers: {},
      userMetadata: {},
      tags: {},
      ownerAccountId: ACCOUNT,
      initiator: 'arn:aws:iam::111122223333:root',
    })
    const r = await run(deleteBucket, t, { method: 'DELETE', bucket: 'db1' })
    expect(r.status).toBe(204)
    expect(await t.meta.getUpload('db1', 'k', 'u1')).toBeUndefined()
    expect(await t.meta.getBucket('db1')).toBeUndefined()
    expect(t.policyChanged).toEqual(['db1'])
    expect(t.corsChanged).toEqual(['db1'])
    expect(deleteBucket.authorize(makeReq({ bucket: 'db1' }))[0]?.action).toBe('s3:DeleteBucket')
  })
  it('location is empty for us-east-1', async () => {
    await createTestBucket(t, 'loc1')
    const r = await run(getBucketLocation, t, { bucket: 'loc1' })
    expect(r.body).toContain(`<LocationConstraint xmlns="${S3_NS}"></LocationConstraint>`)
    expect(getBucketLocation.authorize(makeReq({ bucket: 'loc1' }))[0]?.action).toBe(
      's3:GetBucketLocation',
    )
  })
})

describe('versioning and ACL', () => {
  it('versioning: empty config; put → NotImplemented', async () => {
    await createTestBucket(t, 'v1b')
    const g = await run(getBucketVersioning, t, { bucket: 'v1b' })
    expect(g.body).toContain('<VersioningConfiguration')
    expect(g.body).not.toContain('Status')
    const p = await run(putBucketVersioning, t, {
      method: 'PUT',
      bucket: 'v1b',
      body: '<VersioningConfiguration><Status>Enabled</Status></VersioningConfiguration>',
    })
    expect(p.error?.code).toBe('NotImplemented')
    expect(putBucketVersioning.authorize(makeReq({ bucket: 'v1b' }))[0]?.action).toBe(
      's3:PutBucketVersioning',
    )
  })
  it('acl: owner FULL_CONTROL by default; canned, header and body ACLs stored and shown; BucketOwnerEnforced refuses public ones', async () => {
    await createTestBucket(t, 'acl1')
    const g = parse((await run(getBucketAcl, t, { bucket: 'acl1' })).body)['AccessControlPolicy']
    const o = ownerOf(ACCOUNT)
    expect(g['Owner']).toEqual({ ID: o.id, DisplayName: o.displayName })
    expect(g['AccessControlList']['Grant']['Permission']).toBe('FULL_CONTROL')
    expect(g['AccessControlList']['Grant']['Grantee']['ID']).toBe(o.id)
    expect(g['AccessControlList']['Grant']['Grantee']['@_xsi:type']).toBe('CanonicalUser')
    expect(
      (
        await run(putBucketAcl, t, {
          method: 'PUT',
          bucket: 'acl1',
          headers: { 'x-amz-acl': 'private' },
        })
      ).status,
    ).toBe(200)
    expect(
      (
        await run(putBucketAcl, t, {
          method: 'PUT',
          bucket: 'acl1',
          headers: { 'x-amz-acl': 'public-read' },
        })
      ).status,
    ).toBe(200)
    const pub = parse((await run(getBucketAcl, t, { bucket: 'acl1' })).body)['AccessControlPolicy']
    expect(pub['AccessControlList']['Grant']).toEqual([
      {
        Grantee: {
          ID: o.id,
          DisplayName: o.displayName,
          '@_xmlns:xsi': 'http://www.w3.org/2001/XMLSchema-instance',
          '@_xsi:type': 'CanonicalUser',
        },
        Permission: 'FULL_CONTROL',
      },
      {
        Grantee: {
          URI: 'http://acs.amazonaws.com/groups/global/AllUsers',
          '@_xmlns:xsi': 'http://www.w3.org/2001/XMLSchema-instance',
          '@_xsi:type': 'Group',
        },
        Permission: 'READ',
      },
    ])
    const other = ownerOf(OTHER_ACCOUNT)
    expect(
      (
        await run(putBucketAcl, t, {
          method: 'PUT',
          bucket: 'acl1',
          headers: { 'x-amz-grant-read': `id="${other.id}"` },
        })
      ).status,
    ).toBe(200)
    expect(JSON.parse((await t.meta.getBucketSubresource('acl1', 'acl')) ?? '')).toEqual({
      grants: [{ account: OTHER_ACCOUNT, permission: 'READ' }],
    })
    expect(
      (
        await run(putBucketAcl, t, {
          method: 'PUT',
          bucket: 'acl1',
          headers: { 'x-amz-grant-read': 'emailAddress="a@b.c"' },
        })
      ).error?.code,
    ).toBe('UnresolvableGrantByEmailAddress')
    const ownerOnly = `<AccessControlPolicy><Owner><ID>${o.id}</ID></Owner><AccessControlList><Grant><Grantee xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="CanonicalUser"><ID>${o.id}</ID></Grantee><Permission>FULL_CONTROL</Permission></Grant></AccessControlList></AccessControlPolicy>`
    expect(
      (await run(putBucketAcl, t, { method: 'PUT', bucket: 'acl1', body: ownerOnly })).status,
    ).toBe(200)
    const publicRead = ownerOnly.replace(
      '</AccessControlList>',
      '<Grant><Grantee xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="Group"><URI>http://acs.amazonaws.com/groups/global/AllUsers</URI></Grantee><Permission>READ</Permission></Grant></AccessControlList>',
    )
    expect(
      (
        await run(putBucketAcl, t, {
          method: 'PUT',
          bucket: 'acl1',
          body: publicRead,
          headers: { 'x-amz-acl': 'private' },
        })
      ).error?.code,
    ).toBe('InvalidRequest')
    expect(
      (await run(putBucketAcl, t, { method: 'PUT', bucket: 'acl1', body: publicRead })).status,
    ).toBe(200)
    expect(
      JSON.parse((await t.meta.getBucketSubresource('acl1', 'acl')) ?? '').grants,
    ).toHaveLength(2)
    // Disabling ACLs needs an owner-only ACL first (AWS: InvalidBucketAclWithObjectOwnership).
    await t.meta.setBucketSubresource('acl1', 'ownership', 'BucketOwnerEnforced')
    expect(
      (await run(putBucketAcl, t, { method: 'PUT', bucket: 'acl1', body: publicRead })).error?.code,
    ).toBe('AccessControlListNotSupported')
    expect(
      (await run(putBucketAcl, t, { method: 'PUT', bucket: 'acl1', body: ownerOnly })).status,
    ).toBe(200)
    expect(
      (await run(putBucketAcl, t, { method: 'PUT', bucket: 'acl1', body: '<x' })).error?.code,
    ).toBe('MalformedXML')
  })
})

describe('bucket tagging', () => {
  const tagging = (pairs: [string, string][]): string =>
    `<Tagging><TagSet>${pairs.map(([k, v]) => `<Tag><Key>${k}</Key><Value>${v}</Value></Tag>`).join('')}</TagSet></Tagging>`
  const put = (body: string, md5 = true) =>
    run(putBucketTagging, t, {
      method: 'PUT',
      bucket: 'tg1',
      body,
      headers: md5 ? { 'content-md5': contentMd5(body) } : {},
    })
  it('NoSuchTagSet, put, get, delete', async () => {
    await createTestBucket(t, 'tg1')
    expect((await run(getBucketTagging, t, { bucket: 'tg1' })).error?.code).toBe('NoSuchTagSet')
    expect(
      (
        await put(
          tagging([
            ['env', 'prod'],
            ['team', 'a b'],
          ]),
        )
      ).status,
    ).toBe(200)
    const g = parse((await run(getBucketTagging, t, { bucket: 'tg1' })).body)['Tagging']
    expect(g['TagSet']['Tag']).toEqual([
      { Key: 'env', Value: 'prod' },
      { Key: 'team', Value: 'a b' },
    ])
    expect((await run(deleteBucketTagging, t, { method: 'DELETE', bucket: 'tg1' })).status).toBe(
      204,
    )
    expect((await run(getBucketTagging, t, { bucket: 'tg1' })).error?.code).toBe('NoSuchTagSet')
    expect(deleteBucketTagging.authorize(makeReq({ bucket: 'tg1' }))[0]?.action).toBe(
      's3:PutBucketTagging',
    )
  })
  it('InvalidTag, MalformedXML, checksum rules', async () => {
    await createTestBucket(t, 'tg1')
    const many = Array.from({ length: 51 }, (_, i): [string, string] => [`k${i}`, 'v'])
    expect((await put(tagging(many))).error?.code).toBe('InvalidTag')
    expect((await put(tagging(many.slice(0, 50)))).status).toBe(200)
    expect(
      (
        await put(
          tagging([
            ['a', '1'],
            ['a', '2'],
          ]),
        )
      ).error?.code,
    ).toBe('InvalidTag')
    expect((await put(tagging([['aws:x', '1']]))).error?.code).toBe('InvalidTag')
    expect((await put(tagging([['k'.repeat(129), '1']]))).error?.code).toBe('InvalidTag')
    expect((await put(tagging([['k', 'v'.repeat(257)]]))).error?.code).toBe('InvalidTag')
    expect((await put(tagging([['bad#char', '1']]))).error?.code).toBe('InvalidTag')
    expect((await put('<Tagging><Nope/></Tagging>')).error?.code).toBe('MalformedXML')
    expect((await put(tagging([['k', 'v']]), false)).error?.code).toBe('InvalidRequest')
    const bad = await run(putBucketTagging, t, {
      method: 'PUT',
      bucket: 'tg1',
      body: tagging([['k', 'v']]),
      headers: { 'content-md5': contentMd5('other') },
    })
    expect(bad.error?.code).toBe('BadDigest')
    const badDigest = await run(putBucketTagging, t, {
      method: 'PUT',
      bucket: 'tg1',
      body: tagging([['k', 'v']]),
      headers: { 'content-md5': 'abc' },
    })
    expect(badDigest.error?.code).toBe('InvalidDigest')
    // x-amz-checksum-crc32 works instead of Content-MD5
    const { crc32 } = await import('@node-rs/crc32')
    const body = tagging([['k', 'v']])
    const b = Buffer.alloc(4)
    b.writeUInt32BE(crc32(Buffer.from(body)))
    const ok = await run(putBucketTagging, t, {
      method: 'PUT',
      bucket: 'tg1',
      body,
      headers: { 'x-amz-checksum-crc32': b.toString('base64') },
    })
    expect(ok.status).toBe(200) // 200, not AWS's 204: minio-js accepts only 200
    const wrong = await run(putBucketTagging, t, {
      method: 'PUT',
      bucket: 'tg1',
      body,
      headers: { 'x-amz-checksum-crc32': 'AAAAAA==' },
    })
    expect(wrong.error?.code).toBe('BadDigest')
    // trailer form
    const trailed = await run(putBucketTagging, t, {
      method: 'PUT',
      bucket: 'tg1',
      body,
      headers: { 'x-amz-trailer': 'x-amz-checksum-crc32' },
      trailers: new Map([['x-amz-checksum-crc32', b.toString('base64')]]),
    })
    expect(trailed.status).toBe(200)
  })
})

describe('bucket policy', () => {
  const policy = (resource: string): string =>
    JSON.stringify({
      Version: '2012-10-17',
      Statement: [
        { Sid: 'pub', Effect: 'Allow', Principal: '*', Action: 's3:GetObject', Resource: resource },
      ],
    })
  it('NoSuchBucketPolicy, put, get verbatim, delete', async () => {
    await createTestBucket(t, 'pol1')
    expect((await run(getBucketPolicy, t, { bucket: 'pol1' })).error?.code).toBe(
      'NoSuchBucketPolicy',
    )
    const doc = policy('arn:aws:s3:::pol1/*')
    const p = await run(putBucketPolicy, t, { method: 'PUT', bucket: 'pol1', body: doc })
    expect(p.status).toBe(204)
    expect(t.policyChanged).toEqual(['pol1'])
    const g = await run(getBucketPolicy, t, { bucket: 'pol1' })
    expect(g.body).toBe(doc)
    expect(g.headers['content-type']).toBe('application/json')
    expect((await run(deleteBucketPolicy, t, { method: 'DELETE', bucket: 'pol1' })).status).toBe(
      204,
    )
    expect(t.policyChanged).toEqual(['pol1', 'pol1'])
    expect((await run(getBucketPolicy, t, { bucket: 'pol1' })).error?.code).toBe(
      'NoSuchBucketPolicy',
    )
  })
  it('MalformedPolicy cases', async () => {
    await createTestBucket(t, 'pol1')
    const bad = async (body: string): Promise<string | undefined> =>
      (await run(putBucketPolicy, t, { method: 'PUT', bucket: 'pol1', body })).error?.code
    expect(await bad('not json')).toBe('MalformedPolicy')
    expect(await bad('')).toBe('MalformedPolicy')
    expect(await bad(policy('arn:aws:s3:::other-bucket/*'))).toBe('MalformedPolicy')
    expect(await bad(policy('arn:aws:s3:::pol1x/*'))).toBe('MalformedPolicy')
    expect(
      await bad(
        JSON.stringify({
          Version: '2012-10-17',
          Statement: [
            {
              Effect: 'Maybe',
              Principal: '*',
              Action: 's3:GetObject',
              Resource: 'arn:aws:s3:::pol1/*',
            },
          ],
        }),
      ),
    ).toBe('MalformedPolicy')
    expect(await bad(policy('arn:aws:s3:::pol1/' + 'x'.repeat(21000)))).toBe('MalformedPolicy')
    expect(await t.meta.getBucketSubresource('pol1', 'policy')).toBeUndefined()
    const r = await run(putBucketPolicy, t, {
      method: 'PUT',
      bucket: 'pol1',
      body: policy('arn:aws:s3:::elsewhere/*'),
    })
    expect(r.body).toMatch(/invalid resource/)
  })
  it('actions', () => {
    const req = makeReq({ bucket: 'pol1' })
    expect(getBucketPolicy.authorize(req)[0]).toEqual({
      action: 's3:GetBucketPolicy',
      resource: 'arn:aws:s3:::pol1',
    })
    expect(putBucketPolicy.authorize(req)[0]?.action).toBe('s3:PutBucketPolicy')
    expect(deleteBucketPolicy.authorize(req)[0]?.action).toBe('s3:DeleteBucketPolicy')
  })
})

describe('bucket CORS operations', () => {
  const cors = `<CORSConfiguration><CORSRule><ID>r1</ID><AllowedOrigin>https://app.example.com</AllowedOrigin><AllowedMethod>GET</AllowedMethod><AllowedMethod>PUT</AllowedMethod><AllowedHeader>*</AllowedHeader><ExposeHeader>ETag</ExposeHeader><MaxAgeSeconds>3000</MaxAgeSeconds></CORSRule></CORSConfiguration>`
  const put = (body: string) =>
    run(putBucketCors, t, {
      method: 'PUT',
      bucket: 'c1',
      body,
      headers: { 'content-md5': contentMd5(body) },
    })
  it('NoSuchCORSConfiguration, put, get, delete', async () => {
    await createTestBucket(t, 'c1')
    expect((await run(getBucketCors, t, { bucket: 'c1' })).error?.code).toBe(
      'NoSuchCORSConfiguration',
    )
    expect((await put(cors)).status).toBe(200)
    expect(t.corsChanged).toEqual(['c1'])
    const g = parse((await run(getBucketCors, t, { bucket: 'c1' })).body)['CORSConfiguration']
    expect(g['CORSRule'][0]).toEqual({
      ID: 'r1',
      AllowedHeader: '*',
      AllowedMethod: ['GET', 'PUT'],
      AllowedOrigin: ['https://app.example.com'],
      ExposeHeader: 'ETag',
      MaxAgeSeconds: '3000',
    })
    expect((await run(deleteBucketCors, t, { method: 'DELETE', bucket: 'c1' })).status).toBe(204)
    expect((await run(getBucketCors, t, { bucket: 'c1' })).error?.code).toBe(
      'NoSuchCORSConfiguration',
    )
    expect(deleteBucketCors.authorize(makeReq({ bucket: 'c1' }))[0]?.action).toBe(
      's3:PutBucketCORS',
    )
    expect(getBucketCors.authorize(makeReq({ bucket: 'c1' }))[0]?.action).toBe('s3:GetBucketCORS')
  })
  it('validation errors', async () => {
    await createTestBucket(t, 'c1')
    const rule = (inner: string): string =>
      `<CORSConfiguration><CORSRule>${inner}</CORSRule></CORSConfiguration>`
    expect(
      (await put(rule('<AllowedOrigin>*</AllowedOrigin><AllowedMethod>PATCH</AllowedMethod>')))
        .error?.code,
    ).toBe('InvalidRequest')
    expect(
      (await put(rule('<AllowedOrigin>*.*</AllowedOrigin><AllowedMethod>GET</AllowedMethod>')))
        .error?.code,
    ).toBe('InvalidRequest')
    expect(
      (
        await put(
          rule(
            '<AllowedOrigin>*</AllowedOrigin><AllowedMethod>GET</AllowedMethod><AllowedHeader>x-*-*</AllowedHeader>',
          ),
        )
      ).error?.code,
    ).toBe('InvalidRequest')
    expect(
      (
        await put(
          rule(
            '<AllowedOrigin>*</AllowedOrigin><AllowedMethod>GET</AllowedMethod><MaxAgeSeconds>abc</MaxAgeSeconds>',
          ),
        )
      ).error?.code,
    ).toBe('MalformedXML')
    expect(
      (
        await put(
          rule(
            `<ID>${'i'.repeat(256)}</ID><AllowedOrigin>*</AllowedOrigin><AllowedMethod>GET</AllowedMethod>`,
          ),
        )
      ).error?.code,
    ).toBe('InvalidRequest')
    expect((await put(rule('<AllowedMethod>GET</AllowedMethod>'))).error?.code).toBe('MalformedXML')
    expect(
      (
        await put(
          rule(
            '<AllowedOrigin>*</AllowedOrigin><AllowedMethod>GET</AllowedMethod><Bogus>1</Bogus>',
          ),
        )
      ).error?.code,
    ).toBe('MalformedXML')
    expect((await put('<CORSConfiguration></CORSConfiguration>')).error?.code).toBe('MalformedXML')
    expect((await put('<CORSConfiguration><CORSRule>')).error?.code).toBe('MalformedXML')
    const r101 = `<CORSConfiguration>${'<CORSRule><AllowedOrigin>*</AllowedOrigin><AllowedMethod>GET</AllowedMethod></CORSRule>'.repeat(101)}</CORSConfiguration>`
    expect((await put(r101)).error?.code).toBe('InvalidRequest')
    const noMd5 = await run(putBucketCors, t, { method: 'PUT', bucket: 'c1', body: cors })
    expect(noMd5.error?.code).toBe('InvalidRequest')
    expect(await t.meta.getBucketSubresource('c1', 'cors')).toBeUndefined()
  })
})

describe('ListMultipartUploads', () => {
  it('lists uploads with initiator/owner, prefixes and pagination', async () => {
    await createTestBucket(t, 'mu1')
    const up = (uploadId: string, key: string, initiator: string, at: number) =>
      t.meta.createUpload({
        uploadId,
        bucket: 'mu1',
        key,
        initiatedAt: at,
        headers: {},
        userMetadata: {},
        tags: {},
        ownerAccountId: ACCOUNT,
        initiator,
      })
    await up('u1', 'a/1', 'arn:aws:iam::111122223333:root', 1000)
    await up('u2', 'a/2', 'arn:aws:iam::111122223333:user/alice', 2000)
    await up('u3', 'b', 'arn:aws:iam::111122223333:user/bob', 3000)
    const all = parse(
      (await run(listMultipartUploads, t, { bucket: 'mu1', query: { uploads: '' } })).body,
    )['ListMultipartUploadsResult']
    expect(all['Upload'].map((u: { Key: string }) => u.Key)).toEqual(['a/1', 'a/2', 'b'])
    expect(all['Upload'][0]['Initiator']).toEqual({
      ID: ownerOf(ACCOUNT).id,
      DisplayName: ownerOf(ACCOUNT).displayName,
    })
    expect(all['Upload'][1]['Initiator']).toEqual({
      ID: 'arn:aws:iam::111122223333:user/alice',
      DisplayName: 'alice',
    })
    expect(all['Upload'][1]['Initiated']).toBe('1970-01-01T00:00:02.000Z')
    expect(all['IsTruncated']).toBe('false')
    const grouped = parse(
      (
        await run(listMultipartUploads, t, {
          bucket: 'mu1',
          query: { uploads: '', delimiter: '/' },
        })
      ).body,
    )['ListMultipartUploadsResult']
    expect(grouped['CommonPrefixes']).toEqual([{ Prefix: 'a/' }])
    expect(grouped['Upload'].map((u: { Key: string }) => u.Key)).toEqual(['b'])
    const p1 = parse(
      (
        await run(listMultipartUploads, t, {
          bucket: 'mu1',
          query: { uploads: '', 'max-uploads': '2' },
        })
      ).body,
    )['ListMultipartUploadsResult']
    expect(p1['IsTruncated']).toBe('true')
    expect(p1['NextKeyMarker']).toBe('a/2')
    expect(p1['NextUploadIdMarker']).toBe('u2')
    const p2 = parse(
      (
        await run(listMultipartUploads, t, {
          bucket: 'mu1',
          query: { uploads: '', 'key-marker': 'a/2', 'upload-id-marker': 'u2' },
        })
      ).body,
    )['ListMultipartUploadsResult']
    expect(p2['Upload'].map((u: { Key: string }) => u.Key)).toEqual(['b'])
    expect(
      (await run(listMultipartUploads, t, { bucket: 'mu1', query: { 'max-uploads': '-1' } })).error
        ?.code,
    ).toBe('InvalidArgument')
    expect(listMultipartUploads.authorize(makeReq({ bucket: 'mu1' }))).toEqual([
      { action: 's3:ListBucketMultipartUploads', resource: 'arn:aws:s3:::mu1' },
    ])
  })
})
