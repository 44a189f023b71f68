/**
 * The SQLite durable write path of sessions, without HTTP (issue 13): what an AssumeRole's insert
 * and the session sweep cost the store, and how long they hold the event loop. Opens the store as
 * the server does (openSqlite: async durability, group commit, exclusive lock) in a temp dir.
 *
 *   npm run build && npm run build:bench
 *   node dist-bench/bench/store-sessions.js insert [sessions] [--unique-policy] [--batch N]
 *     [--drop-index name,…] [--in-place]
 *   node dist-bench/bench/store-sessions.js sweep [active] [expired]
 *
 * insert: `sessions` inserts (default 40,000) from `--batch` concurrent callers (default 32) with a
 * 1 KB session policy (the same for all, or a different one each with --unique-policy), no
 * checkpoints: CPU per insert (process, all threads), WAL and database bytes per session, the
 * synchronous part of a batch (BEGIN…COMMIT, on the event loop).
 * sweep: `active` + `expired` rows (default 400,000 + 100,000; issue times spread like the
 * million-sessions test), then deleteEndedSessions batches of 200 with a millisecond between them,
 * as the server's sweep: each batch's time on the event loop (wall and CPU), checkpoints.
 * @module
 */
import { randomBytes, randomInt } from 'node:crypto'
import { mkdtempSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { openSqlite, type SqliteStores } from '../src/backends/sqlite/index.js'
import { SessionIds } from '../src/iam/session-ids.js'
import { randomIds } from '../src/lib/clock.js'
import type { SessionRow } from '../src/storage/identity-store.js'

const policy = (salt: string): string =>
  JSON.stringify([
    JSON.stringify({
      Version: '2012-10-17',
      Statement: [
        {
          Sid: `Uploads${salt}`,
          Effect: 'Allow',
          Action: ['s3:PutObject', 's3:GetObject'],
          Resource: Array.from(
            { length: 26 },
            (_, i) => `arn:aws:s3:::uploads/user-${String(i)}/*`,
          ),
        },
      ],
    }),
  ])
const PARENT = JSON.stringify({
  parent: { kind: 'account-root', accountId: '111111111111', accessKeyId: 'LKIAROOT000000000001' },
  checks: [{ kind: 'key', id: 'LKIAROOT000000000001' }],
  source: 'AssumeRole',
})

const keyIds = new SessionIds(randomIds)

function row(now: number, policies: string): SessionRow {
  return {
    accessKeyId: keyIds.next(now, () => false),
    accountId: '111111111111',
    quotaKey: 'root:111111111111',
    originKeyId: 'LKIAROOT000000000001',
    parent: PARENT,
    secret: `d1.${randomBytes(16).toString('base64url')}`,
    tokenHmac: randomBytes(32).toString('hex'),
    sessionName: `upload-${String(randomInt(1e9))}`,
    policies,
    roleName: 'uploader',
    roleId: 'AROA1234567890',
    issuedAt: now,
    expiresAt: now + 3_600_000,
    revoked: false,
  }
}

/** Wall and CPU ms of every synchronous batch (BEGIN…COMMIT) and checkpoint copy. */
function watch(st: SqliteStores): { flush: number[][]; checkpoint: number[][] } {
  const out = { flush: [] as number[][], checkpoint: [] as number[][] }
  const timed =
    <A extends unknown[], R>(f: (...a: A) => R, into: number[][]) =>
    (...a: A): R => {
      const t = performance.now()
      const c = process.cpuUsage()
      const r = f(...a)
      const u = process.cpuUsage(c)
      into.push([performance.now() - t, (u.user + u.system) / 1000])
      return r
    }
  const c = st.commits as unknown as { flush: () => void }
  c.flush = timed(c.flush.bind(c), out.flush)
  const pragma = st.db.pragma.bind(st.db)
  const ckpt = timed(pragma, out.checkpoint)
  st.db.pragma = ((sql: string, o?: object) =>
    sql.includes('wal_checkpoint') ? ckpt(sql, o) : pragma(sql, o)) as typeof st.db.pragma
  return out
}

const pct = (xs: number[], p: number): number => {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? 0
}
const summary = (name: string, xs: number[][]): string => {
  if (xs.length === 0) return `${name}: none`
  const wall = xs.map((x) => x[0]!)
  const worst = [...xs].sort((a, b) => b[0]! - a[0]!)[0]!
  return `${name}: ${String(xs.length)}, wall p50 ${pct(wall, 50).toFixed(1)} p99 ${pct(wall, 99).toFixed(1)} max ${worst[0]!.toFixed(1)} ms (its CPU ${worst[1]!.toFixed(1)} ms), CPU max ${Math.max(...xs.map((x) => x[1]!)).toFixed(1)} ms`
}
const size = (f: string): number => {
  try {
    return statSync(f).size
  } catch {
    return 0
  }
}

async function insert(n: number, batch: number, unique: boolean): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'lk-store-bench-'))
  const path = join(dir, 'latchkey.db')
  const st = await openSqlite(path, {
    asyncDurability: true,
    exclusive: true,
    blobDir: join(dir, 'b'),
    checkpointBytes: Number.MAX_SAFE_INTEGER, // the WAL's growth is the measure
  })
  // What one index costs per insert: --drop-index a,b drops them before the run.
  for (const ix of (flag('--drop-index') ?? '').split(',').filter(Boolean))
    st.db.exec(`DROP INDEX ${ix}`)
  const shared = policy('')
  const one = async (): Promise<void> => {
    await st.identity.insertSession(
      row(Date.now(), unique ? policy(String(randomInt(1e12))) : shared),
    )
  }
  // --in-place: the server's steady state, a WAL rewritten in place after a checkpoint (its file
  // kept at its size, wal-sync.ts): fill it as far as the run will, then checkpoint.
  const inPlace = process.argv.includes('--in-place')
  for (let i = 0; i < (inPlace ? n + 2000 : 2000); i += batch)
    await Promise.all(Array.from({ length: batch }, one))
  if (inPlace) {
    await st.commits.drain()
    st.db.pragma('wal_checkpoint(PASSIVE)')
  }
  const wal0 = size(`${path}-wal`)
  const db0 = size(path)
  const t = watch(st)
  const c0 = process.cpuUsage()
  for (let i = 0; i < n; i += batch) await Promise.all(Array.from({ length: batch }, one))
  const c = process.cpuUsage(c0)
  await st.commits.drain()
  const frames = (st.db.pragma('wal_checkpoint(PASSIVE)') as { log: number }[])[0]?.log ?? 0
  const pageSize = st.db.pragma('page_size', { simple: true }) as number
  const wal = inPlace ? frames * (pageSize + 24) : size(`${path}-wal`) - wal0
  st.db.pragma('wal_checkpoint(TRUNCATE)')
  process.stdout.write(
    `insert ${String(n)} sessions, batches of ${String(batch)}, ${unique ? 'a different' : 'one'} ${String(shared.length)}-char policy: ` +
      `${((c.user + c.system) / n).toFixed(1)} µs CPU per insert, WAL ${(wal / n).toFixed(0)} B per session, ` +
      `database ${((size(path) - db0) / n).toFixed(0)} B per session\n${summary('batches', t.flush)}\n`,
  )
  await st.close()
  rmSync(dir, { recursive: true, force: true })
}

async function sweep(active: number, expired: number): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'lk-store-bench-'))
  const st = await openSqlite(join(dir, 'latchkey.db'), {
    asyncDurability: true,
    exclusive: true,
    blobDir: join(dir, 'b'),
  })
  const now = Date.now()
  const ins = st.db.prepare(
    `INSERT INTO iam_sessions (access_key_id, account_id, quota_key, user_id, origin_key_id, parent,
       secret, token_hmac, session_name, policies, role_name, role_id, issued_at, expires_at, revoked)
     VALUES (?, '111111111111', 'root:111111111111', NULL, 'LKIAROOT000000000001', ?, 'd1.x', NULL,
       ?, '[]', 'r', 'AROA1', ?, ?, 0)`,
  )
  st.db.transaction(() => {
    for (let i = 0; i < active + expired; i++)
      ins.run(
        `ASIAZ${i.toString(36).toUpperCase().padStart(15, '0')}`,
        PARENT,
        `bulk-${String(i)}`,
        now - 1000 + (i % 1000),
        i >= active ? now - 3 * 3_600_000 : now + 86_400_000,
      )
  })()
  st.db.pragma('wal_checkpoint(TRUNCATE)')
  const t = watch(st)
  const t0 = performance.now()
  let n = 0
  for (;;) {
    const e = await st.identity.deleteEndedSessions(now, 200)
    n += e.deleted
    if (e.deleted < 200) break
    await new Promise((r) => setTimeout(r, 1))
  }
  process.stdout.write(
    `sweep of ${String(n)} expired among ${String(active)} active: ${(performance.now() - t0).toFixed(0)} ms\n` +
      `${summary('batches', t.flush)}\n${summary('checkpoints', t.checkpoint)}\n`,
  )
  await st.close()
  rmSync(dir, { recursive: true, force: true })
}

const [mode, a, b] = process.argv.slice(2).filter((x) => !x.startsWith('--'))
const flag = (name: string): string | undefined => {
  const i = process.argv.indexOf(name)
  return i >= 0 ? process.argv[i + 1] : undefined
}
if (mode === 'sweep') await sweep(Number(a ?? 400_000), Number(b ?? 100_000))
else
  await insert(
    Number(a ?? 40_000),
    Number(flag('--batch') ?? 32),
    process.argv.includes('--unique-policy'),
  )
