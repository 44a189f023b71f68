/**
 * Targets 5 and 6: the price of policy evaluation.
 * 5. 4 KiB GET by a Writer user whose policies total 100 statements (role preset + a 99-statement
 *    attached policy) against a bucket with a 20-statement bucket policy: ≥ 90% of the same GET
 *    with the master key, same server, same run.
 * 6. The in-process policy microbenchmark (`benchPolicyEval`), ns/op next to one HMAC-SHA256.
 * @module
 */
import { benchPolicyEval } from '../policy.js'
import type { Credentials } from '../sign.js'
import {
  compareGet4kBy,
  errorOf,
  poolFor,
  prepareBucket,
  ROOT_CREDS,
  ROOT_PASSWORD,
  roundsNote,
  s3Call,
  startLatchkey,
  type Settings,
} from '../env.js'
import { pairedRatio, type ResultRow } from '../stats.js'

const ACTIONS = [
  's3:PutObject',
  's3:List*',
  's3:Get*',
  's3:DeleteObject',
  's3:*Tagging',
  's3:ListBucket',
  's3:GetObject',
]

/** 99 varied statements: wildcards, variables, conditions; a few match the bench GET, one Deny doesn't. */
export function userPolicy(statements: number, bucket: string): string {
  const conds: Record<string, unknown>[] = [
    { IpAddress: { 'aws:SourceIp': ['127.0.0.0/8', '10.0.0.0/8', '2001:db8::/32'] } },
    { StringLike: { 's3:prefix': ['home/${aws:username}/*', 'public/*'] } },
    { DateLessThan: { 'aws:CurrentTime': '2099-01-01T00:00:00Z' } },
    { NumericLessThanEquals: { 's3:max-keys': '1000' } },
  ]
  const st = Array.from({ length: statements }, (_, i) => {
    const resource =
      i % 4 === 0
        ? `arn:aws:s3:::other-bucket-${String(i)}/*`
        : i % 4 === 1
          ? 'arn:aws:s3:::shared/${aws:username}/*'
          : i % 4 === 2
            ? `arn:aws:s3:::${bucket}/prefix-${String(i)}/*`
            : `arn:aws:s3:::b${String(i)}-*/k?y`
    return {
      Sid: `U${String(i)}`,
      Effect: i === 42 ? 'Deny' : 'Allow',
      Action: i === 42 ? 's3:DeleteObject' : ACTIONS[i % ACTIONS.length],
      Resource: i === 42 ? `arn:aws:s3:::${bucket}/protected/*` : resource,
      Condition: conds[i % conds.length],
    }
  })
  // Two statements that do grant the GET (besides the Writer preset), with a condition to check.
  st.push({
    Sid: 'GrantBench',
    Effect: 'Allow',
    Action: 's3:GetObject',
    Resource: `arn:aws:s3:::${bucket}/*`,
    Condition: conds[0],
  })
  st.splice(50, 1)
  return JSON.stringify({ Version: '2012-10-17', Statement: st })
}

/** 20 statements for other principals and actions; none denies the bench GET. */
export function bucketPolicy(bucket: string): string {
  const st = Array.from({ length: 20 }, (_, i) => ({
    Sid: `B${String(i)}`,
    Effect: i === 19 ? 'Deny' : 'Allow',
    Principal:
      i === 19
        ? '*'
        : { AWS: i % 2 === 1 ? `arn:aws:iam::210987654321:user/u${String(i)}` : '210987654321' },
    Action: i === 19 ? 's3:DeleteBucket' : ACTIONS[i % ACTIONS.length],
    Resource: i === 19 ? `arn:aws:s3:::${bucket}` : `arn:aws:s3:::${bucket}/team-${String(i)}/*`,
    ...(i % 3 === 0
      ? { Condition: { StringEquals: { 'aws:Referer': `https://example.com/${String(i)}` } } }
      : {}),
  }))
  return JSON.stringify({ Version: '2012-10-17', Statement: st })
}

export async function adminJson(
  url: string,
  method: string,
  path: string,
  token: string | undefined,
  body?: unknown,
): Promise<Record<string, unknown>> {
  const auth: Record<string, string> =
    token !== undefined ? { authorization: `Bearer ${token}` } : {}
  const res = await fetch(url + path, {
    method,
    headers: { 'content-type': 'application/json', ...auth },
    ...(body !== undefined ? { body: typeof body === 'string' ? body : JSON.stringify(body) } : {}),
  })
  const text = await res.text()
  if (!res.ok) throw new Error(`${method} ${path} → ${String(res.status)} ${text.slice(0, 400)}`)
  return text === '' ? {} : (JSON.parse(text) as Record<string, unknown>)
}

/** Create a Writer user with an attached policy of as many statements as accepted (99 down to 24). */
export async function createWriter(
  url: string,
  bucket: string,
): Promise<{ creds: Credentials; statements: number }> {
  const login = await adminJson(url, 'POST', '/api/admin/login', undefined, {
    username: 'root',
    password: ROOT_PASSWORD,
  })
  const token = String(login['token'])
  const user = await adminJson(url, 'POST', '/api/admin/users', token, {
    username: 'benchwriter',
    password: 'bench-writer-password-1',
    role: 'Writer',
  })
  const id = encodeURIComponent(String(user['id']))
  let statements = 0
  let lastError: unknown
  for (const n of [99, 74, 49, 24]) {
    try {
      await adminJson(url, 'PUT', `/api/admin/users/${id}/policy`, token, userPolicy(n, bucket))
      statements = n
      break
    } catch (e) {
      lastError = e
    }
  }
  if (statements === 0)
    throw lastError instanceof Error ? lastError : new Error('cannot attach a user policy')
  const cred = await adminJson(url, 'POST', `/api/admin/users/${id}/credentials`, token)
  const creds = {
    accessKeyId: String(cred['access_key']),
    secretAccessKey: String(cred['secret_key']),
  }
  return { creds, statements }
}

export async function benchIamGet(s: Settings): Promise<ResultRow[]> {
  const ours = await startLatchkey()
  const pool = poolFor(ours.url, s)
  try {
    await prepareBucket(pool, ours.url, 'bench')
    await s3Call(pool, ours.url, ROOT_CREDS, 'PUT', '/bench', {
      query: { policy: '' },
      body: bucketPolicy('bench'),
    })
    const { creds, statements } = await createWriter(ours.url, 'bench')
    s.log('  5 iam-get: measuring')
    const [u, m] = await compareGet4kBy(
      s,
      pool,
      ours,
      { name: 'writer', creds },
      { name: 'master', creds: ROOT_CREDS },
    )
    const error = errorOf('writer', u) ?? errorOf('master', m)
    return [
      {
        group: '5 iam-get',
        name: `GET 4 KiB as Writer (1 preset + ${String(statements)} attached stmts, 20-stmt bucket policy)`,
        unit: 'req/s',
        ours: u.rps,
        ceiling: m.rps,
        ceilingName: 'master-key',
        comparison: { kind: 'min-ratio', target: 0.9 },
        cpuUsPerOp: u.cpuUsPerOp,
        ceilingCpuUsPerOp: m.cpuUsPerOp,
        pairedRatio: pairedRatio(u.rounds, m.rounds),
        note: `same server; ratio = median of per-round ratios (ratio of medians ${(u.rps / m.rps).toFixed(3)}, CPU-based ${(m.cpuUsPerOp / u.cpuUsPerOp).toFixed(3)}); ${roundsNote([u, m], ['writer', 'master'])}`,
        ...(error !== undefined ? { error } : {}),
      },
    ]
  } finally {
    await pool.close().catch(() => undefined)
    await ours.dispose()
  }
}

export function benchPolicyMicro(s: Settings): ResultRow[] {
  const r = s.quick ? benchPolicyEval(2_000, 3) : benchPolicyEval()
  const common = {
    group: '6 policy-eval',
    unit: 'ns/op',
    ceiling: r.nsPerHmac,
    ceilingName: 'hmac-sha256',
    comparison: { kind: 'info' },
  } as const
  return [
    {
      name: `decide(), ${String(r.statements)} identity + 20 bucket stmts`,
      ours: r.nsPerEval,
      ...common,
    },
    { name: 'decide(), all 100 statements candidates', ours: r.nsPerEvalAllCandidates, ...common },
  ]
}
