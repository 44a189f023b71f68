/**
 * Target 4: ListObjectsV2 pages of 1000 must not get slower with bucket size: a bucket of
 * 1,000,000 keys against one of 10,000 (each on its own server and database), time per page
 * ratio ≤ 3×. Four pages: first and mid-bucket (start-after), without and with delimiter.
 * Both buckets spread keys over 1000 directories (1000 resp. 10 keys each), so the delimiter
 * page is 1000 common prefixes in both, and in the big bucket each prefix hides 1000 keys the
 * listing must skip rather than walk.
 * Filling a million keys through the API is too slow, so rows are seeded straight into the
 * SQLite file (`seedObjects`) while the server is stopped; the bucket itself is created through
 * the API first so it belongs to the master key's account.
 * @module
 */
import { openDatabase } from '../../src/backends/sqlite/db.js'
import { seedObjects } from '../seed-sqlite.js'
import { join } from 'node:path'
import { makePool } from '../load.js'
import { scalingRow, serverAfterSeed } from './scaling.js'
import { signRequest, type PreparedRequest } from '../sign.js'
import { ROOT_CREDS, s3Call, startLatchkey, tempDir, type Latchkey, type Settings } from '../env.js'
import type { ResultRow } from '../stats.js'

const DIRS = 1000
/** After every key of dir-00499 ('~' sorts after 'obj-…'), before dir-00500: mid-bucket in both. */
const MID = 'dir-00499/~'

interface Query {
  readonly name: string
  readonly query: Record<string, string>
  /** Entries (keys + common prefixes) the page must hold, in both buckets. */
  readonly expect: number
}

const PAGE = { 'list-type': '2', 'max-keys': '1000' }
const QUERIES: readonly Query[] = [
  { name: 'first page', query: PAGE, expect: 1000 },
  { name: 'mid page (start-after)', query: { ...PAGE, 'start-after': MID }, expect: 1000 },
  { name: 'first page, delimiter /', query: { ...PAGE, delimiter: '/' }, expect: 1000 },
  {
    name: 'mid page, delimiter / (start-after)',
    query: { ...PAGE, delimiter: '/', 'start-after': MID },
    expect: 500,
  },
]

/** Count <Key> and <Prefix> entries of a ListObjectsV2 answer (the request's own <Prefix/> excluded). */
export function countEntries(xml: string): number {
  const keys = xml.match(/<Contents>/g)?.length ?? 0
  const prefixes = xml.match(/<CommonPrefixes>/g)?.length ?? 0
  return keys + prefixes
}

/** A server whose data dir holds bucket `bench` with n seeded keys. */
async function seededServer(n: number, log: (l: string) => void): Promise<Latchkey> {
  const dataDir = tempDir(`list${String(n)}`)
  const first = await startLatchkey({ dataDir })
  const pool = makePool(first.url, 1)
  try {
    await s3Call(pool, first.url, ROOT_CREDS, 'PUT', '/bench')
  } finally {
    await pool.close()
    await first.dispose()
  }
  return serverAfterSeed(
    dataDir,
    () => {
      const db = openDatabase(join(dataDir, 'latchkey.db'))
      try {
        seedObjects(db, 'bench', n, { dirs: DIRS })
      } finally {
        db.close()
      }
      return `  4 list: seeded ${String(n)} keys`
    },
    log,
  )
}

export async function benchList(s: Settings): Promise<ResultRow[]> {
  const bigN = s.quick ? 100_000 : 1_000_000
  const smallN = 10_000
  const big = await seededServer(bigN, s.log)
  let small: Latchkey | undefined
  const bp = makePool(big.url, 1)
  let sp: ReturnType<typeof makePool> | undefined
  try {
    small = await seededServer(smallN, s.log)
    sp = makePool(small.url, 1)
    const rows: ResultRow[] = []
    for (const q of QUERIES) {
      const sign = (url: string): Promise<PreparedRequest> =>
        signRequest({
          origin: url,
          creds: ROOT_CREDS,
          method: 'GET',
          path: '/bench',
          query: q.query,
        })
      rows.push(
        await scalingRow(s, {
          group: '4 list',
          name: `ListObjectsV2 ${q.name}: ${String(bigN / 1000)}k vs ${String(smallN / 1000)}k keys`,
          label: q.name,
          unit: 'ms/page',
          ceilingName: `${String(smallN / 1000)}k-bucket`,
          comparison: { kind: 'max-ratio', target: 3 },
          items: 'entries',
          count: countEntries,
          big: { pool: bp, pid: big.pid, request: await sign(big.url), expect: q.expect },
          small: { pool: sp, pid: small.pid, request: await sign(small.url), expect: q.expect },
        }),
      )
    }
    return rows
  } finally {
    await Promise.allSettled([bp.close(), sp?.close()])
    await Promise.allSettled([big.dispose(), small?.dispose()])
  }
}
