/**
 * Upload caps on temporary credentials, end to end with the AWS SDK: AssumeRole with session tags
 * (`latchkey:max-bytes`, `latchkey:max-objects`, `latchkey:max-object-size`,
 * `latchkey:content-types`), then S3 writes with the session: single PUT within and over each cap,
 * multipart crossing max-bytes at a later part and counting the object at Complete, a browser POST
 * over the size cap, a cap crossed mid-stream by an unsigned streaming body (nothing stored, no
 * orphan blob), chained sessions that can only tighten, aws:PrincipalTag in a bucket policy and a
 * session policy, and the caps with their usage in GET /api/admin/sessions.
 */
import { existsSync, readdirSync, statSync } from 'node:fs'
import { request } from 'node:http'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  DeleteBucketPolicyCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutBucketPolicyCommand,
  PutObjectCommand,
  UploadPartCommand,
  type S3Client,
} from '@aws-sdk/client-s3'
import { AssumeRoleCommand } from '@aws-sdk/client-sts'
import { createPresignedPost } from '@aws-sdk/s3-presigned-post'
import { sessionKeys, startServer, type TestServer } from './harness.js'
import { adminLogin } from './admin-client.js'
import { signHeaders, type Creds } from './raw-client.js'

const BUCKET = 'caps'
let server: TestServer
let root: S3Client

/** AssumeRole with `tags` (and optional extras) as the seeds call it: the master key, no role. */
async function assume(
  tags: Record<string, string>,
  opts: { from?: Creds; policy?: unknown; transitive?: string[] } = {},
): Promise<Creds & { sessionToken: string }> {
  const out = await server.sts(opts.from).send(
    new AssumeRoleCommand({
      RoleArn: 'arn:xxx:xxx:xxx:xxxx',
      RoleSessionName: 'upload',
      DurationSeconds: 900,
      Tags: Object.entries(tags).map(([Key, Value]) => ({ Key, Value })),
      ...(opts.transitive !== undefined ? { TransitiveTagKeys: opts.transitive } : {}),
      ...(opts.policy !== undefined ? { Policy: JSON.stringify(opts.policy) } : {}),
    }),
  )
  return sessionKeys(out.Credentials)
}

async function failure(p: Promise<unknown>): Promise<{ name: string; message: string }> {
  try {
    await p
  } catch (e) {
    const err = e as { name?: string; Code?: string; message?: string }
    return { name: err.Code ?? err.name ?? '?', message: err.message ?? '' }
  }
  throw new Error('expected a failure')
}

function put(c: S3Client, key: string, size: number, contentType = 'image/png'): Promise<unknown> {
  return c.send(
    new PutObjectCommand({
      Bucket: BUCKET,
      Key: key,
      Body: Buffer.alloc(size, 7),
      ContentType: contentType,
    }),
  )
}

async function keysUnder(prefix: string): Promise<string[]> {
  const out = await root.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: prefix }))
  return (out.Contents ?? []).map((o) => o.Key ?? '')
}

/** Every stored blob file (the blob store's directory), for "no orphan body" checks. */
function blobFiles(): string[] {
  const out: string[] = []
  const walk = (d: string): void => {
    if (!existsSync(d)) return
    for (const n of readdirSync(d)) {
      const p = join(d, n)
      if (statSync(p).isDirectory()) walk(p)
      else out.push(p)
    }
  }
  walk(join(server.dataDir, 'objects'))
  return out
}

beforeAll(async () => {
  server = await startServer()
  root = server.s3()
  await root.send(new CreateBucketCommand({ Bucket: BUCKET }))
})

afterAll(async () => {
  await server?.stop()
})

describe('AssumeRole session tags', () => {
  it('a bad cap value is an STS ValidationError naming the tag; nothing is issued', async () => {
    for (const [k, v] of [
      ['latchkey:max-bytes', '10MB'],
      ['latchkey:max-objects', '-1'],
      ['latchkey:max-object-size', '1e6'],
      ['latchkey:content-types', 'image'],
      ['latchkey:max-size', '5'],
    ] as const) {
      const e = await failure(assume({ [k]: v }))
      expect(e.name).toBe('ValidationError')
      expect(e.message).toContain(k)
    }
  })

  it('AWS tag limits: 51 tags, a 129-character key, duplicate keys are ValidationError', async () => {
    const many: Record<string, string> = {}
    for (let i = 0; i < 51; i++) many[`k${i}`] = 'v'
    expect((await failure(assume(many))).name).toBe('ValidationError')
    expect((await failure(assume({ ['k'.repeat(129)]: 'v' }))).name).toBe('ValidationError')
    expect((await failure(assume({ Team: 'a', team: 'b' }))).message).toMatch(/Duplicate/)
  })
})

describe('single PUT within and over each cap', () => {
  it('max-object-size: within stores; over is EntityTooLarge naming the cap, nothing stored', async () => {
    const s = server.s3(await assume({ 'latchkey:max-object-size': '1000' }))
    await put(s, 'size/ok', 1000)
    const e = await failure(put(s, 'size/big', 1001))
    expect(e.name).toBe('EntityTooLarge')
    expect(e.message).toContain('latchkey:max-object-size')
    expect(await keysUnder('size/')).toEqual(['size/ok'])
  })

  it('content-types: image/* allows image/png; text/plain is AccessDenied naming the cap', async () => {
    const s = server.s3(await assume({ 'latchkey:content-types': 'image/*,application/pdf' }))
    await put(s, 'type/ok.png', 10, 'image/png')
    await put(s, 'type/ok.pdf', 10, 'application/pdf')
    const e = await failure(put(s, 'type/no.txt', 10, 'text/plain'))
    expect(e.name).toBe('AccessDenied')
    expect(e.message).toContain('latchkey:content-types')
    expect(await keysUnder('type/')).toEqual(['type/ok.pdf', 'type/ok.png'])
  })

  it('max-objects: two objects, the third is AccessDenied naming the cap', async () => {
    const s = server.s3(await assume({ 'latchkey:max-objects': '2' }))
    await put(s, 'objs/1', 10)
    await put(s, 'objs/2', 10)
    const e = await failure(put(s, 'objs/3', 10))
    expect(e.name).toBe('AccessDenied')
    expect(e.message).toContain('latchkey:max-objects')
    expect(await keysUnder('objs/')).toEqual(['objs/1', 'objs/2'])
  })

  it('max-bytes: totals across PUTs; a PUT that would cross is AccessDenied naming the cap', async () => {
    const s = server.s3(await assume({ 'latchkey:max-bytes': '1000' }))
    await put(s, 'bytes/1', 600)
    const e = await failure(put(s, 'bytes/2', 600))
    expect(e.name).toBe('AccessDenied')
    expect(e.message).toContain('latchkey:max-bytes')
    await put(s, 'bytes/3', 400) // exactly the rest
    expect((await failure(put(s, 'bytes/4', 1))).message).toContain('latchkey:max-bytes')
    expect(await keysUnder('bytes/')).toEqual(['bytes/1', 'bytes/3'])
  })

  it('CopyObject counts as a write of the copy (bytes, object, type)', async () => {
    await put(root, 'copy/src.txt', 800, 'text/plain')
    const s = server.s3(
      await assume({ 'latchkey:max-bytes': '1000', 'latchkey:content-types': 'image/*' }),
    )
    const typed = await failure(
      s.send(
        new CopyObjectCommand({
          Bucket: BUCKET,
          Key: 'copy/dst.txt',
          CopySource: `${BUCKET}/copy/src.txt`,
        }),
      ),
    )
    expect(typed.message).toContain('latchkey:content-types')
    await s.send(
      new CopyObjectCommand({
        Bucket: BUCKET,
        Key: 'copy/dst.png',
        CopySource: `${BUCKET}/copy/src.txt`,
        MetadataDirective: 'REPLACE',
        ContentType: 'image/png',
      }),
    )
    const over = await failure(
      s.send(
        new CopyObjectCommand({
          Bucket: BUCKET,
          Key: 'copy/dst2.png',
          CopySource: `${BUCKET}/copy/src.txt`,
          MetadataDirective: 'REPLACE',
          ContentType: 'image/png',
        }),
      ),
    )
    expect(over.message).toContain('latchkey:max-bytes')
    expect(await keysUnder('copy/dst')).toEqual(['copy/dst.png'])
  })
})

describe('multipart', () => {
  it('bytes count as parts are written: a later part crossing max-bytes is refused; the object counts at Complete', async () => {
    const s = server.s3(await assume({ 'latchkey:max-bytes': '2500', 'latchkey:max-objects': '1' }))
    const up = await s.send(
      new CreateMultipartUploadCommand({ Bucket: BUCKET, Key: 'mp/a', ContentType: 'image/png' }),
    )
    const part = (n: number, size: number): Promise<unknown> =>
      s.send(
        new UploadPartCommand({
          Bucket: BUCKET,
          Key: 'mp/a',
          UploadId: up.UploadId,
          PartNumber: n,
          Body: Buffer.alloc(size, n),
        }),
      )
    await part(1, 1000)
    await part(2, 1000)
    const e = await failure(part(3, 1000))
    expect(e.name).toBe('AccessDenied')
    expect(e.message).toContain('latchkey:max-bytes')
    // A single-part upload (the last part may be small) completes and counts as the one object.
    const one = await s.send(
      new CreateMultipartUploadCommand({ Bucket: BUCKET, Key: 'mp/b', ContentType: 'image/png' }),
    )
    const p1 = await s.send(
      new UploadPartCommand({
        Bucket: BUCKET,
        Key: 'mp/b',
        UploadId: one.UploadId,
        PartNumber: 1,
        Body: Buffer.alloc(400, 1),
      }),
    )
    await s.send(
      new CompleteMultipartUploadCommand({
        Bucket: BUCKET,
        Key: 'mp/b',
        UploadId: one.UploadId,
        MultipartUpload: { Parts: [{ PartNumber: 1, ETag: p1.ETag }] },
      }),
    )
    // max-objects 1 is used: the next object (a PUT of 0 bytes) is refused.
    expect((await failure(put(s, 'mp/c', 0))).message).toContain('latchkey:max-objects')
    expect(await keysUnder('mp/')).toEqual(['mp/b'])
  })

  it('content-types refuses CreateMultipartUpload of another type', async () => {
    const s = server.s3(await assume({ 'latchkey:content-types': 'image/*' }))
    const e = await failure(
      s.send(
        new CreateMultipartUploadCommand({ Bucket: BUCKET, Key: 'mp/t', ContentType: 'text/html' }),
      ),
    )
    expect(e.message).toContain('latchkey:content-types')
  })
})

describe('browser POST upload', () => {
  it('over the session size cap: EntityTooLarge naming the cap, nothing stored', async () => {
    const creds = await assume({ 'latchkey:max-object-size': '100000' })
    const s = server.s3(creds)
    const form = async (key: string, size: number): Promise<Response> => {
      const { url, fields } = await createPresignedPost(s, {
        Bucket: BUCKET,
        Key: key,
        Expires: 600,
        Fields: { 'Content-Type': 'image/png' },
      })
      const fd = new FormData()
      for (const [k, v] of Object.entries(fields)) fd.append(k, v)
      fd.append('file', new Blob([Buffer.alloc(size, 1)]), 'f.png')
      return fetch(url, { method: 'POST', body: fd })
    }
    const ok = await form('post/ok', 1000)
    expect(ok.status, await ok.text()).toBe(204)
    const r = await form('post/big', 300_000)
    const body = await r.text()
    expect(r.status).toBe(400)
    expect(body).toContain('<Code>EntityTooLarge</Code>')
    expect(body).toContain('latchkey:max-object-size')
    expect(await keysUnder('post/')).toEqual(['post/ok'])
  })

  it('a file crossing max-bytes mid-stream: AccessDenied naming the cap, nothing stored, no orphan blob', async () => {
    const creds = await assume({ 'latchkey:max-bytes': '150000' })
    const { url, fields } = await createPresignedPost(server.s3(creds), {
      Bucket: BUCKET,
      Key: 'post2/big',
      Expires: 600,
    })
    const fd = new FormData()
    for (const [k, v] of Object.entries(fields)) fd.append(k, v)
    fd.append('file', new Blob([Buffer.alloc(3 * 1024 * 1024, 1)]), 'f.bin')
    const before = blobFiles()
    const r = await fetch(url, { method: 'POST', body: fd })
    const body = await r.text()
    expect(r.status).toBe(403)
    expect(body).toContain('latchkey:max-bytes')
    expect(await keysUnder('post2/')).toEqual([])
    expect(blobFiles().sort()).toEqual(before.sort())
  })
})

/** PUT with an unsigned body of unknown length (Transfer-Encoding: chunked), `total` bytes. */
async function streamingPut(
  creds: Creds,
  key: string,
  total: number,
): Promise<{ status: number; body: string }> {
  const path = `/${BUCKET}/${key}`
  const headers = await signHeaders(
    server,
    {
      method: 'PUT',
      path,
      headers: { 'transfer-encoding': 'chunked', 'content-type': 'image/png' },
    },
    creds,
  )
  const url = new URL(server.endpoint)
  return new Promise((resolve, reject) => {
    const req = request(
      { host: url.hostname, port: Number(url.port), method: 'PUT', path, headers },
      (res) => {
        let body = ''
        res.setEncoding('utf8')
        res.on('data', (c: string) => (body += c))
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }))
      },
    )
    req.on('error', reject)
    let sent = 0
    const chunk = Buffer.alloc(64 * 1024, 3)
    const pump = (): void => {
      while (sent < total) {
        sent += chunk.length
        if (!req.write(chunk)) {
          req.once('drain', pump)
          return
        }
      }
      req.end()
    }
    pump()
  })
}

describe('a cap crossed mid-stream', () => {
  it('an unsigned streaming body crossing max-bytes is cut: AccessDenied, nothing listed, no orphan blob, the budget given back', async () => {
    const creds = await assume({ 'latchkey:max-bytes': String(2 * 1024 * 1024) })
    const before = blobFiles()
    const r = await streamingPut(creds, 'stream/big', 6 * 1024 * 1024)
    expect(r.status).toBe(403)
    expect(r.body).toContain('<Code>AccessDenied</Code>')
    expect(r.body).toContain('latchkey:max-bytes')
    expect(await keysUnder('stream/')).toEqual([])
    expect(blobFiles().sort()).toEqual(before.sort())
    // The cut upload's reservation was released: the whole budget is still there.
    const ok = await streamingPut(creds, 'stream/fits', 2 * 1024 * 1024)
    expect(ok.status).toBe(200)
    expect(await keysUnder('stream/')).toEqual(['stream/fits'])
  })

  it('an unsigned streaming body crossing max-object-size is EntityTooLarge, nothing stored', async () => {
    const creds = await assume({ 'latchkey:max-object-size': String(1024 * 1024) })
    const before = blobFiles()
    const r = await streamingPut(creds, 'stream2/big', 3 * 1024 * 1024)
    expect(r.status).toBe(400)
    expect(r.body).toContain('<Code>EntityTooLarge</Code>')
    expect(r.body).toContain('latchkey:max-object-size')
    expect(await keysUnder('stream2/')).toEqual([])
    expect(blobFiles().sort()).toEqual(before.sort())
  })
})

describe('role chaining', () => {
  it('a chained session inherits the caps, can tighten them and cannot loosen them; the chain shares one total', async () => {
    const parent = await assume({
      'latchkey:max-bytes': '1000',
      'latchkey:content-types': 'image/*',
    })
    const child = await assume(
      { 'latchkey:max-bytes': '999999', 'latchkey:content-types': 'image/png,text/plain' },
      { from: parent },
    )
    const c = server.s3(child)
    expect((await failure(put(c, 'chain/a.txt', 10, 'text/plain'))).message).toContain(
      'latchkey:content-types',
    )
    expect((await failure(put(c, 'chain/a.gif', 10, 'image/gif'))).message).toContain(
      'latchkey:content-types',
    )
    expect((await failure(put(c, 'chain/big.png', 1001))).message).toContain('latchkey:max-bytes')
    await put(c, 'chain/1.png', 600)
    // The parent and the child count into one total.
    expect((await failure(put(server.s3(parent), 'chain/2.png', 600))).message).toContain(
      'latchkey:max-bytes',
    )
    // Tightening works.
    const tight = server.s3(await assume({ 'latchkey:max-object-size': '100' }, { from: parent }))
    expect((await failure(put(tight, 'chain/3.png', 101))).name).toBe('EntityTooLarge')
    // An intersection that allows nothing is refused at issuance.
    const e = await failure(assume({ 'latchkey:content-types': 'text/plain' }, { from: parent }))
    expect(e.name).toBe('ValidationError')
    expect(e.message).toContain('latchkey:content-types')
    // Transitive tags cannot be overridden down the chain (AWS's rule).
    const tagged = await assume({ team: 'web' }, { transitive: ['team'] })
    expect((await failure(assume({ team: 'ops' }, { from: tagged }))).name).toBe('ValidationError')
  })
})

describe('aws:PrincipalTag', () => {
  it('in a bucket policy condition and as a session-policy variable', async () => {
    await root.send(
      new PutBucketPolicyCommand({
        Bucket: BUCKET,
        Policy: JSON.stringify({
          Version: '2012-10-17',
          Statement: [
            {
              Effect: 'Deny',
              Principal: '*',
              Action: 's3:PutObject',
              Resource: `arn:aws:s3:::${BUCKET}/web-only/*`,
              Condition: { StringNotEquals: { 'aws:PrincipalTag/team': 'web' } },
            },
          ],
        }),
      }),
    )
    try {
      const web = server.s3(await assume({ Team: 'web' }))
      const ops = server.s3(await assume({ team: 'ops' }))
      await put(web, 'web-only/x', 5)
      expect((await failure(put(ops, 'web-only/y', 5))).name).toBe('AccessDenied')
    } finally {
      await root.send(new DeleteBucketPolicyCommand({ Bucket: BUCKET }))
    }
    // A session policy scoped by ${aws:PrincipalTag/team}.
    const scoped = server.s3(
      await assume(
        { team: 'blue' },
        {
          policy: {
            Version: '2012-10-17',
            Statement: [
              {
                Effect: 'Allow',
                Action: ['s3:PutObject', 's3:GetObject'],
                Resource: `arn:aws:s3:::${BUCKET}/\${aws:PrincipalTag/team}/*`,
              },
            ],
          },
        },
      ),
    )
    await put(scoped, 'blue/ok', 5)
    expect((await failure(put(scoped, 'red/no', 5))).name).toBe('AccessDenied')
    await scoped.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'blue/ok' }))
  })
})

describe('admin listing', () => {
  it('GET /api/admin/sessions shows the caps and what was used', async () => {
    const creds = await assume({
      'latchkey:max-bytes': '5000',
      'latchkey:max-objects': '10',
      'latchkey:max-object-size': '4000',
      'latchkey:content-types': 'image/*',
    })
    await put(server.s3(creds), 'admin/1.png', 1234)
    const admin = await adminLogin(server)
    const r = await admin.call('GET', '/api/admin/sessions?limit=1000')
    expect(r.status).toBe(200)
    const items = (Array.isArray(r.json) ? r.json : r.json.items) as {
      access_key: string
      caps?: unknown
    }[]
    const mine = items.find((s) => s.access_key === creds.accessKeyId)
    expect(mine?.caps).toEqual({
      max_bytes: 5000,
      max_objects: 10,
      max_object_size: 4000,
      content_types: ['image/*'],
      bytes_used: 1234,
      objects_used: 1,
    })
    // The issuance is in the audit trail with the tag keys and the caps asked for.
    const trail = await admin.call(
      'GET',
      `/api/admin/audit?${new URLSearchParams({ session: creds.accessKeyId, action: 'sts:AssumeRole' })}`,
    )
    expect(trail.status).toBe(200)
    expect((trail.json as { detail: unknown }[])[0]?.detail).toMatchObject({
      caps: {
        'latchkey:max-bytes': '5000',
        'latchkey:max-objects': '10',
        'latchkey:max-object-size': '4000',
        'latchkey:content-types': 'image/*',
      },
    })
    // A session with only a size cap is counted too (what it wrote shows).
    const sized = await assume({ 'latchkey:max-object-size': '4000' })
    await put(server.s3(sized), 'admin/2.png', 300)
    await put(server.s3(sized), 'admin/3.png', 200)
    const r2 = await admin.call('GET', '/api/admin/sessions?limit=1000')
    const items2 = (Array.isArray(r2.json) ? r2.json : r2.json.items) as typeof items
    expect(items2.find((s) => s.access_key === sized.accessKeyId)?.caps).toEqual({
      max_bytes: null,
      max_objects: null,
      max_object_size: 4000,
      content_types: null,
      bytes_used: 500,
      objects_used: 2,
    })
  })
})
