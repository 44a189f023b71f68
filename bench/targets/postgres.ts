/**
 * Targets 9 and 10: PostgreSQL (issue 10).
 * 9. One node on PostgreSQL + `file:` blobs next to the same node on SQLite, in interleaved
 *    rounds: 4 KiB GET, 4 KiB durable PUT and AssumeRole. Reported: throughput, Latchkey's CPU
 *    per operation on each, and the PostgreSQL server's own CPU per operation (postmaster and
 *    backends, from /proc), because on PostgreSQL part of the work moves into the database.
 * 10. Three nodes against one, on one PostgreSQL: the same load spread round-robin over three
 *    nodes, then sent to one of them. On a 2-core machine the load generator, the nodes and the
 *    database share the same two cores, so this measures what spreading costs, not scale-out.
 *
 * PostgreSQL: LATCHKEY_BENCH_DATABASE_URL (a server where the bench may create a database), else
 * a throwaway cluster of its own (test/support/postgres.ts, with fsync on: the PUTs are compared
 * with SQLite's durable writes). Without either the rows are skipped, saying why. The database's
 * CPU is measured only for the throwaway cluster (its processes are local children we know).
 * Requests are signed once for the first node: the Host header is part of the request, so every
 * node (and the SQLite one) accepts the same bytes.
 * @module
 */
import { randomBytes } from 'node:crypto'
import { BalancedPool, type Pool } from 'undici'
import { startPostgres, type TestPostgres } from '../../test/support/postgres.js'
import { send } from '../load.js'
import { cpuSeconds, treeCpuSeconds } from '../proc.js'
import { signMany, signRequest, sha256Hex, type PreparedRequest } from '../sign.js'
import {
  compareThroughput,
  disposeStragglers,
  errorOf,
  OBJECT_4K,
  poolFor,
  prepareBucket,
  removeLater,
  ROOT_CREDS,
  roundsNote,
  startLatchkey,
  tempDir,
  type Contender,
  type ContenderStats,
  type Latchkey,
  type Settings,
} from '../env.js'
import { fmtNum, type ResultRow } from '../stats.js'
import { MINT_ARGS, sessionPolicy, signAssumeRole } from './sts.js'

const URL_ENV = 'LATCHKEY_BENCH_DATABASE_URL'
const NO_PG = `no PostgreSQL (${URL_ENV} unset, initdb/pg_ctl not found)`

function skipped(group: string, name: string, why: string): ResultRow[] {
  return [
    {
      group,
      name,
      unit: '-',
      ours: Number.NaN,
      ceiling: Number.NaN,
      ceilingName: '-',
      comparison: { kind: 'info' },
      note: `skipped: ${why}`,
    },
  ]
}

interface PgCluster {
  readonly pg: TestPostgres
  readonly nodes: Latchkey[]
  /** CPU seconds of the database server so far, when it is ours to measure. */
  readonly dbCpu: (() => number) | undefined
}

/** A fresh database and blob dir, and `n` nodes on them (the first one alone runs migrations). */
async function startCluster(pg: TestPostgres, n: number, extra: string[]): Promise<PgCluster> {
  const url = await pg.createDatabase()
  const blobs = tempDir('blobs')
  removeLater(blobs)
  const node = {
    args: ['--database', url, '--blob-store', `file:${blobs}`, ...extra],
    env: { LATCHKEY_MASTER_KEY: randomBytes(32).toString('base64') },
  }
  const nodes = [await startLatchkey(node)]
  for (let i = 1; i < n; i++) nodes.push(await startLatchkey(node))
  const pid = pg.serverPid
  return { pg, nodes, dbCpu: pid !== undefined ? () => treeCpuSeconds(pid) : undefined }
}

function dbNote(st: ContenderStats): string {
  const us = st.partsUsPerOp['postgres']
  return us === undefined ? 'PostgreSQL CPU not measured (external server)' : `${fmtNum(us)} µs`
}

async function probe(pool: Pool, r: PreparedRequest, what: string): Promise<void> {
  const a = await send(pool, r)
  if (a.status !== 200) throw new Error(`probe ${what} → ${String(a.status)} ${a.head ?? ''}`)
}

export async function benchPostgres(s: Settings): Promise<ResultRow[]> {
  const group = '9 postgres'
  const pg = await startPostgres({ urlEnv: URL_ENV, durable: true })
  if (pg === undefined) return skipped(group, 'PostgreSQL vs SQLite, one node', NO_PG)
  const open: Pool[] = []
  try {
    const { nodes, dbCpu } = await startCluster(pg, 1, MINT_ARGS)
    const onPg = nodes[0]!
    const onSqlite = await startLatchkey({ args: MINT_ARGS })
    const pp = poolFor(onPg.url, s)
    const sp = poolFor(onSqlite.url, s)
    open.push(pp, sp)
    for (const [pool, node] of [
      [pp, onPg],
      [sp, onSqlite],
    ] as const)
      await prepareBucket(pool, node.url, 'bench')
    const parts = dbCpu !== undefined ? { postgres: dbCpu } : undefined
    const pair = async (
      label: string,
      pgReqs: readonly PreparedRequest[],
      sqReqs: readonly PreparedRequest[],
    ): Promise<ResultRow> => {
      s.log(`  9 postgres: ${label}`)
      const [p, q] = await compareThroughput(s, [
        {
          name: 'postgres',
          pool: pp,
          pid: onPg.pid,
          requests: pgReqs,
          ...(parts !== undefined ? { cpuParts: parts } : {}),
        },
        { name: 'sqlite', pool: sp, pid: onSqlite.pid, requests: sqReqs },
      ])
      if (p === undefined || q === undefined) throw new Error('no stats')
      const error = errorOf('postgres', p) ?? errorOf('sqlite', q)
      const db = p.partsUsPerOp['postgres']
      const total = db !== undefined ? p.cpuUsPerOp + db : Number.NaN
      return {
        group,
        name: `${label}: PostgreSQL + file blobs vs SQLite, one node`,
        unit: 'req/s',
        ours: p.rps,
        ceiling: q.rps,
        ceilingName: 'sqlite-node',
        comparison: { kind: 'info' },
        cpuUsPerOp: p.cpuUsPerOp,
        ceilingCpuUsPerOp: q.cpuUsPerOp,
        note:
          `Latchkey CPU/op PG/SQLite ${fmtNum(p.cpuUsPerOp / q.cpuUsPerOp)}; PostgreSQL server ` +
          `${dbNote(p)}/op` +
          (db !== undefined
            ? `, node + database ${fmtNum(total)} µs/op (${fmtNum(total / q.cpuUsPerOp)}× SQLite)`
            : '') +
          `; ${roundsNote([p, q], ['postgres', 'sqlite'])}`,
        ...(error !== undefined ? { error } : {}),
      }
    }

    const get = await signRequest({
      origin: onPg.url,
      creds: ROOT_CREDS,
      method: 'GET',
      path: '/bench/obj4k',
    })
    await probe(pp, get, 'GET (postgres)')
    await probe(sp, get, 'GET (sqlite)')
    const rows = [await pair('GET 4 KiB', [get], [get])]

    const n = s.quick ? 3_000 : 20_000
    const hash = sha256Hex(OBJECT_4K)
    const puts = (prefix: string): Promise<PreparedRequest[]> =>
      signMany(
        Array.from({ length: n }, (_, i) => ({
          origin: onPg.url,
          creds: ROOT_CREDS,
          method: 'PUT',
          path: `/bench/${prefix}/k${String(i).padStart(6, '0')}`,
          headers: { 'content-length': '4096', 'content-type': 'application/octet-stream' },
          body: OBJECT_4K,
          payloadHash: hash,
        })),
      )
    const signed = await puts('p')
    rows.push(await pair('PUT 4 KiB durable', signed, signed))

    const ar = await signAssumeRole(onPg.url, sessionPolicy('bench'), 900)
    await probe(pp, ar, 'AssumeRole (postgres)')
    await probe(sp, ar, 'AssumeRole (sqlite)')
    rows.push(await pair('AssumeRole, 1 KB session policy', [ar], [ar]))
    return rows
  } finally {
    await Promise.allSettled(open.map((p) => p.close()))
    // The nodes stop before their database does.
    await disposeStragglers()
    await pg.stop()
  }
}

export async function benchCluster(s: Settings): Promise<ResultRow[]> {
  const group = '10 cluster'
  const pg = await startPostgres({ urlEnv: URL_ENV, durable: true })
  if (pg === undefined) return skipped(group, 'three nodes vs one on PostgreSQL', NO_PG)
  const open: { close(): Promise<void> }[] = []
  try {
    const { nodes, dbCpu } = await startCluster(pg, 3, [])
    const [n1, n2, n3] = nodes as [Latchkey, Latchkey, Latchkey]
    const one = poolFor(n1.url, s)
    const three = new BalancedPool([n1.url, n2.url, n3.url], {
      connections: s.connections,
      pipelining: 1,
      keepAliveTimeout: 60_000,
      keepAliveMaxTimeout: 600_000,
      headersTimeout: 60_000,
      bodyTimeout: 120_000,
    })
    open.push(one, three)
    await prepareBucket(one, n1.url, 'bench')
    const db = dbCpu !== undefined ? { postgres: dbCpu } : {}
    const others = { node2: () => cpuSeconds(n2.pid), node3: () => cpuSeconds(n3.pid) }
    const compare = async (
      label: string,
      threeReqs: readonly PreparedRequest[],
      oneReqs: readonly PreparedRequest[],
    ): Promise<ResultRow> => {
      s.log(`  10 cluster: ${label}`)
      const contenders: Contender[] = [
        {
          name: 'three',
          pool: three as unknown as Pool,
          pid: n1.pid,
          requests: threeReqs,
          cpuParts: { ...others, ...db },
        },
        { name: 'one', pool: one, pid: n1.pid, requests: oneReqs, cpuParts: db },
      ]
      const [t, o] = await compareThroughput(s, contenders)
      if (t === undefined || o === undefined) throw new Error('no stats')
      const error = errorOf('three nodes', t) ?? errorOf('one node', o)
      const nodesUs =
        t.cpuUsPerOp +
        (t.partsUsPerOp['node2'] ?? Number.NaN) +
        (t.partsUsPerOp['node3'] ?? Number.NaN)
      return {
        group,
        name: `${label}: three nodes (load spread round-robin) vs one, one PostgreSQL`,
        unit: 'req/s',
        ours: t.rps,
        ceiling: o.rps,
        ceilingName: 'one-node',
        comparison: { kind: 'info' },
        cpuUsPerOp: nodesUs,
        ceilingCpuUsPerOp: o.cpuUsPerOp,
        note:
          `aggregate over the three nodes; cpu = all nodes' Latchkey CPU/op; PostgreSQL server ` +
          `${dbNote(t)}/op with three nodes, ${dbNote(o)}/op with one; ` +
          `${String(s.connections)} connections in all; 2 cores shared by the load generator, ` +
          `the nodes and PostgreSQL, so three nodes cannot add CPU here; ` +
          `${roundsNote([t, o], ['three', 'one'])}`,
        ...(error !== undefined ? { error } : {}),
      }
    }

    const get = await signRequest({
      origin: n1.url,
      creds: ROOT_CREDS,
      method: 'GET',
      path: '/bench/obj4k',
    })
    for (const n of nodes) {
      const p = poolFor(n.url, s)
      open.push(p)
      await probe(p, get, `GET on ${n.url}`)
    }
    const rows = [await compare('GET 4 KiB', [get], [get])]
    const n = s.quick ? 3_000 : 20_000
    const hash = sha256Hex(OBJECT_4K)
    const puts = (prefix: string): Promise<PreparedRequest[]> =>
      signMany(
        Array.from({ length: n }, (_, i) => ({
          origin: n1.url,
          creds: ROOT_CREDS,
          method: 'PUT',
          path: `/bench/${prefix}/k${String(i).padStart(6, '0')}`,
          headers: { 'content-length': '4096', 'content-type': 'application/octet-stream' },
          body: OBJECT_4K,
          payloadHash: hash,
        })),
      )
    rows.push(await compare('PUT 4 KiB durable', await puts('three'), await puts('one')))
    return rows
  } finally {
    await Promise.allSettled(open.map((p) => p.close()))
    // The nodes stop before their database does.
    await disposeStragglers()
    await pg.stop()
  }
}
