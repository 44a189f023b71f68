/**
 * Bucket configuration written through S3 (policy, CORS, tagging, and buckets made or deleted)
 * is cached on every node (bucket-config.ts) and invalidated through the change feed. With one
 * process the in-process feed applies a change before the write returns; with several nodes a
 * change reaches the others a moment later. So the handlers get a metadata store whose bucket
 * writes resolve only once every live node has applied them (ChangeFeed.applied), as IAM writes
 * do (iam/common.ts settle): a policy put on one node holds on every node for the next request.
 * @module
 */
import type { ChangeFeed } from '../storage/change-feed.js'
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
} from '../storage/metadata-store.js'

/** How long a bucket write waits for the other nodes before answering anyway. */
export const BUCKET_APPLY_TIMEOUT_MS = 5_000

/**
 * `meta` with its bucket writes waiting on `changes.applied()` after they commit. A plain
 * delegating class (not a Proxy): every object read and write of the hot path goes through it.
 */
export function settleBucketWrites(meta: MetadataStore, changes: ChangeFeed): MetadataStore {
  return new SettledBucketWrites(meta, changes)
}

class SettledBucketWrites implements MetadataStore {
  private readonly m: MetadataStore
  private readonly changes: ChangeFeed

  constructor(m: MetadataStore, changes: ChangeFeed) {
    this.m = m
    this.changes = changes
  }

  /** Timed out: a node is slow or gone; answer anyway, as IAM writes do. */
  private async settled(): Promise<void> {
    await this.changes.applied(this.changes.head(), BUCKET_APPLY_TIMEOUT_MS)
  }

  async createBucket(b: BucketRecord): Promise<void> {
    await this.m.createBucket(b)
    await this.settled()
  }
  async deleteBucket(name: string): Promise<void> {
    await this.m.deleteBucket(name)
    await this.settled()
  }
  async setBucketSubresource(
    bucket: string,
    kind: BucketSubresource,
    value: string | null,
  ): Promise<void> {
    await this.m.setBucketSubresource(bucket, kind, value)
    await this.settled()
  }

  getBucket(name: string): Promise<BucketRecord | undefined> {
    return this.m.getBucket(name)
  }
  listBuckets(accountId: string): Promise<readonly BucketRecord[]> {
    return this.m.listBuckets(accountId)
  }
  getBucketSubresource(bucket: string, kind: BucketSubresource): Promise<string | undefined> {
    return this.m.getBucketSubresource(bucket, kind)
  }
  putObject(o: ObjectRecord, c?: WriteConditions): Promise<{ readonly replaced?: BodyRef }> {
    return this.m.putObject(o, c)
  }
  getObject(bucket: string, key: string): Promise<ObjectRecord | undefined> {
    return this.m.getObject(bucket, key)
  }
  deleteObject(bucket: string, key: string): Promise<BodyRef | undefined> {
    return this.m.deleteObject(bucket, key)
  }
  setObjectTags(
    bucket: string,
    key: string,
    tags: Readonly<Record<string, string>>,
  ): Promise<void> {
    return this.m.setObjectTags(bucket, key, tags)
  }
  listObjects(bucket: string, q: ListObjectsQuery): Promise<ListObjectsPage> {
    return this.m.listObjects(bucket, q)
  }
  createUpload(u: UploadRecord): Promise<void> {
    return this.m.createUpload(u)
  }
  getUpload(bucket: string, key: string, uploadId: string): Promise<UploadRecord | undefined> {
    return this.m.getUpload(bucket, key, uploadId)
  }
  putPart(uploadId: string, p: PartRecord): Promise<{ readonly replaced?: BodyRef }> {
    return this.m.putPart(uploadId, p)
  }
  getPart(uploadId: string, partNumber: number): Promise<PartRecord | undefined> {
    return this.m.getPart(uploadId, partNumber)
  }
  listParts(uploadId: string, after: number, max: number): Promise<readonly PartRecord[]> {
    return this.m.listParts(uploadId, after, max)
  }
  listUploads(bucket: string, q: ListUploadsQuery): Promise<ListUploadsPage> {
    return this.m.listUploads(bucket, q)
  }
  completeUpload(
    ...args: Parameters<MetadataStore['completeUpload']>
  ): ReturnType<MetadataStore['completeUpload']> {
    return this.m.completeUpload(...args)
  }
  abortUpload(uploadId: string): Promise<readonly BodyRef[]> {
    return this.m.abortUpload(uploadId)
  }
  isBlobReferenced(ref: string): Promise<boolean> {
    return this.m.isBlobReferenced(ref)
  }
  close(): Promise<void> {
    return this.m.close()
  }
}
