/**
 * Everything durable a Latchkey node needs, opened as one bundle by the composition root from
 * its configuration (`app/backends.ts`). Nothing below `app/` knows which engine is behind it.
 * @module
 */
import type { AuditLog } from './audit-log.js'
import type { BlobLedger } from './blob-ledger.js'
import type { BlobStore } from './blob-store.js'
import type { ChangeFeed } from './change-feed.js'
import type { IdentityStore } from './identity-store.js'
import type { MetadataStore } from './metadata-store.js'
import type { SharedLimits } from './shared-limits.js'

export interface Stores {
  readonly metadata: MetadataStore
  readonly identity: IdentityStore
  readonly blobs: BlobStore
  /** Intents and retirements of blobs: garbage collection without a start-up sweep. */
  readonly ledger: BlobLedger
  /**
   * Every store of the bundle publishes here; caches (IAM directory, bucket configuration,
   * object records) subscribe here.
   */
  readonly changes: ChangeFeed
  /** Session quota, login throttle and TOTP replay, shared by every node of the bundle's store. */
  readonly limits: SharedLimits
  /** The audit trail (append-only; pruned by retention only). */
  readonly audit: AuditLog
  /**
   * Whether the database and the blob store answer now (a trivial query, a stat or HeadBucket):
   * undefined when they do, else why not. What `/ready` reports; never throws.
   */
  ready(): Promise<string | undefined>
  /** Flush and release everything (the database's last checkpoint is durable). */
  close(): Promise<void>
}
