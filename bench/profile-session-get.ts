/**
 * Where a session GET's extra server CPU goes (issue 13, target 8): the same 4 KiB GET signed
 * with session credentials and with the parent's key, each replayed for a few seconds against
 * its own Latchkey under `node --cpu-prof`, and the two profiles' self time per function
 * compared per request. Self time, not inclusive: the rows add up to the difference.
 *
 *   npm run build && npm run build:bench && node dist-bench/bench/profile-session-get.js [seconds] [rows] [--vs-audit-off] [--perf [phases]] [-- server args]
 *
 * e.g. `-- --audit off` to see what is left without the audit trail; `--vs-audit-off` compares
 * the session GET with and without the audit trail instead of session with parent.
 *
 * Samples are on wall time; each profile's busy samples are scaled to the process CPU per GET
 * measured from /proc over the same load (all threads, kernel included; the profiler adds some),
 * so a row reads "µs of CPU per GET this function's own code costs".
 *
 * `--perf [phases]`: the same comparison with Linux `perf` instead (it must be installed and
 * allowed to attach), on ONE server for session against parent: alternating phases of each load
 * (A B, then B A), each recorded into its own perf file at 2,999 Hz of CPU time, all threads and
 * the kernel included, JavaScript named through `--perf-basic-prof-only-functions`. A row reads
 * "µs of CPU per GET in this symbol". Why: the V8 profiles above come from two servers at two
 * moments and sample wall time, so the time a thread spends descheduled in a syscall (`writev`
 * above all) lands on whatever it was running, and that moves several µs between the two runs;
 * one server with interleaved phases and CPU-time samples does not. With --vs-audit-off, the
 * phases alternate between two servers (audit on, audit off).
 * @module
 */
import { execFileSync, spawn } from 'node:child_process'
import { readdirSync, readFileSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import type { Pool } from 'undici'
import {
  poolFor,
  prepareBucket,
  ROOT_CREDS,
  settings,
  startLatchkey,
  tempDir,
  type Latchkey,
} from './env.js'
import { runLoad, send } from './load.js'
import { cpuSeconds } from './proc.js'
import { signRequest, type Credentials, type PreparedRequest } from './sign.js'
import type { CpuProfile } from './profile-sts.js'
import { mintSession, sessionPolicy } from './targets/sts.js'
import { SERVER_NODE_FLAGS } from '../src/config/node-flags.js'

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
    nodeFlags: [...SERVER_NODE_FLAGS, '--cpu-prof', '--cpu-prof-dir', profDir],
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

/** perf's sampling frequency (Hz) in --perf mode: a sample is 1e6 / PERF_HZ µs of CPU. */
const PERF_HZ = 2999

/**
 * Samples per symbol from the text of `perf report --stdio --no-children --sort sym -F sample,sym`
 * (lines like `   1234  [.] Builtins_LoadIC`; headers and blank lines are skipped).
 */
export function perfSymbolSamples(report: string): Map<string, number> {
  const out = new Map<string, number>()
  for (const line of report.split('\n')) {
    const m = /^\s*(\d+)\s+\[.\]\s+(.*?)\s*$/.exec(line)
    if (m === null) continue
    const name = m[2]!.replace(/\s+/g, ' ')
    out.set(name, (out.get(name) ?? 0) + Number(m[1]))
  }
  return out
}

interface PerfSide {
  readonly name: string
  readonly server: Latchkey
  readonly pool: Pool
  readonly get: PreparedRequest
}

/** One phase: `seconds` of the side's load with `perf record` attached; its samples and GETs. */
async function perfPhase(
  side: PerfSide,
  seconds: number,
  connections: number,
  file: string,
): Promise<{ samples: Map<string, number>; gets: number }> {
  const perf = spawn(
    'perf',
    [
      'record',
      '-F',
      String(PERF_HZ),
      '-p',
      String(side.server.pid),
      '-o',
      file,
      '--',
      'sleep',
      String(seconds),
    ],
    { stdio: 'ignore' },
  )
  const exited = new Promise<number | null>((r) => perf.once('exit', r))
  const failed = new Promise<never>((_, reject) => perf.once('error', reject))
  await Promise.race([new Promise((r) => setTimeout(r, 150)), failed])
  const r = await runLoad({
    pool: side.pool,
    requests: [side.get],
    concurrency: connections,
    durationMs: seconds * 1000 - 300,
  })
  if (r.errors > 0) throw new Error(`${side.name}: ${r.firstError ?? '?'}`)
  const code = await Promise.race([exited, failed])
  if (code !== 0) throw new Error(`perf record exited with ${String(code)}`)
  const report = execFileSync(
    'perf',
    ['report', '-i', file, '--stdio', '--no-children', '--sort', 'sym', '-F', 'sample,sym'],
    { encoding: 'utf8', maxBuffer: 1 << 28, stdio: ['ignore', 'pipe', 'ignore'] },
  )
  rmSync(file, { force: true })
  return { samples: perfSymbolSamples(report), gets: r.ok }
}

/** --perf: µs of CPU per GET per symbol for each side, from alternating perf-recorded phases. */
async function perfCompare(
  seconds: number,
  phases: number,
  vsAuditOff: boolean,
  serverArgs: readonly string[],
): Promise<{ names: [string, string]; perGet: [Map<string, number>, Map<string, number>] }> {
  const s = settings(false, (l) => void process.stderr.write(l + '\n'))
  const nodeFlags = [...SERVER_NODE_FLAGS, '--perf-basic-prof-only-functions']
  const servers = [await startLatchkey({ args: serverArgs, nodeFlags })]
  if (vsAuditOff)
    servers.push(await startLatchkey({ args: [...serverArgs, '--audit', 'off'], nodeFlags }))
  const pools = servers.map((sv) => poolFor(sv.url, s))
  const dir = tempDir('perf')
  try {
    const sides: PerfSide[] = []
    for (const [i, server] of servers.entries()) {
      const pool = pools[i]!
      await prepareBucket(pool, server.url, 'bench')
      const session = await mintSession(pool, server.url, sessionPolicy('bench'), 3600)
      const sign = (creds: Credentials): Promise<PreparedRequest> =>
        signRequest({ origin: server.url, creds, method: 'GET', path: '/bench/obj4k' })
      if (vsAuditOff) {
        sides.push({ name: i === 0 ? 'session' : 'no-aud', server, pool, get: await sign(session) })
      } else {
        sides.push({ name: 'session', server, pool, get: await sign(session) })
        sides.push({ name: 'parent', server, pool, get: await sign(ROOT_CREDS) })
      }
    }
    for (const side of sides) {
      const probe = await send(side.pool, side.get)
      if (probe.status !== 200) throw new Error(`${side.name}: probe GET → ${String(probe.status)}`)
      await runLoad({
        pool: side.pool,
        requests: [side.get],
        concurrency: s.connections,
        durationMs: 1500,
      })
    }
    const totals = sides.map(() => ({ samples: new Map<string, number>(), gets: 0 }))
    for (let phase = 0; phase < phases; phase++) {
      const order = phase % 2 === 0 ? [0, 1] : [1, 0]
      for (const i of order) {
        const got = await perfPhase(
          sides[i]!,
          seconds,
          s.connections,
          join(dir, `${String(phase)}-${String(i)}.data`),
        )
        const t = totals[i]!
        t.gets += got.gets
        for (const [k, n] of got.samples) t.samples.set(k, (t.samples.get(k) ?? 0) + n)
      }
    }
    const perGet = totals.map(
      (t) => new Map([...t.samples].map(([k, n]) => [k, (n * 1e6) / PERF_HZ / t.gets])),
    )
    return { names: [sides[0]!.name, sides[1]!.name], perGet: [perGet[0]!, perGet[1]!] }
  } finally {
    await Promise.allSettled(pools.map((p) => p.close()))
    await Promise.allSettled(servers.map((sv) => sv.dispose()))
    rmSync(dir, { recursive: true, force: true })
  }
}

function diffTable(
  head: string,
  names: readonly [string, string],
  a: ReadonlyMap<string, number>,
  b: ReadonlyMap<string, number>,
  rows: number,
): string {
  const keys = new Set([...a.keys(), ...b.keys()])
  const diff = [...keys]
    .map((k) => [k, (a.get(k) ?? 0) - (b.get(k) ?? 0)] as const)
    .sort((x, y) => Math.abs(y[1]) - Math.abs(x[1]))
    .slice(0, rows)
  const us = (n: number | undefined): string => (n ?? 0).toFixed(2).padStart(7)
  return (
    [
      head,
      `${names[0].padStart(8)} ${names[1].padStart(7)}   diff  function (self, us per GET)`,
      ...diff.map(([k, d]) => `${us(a.get(k))} ${us(b.get(k))} ${us(d)}  ${k}`),
    ].join('\n') + '\n'
  )
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
  const perfAt = argv.indexOf('--perf')
  if (perfAt >= 0) {
    const phasesArg = argv[perfAt + 1]
    const phases = phasesArg !== undefined && /^\d+$/.test(phasesArg) ? Number(phasesArg) : 6
    const numbers = (dash < 0 ? argv : argv.slice(0, dash)).filter(
      (a, i) => /^\d+$/.test(a) && i !== perfAt + 1,
    )
    const secs = Number(numbers[0] ?? 3)
    const { names, perGet } = await perfCompare(secs, phases, vsAuditOff, serverArgs)
    const total = (m: ReadonlyMap<string, number>): string =>
      [...m.values()].reduce((x, y) => x + y, 0).toFixed(1)
    process.stdout.write(
      diffTable(
        `4 KiB GET, CPU per GET in perf samples (all threads and the kernel, ${String(phases)} alternating phases of ${String(secs)} s): ${names[0]} ${total(perGet[0])} us, ${names[1]} ${total(perGet[1])} us`,
        names,
        perGet[0],
        perGet[1],
        Number(numbers[1] ?? 40),
      ),
    )
    return
  }
  const sess = await profile('session', seconds, serverArgs)
  const par = vsAuditOff
    ? await profile('session', seconds, [...serverArgs, '--audit', 'off'])
    : await profile('parent', seconds, serverArgs)
  process.stdout.write(
    diffTable(
      `4 KiB GET, process CPU per GET (profiler on): session ${sess.cpu.toFixed(1)} us (${String(sess.ops)} GETs), ${vsAuditOff ? 'session, --audit off' : 'parent'} ${par.cpu.toFixed(1)} us (${String(par.ops)} GETs)`,
      ['session', vsAuditOff ? 'no-aud' : 'parent'],
      sess.fns,
      par.fns,
      rows,
    ),
  )
}

if (process.argv[1]?.endsWith('profile-session-get.js') === true) {
  main().catch((e: unknown) => {
    process.stderr.write(`profile-session-get: ${e instanceof Error ? e.message : String(e)}\n`)
    process.exit(1)
  })
}
