/**
 * Which engine holds the data: the one place that reads `databaseUrl` and picks a backend
 * bundle. Only SQLite exists today (the data dir's `latchkey.db`, object bodies under
 * `objects/`); a PostgreSQL bundle lands here as one more branch and nowhere else.
 * @module
 */
import { join } from 'node:path'
import type { Config } from '../config/config.js'
import type { Stores } from '../storage/stores.js'
import { openSqlite } from '../backends/sqlite/index.js'

/** The SQLite database in the data dir. */
export const DATABASE_FILE = 'latchkey.db'

export function openStores(config: Config): Stores {
  const url = config.databaseUrl
  if (url !== undefined && url.startsWith('postgres'))
    // Config already refuses it; kept here so no other path can reach a backend that is not built.
    throw new Error(
      '--database postgres:// is not implemented yet; run without --database to use SQLite',
    )
  return openSqlite(join(config.dataDir, DATABASE_FILE), {
    blobDir: join(config.dataDir, 'objects'),
    // One process owns a data dir; fsync runs on the thread pool (wal-sync.ts).
    exclusive: true,
    asyncDurability: true,
  })
}
