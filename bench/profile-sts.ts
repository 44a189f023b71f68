/**
 * Where an AssumeRole's server CPU goes (issue 13): starts Latchkey under `node --cpu-prof`,
 * replays the bench's AssumeRole (945-char session policy, master key, 32 connections) for a few
 * seconds, stops it and folds the main thread's samples into the phases of the call: each
 * phase's share of the samples, and that share of the process CPU per call from /proc (all
 * threads, kernel included; the profiler itself adds some).
 *
 *   npm run build && npm run build:bench && node dist-bench/bench/profile-sts.js [seconds] [--keep]
 *
 * A sample is charged to the first phase (in the order below) that any frame of its stack
 * matches, so a phase includes what it calls (node's crypto, SQLite's native code).
 * --keep leaves the .cpuprofile for Chrome DevTools.
 * @module
 */
import { readdirSync, readFileSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { poolFor, prepareBucket, settings, startLatchkey, tempDir } from './env.js'
import { runLoad, send } from './load.js'
import { cpuSeconds } from './proc.js'
import { MINT_ARGS, sessionPolicy, signAssumeRole } from './targets/sts.js'
import { SERVER_NODE_FLAGS } from '../src/config/node-flags.js'

/** Phases of an AssumeRole, matched against "function url:line" frames (first match wins). */
export const PHASES: readonly (readonly [string, RegExp])[] = [
  ['startup (module loading; not per call)', /modules\/(esm|cjs)|compileSourceTextModule|wrapSafe/],
  [
    'SigV4 verify, body SHA-256, credential lookup',
    /\/auth\/|^authenticate .*\/sts\/index\.js|^sha256Hex /,
  ],
  [
    'the session secret (derived: HMAC-SHA512; AES-256-GCM seal before)',
    /^(seal|newSessionSecret) /,
  ],
  ['durable insert: the session row', /sqlite\/identity-store\.js/],
  ['durable insert: the audit row', /sqlite\/audit-log\.js/],
  [
    'durable insert: BEGIN/SAVEPOINT/COMMIT, WAL fsync, checkpoint',
    /group-commit\.js|wal-sync\.js/,
  ],
  ['body read and form decode', /readParams|readBounded|http\/read-bounded\.js/],
  ['policy parse/validate/compile (cache hit here)', /parseAssumeRole/],
  ['authorize (explicit-deny gate)', /checkNotDenied/],
  ['XML answer', /assumeRoleXml/],
  ['issue: ids, token, token HMAC, cache entry, slot', /^issue .*\/iam\/sessions\.js/],
  ['audit event of the issuance', /^issue .*\/sts\/router\.js/],
  [
    'HTTP parse and write (node:http, writev)',
    /_http_|listener\.js|respond\.js|node:net|stream_base/,
  ],
  ['garbage collector', /^\(garbage collector\)/],
  ['idle', /^\(idle\)/],
]

export interface ProfileNode {
  readonly id: number
  readonly callFrame: {
    readonly functionName: string
    readonly url: string
    readonly lineNumber: number
  }
  readonly children?: readonly number[]
}

export interface CpuProfile {
  readonly nodes: readonly ProfileNode[]
  readonly samples: readonly number[]
  readonly timeDeltas: readonly number[]
}

/** Microseconds of samples per phase ('other' for the rest), from a .cpuprofile. */
export function foldProfile(p: CpuProfile): Map<string, number> {
  const byId = new Map(p.nodes.map((n) => [n.id, n]))
  const parent = new Map<number, number>()
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id)
  const self = new Map<number, number>()
  p.samples.forEach((id, i) => self.set(id, (self.get(id) ?? 0) + (p.timeDeltas[i] ?? 0)))
  const phaseOf = new Map<number, string>()
  const frame = (n: ProfileNode): string =>
    `${n.callFrame.functionName || '(anonymous)'} ${n.callFrame.url}:${String(n.callFrame.lineNumber + 1)}`
  const out = new Map<string, number>()
  for (const [id, us] of self) {
    let phase = phaseOf.get(id)
    if (phase === undefined) {
      const stack: string[] = []
      for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
        const n = byId.get(cur)
        if (n !== undefined) stack.push(frame(n))
      }
      phase = 'other'
      search: for (const [name, re] of PHASES)
        for (const f of stack)
          if (re.test(f)) {
            phase = name
            break search
          }
      phaseOf.set(id, phase)
    }
    out.set(phase, (out.get(phase) ?? 0) + us)
  }
  return out
}

async function main(): Promise<void> {
  const args = process.argv.slice(2)
  const seconds = Number(args.find((a) => /^\d+$/.test(a)) ?? 8)
  const keep = args.includes('--keep')
  const s = settings(false, (l) => void process.stderr.write(l + '\n'))
  const profDir = tempDir('cpuprof')
  const ours = await startLatchkey({
    args: MINT_ARGS,
    nodeFlags: [...SERVER_NODE_FLAGS, '--cpu-prof', '--cpu-prof-dir', profDir],
  })
  const pool = poolFor(ours.url, s)
  let ops = 0
  let cpu = Number.NaN
  try {
    await prepareBucket(pool, ours.url, 'bench')
    const ar = await signAssumeRole(ours.url, sessionPolicy('bench'), 900)
    const probe = await send(pool, ar)
    if (probe.status !== 200) throw new Error(`probe AssumeRole → ${String(probe.status)}`)
    const cpu0 = cpuSeconds(ours.pid)
    const r = await runLoad({
      pool,
      requests: [ar],
      concurrency: s.connections,
      durationMs: seconds * 1000,
    })
    if (r.errors > 0) throw new Error(`load: ${r.firstError ?? '?'}`)
    ops = r.ok + 1
    cpu = ((cpuSeconds(ours.pid) - cpu0) * 1e6) / r.ok
    process.stderr.write(`${String(r.ok)} AssumeRole in ${String(seconds)} s\n`)
  } finally {
    await pool.close().catch(() => undefined)
    await ours.dispose()
  }
  const file = readdirSync(profDir).find((f) => f.endsWith('.cpuprofile'))
  if (file === undefined) throw new Error(`no profile written in ${profDir}`)
  const folded = foldProfile(JSON.parse(readFileSync(join(profDir, file), 'utf8')) as CpuProfile)
  // Samples are taken on wall time: on a busy machine a descheduled thread still collects them,
  // so phases are reported as shares of the busy samples, and in µs as those shares of the
  // process CPU per call measured from /proc over the same load.
  const notPerCall = new Set(['idle', PHASES[0]?.[0] ?? ''])
  const busy = [...folded].filter(([k]) => !notPerCall.has(k)).reduce((a, [, v]) => a + v, 0)
  const lines = [...folded]
    .filter(([k]) => !notPerCall.has(k))
    .sort((a, b) => b[1] - a[1])
    .map(([k, us]) => {
      const share = us / busy
      return `${(100 * share).toFixed(1).padStart(5)}%  ${(share * cpu).toFixed(1).padStart(6)} us  ${k}`
    })
  process.stdout.write(
    [
      `AssumeRole, 945-char session policy, ${String(s.connections)} connections, ${String(ops)} calls`,
      `process CPU (all threads and kernel, /proc, profiler on): ${cpu.toFixed(1)} us per call`,
      'main-thread samples by phase (share, and that share of the CPU per call):',
      ...lines,
    ].join('\n') + '\n',
  )
  if (keep) process.stdout.write(`profile: ${join(profDir, file)}\n`)
  else rmSync(profDir, { recursive: true, force: true })
}

if (process.argv[1]?.endsWith('profile-sts.js') === true) {
  main().catch((e: unknown) => {
    process.stderr.write(`profile-sts: ${e instanceof Error ? e.message : String(e)}\n`)
    process.exit(1)
  })
}
