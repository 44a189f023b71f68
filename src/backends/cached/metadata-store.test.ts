/**
 * The cache decorator learns only from the feed: a write through another decorator (another
 * node's cache), a load racing a change, and a resync.
 * @module
 */
import { describe, expect, it, vi } from 'vitest'
import { obj } from '../../../test/conformance/metadata-store.case.js'
import type { ObjectRecord } from '../../storage/metadata-store.js'
import { MemoryChangeFeed } from '../memory/change-feed.js'
import { MemoryMetadataStore } from '../memory/metadata-store.js'
import { CachedMetadataStore } from './metadata-store.js'

const bucket = { name: 'b', accountId: 'a', createdAt: 1, region: 'r' }
const etag = (c: string): string => c.repeat(32)

describe('CachedMetadataStore', () => {
  it('serves a write made through another cache on the same feed on the very next read', async () => {
    const changes = new MemoryChangeFeed()
    const inner = new MemoryMetadataStore({ changes })
    const a = new CachedMetadataStore(inner, changes)
    const b = new CachedMetadataStore(inner, changes)
    expect(await b.getBucket('b')).toBeUndefined() // a cached absence
    await a.createBucket(bucket)
    expect(await b.getBucket('b')).toEqual(bucket)
    await a.putObject(obj('b', 'k', { etag: etag('1') }))
    expect((await b.getObject('b', 'k'))?.etag).toBe(etag('1'))
    await a.putObject(obj('b', 'k', { etag: etag('2') }))
    expect((await b.getObject('b', 'k'))?.etag).toBe(etag('2'))
    await a.setObjectTags('b', 'k', { t: 'v' })
    expect((await b.getObject('b', 'k'))?.tags).toEqual({ t: 'v' })
    await a.deleteObject('b', 'k')
    expect(await b.getObject('b', 'k')).toBeUndefined()
    await a.deleteBucket('b')
    expect(await b.getBucket('b')).toBeUndefined()
  })

  it('knownBucket answers only what the cache holds, and forgets it on a change', async () => {
    const changes = new MemoryChangeFeed()
    const inner = new MemoryMetadataStore({ changes })
    const a = new CachedMetadataStore(inner, changes)
    const b = new CachedMetadataStore(inner, changes)
    expect(b.knownBucket('b')).toBeUndefined() // never read: must be loaded
    await b.getBucket('b')
    expect(b.knownBucket('b')).toBeNull() // known absent
    await a.createBucket(bucket)
    expect(b.knownBucket('b')).toBeUndefined() // the change dropped the absence
    await b.getBucket('b')
    expect(b.knownBucket('b')).toEqual(bucket)
    await a.deleteBucket('b')
    expect(b.knownBucket('b')).toBeUndefined()
  })

  it('knownObject answers a cached record (as its most recent use), never one a change dropped', async () => {
    const changes = new MemoryChangeFeed()
    const inner = new MemoryMetadataStore({ changes })
    const a = new CachedMetadataStore(inner, changes)
    const b = new CachedMetadataStore(inner, changes, { objectEntries: 2 })
    await a.createBucket(bucket)
    await a.putObject(obj('b', 'k1', { etag: etag('1') }))
    await a.putObject(obj('b', 'k2', { etag: etag('2') }))
    expect(b.knownObject('b', 'k1')).toBeUndefined() // never read
    await b.getObject('b', 'k1')
    await b.getObject('b', 'k2')
    expect(b.knownObject('b', 'k1')?.etag).toBe(etag('1')) // k1 is now the most recent
    await a.putObject(obj('b', 'k3', { etag: etag('3') }))
    await b.getObject('b', 'k3') // evicts the least recent: k2, not k1
    expect(b.knownObject('b', 'k2')).toBeUndefined()
    expect(b.knownObject('b', 'k1')?.etag).toBe(etag('1'))
    await a.putObject(obj('b', 'k1', { etag: etag('4') }))
    expect(b.knownObject('b', 'k1')).toBeUndefined()
    const uncached = new CachedMetadataStore(inner, changes, { objectEntries: 0 })
    await uncached.getObject('b', 'k1')
    expect(uncached.knownObject('b', 'k1')).toBeUndefined()
  })

  it('does not keep a load that a change overtook', async () => {
    const changes = new MemoryChangeFeed()
    const inner = new MemoryMetadataStore({ changes })
    await inner.createBucket(bucket)
    await inner.putObject(obj('b', 'k', { etag: etag('1') }))
    // A slow backing store: the read answers with what it saw before the write landed.
    let release: (() => void) | undefined
    const slow = Object.create(inner) as MemoryMetadataStore
    slow.getObject = async (bk, k): Promise<ObjectRecord | undefined> => {
      const seen = await inner.getObject(bk, k)
      await new Promise<void>((r) => (release = r))
      return seen
    }
    const cached = new CachedMetadataStore(slow, changes)
    const stale = cached.getObject('b', 'k')
    await Promise.resolve()
    await inner.putObject(obj('b', 'k', { etag: etag('2') }))
    release?.()
    expect((await stale)?.etag).toBe(etag('1'))
    slow.getObject = (bk, k) => inner.getObject(bk, k)
    expect((await cached.getObject('b', 'k'))?.etag).toBe(etag('2'))
  })

  it('a fresh read skips a record the feed has not reached yet, and replaces it', async () => {
    // Another node's write: committed in the shared store, not yet delivered to this cache.
    const changes = new MemoryChangeFeed()
    const inner = new MemoryMetadataStore({ changes: new MemoryChangeFeed() })
    const cached = new CachedMetadataStore(inner, changes)
    await inner.createBucket(bucket)
    await inner.putObject(obj('b', 'k', { etag: etag('1') }))
    expect((await cached.getObject('b', 'k'))?.etag).toBe(etag('1'))
    await inner.putObject(obj('b', 'k', { etag: etag('2') }))
    expect((await cached.getObject('b', 'k'))?.etag).toBe(etag('1')) // stale until the feed says
    expect((await cached.getObject('b', 'k', { fresh: true }))?.etag).toBe(etag('2'))
    expect((await cached.getObject('b', 'k'))?.etag).toBe(etag('2'))
    await inner.deleteObject('b', 'k')
    expect(await cached.getObject('b', 'k', { fresh: true })).toBeUndefined()
    expect(await cached.getObject('b', 'k')).toBeUndefined()
  })

  it('drops everything on resync', async () => {
    const changes = new MemoryChangeFeed()
    const inner = new MemoryMetadataStore() // publishes nothing: only resync can help
    await inner.createBucket(bucket)
    await inner.putObject(obj('b', 'k', { etag: etag('1') }))
    let resync: (() => void) | undefined
    const feed = Object.create(changes) as MemoryChangeFeed
    feed.subscribe = (s) => {
      resync = () => void s.resync()
      return changes.subscribe(s)
    }
    const cached = new CachedMetadataStore(inner, feed)
    expect((await cached.getObject('b', 'k'))?.etag).toBe(etag('1'))
    await inner.putObject(obj('b', 'k', { etag: etag('2') }))
    expect((await cached.getObject('b', 'k'))?.etag).toBe(etag('1'))
    resync?.()
    expect((await cached.getObject('b', 'k'))?.etag).toBe(etag('2'))
  })

  it('REGRESSION object-cache-eviction-rescans: a full record cache evicts without walking it from the start each time', async () => {
    // GETs over more objects than the cache holds evict one record per miss: a fresh keys()
    // iterator per eviction walked every deleted entry since the Map's last rehash.
    const changes = new MemoryChangeFeed()
    const inner = new MemoryMetadataStore()
    await inner.createBucket(bucket)
    for (let i = 0; i < 3000; i++) await inner.putObject(obj('b', `k${String(i)}`))
    const cached = new CachedMetadataStore(inner, changes, { objectEntries: 500 })
    for (let i = 0; i < 500; i++) await cached.getObject('b', `k${String(i)}`)
    const keys = vi.spyOn(Map.prototype, 'keys')
    try {
      for (let round = 0; round < 3; round++)
        for (let i = 0; i < 3000; i++) await cached.getObject('b', `k${String(i)}`)
      expect(keys.mock.calls.length).toBeLessThan(50)
    } finally {
      keys.mockRestore()
    }
  })

  it('evicts least recently used records past its entry budget', async () => {
    const changes = new MemoryChangeFeed()
    const inner = new MemoryMetadataStore()
    await inner.createBucket(bucket)
    for (const k of ['x', 'y', 'z']) await inner.putObject(obj('b', k, { etag: etag('1') }))
    const cached = new CachedMetadataStore(inner, changes, { objectEntries: 2 })
    await cached.getObject('b', 'x')
    await cached.getObject('b', 'y')
    await cached.getObject('b', 'x') // y is now the oldest
    await cached.getObject('b', 'z') // evicts y
    for (const k of ['x', 'y', 'z']) await inner.putObject(obj('b', k, { etag: etag('2') }))
    expect((await cached.getObject('b', 'x'))?.etag).toBe(etag('1'))
    expect((await cached.getObject('b', 'z'))?.etag).toBe(etag('1'))
    expect((await cached.getObject('b', 'y'))?.etag).toBe(etag('2'))
  })
})
