/**
 * End-to-end: bucket operations, listings, CORS, bucket policy, tagging, ACL/versioning answers,
 * ListMultipartUploads and browser POST uploads, with the unmodified AWS SDK v3 against the
 * real server (`npm run build` first).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  AbortMultipartUploadCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  DeleteBucketCommand,
  DeleteBucketCorsCommand,
  DeleteBucketPolicyCommand,
  DeleteBucketTaggingCommand,
  DeleteObjectCommand,
  GetBucketAclCommand,
  GetBucketCorsCommand,
  GetBucketLocationCommand,
  GetBucketPolicyCommand,
  GetBucketTaggingCommand,
  GetBucketVersioningCommand,
  GetObjectCommand,
  HeadBucketCommand,
  ListBucketsCommand,
  ListMultipartUploadsCommand,
  ListObjectsCommand,
  ListObjectsV2Command,
  ListObjectVersionsCommand,
  PutBucketCorsCommand,
  PutBucketPolicyCommand,
  PutBucketTaggingCommand,
  PutBucketVersioningCommand,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
  paginateListObjectsV2,
} from '@aws-sdk/client-s3'
import { createPresignedPost } from '@aws-sdk/s3-presigned-post'
import { getSignedUrl } from '@aws-sdk/s3-request-presigner'
import { startServer, type TestServer } from './harness.js'

let server: TestServer
let s3: S3Client

beforeAll(async () => {
  server = await startServer()
  s3 = server.s3()
})
afterAll(async () => {
  s3?.destroy()
  await server?.stop()
})

async function errorName(p: Promise<unknown>): Promise<string> {
  try {
    await p
  } catch (e) {
    return e instanceof S3ServiceException ? e.name : String(e)
  }
  return 'no error'
}

describe('bucket CRUD', () => {
  it('create, head, list, location, delete', async () => {
    await s3.send(new CreateBucketCommand({ Bucket: 'e2e-crud' }))
    // us-east-1: re-creating one's own bucket answers 200 (issue 12; s3-protocol.test.ts).
    expect(await errorName(s3.send(new CreateBucketCommand({ Bucket: 'e2e-crud' })))).toBe(
      'no error',
    )
    expect(await errorName(s3.send(new CreateBucketCommand({ Bucket: 'Bad_Name' })))).toBe(
      'InvalidBucketName',
    )
    const head = await s3.send(new HeadBucketCommand({ Bucket: 'e2e-crud' }))
    expect(head.BucketRegion).toBe('us-east-1')
    const list = await s3.send(new ListBucketsCommand({}))
    expect(list.Buckets?.map((b) => b.Name)).toContain('e2e-crud')
    expect(list.Owner?.ID).toMatch(/\S/)
    const loc = await s3.send(new GetBucketLocationCommand({ Bucket: 'e2e-crud' }))
    expect(loc.LocationConstraint ?? '').toBe('')
    await s3.send(new PutObjectCommand({ Bucket: 'e2e-crud', Key: 'k', Body: 'x' }))
    expect(await errorName(s3.send(new DeleteBucketCommand({ Bucket: 'e2e-crud' })))).toBe(
      'BucketNotEmpty',
    )
    await s3.send(new DeleteObjectCommand({ Bucket: 'e2e-crud', Key: 'k' }))
    await s3.send(new DeleteBucketCommand({ Bucket: 'e2e-crud' }))
    expect(await errorName(s3.send(new HeadBucketCommand({ Bucket: 'e2e-crud' })))).toBe('NotFound')
  })
})

describe('listings', () => {
  const keys = [
    ...Array.from({ length: 12 }, (_, i) => `photos/2024/img-${String(i).padStart(2, '0')}.jpg`),
    ...Array.from({ length: 5 }, (_, i) => `docs/readme ${i}.txt`),
    'top.txt',
    'unicode/é 😀+.txt',
  ]
  beforeAll(async () => {
    await s3.send(new CreateBucketCommand({ Bucket: 'e2e-list' }))
    for (const Key of keys)
      await s3.send(new PutObjectCommand({ Bucket: 'e2e-list', Key, Body: Key }))
  })

  it('paginateListObjectsV2 returns every key once', async () => {
    const seen: string[] = []
    for await (const page of paginateListObjectsV2(
      { client: s3, pageSize: 4 },
      { Bucket: 'e2e-list' },
    )) {
      expect((page.Contents ?? []).length).toBeLessThanOrEqual(4)
      for (const o of page.Contents ?? []) seen.push(o.Key ?? '')
    }
    expect(seen).toEqual([...keys].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b))))
  })

  it('delimiter, prefix, start-after, fetch-owner', async () => {
    const top = await s3.send(new ListObjectsV2Command({ Bucket: 'e2e-list', Delimiter: '/' }))
    expect(top.CommonPrefixes?.map((p) => p.Prefix)).toEqual(['docs/', 'photos/', 'unicode/'])
    expect(top.Contents?.map((o) => o.Key)).toEqual(['top.txt'])
    expect(top.KeyCount).toBe(4)
    const sub = await s3.send(
      new ListObjectsV2Command({
        Bucket: 'e2e-list',
        Prefix: 'photos/2024/',
        StartAfter: 'photos/2024/img-09.jpg',
        FetchOwner: true,
      }),
    )
    expect(sub.Contents?.map((o) => o.Key)).toEqual([
      'photos/2024/img-10.jpg',
      'photos/2024/img-11.jpg',
    ])
    expect(sub.Contents?.[0]?.Owner?.ID).toMatch(/\S/)
    expect(sub.Contents?.[0]?.ETag).toMatch(/^"[0-9a-f]{32}"$/)
    expect(sub.Contents?.[0]?.StorageClass).toBe('STANDARD')
  })

  it('v1 with markers', async () => {
    const seen: string[] = []
    let marker: string | undefined
    for (;;) {
      const r = await s3.send(
        new ListObjectsCommand({
          Bucket: 'e2e-list',
          MaxKeys: 5,
          Delimiter: '/',
          Prefix: 'photos/2024/',
          ...(marker !== undefined ? { Marker: marker } : {}),
        }),
      )
      seen.push(...(r.Contents ?? []).map((o) => o.Key ?? ''))
      if (r.IsTruncated !== true) break
      marker = r.NextMarker
      expect(marker).toBeDefined()
    }
    expect(seen).toHaveLength(12)
  })

  it('encoding-type=url round trip', async () => {
    const r = await s3.send(
      new ListObjectsV2Command({ Bucket: 'e2e-list', Prefix: 'unicode/', EncodingType: 'url' }),
    )
    const raw = r.Contents?.[0]?.Key ?? ''
    expect(raw).not.toContain(' ')
    expect(decodeURIComponent(raw.replace(/\+/g, ' '))).toBe('unicode/é 😀+.txt')
  })

  it('errors: bad continuation token, negative max-keys', async () => {
    expect(
      await errorName(
        s3.send(new ListObjectsV2Command({ Bucket: 'e2e-list', ContinuationToken: 'nope!' })),
      ),
    ).toBe('InvalidArgument')
    expect(
      await errorName(s3.send(new ListObjectsV2Command({ Bucket: 'e2e-list', MaxKeys: -1 }))),
    ).toBe('InvalidArgument')
  })

  it('ListObjectVersions shows null versions', async () => {
    const r = await s3.send(new ListObjectVersionsCommand({ Bucket: 'e2e-list', Prefix: 'docs/' }))
    expect(r.Versions).toHaveLength(5)
    expect(r.Versions?.every((v) => v.VersionId === 'null' && v.IsLatest === true)).toBe(true)
  })
})

describe('bucket sub-resources', () => {
  beforeAll(async () => {
    await s3.send(new CreateBucketCommand({ Bucket: 'e2e-sub' }))
    await s3.send(
      new PutObjectCommand({
        Bucket: 'e2e-sub',
        Key: 'page.html',
        Body: '<p>hi</p>',
        ContentType: 'text/html',
      }),
    )
  })

  it('CORS put/get, preflight, headers on an actual GET', async () => {
    expect(await errorName(s3.send(new GetBucketCorsCommand({ Bucket: 'e2e-sub' })))).toBe(
      'NoSuchCORSConfiguration',
    )
    const pre0 = await fetch(`${server.endpoint}/e2e-sub/page.html`, {
      method: 'OPTIONS',
      headers: { origin: 'https://app.example.com', 'access-control-request-method': 'GET' },
    })
    expect(pre0.status).toBe(403)
    await s3.send(
      new PutBucketCorsCommand({
        Bucket: 'e2e-sub',
        CORSConfiguration: {
          CORSRules: [
            {
              AllowedOrigins: ['https://app.example.com'],
              AllowedMethods: ['GET', 'PUT'],
              AllowedHeaders: ['*'],
              ExposeHeaders: ['ETag'],
              MaxAgeSeconds: 300,
            },
          ],
        },
      }),
    )
    const got = await s3.send(new GetBucketCorsCommand({ Bucket: 'e2e-sub' }))
    expect(got.CORSRules?.[0]?.AllowedOrigins).toEqual(['https://app.example.com'])
    expect(got.CORSRules?.[0]?.ExposeHeaders).toEqual(['ETag'])
    const pre = await fetch(`${server.endpoint}/e2e-sub/page.html`, {
      method: 'OPTIONS',
      headers: {
        origin: 'https://app.example.com',
        'access-control-request-method': 'PUT',
        'access-control-request-headers': 'content-type,x-amz-date',
      },
    })
    expect(pre.status).toBe(200)
    expect(pre.headers.get('access-control-allow-origin')).toBe('https://app.example.com')
    expect(pre.headers.get('access-control-allow-methods')).toContain('PUT')
    expect(pre.headers.get('access-control-allow-headers')).toBe('content-type, x-amz-date')
    expect(pre.headers.get('access-control-max-age')).toBe('300')
    const denied = await fetch(`${server.endpoint}/e2e-sub/page.html`, {
      method: 'OPTIONS',
      headers: { origin: 'https://evil.test', 'access-control-request-method': 'GET' },
    })
    expect(denied.status).toBe(403)
    const url = await getSignedUrl(
      s3,
      new GetObjectCommand({ Bucket: 'e2e-sub', Key: 'page.html' }),
      { expiresIn: 300 },
    )
    const get = await fetch(url, { headers: { origin: 'https://app.example.com' } })
    expect(get.status).toBe(200)
    expect(get.headers.get('access-control-allow-origin')).toBe('https://app.example.com')
    expect(get.headers.get('access-control-expose-headers')).toContain('ETag')
    await s3.send(new DeleteBucketCorsCommand({ Bucket: 'e2e-sub' }))
    expect(await errorName(s3.send(new GetBucketCorsCommand({ Bucket: 'e2e-sub' })))).toBe(
      'NoSuchCORSConfiguration',
    )
  })

  it('bucket policy put/get/delete', async () => {
    expect(await errorName(s3.send(new GetBucketPolicyCommand({ Bucket: 'e2e-sub' })))).toBe(
      'NoSuchBucketPolicy',
    )
    const policy = JSON.stringify({
      Version: '2012-10-17',
      Statement: [
        {
          Sid: 'PublicRead',
          Effect: 'Allow',
          Principal: '*',
          Action: 's3:GetObject',
          Resource: 'arn:aws:s3:::e2e-sub/*',
        },
      ],
    })
    await s3.send(new PutBucketPolicyCommand({ Bucket: 'e2e-sub', Policy: policy }))
    expect((await s3.send(new GetBucketPolicyCommand({ Bucket: 'e2e-sub' }))).Policy).toBe(policy)
    const anon = await fetch(`${server.endpoint}/e2e-sub/page.html`)
    expect(anon.status).toBe(200)
    const bad = policy.replace('e2e-sub/*', 'someone-else/*')
    expect(
      await errorName(s3.send(new PutBucketPolicyCommand({ Bucket: 'e2e-sub', Policy: bad }))),
    ).toBe('MalformedPolicy')
    await s3.send(new DeleteBucketPolicyCommand({ Bucket: 'e2e-sub' }))
    expect(await errorName(s3.send(new GetBucketPolicyCommand({ Bucket: 'e2e-sub' })))).toBe(
      'NoSuchBucketPolicy',
    )
    expect((await fetch(`${server.endpoint}/e2e-sub/page.html`)).status).toBe(403)
  })

  it('tagging', async () => {
    expect(await errorName(s3.send(new GetBucketTaggingCommand({ Bucket: 'e2e-sub' })))).toBe(
      'NoSuchTagSet',
    )
    await s3.send(
      new PutBucketTaggingCommand({
        Bucket: 'e2e-sub',
        Tagging: { TagSet: [{ Key: 'env', Value: 'test' }] },
      }),
    )
    expect((await s3.send(new GetBucketTaggingCommand({ Bucket: 'e2e-sub' }))).TagSet).toEqual([
      { Key: 'env', Value: 'test' },
    ])
    expect(
      await errorName(
        s3.send(
          new PutBucketTaggingCommand({
            Bucket: 'e2e-sub',
            Tagging: { TagSet: [{ Key: 'aws:x', Value: '1' }] },
          }),
        ),
      ),
    ).toBe('InvalidTag')
    await s3.send(new DeleteBucketTaggingCommand({ Bucket: 'e2e-sub' }))
    expect(await errorName(s3.send(new GetBucketTaggingCommand({ Bucket: 'e2e-sub' })))).toBe(
      'NoSuchTagSet',
    )
  })

  it('ACL and versioning answers', async () => {
    const acl = await s3.send(new GetBucketAclCommand({ Bucket: 'e2e-sub' }))
    expect(acl.Grants).toHaveLength(1)
    expect(acl.Grants?.[0]?.Permission).toBe('FULL_CONTROL')
    expect(acl.Grants?.[0]?.Grantee?.ID).toBe(acl.Owner?.ID)
    const v = await s3.send(new GetBucketVersioningCommand({ Bucket: 'e2e-sub' }))
    expect(v.Status).toBeUndefined()
    expect(
      await errorName(
        s3.send(
          new PutBucketVersioningCommand({
            Bucket: 'e2e-sub',
            VersioningConfiguration: { Status: 'Enabled' },
          }),
        ),
      ),
    ).toBe('NotImplemented')
  })

  it('ListMultipartUploads', async () => {
    const up = await s3.send(
      new CreateMultipartUploadCommand({ Bucket: 'e2e-sub', Key: 'big/file.bin' }),
    )
    const list = await s3.send(new ListMultipartUploadsCommand({ Bucket: 'e2e-sub' }))
    expect(list.Uploads?.map((u) => [u.Key, u.UploadId])).toEqual([['big/file.bin', up.UploadId]])
    expect(list.Uploads?.[0]?.Initiator?.ID).toMatch(/\S/)
    const grouped = await s3.send(
      new ListMultipartUploadsCommand({ Bucket: 'e2e-sub', Delimiter: '/' }),
    )
    expect(grouped.CommonPrefixes?.map((p) => p.Prefix)).toEqual(['big/'])
    await s3.send(
      new AbortMultipartUploadCommand({
        Bucket: 'e2e-sub',
        Key: 'big/file.bin',
        UploadId: up.UploadId,
      }),
    )
    expect(
      (await s3.send(new ListMultipartUploadsCommand({ Bucket: 'e2e-sub' }))).Uploads ?? [],
    ).toHaveLength(0)
  })
})

describe('browser POST upload', () => {
  beforeAll(async () => {
    await s3.send(new CreateBucketCommand({ Bucket: 'e2e-post' }))
  })

  async function send(
    url: string,
    fields: Record<string, string>,
    data: string,
    filename = 'hello.txt',
  ): Promise<Response> {
    const fd = new FormData()
    for (const [k, v] of Object.entries(fields)) fd.append(k, v)
    fd.append('file', new Blob([data], { type: 'text/plain' }), filename)
    return fetch(url, { method: 'POST', body: fd, redirect: 'manual' })
  }

  it('succeeds within the policy (204), stores the object', async () => {
    const { url, fields } = await createPresignedPost(s3, {
      Bucket: 'e2e-post',
      Key: 'uploads/${filename}',
      Conditions: [
        ['content-length-range', 1, 100],
        ['starts-with', '$key', 'uploads/'],
        ['starts-with', '$Content-Type', 'text/'],
      ],
      Fields: { 'Content-Type': 'text/plain' },
      Expires: 600,
    })
    const r = await send(url, fields, 'hello post')
    expect(r.status).toBe(204)
    expect(r.headers.get('etag')).toMatch(/^"[0-9a-f]{32}"$/)
    const o = await s3.send(new GetObjectCommand({ Bucket: 'e2e-post', Key: 'uploads/hello.txt' }))
    expect(await o.Body?.transformToString()).toBe('hello post')
    expect(o.ContentType).toBe('text/plain')
  })

  it('too large → EntityTooLarge; wrong key prefix → AccessDenied', async () => {
    const { url, fields } = await createPresignedPost(s3, {
      Bucket: 'e2e-post',
      Key: 'uploads/small.txt',
      Conditions: [
        ['content-length-range', 0, 10],
        ['starts-with', '$key', 'uploads/'],
      ],
      Expires: 600,
    })
    const big = await send(url, fields, 'x'.repeat(1000))
    expect(big.status).toBe(400)
    expect(await big.text()).toContain('<Code>EntityTooLarge</Code>')
    const wrong = await send(url, { ...fields, key: 'elsewhere/small.txt' }, 'x')
    expect(wrong.status).toBe(403)
    expect(await wrong.text()).toContain('<Code>AccessDenied</Code>')
    expect(
      await errorName(
        s3.send(new GetObjectCommand({ Bucket: 'e2e-post', Key: 'elsewhere/small.txt' })),
      ),
    ).toBe('NoSuchKey')
  })

  it('201 with PostResponse and 303 redirect', async () => {
    const p201 = await createPresignedPost(s3, {
      Bucket: 'e2e-post',
      Key: 'r201.txt',
      Fields: { success_action_status: '201' },
      Conditions: [{ success_action_status: '201' }],
      Expires: 600,
    })
    const r = await send(p201.url, p201.fields, 'abc')
    expect(r.status).toBe(201)
    const body = await r.text()
    expect(body).toContain('<Bucket>e2e-post</Bucket>')
    expect(body).toContain('<Key>r201.txt</Key>')
    const p303 = await createPresignedPost(s3, {
      Bucket: 'e2e-post',
      Key: 'r303.txt',
      Fields: { success_action_redirect: 'https://app.example.com/done' },
      Conditions: [{ success_action_redirect: 'https://app.example.com/done' }],
      Expires: 600,
    })
    const red = await send(p303.url, p303.fields, 'abc')
    expect(red.status).toBe(303)
    const loc = new URL(red.headers.get('location') ?? '')
    expect(loc.host).toBe('app.example.com')
    expect(loc.searchParams.get('key')).toBe('r303.txt')
    expect(loc.searchParams.get('bucket')).toBe('e2e-post')
  })
})
