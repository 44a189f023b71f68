/**
 * Runs the BlobLedger conformance suite against SqliteBlobLedger, and shows the ledger survives a
 * reopen of its database file (a crash between a blob's put and its commit is found after restart).
 * @module
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { expect, it } from 'vitest'
import { blobLedgerConformance, GRACE } from '../../../test/conformance/blob-ledger.case.js'
import { SqliteBlobLedger } from './blob-ledger.js'
import { openDatabase } from './db.js'
import { groupCommitFor } from './group-commit.js'

blobLedgerConformance('sqlite', (opts) => {
  const db = openDatabase(':memory:')
  return Promise.resolve({
    ledger: new SqliteBlobLedger(db, opts),
    close: async () => {
      await groupCommitFor(db).drain()
      db.close()
    },
  })
})

it('SqliteBlobLedger: intents and retirements survive a reopen', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'lk-ledger-'))
  try {
    const file = join(dir, 'l.db')
    const db1 = openDatabase(file)
    const l1 = new SqliteBlobLedger(db1, GRACE)
    await l1.intend(['orphan'], 0)
    await l1.retire(['old'], 0)
    await groupCommitFor(db1).drain()
    db1.close()
    const db2 = openDatabase(file)
    const l2 = new SqliteBlobLedger(db2, GRACE)
    expect(await l2.due(10_000, 10)).toEqual({ orphans: ['orphan'], retired: ['old'] })
    db2.close()
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})
