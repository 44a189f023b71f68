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
 * @module
 */
import type { Change, ChangeFeed } from '../../storage/change-feed.js'
import type {
  BodyRef,
  BucketRecord,
  BucketSubresource,
  ListObjectsPage,
  ListObjectsQuery,
  ListUploadsPage,
  ListUploadsQuery,
  MetadataStore,
  ObjectRecord,
  PartRecord,
  UploadRecord,
  WriteConditions,
} from '../../storage/metadata-store.js'

export interface CachedMetadataStoreOptions {
  /** Byte budget of cached object records, inline bodies included (default 64 MiB). */
  readonly objectBytes?: number
  /** Most object records cached (default 100 000). */
  readonly objectEntries?: number
  /** Most bucket records (or known absences) cached before the map starts over (default 10 000). */
  readonly buckets?: number
}

/** Approximate memory a cached record holds (its inline body plus a fixed overhead). */
function cachedSize(r: ObjectRecord): number {
  return 512 + (r.body.kind === 'inline' ? r.body.bytes.length : 0)
}

export class CachedMetadataStore implements MetadataStore {
  private readonly inner: MetadataStore
  private readonly unsubscribe: () => void
  private readonly maxBytes: number
  private readonly maxEntries: number
  private readonly maxBuckets: number
  /** Bucket records by name (null = known absent). */
  private readonly bucketCache = new Map<string, BucketRecord | null>()
  private bucketEpoch = 0
  /** Recently read object records by bucket + NUL + key, least recently used first. */
  private readonly objectCache = new Map<string, ObjectRecord>()
  private objectBytes = 0
  private objectEpoch = 0

  constructor(inner: MetadataStore, changes: ChangeFeed, opts: CachedMetadataStoreOptions = {}) {
    this.inner = inner
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

  getBucket(name: string): Promise<BucketRecord | undefined> {
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

  getObject(bucket: string, key: string): Promise<ObjectRecord | undefined> {
    const ck = bucket + '\u0000' + key
    const hit = this.objectCache.get(ck)
    if (hit !== undefined) {
      // Refresh its place in the LRU order.
      this.objectCache.delete(ck)
      this.objectCache.set(ck, hit)
      return Promise.resolve(hit)
    }
    const epoch = this.objectEpoch
    return this.inner.getObject(bucket, key).then((record) => {
      if (record !== undefined && epoch === this.objectEpoch) this.remember(ck, record)
      return record
    })
  }

  private remember(ck: string, record: ObjectRecord): void {
    this.forget(ck)
    this.objectCache.set(ck, record)
    this.objectBytes += cachedSize(record)
    while (this.objectBytes > this.maxBytes || this.objectCache.size > this.maxEntries) {
      const oldest = this.objectCache.keys().next()
      if (oldest.done === true) break
      this.forget(oldest.value)
    }
  }

  private forget(ck: string): void {
    const r = this.objectCache.get(ck)
    if (r === undefined) return
    this.objectCache.delete(ck)
    this.objectBytes -= cachedSize(r)
  }

  // ----- everything else passes through (the backing store publishes what its writes change) --

  createBucket(b: BucketRecord): Promise<void> {
    return this.inner.createBucket(b)
  }
  deleteBucket(name: string): Promise<void> {
    return this.inner.deleteBucket(name)
  }
  listBuckets(accountId: string): Promise<readonly BucketRecord[]> {
    return this.inner.listBuckets(accountId)
  }
  setBucketSubresource(
    bucket: string,
    kind: BucketSubresource,
    value: string | null,
  ): Promise<void> {
    return this.inner.setBucketSubresource(bucket, kind, value)
  }
  getBucketSubresource(bucket: string, kind: BucketSubresource): Promise<string | undefined> {
    return this.inner.getBucketSubresource(bucket, kind)
  }
  putObject(
    o: ObjectRecord,
    conditions?: WriteConditions,
  ): Promise<{ readonly replaced?: BodyRef }> {
    return this.inner.putObject(o, conditions)
  }
  deleteObject(bucket: string, key: string): Promise<BodyRef | undefined> {
    return this.inner.deleteObject(bucket, key)
  }
  setObjectTags(
    bucket: string,
    key: string,
    tags: Readonly<Record<string, string>>,
  ): Promise<void> {
    return this.inner.setObjectTags(bucket, key, tags)
  }
  listObjects(bucket: string, q: ListObjectsQuery): Promise<ListObjectsPage> {
    return this.inner.listObjects(bucket, q)
  }
  createUpload(u: UploadRecord): Promise<void> {
    return this.inner.createUpload(u)
  }
  getUpload(bucket: string, key: string, uploadId: string): Promise<UploadRecord | undefined> {
    return this.inner.getUpload(bucket, key, uploadId)
  }
  putPart(uploadId: string, p: PartRecord): Promise<{ readonly replaced?: BodyRef }> {
    return this.inner.putPart(uploadId, p)
  }
  getPart(uploadId: string, partNumber: number): Promise<PartRecord | undefined> {
    return this.inner.getPart(uploadId, partNumber)
  }
  listParts(uploadId: string, after: number, max: number): Promise<readonly PartRecord[]> {
    return this.inner.listParts(uploadId, after, max)
  }
  listUploads(bucket: string, q: ListUploadsQuery): Promise<ListUploadsPage> {
    return this.inner.listUploads(bucket, q)
  }
  completeUpload(
    uploadId: string,
    o: ObjectRecord,
    usedParts: readonly number[],
    conditions?: WriteConditions,
  ): Promise<{ readonly replaced?: BodyRef; readonly unused: readonly BodyRef[] }> {
    return this.inner.completeUpload(uploadId, o, usedParts, conditions)
  }
  abortUpload(uploadId: string): Promise<readonly BodyRef[]> {
    return this.inner.abortUpload(uploadId)
  }
  isBlobReferenced(ref: string): Promise<boolean> {
    return this.inner.isBlobReferenced(ref)
  }
  close(): Promise<void> {
    this.unsubscribe()
    return this.inner.close()
  }
}
