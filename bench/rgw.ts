/**
 * A Ceph RGW for the side-by-side STS rows: the one on LATCHKEY_BENCH_RGW_ENDPOINT (default
 * http://127.0.0.1:7480, where ../shared/tools/rgw/start.sh puts it) when it answers, otherwise
 * one started with that script when Ceph is installed (idempotent; the vendored copy in
 * test/support/rgw when the shared one is absent), with quiet logs (`RGW_DEBUG=0/0`: logging each request would bill RGW for
 * work the comparison is not about). The bench never stops an RGW: the lab is shared.
 *
 * AssumeRole on RGW needs a role whose trust policy names the caller and a permission policy;
 * `createRole` makes a uniquely named one with `radosgw-admin` (as the issue asks) and `dispose`
 * deletes it. Everything that can fail says why in `RgwUnavailable.why`, so the row can explain
 * itself and the bench still passes.
 * @module
 */
import { execFile } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { cpuSeconds } from './proc.js'
import type { Credentials } from './sign.js'

const HERE = fileURLToPath(new URL('.', import.meta.url))
/** The repository root: dist-bench/bench/ once built, bench/ when run from source (tests). */
const REPO = existsSync(join(HERE, '..', 'package.json'))
  ? join(HERE, '..')
  : join(HERE, '..', '..')
const SHARED_START = join(REPO, '..', 'shared', 'tools', 'rgw', 'start.sh')
const VENDORED_START = join(REPO, 'test', 'support', 'rgw', 'start.sh')

/** The test user start.sh creates (its README); overridable like test/support/rgw.ts. */
export const RGW_CREDS: Credentials = {
  accessKeyId: process.env['LATCHKEY_BENCH_RGW_ACCESS_KEY'] ?? 'TESTERACCESSKEY0001',
  secretAccessKey:
    process.env['LATCHKEY_BENCH_RGW_SECRET_KEY'] ?? 'testersecretkey0000000000000000000000001',
}
const RGW_USER_ARN = process.env['LATCHKEY_BENCH_RGW_USER_ARN'] ?? 'arn:aws:iam:::user/tester'

export interface Rgw {
  readonly endpoint: string
  /** radosgw's pid when it is the lab's (CPU per op); undefined otherwise. */
  readonly pid: number | undefined
  /** CPU seconds so far of the lab's other daemons (OSD, monitor) by name. */
  readonly cpuParts: Readonly<Record<string, () => number>>
  /** How it was found or started, and its log level, for the row's note. */
  readonly how: string
  readonly ceph: string
  /** A role `creds` may assume; its ARN. */
  createRole(): Promise<string>
  dispose(): Promise<void>
}

export interface RgwUnavailable {
  readonly why: string
}

function run(
  cmd: string,
  args: readonly string[],
  env: Readonly<Record<string, string>>,
  timeoutMs: number,
): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      cmd,
      [...args],
      { env: { ...process.env, ...env }, timeout: timeoutMs, maxBuffer: 4 << 20 },
      (err, stdout, stderr) => {
        if (err !== null) {
          const tail = `${stderr}\n${stdout}`.trim().split('\n').slice(-3).join(' | ')
          reject(new Error(`${cmd} ${args.slice(0, 3).join(' ')}: ${err.message} ${tail}`))
        } else resolve(stdout)
      },
    )
  })
}

async function answers(endpoint: string): Promise<boolean> {
  try {
    await fetch(endpoint, { signal: AbortSignal.timeout(2000) })
    return true
  } catch {
    return false
  }
}

/** "PID STARTTIME" from the lab's pid file, checked against /proc (a recycled pid is not ours). */
function labPid(lab: string, name: string): number | undefined {
  try {
    const [pid, start] = readFileSync(join(lab, 'run', `${name}.lab.pid`), 'utf8')
      .trim()
      .split(/\s+/)
    const stat = readFileSync(`/proc/${pid ?? ''}/stat`, 'utf8')
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    return fields[19] === start ? Number(pid) : undefined
  } catch {
    return undefined
  }
}

export async function findOrStartRgw(log: (l: string) => void): Promise<Rgw | RgwUnavailable> {
  const endpoint = process.env['LATCHKEY_BENCH_RGW_ENDPOINT'] ?? 'http://127.0.0.1:7480'
  const lab = process.env['RGW_LAB'] ?? '/tmp/rgw-lab'
  const conf = process.env['CEPH_CONF'] ?? join(lab, 'ceph.conf')
  let how = `running at ${endpoint}`
  if (!(await answers(endpoint))) {
    // An RGW named explicitly is used, never replaced by one started here.
    if (process.env['LATCHKEY_BENCH_RGW_ENDPOINT'] !== undefined)
      return { why: `no RGW answers at LATCHKEY_BENCH_RGW_ENDPOINT=${endpoint}` }
    const script = existsSync(SHARED_START)
      ? SHARED_START
      : existsSync(VENDORED_START)
        ? VENDORED_START
        : undefined
    if (script === undefined) return { why: `no RGW at ${endpoint} and no start.sh to start one` }
    // start.sh would apt-get the Ceph packages when they are missing: not something a bench run
    // should set off. Without them the row says how to get an RGW instead.
    try {
      await run(
        'sh',
        ['-c', 'command -v radosgw && command -v ceph-mon && command -v ceph-osd'],
        {},
        10_000,
      )
    } catch {
      return {
        why: `no RGW at ${endpoint} and Ceph is not installed (run ../shared/tools/rgw/start.sh once, as root, to install and start it)`,
      }
    }
    log(`  starting Ceph RGW with ${script}`)
    try {
      await run('bash', [script], { RGW_DEBUG: '0/0' }, 300_000)
    } catch (e) {
      return { why: `RGW could not be started: ${(e as Error).message.slice(0, 300)}` }
    }
    if (!(await answers(endpoint))) return { why: `started RGW does not answer at ${endpoint}` }
    how = `started by ${script.includes('/shared/') ? '../shared/tools/rgw/start.sh' : 'test/support/rgw/start.sh'}`
  }
  let debug = '?'
  try {
    debug = /^debug rgw = (\S+)/m.exec(readFileSync(conf, 'utf8'))?.[1] ?? '1/5 (default)'
  } catch {
    // not the lab's RGW: its log level is unknown
  }
  let ceph = 'Ceph ?'
  try {
    ceph = (await run('ceph', ['--version'], {}, 10_000)).split(' ').slice(0, 3).join(' ')
  } catch {
    // version unknown
  }
  const pid = labPid(lab, 'rgw')
  const parts: Record<string, () => number> = {}
  for (const [name, file] of [
    ['osd', 'osd.0'],
    ['mon', 'mon.a'],
  ] as const) {
    const p = labPid(lab, file)
    if (p !== undefined) parts[name] = () => cpuSeconds(p)
  }
  const roles: string[] = []
  const admin = (args: readonly string[]): Promise<string> =>
    run('radosgw-admin', ['-c', conf, ...args], {}, 60_000)
  return {
    endpoint,
    pid,
    cpuParts: parts,
    how: `${how}; debug rgw ${debug}`,
    ceph,
    async createRole() {
      const name = `latchkey-bench-${String(process.pid)}-${String(roles.length)}`
      const trust = {
        Version: '2012-10-17',
        Statement: [
          { Effect: 'Allow', Principal: { AWS: [RGW_USER_ARN] }, Action: ['sts:AssumeRole'] },
        ],
      }
      const perms = {
        Version: '2012-10-17',
        Statement: [{ Effect: 'Allow', Action: ['s3:*'], Resource: ['*'] }],
      }
      // A role left by an interrupted earlier run with this pid would make create fail.
      await admin(['role-policy', 'delete', `--role-name=${name}`, '--policy-name=bench']).catch(
        () => '',
      )
      await admin(['role', 'delete', `--role-name=${name}`]).catch(() => '')
      const out = await admin([
        'role',
        'create',
        `--role-name=${name}`,
        '--path=/',
        `--assume-role-policy-doc=${JSON.stringify(trust)}`,
      ])
      roles.push(name)
      await admin([
        'role-policy',
        'put',
        `--role-name=${name}`,
        '--policy-name=bench',
        `--policy-doc=${JSON.stringify(perms)}`,
      ])
      const arn = /"Arn":\s*"([^"]+)"/.exec(out)?.[1]
      if (arn === undefined) throw new Error(`radosgw-admin role create: no Arn in ${out}`)
      return arn
    },
    async dispose() {
      for (const name of roles.splice(0)) {
        await admin(['role-policy', 'delete', `--role-name=${name}`, '--policy-name=bench']).catch(
          () => '',
        )
        await admin(['role', 'delete', `--role-name=${name}`]).catch(() => '')
      }
    },
  }
}
