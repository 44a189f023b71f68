/**
 * The blob garbage collector: one pass over what the BlobLedger says is due. Retired blobs (a
 * committed write replaced or deleted them, and the retire grace period has passed) are deleted.
 * Old intents (a blob was about to be written or freed, and nothing settled it: the process died
 * between the blob's put and the metadata commit, or between the commit and its settlement) are
 * deleted only if no metadata record references the blob; a referenced one is just forgotten.
 * It never scans every blob and never races a live write that is younger than the orphan grace
 * period, so it can run at any time while the server serves: the composition root runs it shortly
 * after start and then every minute (`startBlobCollector`), on whichever node the ledger elects.
 * @module
 */
import type { Logger } from '../lib/logger.js'
import type { BlobLedger } from './blob-ledger.js'
import { startElectedPass } from './periodic.js'
import type { BlobStore } from './blob-store.js'
import type { MetadataStore } from './metadata-store.js'

/** Entries handled per round; a pass runs rounds until nothing is due. */
const BATCH = 256

export interface GcResult {
  /** Blobs deleted (retired past grace, or orphans nothing references). */
  readonly deleted: number
  /** Intents found referenced (a crash after the commit): forgotten, blob kept. */
  readonly kept: number
}

export async function collectGarbage(
  ledger: BlobLedger,
  blobs: BlobStore,
  metadata: Pick<MetadataStore, 'isBlobReferenced'>,
  now: number,
  log?: Logger,
): Promise<GcResult> {
  let deleted = 0
  let kept = 0
  for (;;) {
    const due = await ledger.due(now, BATCH)
    if (due.orphans.length === 0 && due.retired.length === 0) break
    const doomed = [...due.retired]
    for (const ref of due.orphans) {
      if (await metadata.isBlobReferenced(ref)) kept++
      else doomed.push(ref)
    }
    await Promise.all(doomed.map((ref) => blobs.delete(ref)))
    deleted += doomed.length
    await ledger.forget([...due.retired, ...due.orphans])
  }
  if (deleted > 0 || kept > 0) log?.info({ deleted, kept }, 'blob garbage collected')
  return { deleted, kept }
}

/**
 * Run `collectGarbage` after `firstDelayMs`, then every `everyMs`, one pass at a time; failures
 * are logged and retried on the next tick. Returns a stop function that waits for a running pass.
 */
export function startBlobCollector(o: {
  readonly ledger: BlobLedger
  readonly blobs: BlobStore
  readonly metadata: Pick<MetadataStore, 'isBlobReferenced'>
  readonly now: () => number
  readonly log: Logger
  readonly firstDelayMs?: number
  readonly everyMs?: number
}): () => Promise<void> {
  // One pass at a time in the cluster too: the ledger elects the collector (BlobLedger.lead).
  return startElectedPass({
    ledger: o.ledger,
    run: () => collectGarbage(o.ledger, o.blobs, o.metadata, o.now(), o.log),
    log: o.log,
    what: 'blob garbage collection',
    firstDelayMs: o.firstDelayMs ?? 5_000,
    everyMs: o.everyMs ?? 60_000,
  })
}
