/**
 * Bytes the server allocates per AssumeRole and per session GET, and bytes each new session keeps
 * (issue 13: the garbage collector's share of an AssumeRole). Starts Latchkey with
 * bench/alloc-probe.js preloaded, warms each load up, then reads the heap's figures before and
 * after a timed load and divides by the calls answered:
 *
 *   npm run build && npm run build:bench && node dist-bench/bench/alloc-sts.js [seconds]
 *
 * allocated/call counts young garbage too (what scavenges pay for); kept/session is the used heap's
 * growth after a full collection over an AssumeRole load (the session cache's entries, all of which
 * stay while it holds fewer than --session-cache-entries).
 * @module
 */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import type { Pool } from 'undici'
import { poolFor, prepareBucket, ROOT_CREDS, settings, startLatchkey, tempDir } from './env.js'
import { runLoad } from './load.js'
import { signRequest, type Credentials, type PreparedRequest } from './sign.js'
import { MINT_ARGS, mintSession, sessionPolicy, signAssumeRole } from './targets/sts.js'
import { SERVER_NODE_FLAGS } from '../src/config/node-flags.js'

interface Mark {
  readonly allocated: number
  readonly promoted: number
  readonly gcs: number
  /** GC microseconds by kind (Scavenge, MarkSweepCompact, …). */
  readonly byType: Readonly<Record<string, number>>
  readonly gcMicros: number
  readonly retained: number
}

const PROBE = pathToFileURL(join(fileURLToPath(new URL('.', import.meta.url)), 'alloc-probe.js'))

async function main(): Promise<void> {
  const seconds = Number(process.argv.slice(2).find((a) => /^\d+$/.test(a)) ?? 5)
  const s = settings(false, (l) => void process.stderr.write(l + '\n'))
  const file = join(tempDir('alloc'), 'mark.json')
  const ours = await startLatchkey({
    args: MINT_ARGS,
    nodeFlags: [
      ...SERVER_NODE_FLAGS,
      '--expose-gc',
      '--import',
      PROBE.href,
      ...(process.env['ALLOC_NODE_FLAGS']?.split(' ').filter((f) => f !== '') ?? []),
    ],
    env: {
      LATCHKEY_ALLOC_PROBE: file,
      ...(process.env['LATCHKEY_ALLOC_SNAPSHOTS'] !== undefined
        ? { LATCHKEY_ALLOC_SNAPSHOTS: process.env['LATCHKEY_ALLOC_SNAPSHOTS'] }
        : {}),
      ...(process.env['LATCHKEY_ALLOC_SAMPLING_KIND'] !== undefined
        ? { LATCHKEY_ALLOC_SAMPLING_KIND: process.env['LATCHKEY_ALLOC_SAMPLING_KIND'] }
        : {}),
      ...(process.env['LATCHKEY_ALLOC_SAMPLING'] !== undefined
        ? { LATCHKEY_ALLOC_SAMPLING: process.env['LATCHKEY_ALLOC_SAMPLING'] }
        : {}),
    },
  })
  const pool = poolFor(ours.url, s)
  const mark = async (): Promise<Mark> => {
    process.kill(ours.pid, 'SIGUSR2')
    await new Promise((r) => setTimeout(r, 300))
    return JSON.parse(readFileSync(file, 'utf8')) as Mark
  }
  const measure = async (name: string, req: PreparedRequest, p: Pool): Promise<void> => {
    await runLoad({ pool: p, requests: [req], concurrency: s.connections, durationMs: 1000 })
    const a = await mark()
    const r = await runLoad({
      pool: p,
      requests: [req],
      concurrency: s.connections,
      durationMs: seconds * 1000,
    })
    const b = await mark()
    if (r.errors > 0) throw new Error(`${name}: ${r.firstError ?? '?'}`)
    const n = r.ok
    process.stdout.write(
      `${name}: ${String(n)} calls; allocated ${(b.allocated / n).toFixed(0)} B/call; ` +
        `kept ${((b.retained - a.retained) / n).toFixed(0)} B/call; ` +
        `promoted ${(b.promoted / n).toFixed(0)} B/call; ` +
        `${String(b.gcs)} GCs, ${(b.gcMicros / n).toFixed(1)} us GC/call (` +
        Object.entries(b.byType)
          .map(([k, us]) => `${k} ${(us / n).toFixed(1)}`)
          .join(', ') +
        ')\n',
    )
  }
  try {
    await prepareBucket(pool, ours.url, 'bench')
    const policy = sessionPolicy('bench')
    await measure('AssumeRole (1 KB policy)', await signAssumeRole(ours.url, policy, 900), pool)
    const session = await mintSession(pool, ours.url, policy, 3600)
    const get = (creds: Credentials): Promise<PreparedRequest> =>
      signRequest({ origin: ours.url, creds, method: 'GET', path: '/bench/obj4k' })
    await measure('GET 4 KiB, session', await get(session), pool)
    await measure('GET 4 KiB, parent key', await get(ROOT_CREDS), pool)
  } finally {
    await pool.close().catch(() => undefined)
    await ours.dispose()
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`alloc-sts: ${e instanceof Error ? e.message : String(e)}\n`)
  process.exit(1)
})
