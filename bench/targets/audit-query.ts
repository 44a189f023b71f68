/**
 * Target 12, second part: reading the audit trail must not get slower with its size. GET
 * /api/admin/audit (the console's Audit page, `latchkey admin audit`) on a server whose trail
 * holds 1,000,000 events against one holding 10,000 (quick: 100,000 and 10,000), each on its own
 * server and database, time per answer. Four queries: the first page of everything (newest first,
 * with the total), one session's events, one principal's first page, and the newest five seconds.
 * The two that match as many events in both trails have a goal (≤ 3×); the other two report the
 * times, since an answer's total counts every match.
 *
 * Why it is here: the write side of the trail is on every request made with temporary credentials
 * and every issuance, so it is where one looks for CPU; a layout that writes cheaper can read far
 * worse. A batched layout (one JSON row per batch of events, read back with json_each) saved
 * ~2.8 µs per AssumeRole but took the store's unfiltered first page from 15 ms to 5.5 s at a
 * million events (in process).
 *
 * Filling a million events through requests is too slow, so they are appended straight into the
 * SQLite file through the store (SqliteAuditLog, 1,000 per batch as the recorder writes them)
 * while the server is stopped. Events: session requests, 300 per session, 50 principals, 7
 * accounts, one millisecond apart, both trails ending at the same moment.
 * @module
 */
import { join } from 'node:path'
import { SqliteAuditLog } from '../../src/backends/sqlite/audit-log.js'
import { openDatabase } from '../../src/backends/sqlite/db.js'
import { GroupCommit } from '../../src/backends/sqlite/group-commit.js'
import type { AuditEventInput } from '../../src/storage/audit-log.js'
import { startLatchkey, tempDir, ROOT_PASSWORD, type Latchkey, type Settings } from '../env.js'
import { makePool } from '../load.js'
import type { PreparedRequest } from '../sign.js'
import type { ResultRow } from '../stats.js'
import { adminJson } from './iam.js'
import { scalingRow, serverAfterSeed } from './scaling.js'

const PER_SESSION = 300
const PRINCIPALS = 50

function sessionOf(i: number): string {
  return `ASIA${String(Math.floor(i / PER_SESSION)).padStart(16, '0')}`
}

function event(i: number, at: number): AuditEventInput {
  const session = sessionOf(i)
  return {
    at,
    kind: 'request',
    action: 's3:GetObject',
    accountId: `10000000000${String(i % 7)}`,
    principal: `user-${String(i % PRINCIPALS)}`,
    session,
    resource: `arn:aws:s3:::bench/obj-${String(i)}`,
    decision: 'allow',
    source: '127.0.0.1',
    detail: {
      chain: [`session:${session}`, `user:user-${String(i % PRINCIPALS)}`],
      sessionName: 'bench',
      issuedAt: at,
      status: 200,
      requestId: `R${i.toString(16).padStart(15, '0')}`,
    },
  }
}

/** Append n events, one millisecond apart, ending at `end`, into a stopped server's database. */
async function seedAudit(dataDir: string, n: number, end: number): Promise<void> {
  const db = openDatabase(join(dataDir, 'latchkey.db'))
  const commits = new GroupCommit(db)
  try {
    const audit = SqliteAuditLog.open(db, commits)
    const start = end - n
    for (let b = 0; b < n; b += 1000) {
      const batch: AuditEventInput[] = []
      for (let i = b; i < Math.min(n, b + 1000); i++) batch.push(event(i, start + i))
      await audit.append(batch)
    }
    await commits.drain()
  } finally {
    db.close()
  }
}

/** A server whose trail holds n events, the newest at `end`. */
async function seededServer(n: number, end: number, log: (l: string) => void): Promise<Latchkey> {
  const dataDir = tempDir(`audit${String(n)}`)
  const first = await startLatchkey({ dataDir })
  await first.dispose()
  return serverAfterSeed(
    dataDir,
    async () => {
      await seedAudit(dataDir, n, end)
      return `  12 audit: seeded ${String(n)} events`
    },
    log,
  )
}

interface Query {
  readonly name: string
  /** The query string, given the trail's size and its newest event's time. */
  readonly query: (n: number, end: number) => string
  /** Events the answer must hold, given the trail's size. */
  readonly expect: (n: number) => number
  /**
   * A goal only where both trails match as many events: the total an answer carries is a count
   * of every match (an index range), which grows with them.
   */
  readonly comparison: ResultRow['comparison']
}

const SAME = { kind: 'max-ratio', target: 3 } as const
const INFO = { kind: 'info' } as const

const QUERIES: readonly Query[] = [
  {
    name: 'first page of 100 (total: every event)',
    query: () => 'limit=100',
    expect: () => 100,
    comparison: INFO,
  },
  {
    name: "one session's 300 events",
    // A session in the middle of the trail.
    query: (n) => `session=${sessionOf(Math.floor(n / 2))}&limit=1000`,
    expect: () => PER_SESSION,
    comparison: SAME,
  },
  {
    name: "a principal's first page (total: 2% of the trail)",
    query: () => 'principal=user-7&limit=100',
    expect: () => 100,
    comparison: INFO,
  },
  {
    name: "the newest 5 seconds' first page",
    query: (_n, end) => `since=${String(end - 5000)}&limit=100`,
    expect: () => 100,
    comparison: SAME,
  },
]

async function operatorToken(url: string): Promise<string> {
  const login = await adminJson(url, 'POST', '/api/admin/login', undefined, {
    username: 'root',
    password: ROOT_PASSWORD,
  })
  return String(login['token'])
}

export async function benchAuditQuery(s: Settings): Promise<ResultRow[]> {
  const bigN = s.quick ? 100_000 : 1_000_000
  const smallN = 10_000
  const end = Date.now()
  const big = await seededServer(bigN, end, s.log)
  let small: Latchkey | undefined
  const bp = makePool(big.url, 1)
  let sp: ReturnType<typeof makePool> | undefined
  try {
    small = await seededServer(smallN, end, s.log)
    sp = makePool(small.url, 1)
    const tokens = [await operatorToken(big.url), await operatorToken(small.url)]
    const rows: ResultRow[] = []
    for (const q of QUERIES) {
      const req = (n: number, token: string): PreparedRequest => ({
        method: 'GET',
        path: `/api/admin/audit?${q.query(n, end)}`,
        headers: { authorization: `Bearer ${token}` },
      })
      rows.push(
        await scalingRow(s, {
          group: '12 audit',
          name: `GET /api/admin/audit, ${q.name}: ${String(bigN / 1000)}k vs ${String(smallN / 1000)}k events`,
          label: q.name,
          unit: 'ms/answer',
          ceilingName: `${String(smallN / 1000)}k-trail`,
          comparison: q.comparison,
          items: 'events',
          count: (text) => (JSON.parse(text) as unknown[]).length,
          big: { pool: bp, pid: big.pid, request: req(bigN, tokens[0]!), expect: q.expect(bigN) },
          small: {
            pool: sp,
            pid: small.pid,
            request: req(smallN, tokens[1]!),
            expect: q.expect(smallN),
          },
        }),
      )
    }
    return rows
  } finally {
    await Promise.allSettled([bp.close(), sp?.close()])
    await Promise.allSettled([big.dispose(), small?.dispose()])
  }
}
