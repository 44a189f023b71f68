/**
 * minio-js (the `minio` npm package, unmodified, only the endpoint changed) against the real
 * server: the brief promises it works, so every call a typical app makes is exercised here,
 * including a multipart upload of a stream of unknown length, presigned URLs and POST policies,
 * and session credentials minted by STS AssumeRole.
 */
import { Readable } from 'node:stream'
import { createHash, randomBytes } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import * as Minio from 'minio'
import { AssumeRoleCommand } from '@aws-sdk/client-sts'
import { startServer, type TestServer } from './harness.js'

let server: TestServer
beforeAll(async () => {
  server = await startServer()
})
afterAll(async () => {
  await server.stop()
})

interface Keys {
  readonly accessKey: string
  readonly secretKey: string
  readonly sessionToken?: string
}

function client(keys?: Keys): Minio.Client {
  const url = new URL(server.endpoint)
  return new Minio.Client({
    endPoint: url.hostname,
    port: server.port,
    useSSL: url.protocol === 'https:',
    accessKey: keys?.accessKey ?? server.accessKeyId,
    secretKey: keys?.secretKey ?? server.secretAccessKey,
    ...(keys?.sessionToken !== undefined ? { sessionToken: keys.sessionToken } : {}),
    pathStyle: true,
    region: 'us-east-1',
    partSize: 5 * 1024 * 1024,
  })
}

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = []
  for await (const chunk of stream) chunks.push(Buffer.from(chunk as Uint8Array))
  return Buffer.concat(chunks)
}

async function listNames(mc: Minio.Client, bucket: string, prefix = ''): Promise<string[]> {
  const names: string[] = []
  for await (const item of mc.listObjectsV2(bucket, prefix, true)) {
    if (item.name !== undefined) names.push(item.name)
  }
  return names
}

/** A stream whose length minio-js cannot know (no size argument, not a Buffer/string). */
function unknownLengthStream(data: Buffer, chunk = 256 * 1024): Readable {
  return Readable.from(
    (function* () {
      for (let i = 0; i < data.length; i += chunk) yield data.subarray(i, i + chunk)
    })(),
  )
}

async function errorCode(p: Promise<unknown>): Promise<string> {
  try {
    await p
  } catch (e) {
    return String((e as { code?: unknown }).code)
  }
  throw new Error('expected the call to fail')
}

describe('minio-js', () => {
  it('buckets and objects: put (string, Buffer, multipart stream), stat, get, range, list', async () => {
    const mc = client()
    expect(await mc.bucketExists('mjs-objects')).toBe(false)
    await mc.makeBucket('mjs-objects', 'us-east-1')
    expect(await mc.bucketExists('mjs-objects')).toBe(true)

    const s = await mc.putObject('mjs-objects', 'dir/hello.txt', 'hello minio', undefined, {
      'Content-Type': 'text/plain',
      'X-Amz-Meta-Color': 'blue',
    })
    expect(s.etag).toBe(createHash('md5').update('hello minio').digest('hex'))
    const buf = randomBytes(4096)
    await mc.putObject('mjs-objects', 'dir/bytes.bin', buf)

    const big = randomBytes(12 * 1024 * 1024 + 123)
    const up = await mc.putObject('mjs-objects', 'big.bin', unknownLengthStream(big))
    expect(up.etag).toMatch(/-3$/) // 5 MiB + 5 MiB + rest: a multipart upload

    const stat = await mc.statObject('mjs-objects', 'dir/hello.txt')
    expect(stat.size).toBe(11)
    expect(stat.metaData['content-type']).toBe('text/plain')
    expect(stat.metaData['color']).toBe('blue')
    expect((await mc.statObject('mjs-objects', 'big.bin')).size).toBe(big.length)

    expect((await readAll(await mc.getObject('mjs-objects', 'dir/hello.txt'))).toString()).toBe(
      'hello minio',
    )
    expect((await readAll(await mc.getObject('mjs-objects', 'dir/bytes.bin'))).equals(buf)).toBe(
      true,
    )
    const back = await readAll(await mc.getObject('mjs-objects', 'big.bin'))
    expect(back.length).toBe(big.length)
    expect(back.equals(big)).toBe(true)
    const part = await readAll(await mc.getPartialObject('mjs-objects', 'big.bin', 5_000_000, 100))
    expect(part.equals(big.subarray(5_000_000, 5_000_100))).toBe(true)
    const tail = await readAll(await mc.getPartialObject('mjs-objects', 'dir/bytes.bin', 4000))
    expect(tail.equals(buf.subarray(4000))).toBe(true)

    expect(await listNames(mc, 'mjs-objects')).toEqual([
      'big.bin',
      'dir/bytes.bin',
      'dir/hello.txt',
    ])
    expect(await listNames(mc, 'mjs-objects', 'dir/')).toEqual(['dir/bytes.bin', 'dir/hello.txt'])
    const shallow: string[] = []
    for await (const item of mc.listObjectsV2('mjs-objects', '', false)) {
      shallow.push(item.name ?? `prefix:${String(item.prefix)}`)
    }
    expect(shallow).toEqual(['big.bin', 'prefix:dir/'])

    expect(await errorCode(mc.statObject('mjs-objects', 'missing'))).toBe('NotFound')
    expect(await errorCode(mc.getObject('mjs-objects', 'missing'))).toBe('NoSuchKey')
  })

  it('copyObject, removeObject, removeObjects, removeBucket', async () => {
    const mc = client()
    await mc.makeBucket('mjs-copy', 'us-east-1')
    await mc.putObject('mjs-copy', 'src.txt', 'copy me')
    const conds = new Minio.CopyConditions()
    conds.setMatchETag(createHash('md5').update('copy me').digest('hex'))
    await mc.copyObject('mjs-copy', 'dst.txt', '/mjs-copy/src.txt', conds)
    expect((await readAll(await mc.getObject('mjs-copy', 'dst.txt'))).toString()).toBe('copy me')
    const bad = new Minio.CopyConditions()
    bad.setMatchETag('0123456789abcdef0123456789abcdef')
    expect(await errorCode(mc.copyObject('mjs-copy', 'x.txt', '/mjs-copy/src.txt', bad))).toBe(
      'PreconditionFailed',
    )
    // The v2 form with CopySourceOptions / CopyDestinationOptions and replaced metadata.
    await mc.copyObject(
      new Minio.CopySourceOptions({ Bucket: 'mjs-copy', Object: 'src.txt' }),
      new Minio.CopyDestinationOptions({
        Bucket: 'mjs-copy',
        Object: 'dst2.txt',
        MetadataDirective: 'REPLACE',
        UserMetadata: { Shade: 'green' },
      }),
    )
    expect((await mc.statObject('mjs-copy', 'dst2.txt')).metaData['shade']).toBe('green')

    await mc.removeObject('mjs-copy', 'src.txt')
    expect(await errorCode(mc.statObject('mjs-copy', 'src.txt'))).toBe('NotFound')
    expect(await errorCode(mc.removeBucket('mjs-copy'))).toBe('BucketNotEmpty')
    await mc.removeObjects('mjs-copy', ['dst.txt', 'dst2.txt', 'never-existed'])
    expect(await listNames(mc, 'mjs-copy')).toEqual([])
    await mc.removeBucket('mjs-copy')
    expect(await mc.bucketExists('mjs-copy')).toBe(false)
  })

  it('presigned GET, PUT and POST policy, used with plain fetch', async () => {
    const mc = client()
    await mc.makeBucket('mjs-presign', 'us-east-1')
    await mc.putObject('mjs-presign', 'doc.txt', 'presigned body')

    const getUrl = await mc.presignedGetObject('mjs-presign', 'doc.txt', 300)
    let res = await fetch(getUrl)
    expect(res.status).toBe(200)
    expect(await res.text()).toBe('presigned body')
    // Tampering with the signed URL is refused.
    res = await fetch(getUrl.replace('doc.txt', 'other.txt'))
    expect(res.status).toBe(403)
    expect(await res.text()).toContain('SignatureDoesNotMatch')

    const putUrl = await mc.presignedPutObject('mjs-presign', 'put.txt', 300)
    res = await fetch(putUrl, { method: 'PUT', body: 'via presigned put' })
    expect(res.status).toBe(200)
    expect((await readAll(await mc.getObject('mjs-presign', 'put.txt'))).toString()).toBe(
      'via presigned put',
    )

    const policy = mc.newPostPolicy()
    policy.setBucket('mjs-presign')
    policy.setKey('posted.txt')
    policy.setExpires(new Date(Date.now() + 5 * 60_000))
    policy.setContentType('text/plain')
    policy.setContentLengthRange(1, 1024)
    const post = await mc.presignedPostPolicy(policy)
    const form = (body: string, type = 'text/plain'): FormData => {
      const fd = new FormData()
      for (const [k, v] of Object.entries(post.formData)) fd.append(k, String(v))
      fd.append('file', new Blob([body], { type }), 'posted.txt')
      return fd
    }
    res = await fetch(post.postURL, { method: 'POST', body: form('posted via form') })
    expect(res.status, await res.clone().text()).toBeLessThan(300)
    expect((await readAll(await mc.getObject('mjs-presign', 'posted.txt'))).toString()).toBe(
      'posted via form',
    )
    // Violating the policy (too large) is refused and writes nothing new.
    res = await fetch(post.postURL, { method: 'POST', body: form('x'.repeat(2048)) })
    expect(res.status).toBe(400)
    expect(await res.text()).toContain('EntityTooLarge')
    expect((await readAll(await mc.getObject('mjs-presign', 'posted.txt'))).toString()).toBe(
      'posted via form',
    )
  })

  it('bucket policy and bucket tagging', async () => {
    const mc = client()
    await mc.makeBucket('mjs-meta', 'us-east-1')
    await mc.putObject('mjs-meta', 'public/readme.txt', 'anyone may read')
    await mc.putObject('mjs-meta', 'private.txt', 'not you')
    const base = `${server.endpoint}/mjs-meta`
    expect((await fetch(`${base}/public/readme.txt`)).status).toBe(403)

    const doc = {
      Version: '2012-10-17',
      Statement: [
        {
          Effect: 'Allow',
          Principal: { AWS: ['*'] },
          Action: ['s3:GetObject'],
          Resource: ['arn:aws:s3:::mjs-meta/public/*'],
        },
      ],
    }
    await mc.setBucketPolicy('mjs-meta', JSON.stringify(doc))
    const stored = JSON.parse(await mc.getBucketPolicy('mjs-meta')) as typeof doc
    expect(stored.Statement[0]?.Resource).toEqual(['arn:aws:s3:::mjs-meta/public/*'])
    const anon = await fetch(`${base}/public/readme.txt`)
    expect(anon.status).toBe(200)
    expect(await anon.text()).toBe('anyone may read')
    expect((await fetch(`${base}/private.txt`)).status).toBe(403)
    await mc.setBucketPolicy('mjs-meta', '') // minio-js deletes the policy on ''
    expect(await errorCode(mc.getBucketPolicy('mjs-meta'))).toBe('NoSuchBucketPolicy')
    expect((await fetch(`${base}/public/readme.txt`)).status).toBe(403)

    await mc.setBucketTagging('mjs-meta', { team: 'storage', env: 'test' })
    const tags = await mc.getBucketTagging('mjs-meta')
    const asMap = Object.fromEntries(tags.map((t) => [t.Key, t.Value]))
    expect(asMap).toEqual({ team: 'storage', env: 'test' })
    await mc.removeBucketTagging('mjs-meta')
    expect(await errorCode(mc.getBucketTagging('mjs-meta'))).toBe('NoSuchTagSet') // as AWS and MinIO
  })

  it('session credentials from STS AssumeRole (sessionToken option), scoped by the session policy', async () => {
    const mc = client()
    await mc.makeBucket('mjs-session', 'us-east-1')
    await mc.makeBucket('mjs-elsewhere', 'us-east-1')
    await mc.putObject('mjs-elsewhere', 'secret.txt', 'hidden')
    const policy = {
      Version: '2012-10-17',
      Statement: [
        {
          Effect: 'Allow',
          Action: [
            's3:PutObject',
            's3:GetObject',
            's3:ListBucket',
            's3:ListBucketMultipartUploads', // minio-js looks for an upload to resume first
            's3:AbortMultipartUpload',
          ],
          Resource: ['arn:aws:s3:::mjs-session', 'arn:aws:s3:::mjs-session/*'],
        },
      ],
    }
    const out = await server.sts().send(
      new AssumeRoleCommand({
        RoleSessionName: 'minio-js',
        DurationSeconds: 900,
        Policy: JSON.stringify(policy),
      } as never),
    )
    const c = out.Credentials
    expect(c?.SessionToken).toBeTruthy()
    const session = client({
      accessKey: c?.AccessKeyId ?? '',
      secretKey: c?.SecretAccessKey ?? '',
      sessionToken: c?.SessionToken ?? '',
    })
    await session.putObject('mjs-session', 'from-session.txt', 'session write')
    const big = randomBytes(6 * 1024 * 1024)
    const up = await session.putObject('mjs-session', 'big.bin', unknownLengthStream(big))
    expect(up.etag).toMatch(/-2$/)
    expect((await readAll(await session.getObject('mjs-session', 'big.bin'))).equals(big)).toBe(
      true,
    )
    expect(await listNames(session, 'mjs-session')).toEqual(['big.bin', 'from-session.txt'])
    expect(await errorCode(session.getObject('mjs-elsewhere', 'secret.txt'))).toBe('AccessDenied')
    expect(await errorCode(session.removeObject('mjs-session', 'from-session.txt'))).toBe(
      'AccessDenied',
    )
    // Without the token the session key is unknown.
    const noToken = client({ accessKey: c?.AccessKeyId ?? '', secretKey: c?.SecretAccessKey ?? '' })
    expect(await errorCode(noToken.getObject('mjs-session', 'big.bin'))).toMatch(
      /InvalidAccessKeyId|InvalidToken|AccessDenied/,
    )
  })
})
