/**
 * CachedMetadataStore: the bucket and object-record caches in front of any MetadataStore. Every
 * GET and PUT looks its bucket up and buckets change rarely; small objects are read far more often
 * than written. What makes the caches correct is not "this process is the only writer" but the
 * ChangeFeed: the backing store publishes a change inside every committing write, this decorator
 * drops the entry, and a writer elsewhere (another node, a test behind the service's back) reaches
 * it the same way. `resync` (changes may have been missed) empties both caches.
 *
 * A read that started before a change and finishes after it must not put its stale answer back:
 * each cache has an epoch that every change bumps, and a load is kept only if the epoch it started
 * under is still current. On one node with SQLite the load is synchronous, so this never fires;
 * with an asynchronous store it is what keeps the cache from going stale for ever.
 *
 * Across nodes the feed arrives a moment after the write is acknowledged, so a read whose answer
 * decides something another node's write must not be hidden from asks `{ fresh: true }`: it
 * skips the cache (the early check of a conditional write, s3/object/access.ts).
 * @module
 */
import type { Change, ChangeFeed } from '../../storage/change-feed.js'
import type {
  BucketRecord,
  MetadataStore,
  ObjectRecord,
  ReadOptions,
} from '../../storage/metadata-store.js'
import { MetadataStoreDecorator } from '../../storage/metadata-store-decorator.js'
import { OldestFirst } from '../../lib/oldest-first.js'

export interface CachedMetadataStoreOptions {
  /** Byte budget of cached object records, inline bodies included (default 64 MiB). */
  readonly objectBytes?: number
  /**
   * Most object records cached (default 100 000). 0: no object cache, for stores other processes
   * write to: their object writes reach this cache through the feed only after they return, and
   * S3 promises read-after-write (the bucket cache stays: bucket writes wait for every node).
   */
  readonly objectEntries?: number
  /** Most bucket records (or known absences) cached before the map starts over (default 10 000). */
  readonly buckets?: number
}

/** Approximate memory a cached record holds (its inline body plus a fixed overhead). */
function cachedSize(r: ObjectRecord): number {
  return 512 + (r.body.kind === 'inline' ? r.body.bytes.length : 0)
}

export class CachedMetadataStore extends MetadataStoreDecorator {
  private readonly unsubscribe: () => void
  private readonly maxBytes: number
  private readonly maxEntries: number
  private readonly maxBuckets: number
  /** Bucket records by name (null = known absent). */
  private readonly bucketCache = new Map<string, BucketRecord | null>()
  private bucketEpoch = 0
  /** Recently read object records by bucket + NUL + key, least recently used first. */
  private readonly objectCache = new Map<string, ObjectRecord>()
  /** Eviction's place in objectCache (lib/oldest-first.ts: no walk over deleted entries). */
  private readonly objectOldest = new OldestFirst<string>(this.objectCache)
  private objectBytes = 0
  private objectEpoch = 0

  constructor(inner: MetadataStore, changes: ChangeFeed, opts: CachedMetadataStoreOptions = {}) {
    super(inner)
    this.maxBytes = opts.objectBytes ?? 64 * 1024 * 1024
    this.maxEntries = opts.objectEntries ?? 100_000
    this.maxBuckets = opts.buckets ?? 10_000
    this.unsubscribe = changes.subscribe({
      change: (c) => this.apply(c),
      resync: () => {
        this.bucketCache.clear()
        this.bucketEpoch++
        this.objectCache.clear()
        this.objectBytes = 0
        this.objectEpoch++
      },
    })
  }

  private apply(c: Change): void {
    if (c.kind === 'object') {
      this.objectEpoch++
      this.forget(c.bucket + '\u0000' + c.key)
    } else if (c.kind === 'bucket' && (c.part === 'created' || c.part === 'deleted')) {
      this.bucketEpoch++
      this.bucketCache.delete(c.bucket)
    }
  }

  // ----- cached reads -------------------------------------------------------------------------

  override knownBucket(name: string): BucketRecord | null | undefined {
    return this.bucketCache.get(name)
  }

  override getBucket(name: string): Promise<BucketRecord | undefined> {
    const hit = this.bucketCache.get(name)
    if (hit !== undefined) return Promise.resolve(hit ?? undefined)
    const epoch = this.bucketEpoch
    return this.inner.getBucket(name).then((record) => {
      if (epoch === this.bucketEpoch) {
        if (this.bucketCache.size >= this.maxBuckets) this.bucketCache.clear()
        this.bucketCache.set(name, record ?? null)
      }
      return record
    })
  }

  override knownObject(bucket: string, key: string): ObjectRecord | undefined {
    if (this.maxEntries === 0) return undefined
    const ck = bucket + '\u0000' + key
    const hit = this.objectCache.get(ck)
    if (hit !== undefined) {
      // Refresh its place in the LRU order.
      this.objectCache.delete(ck)
      this.objectCache.set(ck, hit)
    }
    return hit
  }

  /** `fresh` skips the cache (ReadOptions) and puts what it read in it, unless a change came. */
  override getObject(
    bucket: string,
    key: string,
    opts?: ReadOptions,
  ): Promise<ObjectRecord | undefined> {
    if (this.maxEntries === 0) return this.inner.getObject(bucket, key, opts)
    const hit = opts?.fresh === true ? undefined : this.knownObject(bucket, key)
    if (hit !== undefined) return Promise.resolve(hit)
    const ck = bucket + '\u0000' + key
    const epoch = this.objectEpoch
    return this.inner.getObject(bucket, key, opts).then((record) => {
      if (epoch === this.objectEpoch) {
        if (record !== undefined) this.remember(ck, record)
        else this.forget(ck)
      }
      return record
    })
  }

  private remember(ck: string, record: ObjectRecord): void {
    this.forget(ck)
    this.objectCache.set(ck, record)
    this.objectBytes += cachedSize(record)
    while (this.objectBytes > this.maxBytes || this.objectCache.size > this.maxEntries) {
      const oldest = this.objectOldest.next()
      if (oldest === undefined) break
      this.forget(oldest)
    }
  }

  private forget(ck: string): void {
    const r = this.objectCache.get(ck)
    if (r === undefined) return
    this.objectCache.delete(ck)
    this.objectBytes -= cachedSize(r)
  }

  // ----- everything else passes through (the backing store publishes what its writes change) --

  override close(): Promise<void> {
    this.unsubscribe()
    return this.inner.close()
  }
}
