/**
 * What every target shares: run settings (--quick), where dist/ is, starting Latchkey and the
 * ceilings as child processes with temp data dirs, a few signed setup calls (create bucket, put
 * object), and the interleaved-rounds loop that makes the numbers comparable on a noisy box.
 * @module
 */
import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { Pool } from 'undici'
import { spawnServer, threadCpu, type ChildServer } from './proc.js'
import { makePool, runLoad, send, type LoadResult } from './load.js'
import { signRequest, type Credentials, type PreparedRequest } from './sign.js'
import type { CeilingKind } from './ceiling-servers.js'
import { SERVER_NODE_FLAGS } from '../src/config/node-flags.js'
import { median } from './stats.js'

export interface Settings {
  readonly quick: boolean
  /** Interleaved rounds per comparison (median reported). */
  readonly rounds: number
  /** Length of one throughput round. */
  readonly roundMs: number
  /** Warm-up before the first round, per server. */
  readonly warmupMs: number
  /** Connections (= requests in flight) for the small-request targets. */
  readonly connections: number
  /** Size of the big-object transfer. */
  readonly bigBytes: number
  readonly bigRounds: number
  readonly log: (line: string) => void
}

/**
 * Two contenders on the same server differ by a few percent at most, less than this VM's
 * round-to-round swing, so same-server comparisons (targets 5 and 8) take more rounds.
 */
export function sameServerSettings(s: Settings): Settings {
  return s.quick ? s : { ...s, rounds: 10 }
}

/**
 * Targets 5 and 8: the same 4 KiB GET signed with two credentials, probed once each, then
 * measured on the same server in interleaved rounds. Returns the stats in argument order.
 */
export async function compareGet4kBy(
  s: Settings,
  pool: Pool,
  server: { readonly url: string; readonly pid: number },
  a: { readonly name: string; readonly creds: Credentials },
  b: { readonly name: string; readonly creds: Credentials },
): Promise<[ContenderStats, ContenderStats]> {
  const sign = (creds: Credentials): Promise<PreparedRequest> =>
    signRequest({ origin: server.url, creds, method: 'GET', path: '/bench/obj4k' })
  const [ra, rb] = [await sign(a.creds), await sign(b.creds)]
  for (const r of [ra, rb]) {
    const p = await send(pool, r)
    if (p.status !== 200 || p.bytes !== 4096)
      throw new Error(`probe GET → ${String(p.status)} ${p.head ?? ''}`)
  }
  const [sa, sb] = await compareThroughput(sameServerSettings(s), [
    { name: a.name, pool, pid: server.pid, requests: [ra], cpuParts: threadParts(server.pid) },
    { name: b.name, pool, pid: server.pid, requests: [rb], cpuParts: threadParts(server.pid) },
  ])
  if (sa === undefined || sb === undefined) throw new Error('no stats')
  return [sa, sb]
}

export function settings(quick: boolean, log: (line: string) => void): Settings {
  return quick
    ? {
        quick,
        rounds: 1,
        roundMs: 500,
        warmupMs: 400,
        connections: 32,
        bigBytes: 32 << 20,
        bigRounds: 1,
        log,
      }
    : {
        quick,
        rounds: 5,
        roundMs: 2_000,
        warmupMs: 2_000,
        connections: 32,
        bigBytes: 256 << 20,
        bigRounds: 5,
        log,
      }
}

/** This directory once built: dist-bench/bench/ (the benchmark is built apart from the product). */
const HERE = fileURLToPath(new URL('.', import.meta.url))
/** The product the benchmark drives from outside: the repository's dist/ (`npm run build`). */
export const DIST = join(HERE, '..', '..', 'dist')
export const MAIN_JS = join(DIST, 'main.js')
export const CEILINGS_JS = join(HERE, 'ceilings.js')

export const ROOT_ACCESS_KEY = 'LKIABENCHROOTKEY0001'
export const ROOT_SECRET_KEY = 'benchRootSecretKey/0123456789abcdefghijk'
export const ROOT_PASSWORD = 'bench-operator-password-1'
export const ROOT_CREDS: Credentials = {
  accessKeyId: ROOT_ACCESS_KEY,
  secretAccessKey: ROOT_SECRET_KEY,
}

export function tempDir(tag: string): string {
  return mkdtempSync(join(tmpdir(), `latchkey-bench-${tag}-`))
}

const deferred: string[] = []

/**
 * Remove a temp dir later: unlinking ~50k fsync'd files takes half a minute here, which would
 * both stretch the run and disturb the next measurement. `removeDeferred()` runs at the end.
 */
export function removeLater(dir: string): void {
  deferred.push(dir)
}

/** Remove the deferred dirs: in a detached `rm -rf` (background) or synchronously. */
export function removeDeferred(background: boolean): number {
  const dirs = deferred.splice(0)
  if (dirs.length === 0) return 0
  if (background) spawn('rm', ['-rf', '--', ...dirs], { detached: true, stdio: 'ignore' }).unref()
  else for (const d of dirs) rmSync(d, { recursive: true, force: true })
  return dirs.length
}

/** Servers started and not yet disposed: a target that throws half-way leaves none behind. */
const live = new Set<{ dispose(): Promise<void> }>()

/** Dispose whatever a target left running; returns how many there were. */
export async function disposeStragglers(): Promise<number> {
  const left = [...live]
  await Promise.allSettled(left.map((x) => x.dispose()))
  return left.length
}

function track<T extends { dispose(): Promise<void> }>(x: T): T {
  const dispose = x.dispose.bind(x)
  const tracked = {
    ...x,
    async dispose() {
      live.delete(tracked)
      await dispose()
    },
  }
  live.add(tracked)
  return tracked
}

export interface Latchkey extends ChildServer {
  readonly dataDir: string
  /** Stop and remove the data dir (unless kept). */
  dispose(): Promise<void>
}

export interface LatchkeyOptions {
  /** Use (and keep) this data dir instead of a fresh temp one. */
  readonly dataDir?: string
  readonly args?: readonly string[]
  /** Extra environment (LATCHKEY_MASTER_KEY for a PostgreSQL node). */
  readonly env?: Readonly<Record<string, string>>
  /**
   * Node flags for the server instead of the deployed ones (SERVER_NODE_FLAGS, what `npm start`
   * passes); bench/profile-sts.ts adds --cpu-prof to them.
   */
  readonly nodeFlags?: readonly string[]
}

export async function startLatchkey(o: LatchkeyOptions = {}): Promise<Latchkey> {
  const dataDir = o.dataDir ?? tempDir('data')
  const spawned = spawnServer({
    nodeFlags: o.nodeFlags ?? SERVER_NODE_FLAGS,
    args: [
      MAIN_JS,
      'serve',
      '--address',
      '127.0.0.1:0',
      '--data-dir',
      dataDir,
      '--log-level',
      'warn',
      ...(o.args ?? []),
    ],
    env: {
      LATCHKEY_ROOT_ACCESS_KEY: ROOT_ACCESS_KEY,
      LATCHKEY_ROOT_SECRET_KEY: ROOT_SECRET_KEY,
      LATCHKEY_ROOT_PASSWORD: ROOT_PASSWORD,
      ...o.env,
    },
  })
  const child = await spawned.catch((e: unknown) => {
    if (o.dataDir === undefined) rmSync(dataDir, { recursive: true, force: true })
    throw e
  })
  return track({
    ...child,
    dataDir,
    async dispose() {
      await child.stop()
      if (o.dataDir === undefined) rmSync(dataDir, { recursive: true, force: true })
    },
  })
}

export interface Ceiling extends ChildServer {
  dispose(): Promise<void>
}

export async function startCeilingProc(kind: CeilingKind, busyUs = 0): Promise<Ceiling> {
  const dir = kind === 'get4k' || kind === 'get4k-busy' ? undefined : tempDir(`ceil-${kind}`)
  const extra = kind === 'get4k-busy' ? [String(busyUs)] : dir !== undefined ? [dir] : []
  const args = [CEILINGS_JS, kind, '0', ...extra]
  // The server's node flags here too: a ratio to the ceiling compares code, not V8 settings.
  const child = await spawnServer({ nodeFlags: SERVER_NODE_FLAGS, args })
  return track({
    ...child,
    async dispose() {
      await child.stop()
      if (dir !== undefined) removeLater(dir)
    },
  })
}

/** Sign and send one S3 request; throws unless the status is 2xx. For setup, not for load. */
export async function s3Call(
  pool: Pool,
  origin: string,
  creds: Credentials,
  method: string,
  path: string,
  opts: {
    body?: Buffer | string
    query?: Record<string, string>
    headers?: Record<string, string>
  } = {},
): Promise<void> {
  const r = await signRequest({ origin, creds, method, path, ...opts })
  const a = await send(pool, r)
  if (a.status < 200 || a.status >= 300) {
    throw new Error(`${method} ${path} → ${String(a.status)} ${a.head ?? ''}`)
  }
}

export const OBJECT_4K = Buffer.alloc(4096, 'q')

/** Create a bucket and put a 4 KiB object `obj4k` in it with the master key. */
export async function prepareBucket(pool: Pool, origin: string, bucket: string): Promise<void> {
  await s3Call(pool, origin, ROOT_CREDS, 'PUT', `/${bucket}`)
  await s3Call(pool, origin, ROOT_CREDS, 'PUT', `/${bucket}/obj4k`, { body: OBJECT_4K })
}

/** One contender in an interleaved comparison. */
export interface Contender {
  readonly name: string
  readonly pool: Pool
  readonly pid: number
  readonly requests: readonly PreparedRequest[]
  readonly ok?: (status: number) => boolean
  /** Requests in flight (one per connection of `pool`); the settings' connections by default. */
  readonly concurrency?: number
  /**
   * CPU seconds so far of other processes that serve this contender (more nodes, the database),
   * by name; each is reported per operation next to the server's own CPU.
   */
  readonly cpuParts?: Readonly<Record<string, () => number>>
}

export interface ContenderStats {
  readonly rps: number
  readonly cpuUsPerOp: number
  readonly errors: number
  readonly ok: number
  readonly firstError?: string
  readonly rounds: readonly number[]
  /** Median CPU µs per operation of each of the contender's `cpuParts`. */
  readonly partsUsPerOp: Readonly<Record<string, number>>
}

/**
 * Throughput of each contender, rounds interleaved (A B C, then C B A, …) so drift on a shared
 * machine and the position within a round hit all of them alike; warm-up first. Medians of rps
 * and CPU/op.
 */
export async function compareThroughput(
  s: Settings,
  contenders: readonly Contender[],
): Promise<ContenderStats[]> {
  const next = contenders.map(() => 0)
  for (const [i, c] of contenders.entries()) {
    const r = await runLoad({
      pool: c.pool,
      requests: c.requests,
      concurrency: c.concurrency ?? s.connections,
      durationMs: s.warmupMs,
      ...(c.ok ? { ok: c.ok } : {}),
    })
    next[i] = r.nextIndex
  }
  const results: LoadResult[][] = contenders.map(() => [])
  const parts: Record<string, number[]>[] = contenders.map(() => ({}))
  for (let round = 0; round < s.rounds; round++) {
    // A B, then B A: going first or second in a round (JIT, GC debt, drift) favours no one.
    const order = [...contenders.entries()]
    if (round % 2 === 1) order.reverse()
    for (const [i, c] of order) {
      const sides = Object.entries(c.cpuParts ?? {})
      const before = sides.map(([, f]) => f())
      const r = await runLoad({
        pool: c.pool,
        requests: c.requests,
        concurrency: c.concurrency ?? s.connections,
        durationMs: s.roundMs,
        pid: c.pid,
        startIndex: next[i] ?? 0,
        ...(c.ok ? { ok: c.ok } : {}),
      })
      next[i] = r.nextIndex
      results[i]?.push(r)
      const ops = r.ok + r.errors
      sides.forEach(([name, f], j) => {
        const us = ops > 0 ? ((f() - (before[j] ?? Number.NaN)) * 1e6) / ops : Number.NaN
        ;(parts[i]![name] ??= []).push(us)
      })
    }
  }
  return results.map((rs, i) => {
    const firstError = rs.find((r) => r.firstError !== undefined)?.firstError
    return {
      rps: median(rs.map((r) => r.rps)),
      cpuUsPerOp: median(rs.map((r) => r.cpuUsPerOp)),
      errors: rs.reduce((n, r) => n + r.errors, 0),
      ok: rs.reduce((n, r) => n + r.ok, 0),
      rounds: rs.map((r) => r.rps),
      partsUsPerOp: Object.fromEntries(
        Object.entries(parts[i] ?? {}).map(([name, xs]) => [name, median(xs)]),
      ),
      ...(firstError !== undefined ? { firstError } : {}),
    }
  })
}

export function poolFor(url: string, s: Settings): Pool {
  return makePool(url, s.connections)
}

/** Describe errors of a contender for a row's error field (undefined when clean). */
export function errorOf(name: string, st: ContenderStats): string | undefined {
  if (st.errors === 0) return undefined
  const total = String(st.errors + st.ok)
  return `${name}: ${String(st.errors)} failed of ${total}; first: ${st.firstError ?? '?'}`
}

/**
 * A contender's `cpuParts` that split its server's own CPU by thread (proc.ts threadCpu): where a
 * difference between two contenders goes (JavaScript on the event loop, the event loop's syscalls,
 * or other threads). Report them with `threadsNote`.
 */
export function threadParts(pid: number): Readonly<Record<string, () => number>> {
  return {
    [MAIN_USER]: () => threadCpu(pid).mainUser,
    [MAIN_KERNEL]: () => threadCpu(pid).mainSystem,
    [OTHER_THREADS]: () => threadCpu(pid).others,
  }
}

const MAIN_USER = 'main thread user'
const MAIN_KERNEL = 'main thread kernel'
const OTHER_THREADS = 'other threads'

/** "name: main thread user X, kernel Y, other threads Z µs/op; …" for contenders with threadParts. */
export function threadsNote(stats: readonly ContenderStats[], names: readonly string[]): string {
  return names
    .map((n, i) => {
      const p = stats[i]?.partsUsPerOp ?? {}
      const us = (k: string): string => (p[k] ?? Number.NaN).toFixed(1)
      return `${n} µs/op: main thread user ${us(MAIN_USER)}, kernel ${us(MAIN_KERNEL)}, other threads ${us(OTHER_THREADS)}`
    })
    .join('; ')
}

/**
 * The share of the rounds' wall time a contender's main thread spent on a CPU (its user and kernel
 * µs per op times ops per second; needs threadParts). Near 100% the event loop is the limit; below
 * it the loop also waited (for an fsync, for the next request), which more connections would fill.
 */
export function mainThreadBusy(c: ContenderStats): number {
  const p = c.partsUsPerOp
  return (((p[MAIN_USER] ?? Number.NaN) + (p[MAIN_KERNEL] ?? Number.NaN)) * c.rps) / 1e6
}

export function roundsNote(stats: readonly ContenderStats[], names: readonly string[]): string {
  return names
    .map((n, i) => {
      const rounds = (stats[i]?.rounds ?? []).map((x) => Math.round(x))
      return `${n} rounds rps [${rounds.join(', ')}]`
    })
    .join('; ')
}
