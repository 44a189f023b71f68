/**
 * The measurement targets 11 (access log) and 12 (audit trail) share: the same signed 4 KiB GET
 * against two otherwise identical servers, one with a feature on and one with it off, rounds
 * interleaved (on, off, then off, on…). Reported: server CPU µs per GET for each, the throughput
 * ratio (median of the per-round ratios), and the difference as the feature's cost.
 * Informational: no pass/fail target.
 * @module
 */
import type { Pool } from 'undici'
import { send } from '../load.js'
import { signRequest, type Credentials } from '../sign.js'
import {
  compareThroughput,
  errorOf,
  poolFor,
  prepareBucket,
  roundsNote,
  sameServerSettings,
  startLatchkey,
  threadParts,
  threadsNote,
  type Settings,
} from '../env.js'
import { pairedRatio, type ResultRow } from '../stats.js'

export async function benchOnOffGet(
  settings: Settings,
  o: {
    /** e.g. '11 access-log'. */
    readonly group: string
    /** e.g. 'access-log' (contenders are `${label}-on` and `${label}-off`). */
    readonly label: string
    readonly name: string
    /** What the difference is, in the note: 'access log', 'the audit row'. */
    readonly cost: string
    readonly onArgs: readonly string[]
    readonly offArgs: readonly string[]
    /** The GET's credentials on one server. */
    readonly creds: (pool: Pool, url: string) => Promise<Credentials>
  },
): Promise<ResultRow[]> {
  const s = sameServerSettings(settings)
  const on = await startLatchkey({ args: [...o.onArgs] })
  const off = await startLatchkey({ args: [...o.offArgs] })
  const onPool = poolFor(on.url, s)
  const offPool = poolFor(off.url, s)
  const onName = `${o.label}-on`
  const offName = `${o.label}-off`
  try {
    const contenders = []
    for (const [name, server, pool] of [
      [onName, on, onPool],
      [offName, off, offPool],
    ] as const) {
      await prepareBucket(pool, server.url, 'bench')
      const get = await signRequest({
        origin: server.url,
        creds: await o.creds(pool, server.url),
        method: 'GET',
        path: '/bench/obj4k',
      })
      const probe = await send(pool, get)
      if (probe.status !== 200 || probe.bytes !== 4096)
        throw new Error(`${name}: probe GET → ${String(probe.status)} ${probe.head ?? ''}`)
      contenders.push({
        name,
        pool,
        pid: server.pid,
        requests: [get],
        cpuParts: threadParts(server.pid),
      })
    }
    s.log(`  ${o.group}: measuring`)
    const [a, b] = await compareThroughput(s, contenders)
    if (a === undefined || b === undefined) throw new Error('no stats')
    const error = errorOf(onName, a) ?? errorOf(offName, b)
    return [
      {
        group: o.group,
        name: o.name,
        unit: 'req/s',
        ours: a.rps,
        ceiling: b.rps,
        ceilingName: offName,
        comparison: { kind: 'info' },
        cpuUsPerOp: a.cpuUsPerOp,
        ceilingCpuUsPerOp: b.cpuUsPerOp,
        pairedRatio: pairedRatio(a.rounds, b.rounds),
        note: `two servers, ${String(s.connections)} connections; ${o.cost} costs ${(a.cpuUsPerOp - b.cpuUsPerOp).toFixed(1)} µs CPU/GET; ${threadsNote([a, b], ['on', 'off'])}; ${roundsNote([a, b], ['on', 'off'])}`,
        ...(error !== undefined ? { error } : {}),
      },
    ]
  } finally {
    await Promise.allSettled([onPool.close(), offPool.close()])
    await Promise.allSettled([on.dispose(), off.dispose()])
  }
}
