/**
 * The lifecycle worker over the memory stores, with the clock passed in: what is due expires and
 * nothing else does, across pages; an object overwritten between the listing and the delete
 * survives (the conditional delete); expired blobs go through the ledger like DeleteObject's;
 * due uploads are aborted; a disabled rule, a Date still ahead and a deleted bucket do nothing.
 */
import { Readable } from 'node:stream'
import { describe, expect, it } from 'vitest'
import { silentLogger } from '../lib/logger.js'
import { MemoryBlobLedger } from '../backends/memory/blob-ledger.js'
import { MemoryBlobStore } from '../backends/memory/blob-store.js'
import { MemoryMetadataStore } from '../backends/memory/metadata-store.js'
import { MetadataStoreDecorator } from '../storage/metadata-store-decorator.js'
import type {
  ListObjectsPage,
  ListObjectsQuery,
  MetadataStore,
  ObjectRecord,
} from '../storage/metadata-store.js'
import { writeBody } from '../storage/object-bodies.js'
import { lifecycleIntervalMs, runLifecyclePass } from './lifecycle-worker.js'
import { serializeLifecycle, type LifecycleRule } from './lifecycle.js'

const DAY = 1000
const T0 = 100 * DAY + 500 // mid-"day"

function rec(key: string, over: Partial<ObjectRecord> = {}): ObjectRecord {
  return {
    bucket: 'b',
    key,
    size: 3,
    etag: 'a'.repeat(32),
    lastModified: T0,
    headers: {},
    userMetadata: {},
    tags: {},
    body: { kind: 'inline', bytes: Buffer.from('abc') },
    ownerAccountId: 'acct',
    ...over,
  }
}

const expireAfter = (days: number, over: Partial<LifecycleRule> = {}): LifecycleRule => ({
  id: `exp-${days}`,
  enabled: true,
  filter: { form: 'filter', prefix: 'tmp/', tags: [] },
  expiration: { days },
  ...over,
})

async function setup(rules: readonly LifecycleRule[], wrap?: (m: MetadataStore) => MetadataStore) {
  const inner = new MemoryMetadataStore()
  const meta = wrap?.(inner) ?? inner
  const blobs = new MemoryBlobStore()
  const ledger = new MemoryBlobLedger()
  await inner.createBucket({ name: 'b', accountId: 'acct', createdAt: 0, region: 'us-east-1' })
  await inner.setBucketSubresource('b', 'lifecycle', serializeLifecycle(rules))
  const pass = (now: number) =>
    runLifecyclePass({ meta, blobs, ledger, log: silentLogger, now: () => now, dayMs: DAY })
  const keys = async (): Promise<string[]> =>
    (await inner.listObjects('b', { prefix: '', maxKeys: 1000 })).objects.map((o) => o.key)
  return { inner, meta, blobs, ledger, pass, keys }
}

describe('runLifecyclePass', () => {
  it('expires what is due under the rule, rounded to the next day, and nothing else', async () => {
    const { inner, pass, keys } = await setup([expireAfter(2)])
    await inner.putObject(rec('tmp/a'))
    await inner.putObject(rec('keep/a'))
    await inner.putObject(rec('tmp/young', { lastModified: T0 + DAY }))
    // T0 + 2 days rounds up to the start of day 103.
    expect(await pass(103 * DAY - 1)).toEqual({ expired: 0, aborted: 0, changed: 0 })
    expect(await pass(103 * DAY)).toEqual({ expired: 1, aborted: 0, changed: 0 })
    expect(await keys()).toEqual(['keep/a', 'tmp/young'])
  })

  it('walks every page of a large prefix (more than one listing page)', async () => {
    const { inner, pass, keys } = await setup([expireAfter(1)])
    for (let i = 0; i < 2100; i++) await inner.putObject(rec(`tmp/${String(i).padStart(5, '0')}`))
    await inner.putObject(rec('z-outside'))
    expect((await pass(200 * DAY)).expired).toBe(2100)
    expect(await keys()).toEqual(['z-outside'])
  })

  it('matches tags and sizes, skips a disabled rule and a Date still ahead', async () => {
    const { inner, pass, keys } = await setup([
      {
        id: 'tagged',
        enabled: true,
        filter: { form: 'and', tags: [{ key: 'class', value: 'scratch' }], sizeGreaterThan: 1 },
        expiration: { days: 1 },
      },
      { ...expireAfter(1), id: 'off', enabled: false, filter: { form: 'filter', tags: [] } },
      {
        id: 'date',
        enabled: true,
        filter: { form: 'legacy', prefix: 'd/', tags: [] },
        expiration: { date: 300 * DAY },
      },
    ])
    await inner.putObject(rec('x', { tags: { class: 'scratch' } }))
    await inner.putObject(rec('tiny', { tags: { class: 'scratch' }, size: 1 }))
    await inner.putObject(rec('y', { tags: { class: 'keep' } }))
    await inner.putObject(rec('d/1'))
    expect((await pass(200 * DAY)).expired).toBe(1)
    expect(await keys()).toEqual(['d/1', 'tiny', 'y'])
    expect((await pass(300 * DAY)).expired).toBe(1)
    expect(await keys()).toEqual(['tiny', 'y'])
  })

  it('REGRESSION lifecycle-overwrite-race: an object overwritten after the listing is not expired', async () => {
    // Between the worker's listing and its delete, a client writes the key again with the same
    // bytes (same ETag). The new object's clock starts now: it must survive.
    class OverwriteAfterList extends MetadataStoreDecorator {
      override async listObjects(bucket: string, q: ListObjectsQuery): Promise<ListObjectsPage> {
        const page = await this.inner.listObjects(bucket, q)
        await this.inner.putObject(rec('tmp/hot', { lastModified: 199 * DAY }))
        return page
      }
    }
    const { inner, pass } = await setup([expireAfter(1)], (m) => new OverwriteAfterList(m))
    await inner.putObject(rec('tmp/hot'))
    expect(await pass(200 * DAY)).toEqual({ expired: 0, aborted: 0, changed: 1 })
    expect((await inner.getObject('b', 'tmp/hot'))?.lastModified).toBe(199 * DAY)
  })

  it('retires an expired blob through the ledger, as DeleteObject does', async () => {
    const { inner, blobs, ledger, pass } = await setup([expireAfter(1)])
    const { body } = await writeBody(Readable.from([Buffer.alloc(100, 7)]), {
      blobs,
      ledger,
      now: T0,
      inlineMax: 10,
      maxSize: 1000,
    })
    if (body.kind !== 'blob') throw new Error('expected a blob body')
    await ledger.settle([body.ref])
    await inner.putObject(rec('tmp/big', { body, size: 100 }))
    const stored = async (): Promise<string[]> => {
      const refs: string[] = []
      for await (const r of blobs.list()) refs.push(r)
      return refs
    }
    expect(await stored()).toContain(body.ref)
    expect((await pass(200 * DAY)).expired).toBe(1)
    // The memory blob store's reads hold their bytes: the blob is deleted right after the commit.
    expect(await stored()).not.toContain(body.ref)
  })

  it('aborts incomplete uploads under the prefix after DaysAfterInitiation', async () => {
    const { inner, pass } = await setup([
      {
        id: 'mpu',
        enabled: true,
        filter: { form: 'filter', prefix: 'up/', tags: [] },
        abortIncompleteAfterDays: 1,
      },
    ])
    const upload = (uploadId: string, key: string, initiatedAt: number) =>
      inner.createUpload({
        uploadId,
        bucket: 'b',
        key,
        initiatedAt,
        headers: {},
        userMetadata: {},
        tags: {},
        ownerAccountId: 'acct',
        initiator: 'arn:aws:iam::acct:root',
      })
    await upload('u1', 'up/a', T0)
    await upload('u2', 'up/b', T0 + DAY)
    await upload('u3', 'other/c', T0)
    expect((await pass(102 * DAY)).aborted).toBe(1)
    const left = await inner.listUploads('b', { prefix: '', maxUploads: 100 })
    expect(left.uploads.map((u) => u.uploadId).sort()).toEqual(['u2', 'u3'])
  })

  it('passes over a bucket deleted meanwhile and an unreadable configuration', async () => {
    const { inner, pass } = await setup([expireAfter(1)])
    await inner.createBucket({ name: 'c', accountId: 'acct', createdAt: 0, region: 'us-east-1' })
    await inner.setBucketSubresource('c', 'lifecycle', 'not json')
    await inner.deleteBucket('b')
    expect(await pass(200 * DAY)).toEqual({ expired: 0, aborted: 0, changed: 0 })
  })
})

describe('lifecycleIntervalMs', () => {
  it('follows the day: a quarter of it, at least 500 ms, at most an hour', () => {
    expect(lifecycleIntervalMs(1000)).toBe(500)
    expect(lifecycleIntervalMs(8000)).toBe(2000)
    expect(lifecycleIntervalMs(86_400_000)).toBe(3_600_000)
  })
})
