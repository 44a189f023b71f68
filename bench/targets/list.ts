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
import { rmSync } from 'node:fs'
import { makePool, sendText } from '../load.js'
import { signRequest, type PreparedRequest } from '../sign.js'
import {
  compareThroughput,
  errorOf,
  ROOT_CREDS,
  s3Call,
  startLatchkey,
  tempDir,
  type Latchkey,
  type Settings,
} from '../env.js'
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
  const t0 = performance.now()
  const db = openDatabase(join(dataDir, 'latchkey.db'))
  try {
    seedObjects(db, 'bench', n, { dirs: DIRS })
  } finally {
    db.close()
  }
  log(`  4 list: seeded ${String(n)} keys in ${String(Math.round(performance.now() - t0))} ms`)
  const server = await startLatchkey({ dataDir })
  return {
    ...server,
    async dispose() {
      await server.dispose()
      rmSync(dataDir, { recursive: true, force: true })
    },
  }
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
    const per: Settings = {
      ...s,
      connections: 1,
      roundMs: s.quick ? 300 : 800,
      warmupMs: s.quick ? 100 : 300,
    }
    for (const q of QUERIES) {
      const sign = (url: string): Promise<PreparedRequest> =>
        signRequest({
          origin: url,
          creds: ROOT_CREDS,
          method: 'GET',
          path: '/bench',
          query: q.query,
        })
      const bReq = await sign(big.url)
      const sReq = await sign(small.url)
      const counts: number[] = []
      for (const [pool, r] of [
        [bp, bReq],
        [sp, sReq],
      ] as const) {
        const a = await sendText(pool, r)
        if (a.status !== 200)
          throw new Error(`${q.name}: ${String(a.status)} ${a.text.slice(0, 300)}`)
        counts.push(countEntries(a.text))
      }
      s.log(`  4 list: ${q.name}`)
      const [b, sm] = await compareThroughput(per, [
        { name: 'big', pool: bp, pid: big.pid, requests: [bReq] },
        { name: 'small', pool: sp, pid: small.pid, requests: [sReq] },
      ])
      if (b === undefined || sm === undefined) throw new Error('no stats')
      const wrong = counts.some((c) => c !== q.expect)
        ? `page holds ${counts.join(' / ')} entries, expected ${String(q.expect)}`
        : undefined
      const error = wrong ?? errorOf('big', b) ?? errorOf('small', sm)
      rows.push({
        group: '4 list',
        name: `ListObjectsV2 ${q.name}: ${String(bigN / 1000)}k vs ${String(smallN / 1000)}k keys`,
        unit: 'ms/page',
        ours: 1000 / b.rps,
        ceiling: 1000 / sm.rps,
        ceilingName: `${String(smallN / 1000)}k-bucket`,
        comparison: { kind: 'max-ratio', target: 3 },
        cpuUsPerOp: b.cpuUsPerOp,
        ceilingCpuUsPerOp: sm.cpuUsPerOp,
        note:
          `sequential requests; entries ${counts.join(' / ')}; ` +
          `pages/s big [${b.rounds.map(Math.round).join(', ')}] small [${sm.rounds.map(Math.round).join(', ')}]`,
        ...(error !== undefined ? { error } : {}),
      })
    }
    return rows
  } finally {
    await Promise.allSettled([bp.close(), sp?.close()])
    await Promise.allSettled([big.dispose(), small?.dispose()])
  }
}
