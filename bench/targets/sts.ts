/**
 * Targets 7 and 8: STS.
 * 7. AssumeRole (master key, 1 KB inline session policy) ≥ 40% of the requests/s of the bare
 *    4 KiB node:http ceiling. The body never changes, so it is signed once and replayed; the
 *    server runs with a huge --max-sessions-per-parent and issuance rate (--sts-issue-rate,
 *    --sts-issue-burst; 600/s by default) because every call mints a session.
 * 8. 4 KiB GET with the resulting session credentials ≥ 90% of the same GET with the parent's
 *    long-term key (here the master key), same server, same run.
 * @module
 */
import { send, sendText } from '../load.js'
import { signRequest, type Credentials, type PreparedRequest } from '../sign.js'
import {
  compareGet4kBy,
  compareThroughput,
  errorOf,
  poolFor,
  prepareBucket,
  ROOT_CREDS,
  roundsNote,
  startCeilingProc,
  startLatchkey,
  type Settings,
} from '../env.js'
import { pairedRatio, type ResultRow } from '../stats.js'

/** A session policy of about 1 KB (JSON text) that allows the bench GET. */
export function sessionPolicy(bucket: string, targetBytes = 1024): string {
  const st: Record<string, unknown>[] = [
    {
      Sid: 'Read',
      Effect: 'Allow',
      Action: ['s3:GetObject', 's3:ListBucket'],
      Resource: [`arn:aws:s3:::${bucket}`, `arn:aws:s3:::${bucket}/*`],
    },
  ]
  const size = (): number => JSON.stringify({ Version: '2012-10-17', Statement: st }).length
  for (let i = 0; size() < targetBytes - 120; i++) {
    st.push({
      Sid: `W${String(i)}`,
      Effect: 'Allow',
      Action: 's3:PutObject',
      Resource: `arn:aws:s3:::${bucket}/upload-${String(i)}/*`,
    })
  }
  return JSON.stringify({ Version: '2012-10-17', Statement: st })
}

function form(params: Record<string, string>): string {
  return new URLSearchParams(params).toString()
}

export async function signAssumeRole(
  url: string,
  policy: string,
  duration: number,
): Promise<PreparedRequest> {
  const body = form({
    Action: 'AssumeRole',
    Version: '2011-06-15',
    RoleSessionName: 'bench-session',
    DurationSeconds: String(duration),
    Policy: policy,
  })
  return signRequest({
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
}

function tag(xml: string, name: string): string {
  const m = new RegExp(`<${name}>([^<]*)</${name}>`).exec(xml)
  if (m?.[1] === undefined)
    throw new Error(`AssumeRole answer lacks <${name}>: ${xml.slice(0, 300)}`)
  return m[1]
}

export async function benchAssumeRole(s: Settings): Promise<ResultRow[]> {
  const ours = await startLatchkey({
    args: [
      '--max-sessions-per-parent',
      '10000000',
      '--sts-issue-rate',
      '1000000',
      '--sts-issue-burst',
      '1000000',
    ],
  })
  const ceil = await startCeilingProc('get4k')
  const op = poolFor(ours.url, s)
  const cp = poolFor(ceil.url, s)
  try {
    await prepareBucket(op, ours.url, 'bench')
    const policy = sessionPolicy('bench')
    const ar = await signAssumeRole(ours.url, policy, 900)
    const probe = await send(op, ar)
    if (probe.status !== 200)
      throw new Error(`probe AssumeRole → ${String(probe.status)} ${probe.head ?? ''}`)
    const ceilGet: PreparedRequest = { method: 'GET', path: '/obj4k', headers: {} }
    s.log(`  7 assume-role: measuring (session policy ${String(policy.length)} chars)`)
    const [o, c] = await compareThroughput(s, [
      { name: 'latchkey', pool: op, pid: ours.pid, requests: [ar] },
      { name: 'node:http', pool: cp, pid: ceil.pid, requests: [ceilGet] },
    ])
    if (o === undefined || c === undefined) throw new Error('no stats')
    const error = errorOf('latchkey', o) ?? errorOf('ceiling', c)
    return [
      {
        group: '7 sts-assume-role',
        name: `AssumeRole, master key, ${String(policy.length)}-char session policy`,
        unit: 'req/s',
        ours: o.rps,
        ceiling: c.rps,
        ceilingName: 'bare-get4k',
        comparison: { kind: 'min-ratio', target: 0.4 },
        cpuUsPerOp: o.cpuUsPerOp,
        ceilingCpuUsPerOp: c.cpuUsPerOp,
        note: `${String(o.ok)} sessions minted; ${roundsNote([o, c], ['ours', 'ceiling'])}`,
        ...(error !== undefined ? { error } : {}),
      },
    ]
  } finally {
    await Promise.allSettled([op.close(), cp.close()])
    await Promise.allSettled([ours.dispose(), ceil.dispose()])
  }
}

export async function benchSessionGet(s: Settings): Promise<ResultRow[]> {
  const ours = await startLatchkey()
  const pool = poolFor(ours.url, s)
  try {
    await prepareBucket(pool, ours.url, 'bench')
    const policy = sessionPolicy('bench')
    const { status, text: xml } = await sendText(pool, await signAssumeRole(ours.url, policy, 3600))
    if (status !== 200) throw new Error(`AssumeRole → ${String(status)} ${xml.slice(0, 400)}`)
    const session: Credentials = {
      accessKeyId: tag(xml, 'AccessKeyId'),
      secretAccessKey: tag(xml, 'SecretAccessKey'),
      sessionToken: tag(xml, 'SessionToken'),
    }
    s.log('  8 sts-session-get: measuring')
    const [sv, pv] = await compareGet4kBy(
      s,
      pool,
      ours,
      { name: 'session', creds: session },
      { name: 'parent', creds: ROOT_CREDS },
    )
    const error = errorOf('session', sv) ?? errorOf('parent', pv)
    return [
      {
        group: '8 sts-session-get',
        name: 'GET 4 KiB with session credentials (1 KB session policy)',
        unit: 'req/s',
        ours: sv.rps,
        ceiling: pv.rps,
        ceilingName: 'parent-master-key',
        comparison: { kind: 'min-ratio', target: 0.9 },
        cpuUsPerOp: sv.cpuUsPerOp,
        ceilingCpuUsPerOp: pv.cpuUsPerOp,
        pairedRatio: pairedRatio(sv.rounds, pv.rounds),
        note: `same server; ratio = median of per-round ratios (ratio of medians ${(sv.rps / pv.rps).toFixed(3)}, CPU-based ${(pv.cpuUsPerOp / sv.cpuUsPerOp).toFixed(3)}); ${roundsNote([sv, pv], ['session', 'parent'])}`,
        ...(error !== undefined ? { error } : {}),
      },
    ]
  } finally {
    await pool.close().catch(() => undefined)
    await ours.dispose()
  }
}
