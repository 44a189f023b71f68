/**
 * What the S3 pipeline reads for nearly every request besides the bucket record: the bucket's
 * compiled policy (and whether it is public), its parsed CORS rules, its lifecycle rules
 * (x-amz-expiration on object answers), its access configuration (ACL, Object Ownership, public
 * access block), and the owner shown for an account. All are cached here and invalidated only by
 * the ChangeFeed (a bucket's `policy`, `cors`, `lifecycle`, `acl`, `public-access-block`,
 * `ownership`, `created` or `deleted` change; an `account` change; `resync`), never by a call an
 * operation must remember
 * to make, so a change made by another node or behind the service's back is seen on the very
 * next request, exactly like one this process made.
 *
 * A load that a change overtook is not kept (each cache has an epoch that changes bump), so an
 * asynchronous store cannot leave a stale document cached for ever.
 * @module
 */
import type { ChangeFeed } from '../storage/change-feed.js'
import type { MetadataStore } from '../storage/metadata-store.js'
import type { AccountDirectory } from '../iam/types.js'
import { parsePolicy, type CompiledPolicy } from '../policy/document.js'
import { parseCorsConfig, type CorsRule } from './cors.js'
import { parseStoredLifecycle, type LifecycleRule } from './lifecycle.js'
import type { BucketAccessConfig, PublicAccessBlock } from './acl.js'
import { isPublicPolicy } from './public-policy.js'
import type { StoredAcl } from '../storage/metadata-store.js'
import type { OwnerInfo } from './operation.js'

/** A bucket's ACL, Object Ownership and public access block, read from the store (uncached). */
export async function loadAccessConfig(
  meta: Pick<MetadataStore, 'getBucketSubresource'>,
  bucket: string,
): Promise<BucketAccessConfig> {
  const [acl, pab, ownership] = await Promise.all([
    meta.getBucketSubresource(bucket, 'acl'),
    meta.getBucketSubresource(bucket, 'public-access-block'),
    meta.getBucketSubresource(bucket, 'ownership'),
  ])
  return Object.assign(
    acl !== undefined ? { acl: JSON.parse(acl) as StoredAcl } : {},
    pab !== undefined ? { publicAccessBlock: JSON.parse(pab) as PublicAccessBlock } : {},
    ownership !== undefined ? { ownership } : {},
  )
}

export class BucketConfig {
  private readonly meta: MetadataStore
  private readonly accounts: Pick<AccountDirectory, 'byId'>
  private readonly unsubscribe: () => void
  /** Compiled bucket policies by bucket, and whether each is public; null = none. */
  private readonly policies = new Map<
    string,
    { readonly compiled: CompiledPolicy; readonly isPublic: boolean } | null
  >()
  /** ACL, ownership and public access block by bucket. */
  private readonly access = new Map<string, BucketAccessConfig>()
  private accessEpoch = 0
  /** Parsed CORS rules by bucket; null = none. */
  private readonly cors = new Map<string, readonly CorsRule[] | null>()
  /** Parsed lifecycle rules by bucket; null = none. */
  private readonly lifecycles = new Map<string, readonly LifecycleRule[] | null>()
  private readonly owners = new Map<string, OwnerInfo>()
  private policyEpoch = 0
  private corsEpoch = 0
  private lifecycleEpoch = 0

  constructor(deps: {
    readonly meta: MetadataStore
    readonly changes: ChangeFeed
    readonly accounts: Pick<AccountDirectory, 'byId'>
  }) {
    this.meta = deps.meta
    this.accounts = deps.accounts
    this.unsubscribe = deps.changes.subscribe({
      change: (c) => {
        if (c.kind === 'bucket') {
          const whole = c.part === 'created' || c.part === 'deleted'
          if (whole || c.part === 'policy') this.dropPolicy(c.bucket)
          if (whole || c.part === 'cors') this.dropCors(c.bucket)
          if (whole || c.part === 'lifecycle') this.dropLifecycle(c.bucket)
          if (
            whole ||
            c.part === 'acl' ||
            c.part === 'public-access-block' ||
            c.part === 'ownership'
          )
            this.dropAccess(c.bucket)
        } else if (c.kind === 'account') {
          this.owners.delete(c.id)
        }
      },
      resync: () => {
        this.policies.clear()
        this.cors.clear()
        this.lifecycles.clear()
        this.access.clear()
        this.owners.clear()
        this.policyEpoch++
        this.corsEpoch++
        this.lifecycleEpoch++
        this.accessEpoch++
      },
    })
  }

  private dropPolicy(bucket: string): void {
    this.policyEpoch++
    this.policies.delete(bucket)
  }

  private dropAccess(bucket: string): void {
    this.accessEpoch++
    this.access.delete(bucket)
  }

  private dropCors(bucket: string): void {
    this.corsEpoch++
    this.cors.delete(bucket)
  }

  private dropLifecycle(bucket: string): void {
    this.lifecycleEpoch++
    this.lifecycles.delete(bucket)
  }

  /**
   * The bucket's policy, compiled; undefined when it has none. From memory once loaded (every
   * authorized request asks): no await then.
   */
  policy(bucket: string): CompiledPolicy | undefined | Promise<CompiledPolicy | undefined> {
    const hit = this.policies.get(bucket)
    if (hit !== undefined) return hit?.compiled
    return this.loadPolicy(bucket).then((e) => e?.compiled)
  }

  /** Whether the bucket's policy is public (public-policy.ts); false without one. */
  async policyIsPublic(bucket: string): Promise<boolean> {
    return (await this.loadPolicy(bucket))?.isPublic ?? false
  }

  private async loadPolicy(
    bucket: string,
  ): Promise<{ readonly compiled: CompiledPolicy; readonly isPublic: boolean } | undefined> {
    const hit = this.policies.get(bucket)
    if (hit !== undefined) return hit ?? undefined
    const epoch = this.policyEpoch
    const text = await this.meta.getBucketSubresource(bucket, 'policy')
    const entry =
      text === undefined
        ? null
        : {
            compiled: parsePolicy(text, {
              kind: 'resource',
              name: 'bucket-policy',
              source: 'resource',
            }),
            isPublic: isPublicPolicy(text),
          }
    if (epoch === this.policyEpoch) this.policies.set(bucket, entry)
    return entry ?? undefined
  }

  /** The bucket's ACL, Object Ownership and public access block. */
  async accessConfig(bucket: string): Promise<BucketAccessConfig> {
    const hit = this.access.get(bucket)
    if (hit !== undefined) return hit
    const epoch = this.accessEpoch
    const config = await loadAccessConfig(this.meta, bucket)
    if (epoch === this.accessEpoch) this.access.set(bucket, config)
    return config
  }

  /** The bucket's CORS rules; undefined when it has no CORS configuration. */
  async corsRules(bucket: string): Promise<readonly CorsRule[] | undefined> {
    const hit = this.cors.get(bucket)
    if (hit !== undefined) return hit ?? undefined
    const epoch = this.corsEpoch
    const text = await this.meta.getBucketSubresource(bucket, 'cors')
    const rules = text === undefined ? null : parseCorsConfig(text)
    if (epoch === this.corsEpoch) this.cors.set(bucket, rules)
    return rules ?? undefined
  }

  /**
   * The bucket's lifecycle rules; undefined when it has no lifecycle configuration. The answer
   * itself when cached (every object answer asks), a promise when it must be read.
   */
  lifecycleRules(
    bucket: string,
  ): readonly LifecycleRule[] | undefined | Promise<readonly LifecycleRule[] | undefined> {
    const hit = this.lifecycles.get(bucket)
    if (hit !== undefined) return hit ?? undefined
    const epoch = this.lifecycleEpoch
    return this.meta.getBucketSubresource(bucket, 'lifecycle').then((text) => {
      const rules = text === undefined ? null : parseStoredLifecycle(text)
      if (epoch === this.lifecycleEpoch) this.lifecycles.set(bucket, rules)
      return rules ?? undefined
    })
  }

  /** Owner (canonical id + display name) of an account, consistent across every response. */
  owner(accountId: string): OwnerInfo {
    let o = this.owners.get(accountId)
    if (o === undefined) {
      const acct = this.accounts.byId(accountId)
      o = { id: acct?.canonicalId ?? accountId, displayName: acct?.name ?? accountId }
      this.owners.set(accountId, o)
    }
    return o
  }

  close(): void {
    this.unsubscribe()
  }
}
