/**
 * Targets 1 and 2: small-object throughput against bare node:http.
 * 1. 4 KiB GET, SigV4 header auth with the master key, ≥ 50% of a server answering 4 KiB
 *    from memory.
 * 2. 4 KiB PUT acknowledged only when durable, ≥ 1.5× a server that writes each body to its own
 *    file with fsync (group commit is what lets us beat one-fsync-per-request).
 * Both servers get byte-identical requests (the same signed headers), one replayed request for
 * GET, N distinct pre-signed keys for PUT.
 * @module
 */
import type { Pool } from 'undici'
import { send } from '../load.js'
import { signMany, signRequest, sha256Hex, type PreparedRequest } from '../sign.js'
import {
  compareThroughput,
  errorOf,
  OBJECT_4K,
  poolFor,
  prepareBucket,
  ROOT_CREDS,
  roundsNote,
  startCeilingProc,
  startLatchkey,
  type Settings,
} from '../env.js'
import type { ResultRow } from '../stats.js'

/**
 * Calibration for target 1: the same bare server spending this many µs of CPU on each request.
 * Their ratios show how much per-request work the 50% goal leaves room for on this machine
 * (a fixed cost per request costs more than its own time once the server is the bottleneck).
 */
export const CALIBRATION_BUSY_US = [20, 40] as const

export async function benchGet4k(s: Settings): Promise<ResultRow[]> {
  const ours = await startLatchkey()
  const ceil = await startCeilingProc('get4k')
  const busy = await Promise.all(
    CALIBRATION_BUSY_US.map((us) => startCeilingProc('get4k-busy', us)),
  )
  const op = poolFor(ours.url, s)
  const cp = poolFor(ceil.url, s)
  const bps = busy.map((b) => poolFor(b.url, s))
  try {
    await prepareBucket(op, ours.url, 'bench')
    const get = await signRequest({
      origin: ours.url,
      creds: ROOT_CREDS,
      method: 'GET',
      path: '/bench/obj4k',
    })
    const probe = await send(op, get)
    if (probe.status !== 200 || probe.bytes !== 4096) {
      throw new Error(
        `probe GET → ${String(probe.status)}, ${String(probe.bytes)} bytes ${probe.head ?? ''}`,
      )
    }
    s.log('  1 get4k: measuring')
    const [o, c, ...cal] = await compareThroughput(s, [
      { name: 'latchkey', pool: op, pid: ours.pid, requests: [get] },
      { name: 'node:http', pool: cp, pid: ceil.pid, requests: [get] },
      ...busy.map((b, i) => ({
        name: `node:http+${String(CALIBRATION_BUSY_US[i])}us`,
        pool: bps[i] as Pool,
        pid: b.pid,
        requests: [get],
      })),
    ])
    if (o === undefined || c === undefined) throw new Error('no stats')
    const error = errorOf('latchkey', o) ?? errorOf('ceiling', c)
    const calibration: ResultRow[] = cal.map((st, i) => ({
      group: '1 get-4k',
      name: `calibration: bare node:http + ${String(CALIBRATION_BUSY_US[i])} µs of work/request`,
      unit: 'req/s',
      ours: st.rps,
      ceiling: c.rps,
      ceilingName: 'bare-get4k',
      comparison: { kind: 'info' },
      cpuUsPerOp: st.cpuUsPerOp,
      ceilingCpuUsPerOp: c.cpuUsPerOp,
      note: `what a server spending that long per request reaches here; ${roundsNote([st], ['busy'])}`,
    }))
    return [
      {
        group: '1 get-4k',
        name: 'GET 4 KiB, SigV4 master key',
        unit: 'req/s',
        ours: o.rps,
        ceiling: c.rps,
        ceilingName: 'bare-get4k',
        comparison: { kind: 'min-ratio', target: 0.5 },
        cpuUsPerOp: o.cpuUsPerOp,
        ceilingCpuUsPerOp: c.cpuUsPerOp,
        note: `${String(s.connections)} connections; ${roundsNote([o, c], ['ours', 'ceiling'])}`,
        ...(error !== undefined ? { error } : {}),
      },
      ...calibration,
    ]
  } finally {
    await Promise.allSettled([op.close(), cp.close(), ...bps.map((p) => p.close())])
    await Promise.allSettled([ours.dispose(), ceil.dispose(), ...busy.map((b) => b.dispose())])
  }
}

export async function benchPut4k(s: Settings): Promise<ResultRow[]> {
  const ours = await startLatchkey()
  const ceil = await startCeilingProc('put-fsync')
  const op = poolFor(ours.url, s)
  const cp = poolFor(ceil.url, s)
  try {
    await prepareBucket(op, ours.url, 'bench')
    const n = s.quick ? 3_000 : 40_000
    const hash = sha256Hex(OBJECT_4K)
    const t0 = performance.now()
    const puts: PreparedRequest[] = await signMany(
      Array.from({ length: n }, (_, i) => ({
        origin: ours.url,
        creds: ROOT_CREDS,
        method: 'PUT',
        path: `/bench/put/k${String(i).padStart(6, '0')}`,
        headers: { 'content-length': '4096', 'content-type': 'application/octet-stream' },
        body: OBJECT_4K,
        payloadHash: hash,
      })),
    )
    s.log(
      `  2 put4k: signed ${String(n)} PUTs in ${String(Math.round(performance.now() - t0))} ms; measuring`,
    )
    const [o, c] = await compareThroughput(s, [
      { name: 'latchkey', pool: op, pid: ours.pid, requests: puts },
      { name: 'node:http', pool: cp, pid: ceil.pid, requests: puts },
    ])
    if (o === undefined || c === undefined) throw new Error('no stats')
    const error = errorOf('latchkey', o) ?? errorOf('ceiling', c)
    const sent = o.ok + o.errors
    return [
      {
        group: '2 put-4k',
        name: 'PUT 4 KiB durable (signed payload)',
        unit: 'req/s',
        ours: o.rps,
        ceiling: c.rps,
        ceilingName: 'bare-write+fsync',
        comparison: { kind: 'min-ratio', target: 1.5 },
        cpuUsPerOp: o.cpuUsPerOp,
        ceilingCpuUsPerOp: c.cpuUsPerOp,
        note:
          `${String(s.connections)} connections, ${String(n)} distinct keys` +
          (sent > n ? ` (wrapped: ${String(sent - n)} overwrites)` : '') +
          `; ${roundsNote([o, c], ['ours', 'ceiling'])}`,
        ...(error !== undefined ? { error } : {}),
      },
    ]
  } finally {
    await Promise.allSettled([op.close(), cp.close()])
    await Promise.allSettled([ours.dispose(), ceil.dispose()])
  }
}
