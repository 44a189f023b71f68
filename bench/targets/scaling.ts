/**
 * The comparison targets 4 (listing) and 12 (audit queries) share: the same query against a
 * server holding a large data set and one holding a small one, sequential requests (one
 * connection), rounds interleaved; the row is the time per answer, big against small. Each answer
 * is checked first (status 200 and how many items it holds) so a fast wrong answer cannot pass.
 * @module
 */
import type { Pool } from 'undici'
import { rmSync } from 'node:fs'
import { compareThroughput, errorOf, startLatchkey, type Latchkey, type Settings } from '../env.js'
import { sendText } from '../load.js'
import type { PreparedRequest } from '../sign.js'
import type { ResultRow } from '../stats.js'

/** One side: its server's pool and pid, and the request it answers. */
export interface ScalingSide {
  readonly pool: Pool
  readonly pid: number
  readonly request: PreparedRequest
  /** Items its answer must hold. */
  readonly expect: number
}

export interface ScalingCase {
  readonly group: string
  /** The row's name. */
  readonly name: string
  /** What the log line calls it. */
  readonly label: string
  readonly unit: string
  readonly ceilingName: string
  readonly comparison: ResultRow['comparison']
  /** What an answer holds, for the note ('entries', 'events'). */
  readonly items: string
  /** How many items an answer's text holds. */
  readonly count: (text: string) => number
  readonly big: ScalingSide
  readonly small: ScalingSide
}

/** Sequential requests, shorter rounds: a page takes milliseconds, not microseconds. */
export function sequentialSettings(s: Settings): Settings {
  return { ...s, connections: 1, roundMs: s.quick ? 300 : 800, warmupMs: s.quick ? 100 : 300 }
}

export async function scalingRow(s: Settings, c: ScalingCase): Promise<ResultRow> {
  const counts: number[] = []
  for (const side of [c.big, c.small]) {
    const a = await sendText(side.pool, side.request)
    if (a.status !== 200) throw new Error(`${c.label}: ${String(a.status)} ${a.text.slice(0, 300)}`)
    counts.push(c.count(a.text))
  }
  s.log(`  ${c.group}: ${c.label}`)
  const [b, sm] = await compareThroughput(sequentialSettings(s), [
    { name: 'big', pool: c.big.pool, pid: c.big.pid, requests: [c.big.request] },
    { name: 'small', pool: c.small.pool, pid: c.small.pid, requests: [c.small.request] },
  ])
  if (b === undefined || sm === undefined) throw new Error('no stats')
  const want = [c.big.expect, c.small.expect]
  const wrong = counts.some((n, i) => n !== want[i])
    ? `answers hold ${counts.join(' / ')} ${c.items}, expected ${want.join(' / ')}`
    : undefined
  const error = wrong ?? errorOf('big', b) ?? errorOf('small', sm)
  return {
    group: c.group,
    name: c.name,
    unit: c.unit,
    ours: 1000 / b.rps,
    ceiling: 1000 / sm.rps,
    ceilingName: c.ceilingName,
    comparison: c.comparison,
    cpuUsPerOp: b.cpuUsPerOp,
    ceilingCpuUsPerOp: sm.cpuUsPerOp,
    note:
      `sequential requests; ${c.items} ${counts.join(' / ')}; ` +
      `answers/s big [${b.rounds.map(Math.round).join(', ')}] small [${sm.rounds.map(Math.round).join(', ')}]`,
    ...(error !== undefined ? { error } : {}),
  }
}

/**
 * Run `seed` on a stopped server's data dir (filling a million rows through the API is too slow,
 * so they go straight into the database), log how long it took, then start a server there; the
 * data dir goes with that server's dispose. `seed` returns what it made, for the log line.
 */
export async function serverAfterSeed(
  dataDir: string,
  seed: () => Promise<string> | string,
  log: (line: string) => void,
): Promise<Latchkey> {
  const t0 = performance.now()
  const what = await seed()
  log(`${what} in ${String(Math.round(performance.now() - t0))} ms`)
  const server = await startLatchkey({ dataDir })
  return {
    ...server,
    async dispose() {
      await server.dispose()
      rmSync(dataDir, { recursive: true, force: true })
    },
  }
}
