/**
 * Child-process plumbing for the benchmarks: every server under test (ours and each ceiling)
 * runs in its own process so each has its own event loop and its CPU can be read from
 * /proc/<pid>/stat. The load generator stays in the driver process.
 * @module
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { readdirSync, readFileSync } from 'node:fs'
import { createInterface } from 'node:readline'

/** Clock ticks per second for /proc stat fields (USER_HZ; 100 on every Linux we target). */
const CLK_TCK = 100

export interface ChildServer {
  readonly url: string
  readonly pid: number
  readonly proc: ChildProcess
  readonly output: readonly string[]
  stop(): Promise<void>
}

export interface SpawnOptions {
  readonly args: readonly string[]
  readonly env?: Readonly<Record<string, string>>
  readonly startTimeoutMs?: number
  /** Extra node flags (e.g. --max-old-space-size). */
  readonly nodeFlags?: readonly string[]
}

/** Start `node <args>` and wait for its `{"msg":"listening","url":…}` line. */
export async function spawnServer(opts: SpawnOptions): Promise<ChildServer> {
  const proc = spawn(process.execPath, [...(opts.nodeFlags ?? []), ...opts.args], {
    env: { ...process.env, ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  const output: string[] = []
  const timeoutMs = opts.startTimeoutMs ?? 30_000
  const exited = new Promise<void>((r) => proc.once('exit', () => r()))
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      proc.kill('SIGKILL')
      reject(
        new Error(`server did not start within ${String(timeoutMs)} ms:\n${output.join('\n')}`),
      )
    }, timeoutMs)
    const onLine = (line: string): void => {
      if (output.length < 200) output.push(line)
      const m = /"url":"(https?:\/\/[^"]+)"/.exec(line)
      if (m?.[1] !== undefined && line.includes('listening')) {
        clearTimeout(timer)
        // From here on the server's output is drained unread: a chatty server (the access log
        // at info) must not make the load generator, on the same cores, split its lines.
        for (const rl of readers) rl.close()
        proc.stdout.resume()
        proc.stderr.resume()
        resolve(m[1])
      }
    }
    const readers = [
      createInterface({ input: proc.stdout }).on('line', onLine),
      createInterface({ input: proc.stderr }).on('line', onLine),
    ]
    proc.once('exit', (code) => {
      clearTimeout(timer)
      const lines = output.join('\n')
      reject(new Error(`server exited with ${String(code)} before listening:\n${lines}`))
    })
  })
  const pid = proc.pid
  if (pid === undefined) throw new Error('child has no pid')
  return {
    url,
    pid,
    proc,
    output,
    async stop() {
      if (proc.exitCode !== null || proc.signalCode !== null) return
      proc.kill('SIGTERM')
      const t = setTimeout(() => proc.kill('SIGKILL'), 5_000)
      await exited
      clearTimeout(t)
    },
  }
}

/**
 * Parse utime+stime (seconds) from the text of /proc/<pid>/stat. The comm field may hold spaces
 * and parentheses, so fields are counted from the last ')'.
 */
export function parseCpuSeconds(stat: string): number {
  const t = parseCpuTimes(stat)
  return t.user + t.system
}

/** utime and stime (seconds) from the text of a /proc stat file, apart. */
export function parseCpuTimes(stat: string): { readonly user: number; readonly system: number } {
  const close = stat.lastIndexOf(')')
  if (close < 0) throw new Error('malformed /proc stat')
  // fields after "pid (comm)": state is field 3; utime=14, stime=15 → offsets 11, 12 after state.
  const rest = stat.slice(close + 2).split(' ')
  const user = Number(rest[11])
  const system = Number(rest[12])
  if (!Number.isFinite(user) || !Number.isFinite(system)) throw new Error('malformed /proc stat')
  return { user: user / CLK_TCK, system: system / CLK_TCK }
}

/** A process's CPU seconds by thread: the main thread's user and kernel time, and the rest. */
export interface ThreadCpu {
  /** The main thread (the event loop), in user space. */
  readonly mainUser: number
  /** The main thread in the kernel (its syscalls: sockets, SQLite's WAL and checkpoint writes). */
  readonly mainSystem: number
  /** Every other live thread: V8's GC helpers, libuv's pool (fsync), the inspector. */
  readonly others: number
}

/**
 * CPU seconds so far of each live thread of `pid`, from /proc/<pid>/task/<tid>/stat (NaN fields
 * when /proc is unavailable). A thread that has exited is no longer listed, so `others` can fall
 * between two reads; node's threads live as long as the process.
 */
export function threadCpu(pid: number): ThreadCpu {
  try {
    let mainUser = Number.NaN
    let mainSystem = Number.NaN
    let others = 0
    for (const tid of readdirSync(`/proc/${String(pid)}/task`)) {
      let t: { user: number; system: number }
      try {
        t = parseCpuTimes(readFileSync(`/proc/${String(pid)}/task/${tid}/stat`, 'utf8'))
      } catch {
        continue // exited between the listing and the read
      }
      if (tid === String(pid)) {
        mainUser = t.user
        mainSystem = t.system
      } else others += t.user + t.system
    }
    return { mainUser, mainSystem, others }
  } catch {
    return { mainUser: Number.NaN, mainSystem: Number.NaN, others: Number.NaN }
  }
}

/** CPU seconds (user+system) the process has used so far; NaN when /proc is unavailable. */
export function cpuSeconds(pid: number): number {
  try {
    return parseCpuSeconds(readFileSync(`/proc/${String(pid)}/stat`, 'utf8'))
  } catch {
    return Number.NaN
  }
}

/** VmRSS in bytes from the text of /proc/<pid>/status. */
export function parseRssBytes(status: string): number {
  const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(status)
  return m?.[1] !== undefined ? Number(m[1]) * 1024 : Number.NaN
}

export function rssBytes(pid: number): number {
  try {
    return parseRssBytes(readFileSync(`/proc/${String(pid)}/status`, 'utf8'))
  } catch {
    return Number.NaN
  }
}

/** Samples VmRSS every `intervalMs` until stopped; returns the maximum seen (bytes). */
export function sampleRss(pid: number, intervalMs = 50): { stop(): number } {
  let max = rssBytes(pid)
  const t = setInterval(() => {
    const r = rssBytes(pid)
    if (r > max || Number.isNaN(max)) max = r
  }, intervalMs)
  return {
    stop() {
      clearInterval(t)
      const r = rssBytes(pid)
      if (r > max) max = r
      return max
    },
  }
}

/**
 * CPU seconds of a process and its children: its own time, the time of the children it has
 * already reaped (cutime/cstime) and that of the children still running. For PostgreSQL's
 * postmaster this is the whole database server: backends, WAL writer, checkpointer.
 */
export function treeCpuSeconds(pid: number): number {
  let own: string
  try {
    own = readFileSync(`/proc/${String(pid)}/stat`, 'utf8')
  } catch {
    return Number.NaN
  }
  const rest = own.slice(own.lastIndexOf(')') + 2).split(' ')
  // utime, stime, cutime, cstime: fields 14-17 → offsets 11-14 after the state field.
  let total = [11, 12, 13, 14].reduce((n, i) => n + Number(rest[i]), 0) / CLK_TCK
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    let stat: string
    try {
      stat = readFileSync(`/proc/${entry}/stat`, 'utf8')
    } catch {
      continue // exited meanwhile
    }
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    // ppid is field 4 → offset 1 after the state field.
    if (Number(fields[1]) === pid) total += parseCpuSeconds(stat)
  }
  return total
}
