/**
 * Virtual-hosted-style addressing (`--domain`): the unmodified AWS SDK with forcePathStyle off
 * sends `Host: bucket.<domain>:port` and signs that host. The made-up domain resolves nowhere, so
 * the client's HTTP agent connects every name to 127.0.0.1 while keeping the Host header the SDK
 * chose. Path-style keeps working on the same server, and both see the same buckets.
 */
import { Agent, request, type IncomingMessage } from 'node:http'
import type { LookupFunction } from 'node:net'
import { randomBytes } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  CreateBucketCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadBucketCommand,
  ListBucketsCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3'
import { Upload } from '@aws-sdk/lib-storage'
import { getSignedUrl } from '@aws-sdk/s3-request-presigner'
import { startServer, type TestServer } from './harness.js'

const DOMAIN = 's3.latchkey.test'

/** Every host name → loopback; the Host header stays what the client asked for. */
const toLoopback: LookupFunction = (_host, opts, cb) => {
  if (opts.all === true) cb(null, [{ address: '127.0.0.1', family: 4 }])
  else cb(null, '127.0.0.1', 4)
}
const agent = new Agent({ keepAlive: true, lookup: toLoopback })

let server: TestServer
let vhost: S3Client
beforeAll(async () => {
  server = await startServer({ tls: false, args: ['--domain', DOMAIN] })
  vhost = new S3Client({
    endpoint: `http://${DOMAIN}:${server.port}`,
    region: 'us-east-1',
    forcePathStyle: false,
    credentials: { accessKeyId: server.accessKeyId, secretAccessKey: server.secretAccessKey },
    requestHandler: { httpAgent: agent },
  })
})
afterAll(async () => {
  vhost.destroy()
  agent.destroy()
  await server.stop()
})

interface Got {
  readonly status: number
  readonly body: string
  readonly host: string | undefined
}

/** GET a URL through the loopback agent; returns status, body and the Host header sent. */
function get(url: string, headers: Record<string, string> = {}): Promise<Got> {
  return new Promise((resolve, reject) => {
    const req = request(url, { agent, headers }, (res: IncomingMessage) => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          body: Buffer.concat(chunks).toString('utf8'),
          host: req.getHeader('host')?.toString(),
        }),
      )
      res.on('error', reject)
    })
    req.on('error', reject)
    req.end()
  })
}

/** Records the Host header of every request the client sends. */
function hostsSeenBy(client: S3Client): string[] {
  const hosts: string[] = []
  client.middlewareStack.add(
    (next) => async (args) => {
      const r = args.request as { headers?: Record<string, string>; hostname?: string }
      hosts.push(r.headers?.['host'] ?? r.hostname ?? '')
      return next(args)
    },
    { step: 'finalizeRequest', name: 'recordHost', priority: 'low' },
  )
  return hosts
}

describe('virtual-hosted-style addressing (--domain)', () => {
  it('CreateBucket, PutObject, GetObject, ListObjectsV2, multipart via bucket.<domain>', async () => {
    const hosts = hostsSeenBy(vhost)
    await vhost.send(new CreateBucketCommand({ Bucket: 'vh-bucket' }))
    await vhost.send(new HeadBucketCommand({ Bucket: 'vh-bucket' }))
    await vhost.send(
      new PutObjectCommand({
        Bucket: 'vh-bucket',
        Key: 'dir/a key+with%chars.txt',
        Body: 'virtual hello',
        ContentType: 'text/plain',
        Metadata: { origin: 'vhost' },
      }),
    )
    await vhost.send(new PutObjectCommand({ Bucket: 'vh-bucket', Key: 'top.txt', Body: 'top' }))
    const got = await vhost.send(
      new GetObjectCommand({ Bucket: 'vh-bucket', Key: 'dir/a key+with%chars.txt' }),
    )
    expect(await got.Body?.transformToString()).toBe('virtual hello')
    expect(got.Metadata).toEqual({ origin: 'vhost' })
    const ranged = await vhost.send(
      new GetObjectCommand({ Bucket: 'vh-bucket', Key: 'top.txt', Range: 'bytes=1-2' }),
    )
    expect(await ranged.Body?.transformToString()).toBe('op')

    const big = randomBytes(11 * 1024 * 1024)
    const up = new Upload({
      client: vhost,
      params: { Bucket: 'vh-bucket', Key: 'big.bin', Body: big },
      partSize: 5 * 1024 * 1024,
    })
    const done = await up.done()
    expect(done.ETag).toMatch(/-3"$/)

    const listed = await vhost.send(new ListObjectsV2Command({ Bucket: 'vh-bucket' }))
    expect(listed.Contents?.map((o) => o.Key)).toEqual([
      'big.bin',
      'dir/a key+with%chars.txt',
      'top.txt',
    ])
    const shallow = await vhost.send(
      new ListObjectsV2Command({ Bucket: 'vh-bucket', Delimiter: '/' }),
    )
    expect(shallow.CommonPrefixes?.map((p) => p.Prefix)).toEqual(['dir/'])
    expect(shallow.Contents?.map((o) => o.Key)).toEqual(['big.bin', 'top.txt'])
    const back = await vhost.send(new GetObjectCommand({ Bucket: 'vh-bucket', Key: 'big.bin' }))
    expect(Buffer.from(await (back.Body?.transformToByteArray() ?? [])).equals(big)).toBe(true)

    // The SDK really addressed the bucket through the host name, never through the path.
    const port = String(server.port)
    expect(hosts.length).toBeGreaterThan(5)
    expect(hosts.every((h) => h === `vh-bucket.${DOMAIN}:${port}`)).toBe(true)

    // ListBuckets goes to the bare domain.
    const buckets = await vhost.send(new ListBucketsCommand({}))
    expect(buckets.Buckets?.map((b) => b.Name)).toContain('vh-bucket')
    expect(hosts.at(-1)).toBe(`${DOMAIN}:${port}`)
  }, 60_000)

  it('a presigned GET on bucket.<domain>, and a tampered one is refused', async () => {
    await vhost.send(new PutObjectCommand({ Bucket: 'vh-bucket', Key: 'signed.txt', Body: 'psst' }))
    const url = await getSignedUrl(
      vhost,
      new GetObjectCommand({ Bucket: 'vh-bucket', Key: 'signed.txt' }),
      { expiresIn: 300 },
    )
    expect(new URL(url).host).toBe(`vh-bucket.${DOMAIN}:${String(server.port)}`)
    const ok = await get(url)
    expect(ok.status, ok.body).toBe(200)
    expect(ok.body).toBe('psst')
    expect(ok.host).toBe(`vh-bucket.${DOMAIN}:${String(server.port)}`)
    // The host is part of what was signed: the same URL sent path-style to another host fails.
    const u = new URL(url)
    const moved = await get(
      `http://127.0.0.1:${String(server.port)}/vh-bucket${u.pathname}${u.search}`,
    )
    expect(moved.status).toBe(403)
    expect(moved.body).toContain('SignatureDoesNotMatch')
    // Another bucket's host with the same signature is refused too.
    const other = await get(url, { host: `other-bucket.${DOMAIN}:${String(server.port)}` })
    expect(other.status).toBe(403)
  })

  it('path-style keeps working on the same server and sees the same data', async () => {
    const path = server.s3() // forcePathStyle: true, endpoint http://127.0.0.1:port
    const got = await path.send(new GetObjectCommand({ Bucket: 'vh-bucket', Key: 'top.txt' }))
    expect(await got.Body?.transformToString()).toBe('top')
    await path.send(new CreateBucketCommand({ Bucket: 'ps-bucket' }))
    await path.send(new PutObjectCommand({ Bucket: 'ps-bucket', Key: 'p.txt', Body: 'path' }))
    const viaHost = await vhost.send(new GetObjectCommand({ Bucket: 'ps-bucket', Key: 'p.txt' }))
    expect(await viaHost.Body?.transformToString()).toBe('path')
    await vhost.send(new DeleteObjectCommand({ Bucket: 'ps-bucket', Key: 'p.txt' }))
    const after = await path.send(new ListObjectsV2Command({ Bucket: 'ps-bucket' }))
    expect(after.KeyCount).toBe(0)
    // A host outside the domain (an IP, here) is path-style: the first path segment is the bucket.
    const anon = await get(`http://127.0.0.1:${String(server.port)}/vh-bucket/top.txt`)
    expect(anon.status).toBe(403)
    expect(anon.body).toContain('<Code>AccessDenied</Code>')
    const missing = await get(`http://nope-bucket.${DOMAIN}:${String(server.port)}/x`)
    expect(missing.status).toBe(404)
    expect(missing.body).toContain('<Code>NoSuchBucket</Code>')
  })
})
