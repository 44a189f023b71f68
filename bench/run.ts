/**
 * `npm run bench`: builds, then runs every target against its ceiling in the same run and
 * prints one table plus a final JSON summary line. Servers (ours and the ceilings) run as child
 * processes; the load generator runs here.
 *
 *   node --expose-gc dist/bench/run.js [--quick] [--only name[,name…]] [--list]
 *
 * --quick: one short round per comparison and a 32 MiB big object (smoke run, numbers rough).
 * Exit status 1 when any target FAILs or could not be measured.
 * @module
 */
import { existsSync } from 'node:fs'
import { cpus, loadavg } from 'node:os'
import { parseArgs, TARGET_NAMES, type Args, type TargetName } from './args.js'
import { disposeStragglers, MAIN_JS, removeDeferred, settings, type Settings } from './env.js'
import { renderTable, score, summaryJson, type ResultRow, type ScoredRow } from './stats.js'
import { benchGet4k, benchPut4k } from './targets/small.js'
import { benchBig } from './targets/big.js'
import { benchList } from './targets/list.js'
import { benchIamGet, benchPolicyMicro } from './targets/iam.js'
import {
  benchAssumeRole,
  benchAssumeRoleVsRgw,
  benchSessionGet,
  benchSessionsRss,
} from './targets/sts.js'
import { benchCluster, benchPostgres } from './targets/postgres.js'
import { benchAccessLog } from './targets/access-log.js'
import { benchAudit } from './targets/audit.js'

interface Target {
  readonly group: string
  readonly run: (s: Settings) => Promise<ResultRow[]> | ResultRow[]
}

const TARGETS = {
  get4k: { group: '1 get-4k', run: benchGet4k },
  put4k: { group: '2 put-4k', run: benchPut4k },
  big: { group: '3 big', run: benchBig },
  list: { group: '4 list', run: benchList },
  iam: { group: '5 iam-get', run: benchIamGet },
  policy: { group: '6 policy-eval', run: benchPolicyMicro },
  'assume-role': { group: '7 sts-assume-role', run: benchAssumeRole },
  'session-get': { group: '8 sts-session-get', run: benchSessionGet },
  postgres: { group: '9 postgres', run: benchPostgres },
  cluster: { group: '10 cluster', run: benchCluster },
  'access-log': { group: '11 access-log', run: benchAccessLog },
  audit: { group: '12 audit', run: benchAudit },
  'sts-rgw': { group: '13 sts-vs-rgw', run: benchAssumeRoleVsRgw },
  'sessions-rss': { group: '14 sts-sessions-rss', run: benchSessionsRss },
} as const satisfies Record<TargetName, Target>

async function main(): Promise<number> {
  let args: Args
  try {
    args = parseArgs(process.argv.slice(2))
  } catch (e) {
    process.stderr.write(`bench: ${(e as Error).message}\n`)
    return 2
  }
  if (args.list) {
    for (const n of TARGET_NAMES) process.stdout.write(`${n}\t${TARGETS[n].group}\n`)
    return 0
  }
  if (!existsSync(MAIN_JS)) {
    process.stderr.write(`bench: ${MAIN_JS} not found; run \`npm run build\` first\n`)
    return 2
  }
  const log = (line: string): void => void process.stderr.write(line + '\n')
  const s = settings(args.quick, log)
  const chosen = (args.only ?? TARGET_NAMES).map((name) => ({ name, ...TARGETS[name] }))
  const mode = args.quick ? 'quick' : `${String(s.rounds)} rounds x ${String(s.roundMs)} ms`
  const load = loadavg()[0]?.toFixed(2) ?? '?'
  log(
    `latchkey bench: ${String(chosen.length)} targets, ${mode}, ${String(cpus().length)} cpus, load ${load}`,
  )
  const t0 = performance.now()
  const rows: ScoredRow[] = []
  for (const t of chosen) {
    log(`- ${t.name}`)
    const ts = performance.now()
    try {
      for (const r of await t.run(s)) rows.push(score(r))
    } catch (e) {
      const msg = e instanceof Error ? e.message : String(e)
      rows.push(
        score({
          group: t.group,
          name: t.name,
          unit: '-',
          ours: Number.NaN,
          ceiling: Number.NaN,
          ceilingName: '-',
          comparison: { kind: 'info' },
          error: msg.split('\n').slice(0, 6).join(' | '),
        }),
      )
    }
    const stragglers = await disposeStragglers()
    if (stragglers > 0) log(`  stopped ${String(stragglers)} server(s) the target left running`)
    log(`  (${((performance.now() - ts) / 1000).toFixed(1)} s)`)
    ;(globalThis as { gc?: () => void }).gc?.()
  }
  const secs = (performance.now() - t0) / 1000
  const removing = removeDeferred(true)
  if (removing > 0) log(`removing ${String(removing)} ceiling scratch dir(s) in the background`)
  process.stdout.write('\n' + renderTable(rows) + '\n\n')
  const extra = {
    quick: args.quick,
    seconds: Math.round(secs),
    cpus: cpus().length,
    node: process.version,
  }
  process.stdout.write(summaryJson(rows, extra) + '\n')
  return rows.some((r) => r.verdict === 'FAIL' || r.verdict === 'ERROR') ? 1 : 0
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    process.stderr.write(`bench: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`)
    process.exit(1)
  },
)
