/**
 * Target 11 (issue 14's closing note): the cost of the access log. The same signed 4 KiB GET
 * against two otherwise identical servers, one logging every request at `info` (`--access-log
 * on`, lines to a pipe as a service manager would read them) and one with `--access-log off`,
 * rounds interleaved (on, off, then off, on…). Reported: server CPU µs per GET for each, and the
 * throughput ratio (median of the per-round ratios). Informational: no pass/fail target.
 * @module
 */
import { send } from '../load.js'
import { signRequest } from '../sign.js'
import {
  compareThroughput,
  errorOf,
  poolFor,
  prepareBucket,
  ROOT_CREDS,
  roundsNote,
  sameServerSettings,
  startLatchkey,
  type Settings,
} from '../env.js'
import { pairedRatio, type ResultRow } from '../stats.js'

export async function benchAccessLog(settings: Settings): Promise<ResultRow[]> {
  const s = sameServerSettings(settings)
  const on = await startLatchkey({ args: ['--log-level', 'info', '--access-log', 'on'] })
  const off = await startLatchkey({ args: ['--log-level', 'info', '--access-log', 'off'] })
  const onPool = poolFor(on.url, s)
  const offPool = poolFor(off.url, s)
  try {
    const contenders = []
    for (const [name, server, pool] of [
      ['access-log-on', on, onPool],
      ['access-log-off', off, offPool],
    ] as const) {
      await prepareBucket(pool, server.url, 'bench')
      const get = await signRequest({
        origin: server.url,
        creds: ROOT_CREDS,
        method: 'GET',
        path: '/bench/obj4k',
      })
      const probe = await send(pool, get)
      if (probe.status !== 200 || probe.bytes !== 4096)
        throw new Error(`${name}: probe GET → ${String(probe.status)} ${probe.head ?? ''}`)
      contenders.push({ name, pool, pid: server.pid, requests: [get] })
    }
    s.log('  11 access-log: measuring')
    const [o, f] = await compareThroughput(s, contenders)
    if (o === undefined || f === undefined) throw new Error('no stats')
    const error = errorOf('access-log-on', o) ?? errorOf('access-log-off', f)
    return [
      {
        group: '11 access-log',
        name: 'GET 4 KiB, access log on vs off (CPU µs/GET each)',
        unit: 'req/s',
        ours: o.rps,
        ceiling: f.rps,
        ceilingName: 'access-log-off',
        comparison: { kind: 'info' },
        cpuUsPerOp: o.cpuUsPerOp,
        ceilingCpuUsPerOp: f.cpuUsPerOp,
        pairedRatio: pairedRatio(o.rounds, f.rounds),
        note: `two servers, ${String(s.connections)} connections; access log costs ${(o.cpuUsPerOp - f.cpuUsPerOp).toFixed(1)} µs CPU/GET; ${roundsNote([o, f], ['on', 'off'])}`,
        ...(error !== undefined ? { error } : {}),
      },
    ]
  } finally {
    await Promise.allSettled([onPool.close(), offPool.close()])
    await Promise.allSettled([on.dispose(), off.dispose()])
  }
}
