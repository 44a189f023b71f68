/**
 * The durable-write protocol, once, for every operation that writes or frees object bodies
 * (PutObject, PostObject, CopyObject, UploadPart, UploadPartCopy, CompleteMultipartUpload, and
 * the deletes and aborts):
 *
 * 1. write: stream the body in through `writeBody`, which records a ledger intent for a blob
 *    before `BlobStore.put` (an inline body touches neither the blob store nor the ledger);
 * 2. check: verify what was written (digests, sizes, write conditions); a failure discards it;
 * 3. commit the metadata; a failure discards what step 1 wrote. A durable ledger records the
 *    blobs the commit drops in the commit's own transaction (BlobLedger), so a crash right after
 *    it leaves intents for the collector, not leaked files;
 * 4. settle our intents (and those of blobs the commit moved, not dropped: the parts a completed
 *    multipart upload keeps), and free what the commit dropped: a whole-object blob at once when
 *    the blob store's reads take hold of their bytes as they start (files), else after a minute;
 *    the parts of a multipart object after the ledger's retire grace (an hour), because a
 *    multipart GET opens them one by one as it reaches them (see BlobLedger).
 *
 * Nothing after the commit can fail the request: the commit is the acknowledgement. If step 4
 * fails, the intents stay and the collector settles them by asking the metadata store whether
 * each blob is referenced. Cleanups log and never throw, so no rejection goes unhandled.
 * @module
 */
import type { Logger } from '../lib/logger.js'
import { WHOLE_BLOB_RETIRE_GRACE_MS, type BlobLedger } from './blob-ledger.js'
import type { BlobStore } from './blob-store.js'
import type { BodyRef } from './metadata-store.js'
import { blobRefs } from './object-bodies.js'

export interface CommitIo {
  readonly blobs: BlobStore
  readonly ledger: BlobLedger
  readonly log: Logger
  /** The request's time (ms): stamps intents and retirements. */
  readonly now: number
}

/** What a metadata commit answers: its result, and the bodies it freed (replaced or removed). */
export interface Committed<T> {
  readonly result: T
  readonly freed: readonly (BodyRef | undefined)[]
  /** Bodies that moved from a dropped record to the committed one (still referenced). */
  readonly kept?: readonly (BodyRef | undefined)[]
}

export interface WriteSteps<W extends { readonly body: BodyRef }, T> {
  /** Stream the body in (through writeBody). Must leave nothing behind when it throws. */
  write(): Promise<W>
  /** Verify what was written; throwing discards it. */
  check?(w: W): Promise<void> | void
  commit(w: W): Promise<Committed<T>>
}

/** Write a body and commit the metadata that references it (steps 1–4 above). */
export async function commitWrite<W extends { readonly body: BodyRef }, T>(
  io: CommitIo,
  steps: WriteSteps<W, T>,
): Promise<{ readonly written: W; readonly result: T }> {
  const written = await steps.write()
  const ours = blobRefs(written.body)
  let result: T
  try {
    if (steps.check !== undefined) await steps.check(written)
    result = await commitThenSettle(io, ours, () => steps.commit(written))
  } catch (e) {
    await discardUncommitted(io, written.body)
    throw e
  }
  return { written, result }
}

/** Commit a change that writes no body but may free some (delete, abort, complete). */
export function commitRemoval<T>(io: CommitIo, commit: () => Promise<Committed<T>>): Promise<T> {
  return commitThenSettle(io, [], commit)
}

async function commitThenSettle<T>(
  io: CommitIo,
  ours: readonly string[],
  commit: () => Promise<Committed<T>>,
): Promise<T> {
  const done = await commit()
  // A whole-object blob is opened right after its record is read: a short grace covers its
  // readers. The parts of a multipart object are opened one by one during the download.
  const wholes = done.freed.flatMap((b) => (b?.kind === 'blob' ? [b.ref] : []))
  const parts = done.freed.flatMap((b) => (b?.kind === 'parts' ? blobRefs(b) : []))
  const settled = [...ours, ...(done.kept ?? []).flatMap((b) => blobRefs(b))]
  // The common write (an inline body over nothing or an inline body) has no ledger work at all.
  if (settled.length === 0 && wholes.length === 0 && parts.length === 0) return done.result
  const retire = async (): Promise<void> => {
    if (wholes.length > 0) {
      if (io.blobs.readsHoldTheirBytes) {
        // Safe now (BlobStore.readsHoldTheirBytes): and a replaced body kept on disk makes the
        // page cache pay for it (a 256 MiB overwrite cost 40% more CPU with the old body kept).
        // Deleted before forgotten: a crash in between leaves the commit's intent, which the
        // collector resolves.
        await Promise.all(wholes.map((r) => io.blobs.delete(r)))
        await io.ledger.forget(wholes)
      } else {
        await io.ledger.retire(wholes, io.now, WHOLE_BLOB_RETIRE_GRACE_MS)
      }
    }
    if (parts.length > 0) await io.ledger.retire(parts, io.now)
  }
  await Promise.all([
    quietly(io, io.ledger.settle(settled), 'could not settle blob intents'),
    quietly(io, retire(), 'could not retire replaced blobs'),
  ])
  return done.result
}

/**
 * Delete a body this request wrote and nothing references (failed check or commit), and drop
 * its intents. Logged, never thrown: a leftover blob keeps its intent, which the collector
 * resolves after the orphan grace period.
 */
export async function discardUncommitted(io: CommitIo, body: BodyRef): Promise<void> {
  const refs = blobRefs(body)
  if (refs.length === 0) return
  try {
    await Promise.all(refs.map((r) => io.blobs.delete(r)))
    await io.ledger.forget(refs)
  } catch (err) {
    io.log.warn(
      { err: err instanceof Error ? err.message : String(err) },
      'could not delete an uncommitted body',
    )
  }
}

async function quietly(io: CommitIo, p: Promise<void>, msg: string): Promise<void> {
  try {
    await p
  } catch (err) {
    io.log.warn({ err: err instanceof Error ? err.message : String(err) }, msg)
  }
}
