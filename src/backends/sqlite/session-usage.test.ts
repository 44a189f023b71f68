import { sessionUsageConformance } from '../../../test/conformance/session-usage.case.js'
import { openDatabase } from './db.js'
import { SqliteIdentityStore } from './identity-store.js'
import { SqliteSharedLimits } from './shared-limits.js'

sessionUsageConformance('sqlite', async () => {
  const db = openDatabase(':memory:')
  SqliteIdentityStore.open(db)
  const limits = SqliteSharedLimits.open(db)
  return { limits, close: async () => void db.close() }
})
