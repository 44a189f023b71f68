/**
 * Runs the BlobLedger conformance suite against SqliteBlobLedger, shows the ledger survives a
 * reopen of its database file (a crash between a blob's put and its commit is found after
 * restart), and checks the metadata store's answer to the collector's one question,
 * isBlobReferenced.
 * @module
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { expect, it } from 'vitest'
import { blobLedgerConformance, GRACE } from '../../../test/conformance/blob-ledger.case.js'
import { obj } from '../../../test/conformance/metadata-store.case.js'
import type { BodyRef } from '../../storage/metadata-store.js'
import { SqliteBlobLedger } from './blob-ledger.js'
import { openDatabase } from './db.js'
import { GroupCommit } from './group-commit.js'
import { SqliteMetadataStore } from './metadata-store.js'

blobLedgerConformance('sqlite', (opts) => {
  const db = openDatabase(':memory:')
  const commits = new GroupCommit(db)
  return Promise.resolve({
    ledger: new SqliteBlobLedger(db, { ...opts, commits }),
    close: async () => {
      await commits.drain()
      db.close()
    },
  })
})

it('SqliteBlobLedger: intents and retirements survive a reopen', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'lk-ledger-'))
  try {
    const file = join(dir, 'l.db')
    const db1 = openDatabase(file)
    const commits = new GroupCommit(db1)
    const l1 = new SqliteBlobLedger(db1, { ...GRACE, commits })
    await l1.intend(['orphan'], 0)
    await l1.retire(['old'], 0)
    await commits.drain()
    db1.close()
    const db2 = openDatabase(file)
    const l2 = new SqliteBlobLedger(db2, GRACE)
    expect(await l2.due(10_000, 10)).toEqual({ orphans: ['orphan'], retired: ['old'] })
    db2.close()
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})

it('SqliteMetadataStore.isBlobReferenced: exact refs in objects, multipart bodies and parts', async () => {
  const meta = new SqliteMetadataStore(openDatabase(':memory:'), { closeDb: true })
  try {
    await meta.createBucket({ name: 'b', accountId: 'a', createdAt: 0, region: 'r' })
    const blob = (ref: string): BodyRef => ({ kind: 'blob', ref, size: 1 })
    await meta.putObject(obj('b', 'single', { body: blob('abcdef01') }))
    await meta.putObject(
      obj('b', 'multi', {
        body: {
          kind: 'parts',
          parts: [
            { ref: blob('partblob1'), size: 1 },
            { ref: { kind: 'inline', bytes: Buffer.from('"r":"zzzz9999"') }, size: 14 },
          ],
        },
      }),
    )
    await meta.putObject(obj('b', 'inline', { body: { kind: 'inline', bytes: Buffer.from('x') } }))
    await meta.createUpload({
      uploadId: 'u1',
      bucket: 'b',
      key: 'm',
      initiatedAt: 0,
      headers: {},
      userMetadata: {},
      tags: {},
      ownerAccountId: 'a',
      initiator: 'x',
    })
    await meta.putPart('u1', {
      partNumber: 1,
      size: 1,
      etag: 'e',
      lastModified: 0,
      body: blob('uploaded1'),
    })
    for (const ref of ['abcdef01', 'partblob1', 'uploaded1'])
      expect(await meta.isBlobReferenced(ref), ref).toBe(true)
    // prefixes, suffixes and bytes inside inline bodies are not references
    for (const ref of ['abcdef0', 'bcdef01', 'partblob', 'zzzz9999', 'nothing1'])
      expect(await meta.isBlobReferenced(ref), ref).toBe(false)
    await meta.deleteObject('b', 'single')
    await meta.abortUpload('u1')
    expect(await meta.isBlobReferenced('abcdef01')).toBe(false)
    expect(await meta.isBlobReferenced('uploaded1')).toBe(false)
  } finally {
    await meta.close()
  }
})
