/**
 * Stores.ready() of the SQLite bundle (what `/ready` reports): undefined while the database and
 * the blob directory answer, else the reason — a blob directory gone (a lost mount), a database
 * closed.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { openSqlite } from './index.js'

const dirs: string[] = []
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true })
})

describe('SQLite bundle: ready()', () => {
  it('answers while the database and the blob directory do; names what does not', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lk-ready-'))
    dirs.push(dir)
    const blobDir = join(dir, 'objects')
    const stores = await openSqlite(join(dir, 'latchkey.db'), { blobDir })
    try {
      expect(await stores.ready()).toBeUndefined()
      rmSync(blobDir, { recursive: true, force: true })
      expect(await stores.ready()).toMatch(/^blob directory .*objects: ENOENT$/)
    } finally {
      await stores.close()
    }
    expect(await stores.ready()).toBe('the database is closed')
  })
})
