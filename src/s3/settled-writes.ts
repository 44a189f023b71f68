/**
 * Bucket configuration written through S3 (policy, CORS, tagging, and buckets made or deleted)
 * is cached on every node (bucket-config.ts) and invalidated through the change feed. With one
 * process the in-process feed applies a change before the write returns; with several nodes a
 * change reaches the others a moment later. So the handlers get a metadata store whose bucket
 * writes resolve only once every live node has applied them (ChangeFeed.applied), as IAM writes
 * do (iam/common.ts settle): a policy put on one node holds on every node for the next request.
 * @module
 */
import { NotSettledError } from '../lib/unavailable.js'
import type { ChangeFeed } from '../storage/change-feed.js'
import type {
  BodyRef,
  BucketRecord,
  BucketSubresource,
  MetadataStore,
} from '../storage/metadata-store.js'
import { MetadataStoreDecorator } from '../storage/metadata-store-decorator.js'

/** How long a bucket write waits for the other nodes before answering anyway. */
export const BUCKET_APPLY_TIMEOUT_MS = 10_000

/**
 * `meta` with its bucket writes waiting on `changes.applied()` after they commit. A plain
 * delegating class (not a Proxy): every object read and write of the hot path goes through it.
 */
export function settleBucketWrites(meta: MetadataStore, changes: ChangeFeed): MetadataStore {
  return new SettledBucketWrites(meta, changes)
}

class SettledBucketWrites extends MetadataStoreDecorator {
  private readonly changes: ChangeFeed

  constructor(m: MetadataStore, changes: ChangeFeed) {
    super(m)
    this.changes = changes
  }

  /**
   * Timed out: a live node has not applied the change, so the write is saved but may not hold
   * everywhere yet; 503 SlowDown says so (a retry of these writes is harmless).
   */
  private async settled(): Promise<void> {
    if (!(await this.changes.applied(this.changes.head(), BUCKET_APPLY_TIMEOUT_MS)))
      throw new NotSettledError('The bucket change', BUCKET_APPLY_TIMEOUT_MS)
  }

  override async createBucket(b: BucketRecord): Promise<void> {
    await this.inner.createBucket(b)
    await this.settled()
  }
  override async deleteBucket(name: string): Promise<readonly BodyRef[]> {
    const freed = await this.inner.deleteBucket(name)
    await this.settled()
    return freed
  }
  override async setBucketSubresource(
    bucket: string,
    kind: BucketSubresource,
    value: string | null,
  ): Promise<void> {
    await this.inner.setBucketSubresource(bucket, kind, value)
    await this.settled()
  }
}
