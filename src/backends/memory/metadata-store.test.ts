/**
 * Runs the MetadataStore conformance suite against the memory store, bare and under the cache
 * decorator (the unit tests' stores).
 * @module
 */
import { metadataStoreConformance } from '../../../test/conformance/metadata-store.case.js'
import { CachedMetadataStore } from '../cached/metadata-store.js'
import { MemoryChangeFeed } from './change-feed.js'
import { MemoryMetadataStore } from './metadata-store.js'

metadataStoreConformance('memory', () => {
  const changes = new MemoryChangeFeed()
  const store = new MemoryMetadataStore({ changes })
  return Promise.resolve({ store, changes, cleanup: () => store.close() })
})

metadataStoreConformance('cached over memory', () => {
  const changes = new MemoryChangeFeed()
  const store = new CachedMetadataStore(new MemoryMetadataStore({ changes }), changes)
  return Promise.resolve({ store, changes, cleanup: () => store.close() })
})
