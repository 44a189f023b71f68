/** Runs the IdentityStore conformance suite against SqliteIdentityStore (in-memory database). @module */
import { identityStoreConformance } from '../../../test/conformance/identity-store.case.js'
import { MemoryChangeFeed } from '../memory/change-feed.js'
import { openDatabase } from './db.js'
import { SqliteIdentityStore } from './identity-store.js'

identityStoreConformance('sqlite', async () => {
  const db = openDatabase(':memory:')
  const changes = new MemoryChangeFeed()
  return {
    store: SqliteIdentityStore.open(db, { changes }),
    changes,
    close: async () => {
      await changes.close()
      db.close()
    },
  }
})
