import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { changeFeedConformance } from '../../../test/conformance/change-feed.case.js'
import { openSqlite } from './index.js'

// The SQLite bundle's feed (in-process fan-out: the server holds the file exclusively).
changeFeedConformance('sqlite bundle', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'lk-feed-'))
  const stores = await openSqlite(join(dir, 'db.sqlite'), { blobDir: join(dir, 'objects') })
  return {
    feed: stores.changes,
    close: async () => {
      await stores.close()
      rmSync(dir, { recursive: true, force: true })
    },
  }
})
