/**
 * Server paths that look like buckets (/health, /api/admin/…, and the names of surfaces to come):
 * a bucket may not be created under those names, and a request carrying S3 authentication always
 * reaches S3 and gets S3's XML, never the health check's or the admin API's JSON. Unsigned health
 * checks and the admin API (Bearer tokens) keep working.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest'
import {
  CreateBucketCommand,
  GetObjectCommand,
  HeadBucketCommand,
  ListObjectsV2Command,
  S3ServiceException,
} from '@aws-sdk/client-s3'
import { getSignedUrl } from '@aws-sdk/s3-request-presigner'
import { startServer, type TestServer } from './harness.js'
import { adminLogin } from './admin-client.js'

async function failure(p: Promise<unknown>): Promise<{ name: string; message: string }> {
  try {
    await p
    return { name: 'OK', message: '' }
  } catch (e) {
    return e instanceof S3ServiceException
      ? { name: e.name, message: e.message }
      : { name: `not an S3 error: ${String(e)}`, message: '' }
  }
}

let server: TestServer
beforeAll(async () => {
  server = await startServer()
})
afterAll(async () => {
  await server.stop()
})

describe('server paths vs buckets', () => {
  it('REGRESSION reserved-bucket-names: CreateBucket health, api (and ready, metrics, console) → InvalidBucketName saying the name is reserved', async () => {
    for (const Bucket of ['health', 'api', 'ready', 'metrics', 'console']) {
      const f = await failure(server.s3().send(new CreateBucketCommand({ Bucket })))
      expect(f.name, Bucket).toBe('InvalidBucketName')
      expect(f.message).toMatch(/reserved/)
    }
    // Names that only contain them are ordinary.
    expect(
      (await failure(server.s3().send(new CreateBucketCommand({ Bucket: 'api-docs' })))).name,
    ).toBe('OK')
  })

  it('REGRESSION signed-requests-route-to-s3: a signed request on /health or /api/admin/… gets S3 XML, never JSON', async () => {
    const s3 = server.s3()
    // GET /health?list-type=2 and HEAD /health, signed with SigV4 in the header.
    expect((await failure(s3.send(new ListObjectsV2Command({ Bucket: 'health' })))).name).toBe(
      'NoSuchBucket',
    )
    expect((await failure(s3.send(new HeadBucketCommand({ Bucket: 'health' })))).name).toBe(
      'NotFound',
    )
    // GET /api/admin/users, signed.
    expect(
      (await failure(s3.send(new GetObjectCommand({ Bucket: 'api', Key: 'admin/users' })))).name,
    ).toBe('NoSuchBucket')

    // Presigned (X-Amz-Signature in the query) on the admin API's path.
    const url = await getSignedUrl(s3, new GetObjectCommand({ Bucket: 'api', Key: 'admin/users' }))
    const pre = await fetch(url)
    expect(pre.headers.get('content-type')).toMatch(/xml/)
    expect(await pre.text()).toContain('<Code>NoSuchBucket</Code>')

    // SigV2 header on /health, and a browser POST upload form on the admin login route.
    const v2 = await fetch(`${server.endpoint}/health`, {
      headers: { authorization: `AWS ${server.accessKeyId}:bm90LWEtc2lnbmF0dXJl` },
    })
    expect(v2.headers.get('content-type')).toMatch(/xml/)
    expect(await v2.text()).toMatch(/<Error><Code>/)
    const form = new FormData()
    form.set('key', 'x')
    form.set('file', new Blob(['x']))
    const post = await fetch(`${server.endpoint}/api/admin/login`, { method: 'POST', body: form })
    expect(post.headers.get('content-type')).toMatch(/xml/)
    expect(await post.text()).toMatch(/<Error><Code>/)
  })

  it('unsigned GET /health and the admin API still answer', async () => {
    const h = await fetch(`${server.endpoint}/health`)
    expect(h.status).toBe(200)
    expect(await h.json()).toEqual({ status: 'ok' })
    const admin = await adminLogin(server)
    const users = await admin.call('GET', '/api/admin/users')
    expect(users.status).toBe(200)
    expect(users.headers.get('content-type')).toMatch(/json/)
  })
})
