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
import type { MetadataStore } from '../storage/metadata-store.js'

/** How long a bucket write waits for the other nodes before answering anyway. */
export const BUCKET_APPLY_TIMEOUT_MS = 5_000

const SETTLED: ReadonlySet<PropertyKey> = new Set<keyof MetadataStore>([
  'createBucket',
  'deleteBucket',
  'setBucketSubresource',
])

/** `meta` with its bucket writes waiting on `changes.applied()` after they commit. */
export function settleBucketWrites(meta: MetadataStore, changes: ChangeFeed): MetadataStore {
  return new Proxy(meta, {
    get(target, prop) {
      const v: unknown = Reflect.get(target, prop, target)
      if (typeof v !== 'function') return v
      const fn = v as (...args: unknown[]) => unknown
      if (!SETTLED.has(prop)) return fn.bind(target)
      return async (...args: unknown[]) => {
        const out = await fn.apply(target, args)
        // Timed out: a node is slow or gone; answer anyway, as IAM writes do.
        await changes.applied(changes.head(), BUCKET_APPLY_TIMEOUT_MS)
        return out
      }
    },
  })
}
