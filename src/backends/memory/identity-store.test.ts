/** Runs the IdentityStore conformance suite against MemoryIdentityStore. @module */
import { identityStoreConformance } from '../../../test/conformance/identity-store.case.js'
import { MemoryChangeFeed } from './change-feed.js'
import { MemoryIdentityStore } from './identity-store.js'

identityStoreConformance('memory', async () => {
  const changes = new MemoryChangeFeed()
  return { store: new MemoryIdentityStore({ changes }), changes, close: () => changes.close() }
})
