/**
 * No input may produce a 500 or crash the process (contract §6). Random requests — unsigned and
 * validly signed with the master key, so they reach the operations — with hostile paths,
 * sub-resources, headers and bodies are thrown at a real server; every answer must be a 4xx (or
 * 501 NotImplemented) in S3's own XML format, and the server must still answer /health after.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest'
import fc from 'fast-check'
import { request } from 'node:http'
import { readdirSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { createHash } from 'node:crypto'
import { SignatureV4 } from '@smithy/signature-v4'
import { Sha256 } from '@aws-crypto/sha256-js'
import { CreateBucketCommand, PutObjectCommand } from '@aws-sdk/client-s3'
import { startServer, type TestServer } from './harness.js'

let server: TestServer
beforeAll(async () => {
  server = await startServer({ tls: false })
  const s3 = server.s3()
  await s3.send(new CreateBucketCommand({ Bucket: 'fuzz' }))
  await s3.send(new PutObjectCommand({ Bucket: 'fuzz', Key: 'a/b.txt', Body: 'hello' }))
})
afterAll(async () => {
  await server.stop()
})

interface Answer {
  status: number
  body: string
  contentType: string | undefined
}

function send(
  method: string,
  path: string,
  headers: Record<string, string>,
  body: Buffer,
): Promise<Answer> {
  const url = new URL(server.endpoint)
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: url.hostname,
        port: url.port,
        method,
        path,
        headers: { ...headers, 'content-length': String(body.length) },
      },
      (res) => {
        const chunks: Buffer[] = []
        res.on('data', (c: Buffer) => chunks.push(c))
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            body: Buffer.concat(chunks).toString('utf8'),
            contentType: res.headers['content-type'],
          }),
        )
      },
    )
    req.on('error', reject)
    req.end(body)
  })
}

const SUBS = [
  'acl',
  'cors',
  'delete',
  'location',
  'policy',
  'tagging',
  'uploads',
  'uploadId',
  'versioning',
  'versions',
  'partNumber',
  'list-type',
  'max-keys',
  'prefix',
  'delimiter',
  'continuation-token',
  'encoding-type',
  'lifecycle',
  'response-content-type',
  'versionId',
  'X-Amz-Expires',
  'start-after',
  'marker',
]
const HEADERS = [
  'range',
  'if-match',
  'if-none-match',
  'if-modified-since',
  'x-amz-copy-source',
  'x-amz-copy-source-range',
  'x-amz-metadata-directive',
  'x-amz-tagging',
  'x-amz-acl',
  'content-md5',
  'x-amz-checksum-crc32',
  'x-amz-sdk-checksum-algorithm',
  'x-amz-meta-x',
  'x-amz-trailer',
  'content-type',
  'x-amz-storage-class',
  'x-amz-decoded-content-length',
  'content-encoding',
  'origin',
  'access-control-request-method',
]
const nasty = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.constantFrom(
    '',
    '-1',
    '0',
    '99999999999999999999',
    'bytes=5-1',
    'bytes=-0',
    'bytes=0-',
    '%ZZ',
    '..',
    '../..',
    '/fuzz/a/b.txt',
    'fuzz/../x',
    '\u0000',
    'NaN',
    'aws-chunked',
    'CRC32',
    'SHA256',
    'REPLACE',
    'private',
    'public-read',
    'a=b&c',
    '*',
    'https://evil.example',
  ),
)
const bodies = fc.oneof(
  fc.uint8Array({ maxLength: 200 }).map((a) => Buffer.from(a)),
  fc
    .constantFrom(
      '<Delete><Object><Key>a/b.txt</Key></Object></Delete>',
      '<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>x</ETag></Part></CompleteMultipartUpload>',
      '<CORSConfiguration><CORSRule><AllowedMethod>GET</AllowedMethod></CORSRule></CORSConfiguration>',
      '<Tagging><TagSet><Tag><Key>k</Key></Tag></TagSet></Tagging>',
      '{"Version":"2012-10-17","Statement":[{"Effect":"Allow"}]}',
      '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaaaaaaaa">]><x>&a;&a;&a;</x>',
      '<a><b><c><d><e>',
      '',
    )
    .map((s) => Buffer.from(s)),
)
const requests = fc.record({
  method: fc.constantFrom('GET', 'PUT', 'POST', 'DELETE', 'HEAD', 'OPTIONS', 'PATCH'),
  path: fc.oneof(
    fc.constantFrom(
      '/',
      '/fuzz',
      '/fuzz/',
      '/fuzz/a/b.txt',
      '/nosuch/x',
      '/fuzz/%E2%82%AC',
      '/fuzz/a%2Fb',
      '/Bad_Bucket',
      '/fuzz/' + 'k'.repeat(1100),
    ),
    fc.string({ maxLength: 30 }).map((s) => '/fuzz/' + encodeURIComponent(s)),
  ),
  query: fc.array(fc.tuple(fc.constantFrom(...SUBS), nasty), { maxLength: 3 }),
  headers: fc.array(fc.tuple(fc.constantFrom(...HEADERS), nasty), { maxLength: 4 }),
  body: bodies,
  signed: fc.boolean(),
})

const signer = (): SignatureV4 =>
  new SignatureV4({
    service: 's3',
    region: 'us-east-1',
    sha256: Sha256,
    uriEscapePath: false,
    credentials: { accessKeyId: server.accessKeyId, secretAccessKey: server.secretAccessKey },
  })

describe('robustness', () => {
  it('answers every random request with a 4xx/501 in S3 format, never a 500, and keeps serving', async () => {
    const host = new URL(server.endpoint).host
    const codes = new Map<string, number>()
    await fc.assert(
      fc.asyncProperty(requests, async (r) => {
        const q = r.query
          .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`)
          .join('&')
        let headers: Record<string, string> = {}
        for (const [k, v] of r.headers) headers[k] = v.replace(/[^\t\x20-\x7e]/g, '?')
        if (r.signed) {
          const query: Record<string, string> = {}
          for (const [k, v] of r.query) query[k] = v
          const signed = await signer().sign({
            method: r.method,
            protocol: 'http:',
            hostname: new URL(server.endpoint).hostname,
            port: Number(new URL(server.endpoint).port),
            path: r.path,
            query,
            headers: {
              ...headers,
              host,
              'x-amz-content-sha256': createHash('sha256').update(r.body).digest('hex'),
            },
            body: r.body,
          })
          headers = signed.headers as Record<string, string>
        }
        const path = q === '' ? r.path : `${r.path}?${q}`
        const a = await send(r.method, path, headers, r.body)
        if (a.status >= 500 && a.status !== 501)
          throw new Error(`${r.method} ${path} → ${a.status}\n${a.body}`)
        if (a.status >= 400 && r.method !== 'HEAD')
          expect(a.body).toMatch(/<Error><Code>[A-Za-z]+<\/Code>/)
        const code =
          a.status < 400
            ? String(a.status)
            : (/<Code>([A-Za-z]+)<\/Code>/.exec(a.body)?.[1] ?? String(a.status))
        codes.set(code, (codes.get(code) ?? 0) + 1)
      }),
      // CI replays a fixed seed (a landing must not hinge on luck); local runs explore new ones and
      // fast-check prints the seed of any failure so it can be replayed with FUZZ_SEED.
      {
        numRuns: 300,
        seed: Number(
          process.env['FUZZ_SEED'] ??
            (process.env['CI'] === 'true' ? 20261124 : Date.now() % 2 ** 31),
        ),
      },
    )
    // The signed half must get past authentication into the operations (not a fuzz of one error).
    expect([...codes.keys()].length).toBeGreaterThan(8)
    expect([...codes.keys()].some((c) => c.startsWith('2'))).toBe(true)
    const health = await fetch(`${server.endpoint}/health`)
    expect(health.status).toBe(200)
  }, 120_000)

  it('REGRESSION missing-blob-no-answer: a GET whose body file is gone answers 500 InternalError, not a cut connection', async () => {
    const s3 = server.s3()
    await s3.send(new CreateBucketCommand({ Bucket: 'lost-body' }))
    await s3.send(
      new PutObjectCommand({ Bucket: 'lost-body', Key: 'k', Body: Buffer.alloc(300 * 1024, 1) }),
    )
    // Damage the store behind the server's back: every blob file of the data dir goes.
    const blobs = join(server.dataDir, 'objects', 'blobs')
    for (const e of readdirSync(blobs, { recursive: true, withFileTypes: true }))
      if (e.isFile()) rmSync(join(e.parentPath, e.name))
    const u = new URL(server.endpoint)
    const signed = await signer().sign({
      method: 'GET',
      protocol: 'http:',
      hostname: u.hostname,
      port: Number(u.port),
      path: '/lost-body/k',
      query: {},
      headers: {
        host: u.host,
        'x-amz-content-sha256': createHash('sha256').update('').digest('hex'),
      },
    })
    const a = await send(
      'GET',
      '/lost-body/k',
      signed.headers as Record<string, string>,
      Buffer.alloc(0),
    ).catch((e: unknown) => ({ status: -1, body: `no answer: ${(e as Error).message}` }))
    expect(a.status, a.body).toBe(500)
    expect(a.body).toContain('<Code>InternalError</Code>')
    expect((await fetch(`${server.endpoint}/health`)).status).toBe(200)
  })
})
