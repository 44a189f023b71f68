/**
 * Runs the IdentityStore conformance suite against SqliteIdentityStore (in-memory database), and
 * checks the migration that added row versions to existing data.
 * @module
 */
import { identityStoreConformance } from '../../../test/conformance/identity-store.case.js'
import { MemoryChangeFeed } from '../memory/change-feed.js'
import { describe, expect, it } from 'vitest'
import { openDatabase, runMigrations } from './db.js'
import { IDENTITY_MIGRATIONS } from './identity-migrations.js'
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

describe('SqliteIdentityStore migration to row versions', () => {
  it('rows written before the version column start at 0 and update by compare-and-set', async () => {
    const db = openDatabase(':memory:')
    runMigrations(db, 'identity', IDENTITY_MIGRATIONS.slice(0, 1)) // the released first step
    db.prepare(
      `INSERT INTO iam_accounts (id, name, type, created_at, allowlist, master_access_key_id, master_secret, secret_version)
       VALUES ('111111111111', 'default', 'customer', 1, '[]', 'S4AKold', 'sealed', 1)`,
    ).run()
    const store = SqliteIdentityStore.open(db)
    const a = (await store.getAccount('111111111111'))!
    expect(a.version).toBe(0)
    await store.updateAccount({ ...a, allowlist: ['10.0.0.0/8'] }, 0)
    expect((await store.getAccount('111111111111'))!.version).toBe(1)
    db.close()
  })
})
