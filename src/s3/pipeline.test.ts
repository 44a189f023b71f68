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
import { openDatabase } from '../backends/sqlite/db.js'
import { SqliteMetadataStore } from '../backends/sqlite/metadata-store.js'
import { FsBlobStore } from '../backends/fs/blob-store.js'
import { IamService } from '../iam/service.js'
import { memoryStores } from '../iam/fixtures.case.js'
import { SigningKeyCache } from '../auth/sigv4/signing-key.js'
import { systemClock, randomIds } from '../lib/clock.js'
import { silentLogger } from '../lib/logger.js'
import type { RawRequest, RequestContext } from '../http/raw-request.js'
import { S3Pipeline, DEFAULT_LIMITS } from './pipeline.js'
import { StorageError } from '../storage/errors.js'
import type { MetadataStore } from '../storage/metadata-store.js'

const dirs: string[] = []
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true })
})

async function pipeline(
  maxInFlight?: number,
  wrapMeta?: (m: SqliteMetadataStore) => MetadataStore,
) {
  const dir = mkdtempSync(join(tmpdir(), 'latchkey-pipe-'))
  dirs.push(dir)
  const db = openDatabase(':memory:')
  const meta = new SqliteMetadataStore(db)
  const { iam } = await IamService.open({
    ...memoryStores(),
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

  it('maps an unavailable store to ServiceUnavailable with Retry-After', async () => {
    const { p } = await pipeline(undefined, (m) => {
      const failing = Object.create(m) as MetadataStore
      Object.assign(failing, {
        getBucket: () => Promise.reject(new StorageError('unavailable', 'store is down')),
      })
      return failing
    })
    const r = await p.handle(raw('GET', '/b/k'), ctx)
    expect(r.status).toBe(503)
    expect(codeOf(r.body)).toBe('ServiceUnavailable')
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
})
