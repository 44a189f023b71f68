/**
 * Where a session GET's extra server CPU goes (issue 13, target 8): the same 4 KiB GET signed
 * with session credentials and with the parent's key, each replayed for a few seconds against
 * its own Latchkey under `node --cpu-prof`, and the two profiles' self time per function
 * compared per request. Self time, not inclusive: the rows add up to the difference.
 *
 *   npm run build && npm run build:bench && node dist-bench/bench/profile-session-get.js [seconds] [rows] [--vs-audit-off] [-- server args]
 *
 * e.g. `-- --audit off` to see what is left without the audit trail; `--vs-audit-off` compares
 * the session GET with and without the audit trail instead of session with parent.
 *
 * Samples are on wall time; each profile's busy samples are scaled to the process CPU per GET
 * measured from /proc over the same load (all threads, kernel included; the profiler adds some),
 * so a row reads "µs of CPU per GET this function's own code costs".
 * @module
 */
import { readdirSync, readFileSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { poolFor, prepareBucket, ROOT_CREDS, settings, startLatchkey, tempDir } from './env.js'
import { runLoad, send } from './load.js'
import { cpuSeconds } from './proc.js'
import { signRequest, type Credentials } from './sign.js'
import type { CpuProfile } from './profile-sts.js'
import { mintSession, sessionPolicy } from './targets/sts.js'

const NOT_PER_CALL = /^\(idle\)|^\(program\)|modules\/(esm|cjs)|compileSourceTextModule/

/** µs of self time per function ("name file:line"), idle and startup left out. */
function selfTimes(p: CpuProfile): Map<string, number> {
  const byId = new Map(p.nodes.map((n) => [n.id, n]))
  const out = new Map<string, number>()
  p.samples.forEach((id, i) => {
    const n = byId.get(id)
    if (n === undefined) return
    const url = n.callFrame.url.replace(/^.*\/(dist|node_modules)\//, '')
    const key = `${n.callFrame.functionName || '(anonymous)'} ${url}:${String(n.callFrame.lineNumber + 1)}`
    if (NOT_PER_CALL.test(key)) return
    out.set(key, (out.get(key) ?? 0) + (p.timeDeltas[i] ?? 0))
  })
  return out
}

/** One profiled server under the GET load of `who`: µs of CPU per GET per function. */
async function profile(
  who: 'session' | 'parent',
  seconds: number,
  serverArgs: readonly string[],
): Promise<{ cpu: number; ops: number; fns: Map<string, number> }> {
  const s = settings(false, (l) => void process.stderr.write(l + '\n'))
  const profDir = tempDir('cpuprof')
  const ours = await startLatchkey({
    args: serverArgs,
    nodeFlags: ['--cpu-prof', '--cpu-prof-dir', profDir],
  })
  const pool = poolFor(ours.url, s)
  let cpu = Number.NaN
  let ops = 0
  try {
    await prepareBucket(pool, ours.url, 'bench')
    let creds: Credentials = ROOT_CREDS
    if (who === 'session') {
      creds = await mintSession(pool, ours.url, sessionPolicy('bench'), 3600)
    }
    const get = await signRequest({ origin: ours.url, creds, method: 'GET', path: '/bench/obj4k' })
    const probe = await send(pool, get)
    if (probe.status !== 200) throw new Error(`probe GET → ${String(probe.status)}`)
    // Warm up (JIT) before counting.
    await runLoad({ pool, requests: [get], concurrency: s.connections, durationMs: 1500 })
    const cpu0 = cpuSeconds(ours.pid)
    const r = await runLoad({
      pool,
      requests: [get],
      concurrency: s.connections,
      durationMs: seconds * 1000,
    })
    if (r.errors > 0) throw new Error(`load: ${r.firstError ?? '?'}`)
    ops = r.ok
    cpu = ((cpuSeconds(ours.pid) - cpu0) * 1e6) / r.ok
  } finally {
    await pool.close().catch(() => undefined)
    await ours.dispose()
  }
  const file = readdirSync(profDir).find((f) => f.endsWith('.cpuprofile'))
  if (file === undefined) throw new Error(`no profile written in ${profDir}`)
  const raw = selfTimes(JSON.parse(readFileSync(join(profDir, file), 'utf8')) as CpuProfile)
  rmSync(profDir, { recursive: true, force: true })
  const busy = [...raw.values()].reduce((a, b) => a + b, 0)
  const fns = new Map([...raw].map(([k, us]) => [k, (us / busy) * cpu]))
  return { cpu, ops, fns }
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2)
  const dash = argv.indexOf('--')
  const serverArgs = dash < 0 ? [] : argv.slice(dash + 1)
  const args = (dash < 0 ? argv : argv.slice(0, dash)).filter((a) => /^\d+$/.test(a))
  const seconds = Number(args[0] ?? 6)
  const rows = Number(args[1] ?? 40)
  // --vs-audit-off: the session GET with the audit trail against the same without it.
  const vsAuditOff = argv.includes('--vs-audit-off')
  const sess = await profile('session', seconds, serverArgs)
  const par = vsAuditOff
    ? await profile('session', seconds, [...serverArgs, '--audit', 'off'])
    : await profile('parent', seconds, serverArgs)
  const keys = new Set([...sess.fns.keys(), ...par.fns.keys()])
  const diff = [...keys]
    .map((k) => [k, (sess.fns.get(k) ?? 0) - (par.fns.get(k) ?? 0)] as const)
    .sort((a, b) => Math.abs(b[1]) - Math.abs(a[1]))
    .slice(0, rows)
  const us = (n: number | undefined): string => (n ?? 0).toFixed(2).padStart(7)
  process.stdout.write(
    [
      `4 KiB GET, process CPU per GET (profiler on): session ${sess.cpu.toFixed(1)} us (${String(sess.ops)} GETs), ${vsAuditOff ? 'session, --audit off' : 'parent'} ${par.cpu.toFixed(1)} us (${String(par.ops)} GETs)`,
      ` session  ${vsAuditOff ? 'no-aud' : 'parent'}   diff  function (self time, us per GET)`,
      ...diff.map(([k, d]) => `${us(sess.fns.get(k))} ${us(par.fns.get(k))} ${us(d)}  ${k}`),
    ].join('\n') + '\n',
  )
}

if (process.argv[1]?.endsWith('profile-session-get.js') === true) {
  main().catch((e: unknown) => {
    process.stderr.write(`profile-session-get: ${e instanceof Error ? e.message : String(e)}\n`)
    process.exit(1)
  })
}
