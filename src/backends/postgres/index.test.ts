/**
 * openPostgresStores: two bundles on one database and one blob directory act as one store —
 * a bucket made through one is seen through the other, a cached record read on the second is
 * replaced once the first's change is applied, a blob written by one is read by the other — and
 * close() is idempotent. Skipped, saying so, when no PostgreSQL is installed.
 * @module
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import { afterAll, expect, it } from 'vitest'
import { startPostgres } from '../../../test/support/postgres.js'
import { openPostgresStores } from './index.js'

const SKIP = 'no PostgreSQL installed (initdb/pg_ctl not found, LATCHKEY_TEST_DATABASE_URL unset)'
const pg = await startPostgres()
afterAll(async () => {
  await pg?.stop()
})

async function readAll(s: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = []
  for await (const c of s) chunks.push(Buffer.from(c as Buffer))
  return Buffer.concat(chunks)
}

if (pg === undefined) {
  it.skip(`openPostgresStores (${SKIP})`, () => {})
} else {
  it('two bundles on one database and blob dir behave as one store; close is idempotent', async () => {
    const url = await pg.createDatabase()
    const blobDir = mkdtempSync(join(tmpdir(), 'lk-pg-blobs-'))
    const a = await openPostgresStores(url, { blobDir, nodeId: 'node-a' })
    const b = await openPostgresStores(url, { blobDir, nodeId: 'node-b' })
    try {
      expect(a.changes.nodeId).toBe('node-a')
      await a.metadata.createBucket({ name: 'bk', accountId: 'acc', createdAt: 1, region: 'r' })
      expect(await b.metadata.getBucket('bk')).toMatchObject({ accountId: 'acc' })
      // B has the policy cached as absent; A's change must replace it once applied.
      expect(await b.metadata.getBucketSubresource('bk', 'policy')).toBeUndefined()
      await a.metadata.setBucketSubresource('bk', 'policy', '{"v":1}')
      expect(await a.changes.applied(a.changes.head(), 5_000)).toBe(true)
      expect(await b.metadata.getBucketSubresource('bk', 'policy')).toBe('{"v":1}')

      const ref = a.blobs.newRef()
      await a.blobs.put(Readable.from([Buffer.from('hello')]), { ref })
      expect((await readAll(b.blobs.get(ref))).toString()).toBe('hello')
    } finally {
      await a.close()
      await a.close()
      await b.close()
      rmSync(blobDir, { recursive: true, force: true })
    }
  })
}
