/**
 * Start-up orphan sweep. A write is durable blob first, metadata second, so a crash can leave
 * blobs no metadata points at (and temp files of interrupted puts); replacing or deleting an
 * object deletes its old blobs only after the metadata commit, so a crash there leaves orphans
 * too. Run once at start, before the server accepts requests: it must not race live writes.
 * @module
 */
import type { Logger } from '../lib/logger.js'
import type { BlobStore } from './blob-store.js'
import type { MetadataStore } from './metadata-store.js'

export async function sweepOrphans(
  meta: MetadataStore,
  blobs: BlobStore,
  log?: Logger,
): Promise<{ removed: number }> {
  await blobs.sweepTemp()
  const referenced = new Set<string>()
  for await (const ref of meta.referencedBlobRefs()) referenced.add(ref)
  let removed = 0
  for await (const ref of blobs.list()) {
    if (referenced.has(ref)) continue
    await blobs.delete(ref)
    removed++
  }
  if (removed > 0) log?.info({ removed }, 'removed orphan blobs')
  return { removed }
}
