/**
 * The lifecycle worker: applies every bucket's lifecycle rules (lifecycle.ts) in the background.
 * An expired object is removed the way DeleteObject removes one (one metadata commit, its blobs
 * retired through the ledger, storage/commit.ts), but conditionally: the delete names the ETag
 * and LastModified the rule matched, and the store checks them in the delete's own transaction,
 * so an object overwritten between the listing and the delete (even with the same bytes) stays.
 * An incomplete multipart upload past DaysAfterInitiation is aborted as AbortMultipartUpload
 * aborts it (its parts retired through the ledger).
 *
 * It scales with the store, not with memory: buckets with rules are paged from the metadata
 * store (listBucketSubresources), objects and uploads are listed by each rule's prefix a page at
 * a time, and nothing of a bucket is held beyond one page. One pass at a time per store: the
 * BlobLedger elects the node that runs it (`lead(…, 'lifecycle')`; PostgreSQL's advisory lock),
 * so several nodes never race each other's deletes, and a node that dies mid-pass loses the lead.
 *
 * The composition root starts it (`startLifecycleWorker`) shortly after start and then every
 * quarter of a lifecycle day, at most hourly, at least every 500 ms: so with the test knob
 * `--lifecycle-day-seconds 1` a rule fires within a second of its due time.
 * @module
 */
import type { Logger } from '../lib/logger.js'
import type { BlobLedger } from '../storage/blob-ledger.js'
import type { BlobStore } from '../storage/blob-store.js'
import { commitRemoval, type CommitIo } from '../storage/commit.js'
import { StorageError } from '../storage/errors.js'
import { startElectedPass } from '../storage/periodic.js'
import type { MetadataStore } from '../storage/metadata-store.js'
import {
  parseStoredLifecycle,
  rulePrefix,
  ruleExpiry,
  uploadAbortAt,
  type LifecycleRule,
} from './lifecycle.js'

/** Buckets, objects and uploads read per page. */
const BUCKET_PAGE = 100
const OBJECT_PAGE = 1000

export interface LifecycleDeps {
  readonly meta: MetadataStore
  readonly blobs: BlobStore
  readonly ledger: BlobLedger
  readonly log: Logger
  readonly now: () => number
  /** The length of a lifecycle day (ms). */
  readonly dayMs: number
}

export interface LifecyclePassResult {
  /** Objects removed by an Expiration rule. */
  readonly expired: number
  /** Incomplete multipart uploads aborted. */
  readonly aborted: number
  /** Due objects left alone because they changed after they were listed. */
  readonly changed: number
}

/** How often the worker runs for a lifecycle day of `dayMs`. */
export function lifecycleIntervalMs(dayMs: number): number {
  return Math.min(60 * 60 * 1000, Math.max(500, Math.floor(dayMs / 4)))
}

function isKind(e: unknown, ...kinds: string[]): boolean {
  return e instanceof StorageError && kinds.includes(e.kind)
}

class Pass {
  expired = 0
  aborted = 0
  changed = 0
  private readonly d: LifecycleDeps
  private readonly stopped: () => boolean

  constructor(d: LifecycleDeps, stopped: () => boolean) {
    this.d = d
    this.stopped = stopped
  }

  private io(now: number): CommitIo {
    return { blobs: this.d.blobs, ledger: this.d.ledger, log: this.d.log, now }
  }

  async run(): Promise<void> {
    let after: string | undefined
    for (;;) {
      const page = await this.d.meta.listBucketSubresources('lifecycle', after, BUCKET_PAGE)
      for (const { bucket, value } of page) {
        if (this.stopped()) return
        let rules: LifecycleRule[]
        try {
          rules = parseStoredLifecycle(value)
        } catch (err) {
          this.d.log.warn({ bucket, err: String(err) }, 'unreadable lifecycle configuration')
          continue
        }
        try {
          await this.bucket(bucket, rules)
        } catch (err) {
          // A bucket deleted meanwhile has nothing left to do; anything else waits for the next pass.
          if (!isKind(err, 'bucket-not-found'))
            this.d.log.warn(
              { bucket, err: err instanceof Error ? err.message : String(err) },
              'lifecycle rules not applied',
            )
        }
      }
      const last = page[page.length - 1]
      if (last === undefined || page.length < BUCKET_PAGE) return
      after = last.bucket
    }
  }

  private async bucket(bucket: string, rules: readonly LifecycleRule[]): Promise<void> {
    const now = this.d.now()
    for (const rule of rules) {
      if (!rule.enabled) continue
      const e = rule.expiration
      // A Date rule lists nothing before its date.
      if (e !== undefined && ('days' in e || ('date' in e && now >= e.date)))
        await this.expire(bucket, rule, now)
      if (rule.abortIncompleteAfterDays !== undefined) await this.abort(bucket, rule, now)
      if (this.stopped()) return
    }
  }

  private async expire(bucket: string, rule: LifecycleRule, now: number): Promise<void> {
    let after: string | undefined
    for (;;) {
      const page = await this.d.meta.listObjects(bucket, {
        prefix: rulePrefix(rule),
        ...(after !== undefined ? { after } : {}),
        maxKeys: OBJECT_PAGE,
      })
      for (const o of page.objects) {
        const at = ruleExpiry(rule, o, this.d.dayMs)
        if (at === undefined || now < at) continue
        try {
          const removed = await commitRemoval(this.io(now), async () => {
            const body = await this.d.meta.deleteObject(bucket, o.key, {
              ifMatch: o.etag,
              ifLastModified: o.lastModified,
            })
            return { result: body !== undefined, freed: [body] }
          })
          if (removed) this.expired++ // else deleted by a client meanwhile
        } catch (err) {
          if (!isKind(err, 'precondition')) throw err
          this.changed++ // overwritten since the listing: the new object has its own clock
        }
      }
      if (!page.isTruncated || page.lastReturned === undefined || this.stopped()) return
      after = page.lastReturned
    }
  }

  private async abort(bucket: string, rule: LifecycleRule, now: number): Promise<void> {
    let keyMarker: string | undefined
    let uploadIdMarker: string | undefined
    for (;;) {
      const page = await this.d.meta.listUploads(bucket, {
        prefix: rulePrefix(rule),
        ...(keyMarker !== undefined ? { keyMarker } : {}),
        ...(uploadIdMarker !== undefined ? { uploadIdMarker } : {}),
        maxUploads: OBJECT_PAGE,
      })
      for (const u of page.uploads) {
        const at = uploadAbortAt(rule, u.key, u.initiatedAt, this.d.dayMs)
        if (at === undefined || now < at) continue
        try {
          await commitRemoval(this.io(now), async () => ({
            result: undefined,
            freed: await this.d.meta.abortUpload(u.uploadId),
          }))
          this.aborted++
        } catch (err) {
          if (!isKind(err, 'upload-not-found')) throw err // completed or aborted meanwhile
        }
      }
      if (!page.isTruncated || page.nextKeyMarker === undefined || this.stopped()) return
      keyMarker = page.nextKeyMarker
      uploadIdMarker = page.nextUploadIdMarker
    }
  }
}

/**
 * One pass over every bucket with lifecycle rules, at the time `d.now()` reads per bucket.
 * `stopped` is asked between pages, so a shutdown does not wait for a whole pass.
 */
export async function runLifecyclePass(
  d: LifecycleDeps,
  stopped: () => boolean = () => false,
): Promise<LifecyclePassResult> {
  const p = new Pass(d, stopped)
  await p.run()
  const result = { expired: p.expired, aborted: p.aborted, changed: p.changed }
  if (p.expired > 0 || p.aborted > 0 || p.changed > 0) d.log.info(result, 'lifecycle rules applied')
  return result
}

/**
 * Run `runLifecyclePass` after `firstDelayMs`, then every `everyMs` (default: from the day's
 * length, lifecycleIntervalMs), one pass at a time and, in a cluster, on the node the ledger
 * elects; failures are logged and retried on the next tick. Returns a stop function that waits
 * for a running pass (which stops at its next page).
 */
export function startLifecycleWorker(
  o: LifecycleDeps & { readonly firstDelayMs?: number; readonly everyMs?: number },
): () => Promise<void> {
  const everyMs = o.everyMs ?? lifecycleIntervalMs(o.dayMs)
  return startElectedPass({
    ledger: o.ledger,
    role: 'lifecycle',
    run: async (stopped) => {
      const startedAt = o.now()
      const r = await runLifecyclePass(o, stopped)
      // Which node ran when: operators (and the cluster test) can see passes never overlap.
      o.log.debug({ startedAt, endedAt: o.now(), ...r }, 'lifecycle pass')
    },
    log: o.log,
    what: 'lifecycle pass',
    firstDelayMs: o.firstDelayMs ?? Math.min(everyMs, 5_000),
    everyMs,
  })
}
