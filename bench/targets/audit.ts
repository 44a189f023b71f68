/**
 * Target 12 (issue 14's closing note): the cost of the audit trail. A GET made with long-term
 * keys records nothing, so the measured request is a signed 4 KiB GET made with temporary
 * credentials (AssumeRole, a GetObject session policy), against two otherwise identical servers,
 * one with `--audit on` (one audit row per GET, queued and batched into SQLite) and one with
 * `--audit off`, both with the access log off, rounds interleaved. Reported: server CPU µs per
 * GET for each, and the throughput ratio. Informational: no pass/fail target.
 * @module
 */
import { send, sendText } from '../load.js'
import { signRequest, type Credentials } from '../sign.js'
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
import type { Pool } from 'undici'

const POLICY = JSON.stringify({
  Version: '2012-10-17',
  Statement: [{ Effect: 'Allow', Action: 's3:GetObject', Resource: 'arn:aws:s3:::bench/*' }],
})

function tag(xml: string, name: string): string {
  const m = new RegExp(`<${name}>([^<]*)</${name}>`).exec(xml)
  if (m?.[1] === undefined) throw new Error(`AssumeRole answer lacks <${name}>`)
  return m[1]
}

/** Temporary credentials from `url`'s STS, minted with the root key. */
async function mint(pool: Pool, url: string): Promise<Credentials> {
  const body = new URLSearchParams({
    Action: 'AssumeRole',
    Version: '2011-06-15',
    RoleSessionName: 'bench-audit',
    DurationSeconds: '3600',
    Policy: POLICY,
  }).toString()
  const req = await signRequest({
    origin: url,
    creds: ROOT_CREDS,
    service: 'sts',
    method: 'POST',
    path: '/',
    headers: {
      'content-type': 'application/x-www-form-urlencoded; charset=utf-8',
      'content-length': String(Buffer.byteLength(body)),
    },
    body,
  })
  const { status, text } = await sendText(pool, req)
  if (status !== 200) throw new Error(`AssumeRole → ${String(status)} ${text.slice(0, 300)}`)
  return {
    accessKeyId: tag(text, 'AccessKeyId'),
    secretAccessKey: tag(text, 'SecretAccessKey'),
    sessionToken: tag(text, 'SessionToken'),
  }
}

export async function benchAudit(settings: Settings): Promise<ResultRow[]> {
  const s = sameServerSettings(settings)
  const base = ['--log-level', 'info', '--access-log', 'off']
  const on = await startLatchkey({ args: [...base, '--audit', 'on'] })
  const off = await startLatchkey({ args: [...base, '--audit', 'off'] })
  const onPool = poolFor(on.url, s)
  const offPool = poolFor(off.url, s)
  try {
    const contenders = []
    for (const [name, server, pool] of [
      ['audit-on', on, onPool],
      ['audit-off', off, offPool],
    ] as const) {
      await prepareBucket(pool, server.url, 'bench')
      const get = await signRequest({
        origin: server.url,
        creds: await mint(pool, server.url),
        method: 'GET',
        path: '/bench/obj4k',
      })
      const probe = await send(pool, get)
      if (probe.status !== 200 || probe.bytes !== 4096)
        throw new Error(`${name}: probe GET → ${String(probe.status)} ${probe.head ?? ''}`)
      contenders.push({ name, pool, pid: server.pid, requests: [get] })
    }
    s.log('  12 audit: measuring')
    const [o, f] = await compareThroughput(s, contenders)
    if (o === undefined || f === undefined) throw new Error('no stats')
    const error = errorOf('audit-on', o) ?? errorOf('audit-off', f)
    return [
      {
        group: '12 audit',
        name: 'GET 4 KiB with session credentials, audit on vs off (CPU µs/GET each)',
        unit: 'req/s',
        ours: o.rps,
        ceiling: f.rps,
        ceilingName: 'audit-off',
        comparison: { kind: 'info' },
        cpuUsPerOp: o.cpuUsPerOp,
        ceilingCpuUsPerOp: f.cpuUsPerOp,
        pairedRatio: pairedRatio(o.rounds, f.rounds),
        note: `two servers, ${String(s.connections)} connections; the audit row costs ${(o.cpuUsPerOp - f.cpuUsPerOp).toFixed(1)} µs CPU/GET; ${roundsNote([o, f], ['on', 'off'])}`,
        ...(error !== undefined ? { error } : {}),
      },
    ]
  } finally {
    await Promise.allSettled([onPool.close(), offPool.close()])
    await Promise.allSettled([on.dispose(), off.dispose()])
  }
}
