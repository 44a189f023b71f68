/**
 * Pipeline-level behaviour that needs no operation: overload protection (SlowDown with
 * Retry-After), a store that is unavailable (ServiceUnavailable), and key-length validation
 * (KeyTooLongError), all rendered as S3 <Error> documents.
 */
import { describe, it, expect, afterEach } from 'vitest'
import { PassThrough, Readable } from 'node:stream'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { MemoryMetadataStore } from '../backends/memory/metadata-store.js'
import { FsBlobStore } from '../backends/fs/blob-store.js'
import { MemoryBlobLedger } from '../backends/memory/blob-ledger.js'
import { IamService } from '../iam/service.js'
import { memoryStores } from '../iam/fixtures.case.js'
import { SigningKeyCache } from '../auth/sigv4/signing-key.js'
import { systemClock, randomIds } from '../lib/clock.js'
import { silentLogger } from '../lib/logger.js'
import type { RawRequest, RequestContext } from '../http/raw-request.js'
import { S3Pipeline, DEFAULT_LIMITS } from './pipeline.js'
import { StorageError } from '../storage/errors.js'
import type { MetadataStore, ObjectRecord } from '../storage/metadata-store.js'
import { ALL_USERS, NO_PUBLIC_ACCESS_BLOCK } from './acl.js'
import { serializeCorsConfig } from './cors.js'

const dirs: string[] = []
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true })
})

async function pipeline(maxInFlight?: number, wrapMeta?: (m: MetadataStore) => MetadataStore) {
  const dir = mkdtempSync(join(tmpdir(), 'latchkey-pipe-'))
  dirs.push(dir)
  const stores = memoryStores()
  const changes = stores.changes
  const meta = new MemoryMetadataStore({ changes })
  const { iam } = await IamService.open({
    ...stores,
    masterKey: Buffer.alloc(32, 7),
    clock: systemClock,
    ids: randomIds,
    log: silentLogger,
    bootstrap: { rootUser: 'root', rootPassword: 'password1234' },
    scryptN: 1024,
  })
  const p = new S3Pipeline({
    meta: wrapMeta !== undefined ? wrapMeta(meta) : meta,
    blobs: new FsBlobStore(join(dir, 'objects')),
    changes,
    ledger: new MemoryBlobLedger(),
    iam,
    keyCache: new SigningKeyCache(),
    region: 'us-east-1',
    limits: DEFAULT_LIMITS,
    ...(maxInFlight !== undefined ? { maxInFlight } : {}),
  })
  const accountId = iam.byName('default')?.id ?? ''
  return { p, meta, accountId }
}

const ctx: RequestContext = { requestId: 'T', clock: systemClock, log: silentLogger, receivedAt: 0 }
function raw(method: string, rawPath: string, body: Readable = Readable.from([])): RawRequest {
  return {
    method,
    rawPath,
    rawQuery: '',
    headers: { host: 'localhost' },
    body,
    remoteAddress: '127.0.0.1',
    secure: false,
  }
}
const codeOf = (body: unknown): string | undefined => /<Code>(\w+)<\/Code>/.exec(String(body))?.[1]

describe('S3 pipeline', () => {
  it('answers SlowDown with Retry-After beyond maxInFlight, and serves again once load drops', async () => {
    const { p, meta, accountId } = await pipeline(1)
    await meta.createBucket({ name: 'b', accountId, createdAt: 0, region: 'us-east-1' })
    // Two requests at once with a limit of one: the second is turned away while the first runs.
    const stuck = new PassThrough()
    const first = p.handle(
      { ...raw('PUT', '/b/k', stuck), headers: { host: 'localhost', 'content-length': '10' } },
      ctx,
    )
    const busy = await p.handle(raw('GET', '/b/k'), ctx)
    expect(busy.status).toBe(503)
    expect(codeOf(busy.body)).toBe('SlowDown')
    expect(busy.headers?.['retry-after']).toBe('1')
    stuck.end('0123456789')
    await first
    const after = await p.handle(raw('GET', '/b/k'), ctx)
    expect(codeOf(after.body)).not.toBe('SlowDown')
  })

  it('maps an unavailable store to 503 SlowDown with Retry-After', async () => {
    const { p } = await pipeline(undefined, (m) => {
      const failing = Object.create(m) as MetadataStore
      Object.assign(failing, {
        getBucket: () => Promise.reject(new StorageError('unavailable', 'store is down')),
      })
      return failing
    })
    const r = await p.handle(raw('GET', '/b/k'), ctx)
    expect(r.status).toBe(503)
    expect(codeOf(r.body)).toBe('SlowDown')
    expect(r.headers?.['retry-after']).toBe('1')
  })

  it('refuses keys longer than 1024 bytes with KeyTooLongError', async () => {
    const { p, meta, accountId } = await pipeline()
    await meta.createBucket({ name: 'b', accountId, createdAt: 0, region: 'us-east-1' })
    const r = await p.handle(raw('GET', '/b/' + encodeURIComponent('é'.repeat(513))), ctx)
    expect(r.status).toBe(400)
    expect(codeOf(r.body)).toBe('KeyTooLongError')
    const ok = await p.handle(raw('GET', '/b/' + encodeURIComponent('é'.repeat(512))), ctx)
    expect(codeOf(ok.body)).not.toBe('KeyTooLongError')
  })

  it('sees a bucket policy and a CORS change made behind its back (through the store) on the very next request', async () => {
    const { p, meta, accountId } = await pipeline()
    await meta.createBucket({ name: 'b', accountId, createdAt: 0, region: 'us-east-1' })
    await meta.putObject({
      bucket: 'b',
      key: 'k',
      size: 2,
      etag: 'a'.repeat(32),
      lastModified: 0,
      headers: {},
      userMetadata: {},
      tags: {},
      body: { kind: 'inline', bytes: Buffer.from('hi') },
      ownerAccountId: accountId,
    })
    const get = () =>
      p.handle(
        { ...raw('GET', '/b/k'), headers: { host: 'localhost', origin: 'https://a.example' } },
        ctx,
      )
    const denied = await get()
    expect(codeOf(denied.body)).toBe('AccessDenied')
    expect(denied.headers?.['access-control-allow-origin']).toBeUndefined()
    const publicRead = JSON.stringify({
      Version: '2012-10-17',
      Statement: [
        { Effect: 'Allow', Principal: '*', Action: 's3:GetObject', Resource: 'arn:aws:s3:::b/*' },
      ],
    })
    await meta.setBucketSubresource('b', 'policy', publicRead)
    const allowed = await get()
    expect(allowed.status).toBe(200)
    expect(allowed.headers?.['access-control-allow-origin']).toBeUndefined()
    const rules = [
      {
        allowedOrigins: ['https://a.example'],
        allowedMethods: ['GET' as const],
        allowedHeaders: [],
        exposeHeaders: [],
      },
    ]
    await meta.setBucketSubresource('b', 'cors', serializeCorsConfig(rules))
    expect((await get()).headers?.['access-control-allow-origin']).toBe('https://a.example')
    await meta.setBucketSubresource('b', 'policy', null)
    expect(codeOf((await get()).body)).toBe('AccessDenied')
  })
})

describe('S3 pipeline: ACLs', () => {
  const record = (body: string, acl?: ObjectRecord['acl']): ObjectRecord => ({
    bucket: 'b',
    key: 'k',
    size: body.length,
    etag: '0'.repeat(32),
    lastModified: 0,
    headers: {},
    userMetadata: {},
    tags: {},
    body: { kind: 'inline', bytes: Buffer.from(body) },
    ownerAccountId: '',
    ...(acl !== undefined ? { acl } : {}),
  })
  const PUBLIC = { grants: [{ group: ALL_USERS, permission: 'READ' as const }] }

  it('an anonymous GET admitted by a public-read ACL serves the record the ACL was read from', async () => {
    // The store answers the public record to the first read and a private overwrite after it: an
    // overwrite landing between the decision and the handler's read.
    let reads = 0
    const { p, meta, accountId } = await pipeline(undefined, (m) => {
      const racing = Object.create(m) as MetadataStore
      Object.assign(racing, {
        getObject: (bucket: string, key: string) =>
          bucket === 'b' && key === 'k'
            ? Promise.resolve(
                reads++ === 0
                  ? { ...record('public body', PUBLIC), ownerAccountId: accountId }
                  : { ...record('private body'), ownerAccountId: accountId },
              )
            : m.getObject(bucket, key),
      })
      return racing
    })
    await meta.createBucket({ name: 'b', accountId, createdAt: 0, region: 'us-east-1' })
    const r = await p.handle(raw('GET', '/b/k'), ctx)
    expect(r.status).toBe(200)
    let text: string
    if (Buffer.isBuffer(r.body) || typeof r.body === 'string') text = String(r.body)
    else {
      const chunks: Buffer[] = []
      for await (const c of r.body as AsyncIterable<Buffer>) chunks.push(Buffer.from(c))
      text = Buffer.concat(chunks).toString()
    }
    expect(text).toBe('public body')
    // The next request reads the private record and is refused.
    expect(codeOf((await p.handle(raw('GET', '/b/k'), ctx)).body)).toBe('AccessDenied')
  })

  it('a public-read object is refused to anonymous callers once IgnorePublicAcls is set', async () => {
    const { p, meta, accountId } = await pipeline()
    await meta.createBucket({ name: 'b', accountId, createdAt: 0, region: 'us-east-1' })
    await meta.putObject({ ...record('hello', PUBLIC), ownerAccountId: accountId })
    expect((await p.handle(raw('GET', '/b/k'), ctx)).status).toBe(200)
    await meta.setBucketSubresource(
      'b',
      'public-access-block',
      JSON.stringify({ ...NO_PUBLIC_ACCESS_BLOCK, IgnorePublicAcls: true }),
    )
    expect(codeOf((await p.handle(raw('GET', '/b/k'), ctx)).body)).toBe('AccessDenied')
  })
})
