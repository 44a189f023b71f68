/**
 * The STS issuance limit against a real server at its defaults (600 AssumeRole per second per
 * parent, burst 1200): 100,000 AssumeRole calls from one master key over raw keep-alive signed
 * HTTP (test/support/raw-sigv4.ts). A paced phase below the rate is never throttled; a burst
 * phase as fast as the machine goes is, with AWS's `Throttling` (400) naming the limit, and gets
 * about the rate's worth through (the bucket is neither leaky nor starving). Memory stays
 * bounded: sessions are rows in the store plus at most --session-cache-entries cached entries
 * (about 1 KB each), nothing per session elsewhere; the server runs with its heap capped.
 *
 * Before: the parent's 1,001st active session was refused (`Too many active sessions`), so the
 * paced phase failed after 1,000 calls.
 */
import { afterAll, describe, expect, it } from 'vitest'
import { startServer, type TestServer } from './harness.js'
import { codeOf, memoryOf, RawClient } from '../support/raw-sigv4.js'

const TOTAL = 100_000
const WARM = 500
/** Below the default 600/s. */
const PACED_RATE = 500
const PACED = 12_000
const BURST = TOTAL - WARM - PACED
/** The server's old-space cap (MB). */
const HEAP_MB = 160
const MB = (n: number): string => `${(n / 1024 / 1024).toFixed(1)} MB`

let server: TestServer | undefined
let client: RawClient | undefined
afterAll(async () => {
  client?.close()
  await server?.stop()
})

/** `count` calls of `task`, `width` at a time; each may wait for its slot in time first. */
async function pool(width: number, count: number, task: (i: number) => Promise<void>) {
  let next = 0
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next < count) await task(next++)
    }),
  )
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

describe('STS issuance flood', () => {
  it('REGRESSION sts-issue-rate: 100k AssumeRole from one master key: none throttled below the rate, Throttling above it, RSS bounded', async () => {
    // The server's JavaScript heap is capped: a server that kept anything per session beyond
    // its cache (about 1 KB per cached session; this flood makes up to ~50,000) would run out of
    // memory and stop answering, instead of only growing a heap V8 collects lazily.
    server = await startServer({ env: { NODE_OPTIONS: `--max-old-space-size=${String(HEAP_MB)}` } })
    const pid = server.proc.pid ?? 0
    const root = { accessKeyId: server.accessKeyId, secretAccessKey: server.secretAccessKey }
    const c = new RawClient(server.endpoint, 64)
    client = c
    const tally = { ok: 0, throttled: 0, other: [] as string[] }
    let message = ''
    const one = async (name: string): Promise<void> => {
      const r = await c.assumeRole(root, name)
      if (r.status === 200) tally.ok++
      else if (r.status === 400 && codeOf(r.body) === 'Throttling') {
        tally.throttled++
        message ||= /<Message>([^<]*)<\/Message>/.exec(r.body)?.[1] ?? ''
      } else tally.other.push(`${String(r.status)} ${r.body.slice(0, 200)}`)
    }

    // Warm up (JIT, connections), then let the bucket fill again before the baseline.
    await pool(8, WARM, (i) => one(`warm-${String(i)}`))
    await sleep(2500)
    const before = memoryOf(pid)
    const okBefore = tally.ok
    expect(tally.throttled).toBe(0)

    // Paced: PACED_RATE per second, each call at its slot in time.
    const pacedStart = Date.now()
    await pool(32, PACED, async (i) => {
      const at = pacedStart + (i * 1000) / PACED_RATE
      const wait = at - Date.now()
      if (wait > 0) await sleep(wait)
      await one(`paced-${String(i)}`)
    })
    const pacedSeconds = (Date.now() - pacedStart) / 1000
    const pacedThrottled = tally.throttled

    // Burst: as fast as it goes.
    const okAtBurst = tally.ok
    const burstStart = Date.now()
    await pool(64, BURST, (i) => one(`burst-${String(i)}`))
    const burstSeconds = (Date.now() - burstStart) / 1000
    const burstOk = tally.ok - okAtBurst
    const after = memoryOf(pid)
    const sessions = tally.ok - okBefore

    console.log(
      `sts flood: ${String(TOTAL)} AssumeRole; paced ${String(PACED)} at ${String(PACED_RATE)}/s in ${pacedSeconds.toFixed(1)} s, ${String(pacedThrottled)} throttled; ` +
        `burst ${String(BURST)} in ${burstSeconds.toFixed(1)} s (${(BURST / burstSeconds).toFixed(0)}/s offered): ${String(burstOk)} issued (${(burstOk / burstSeconds).toFixed(0)}/s), ${String(tally.throttled - pacedThrottled)} Throttling; ` +
        `RSS ${MB(before.rss)} → ${MB(after.rss)}: own memory (RssAnon) +${MB(after.anon - before.anon)} for ${String(sessions)} sessions (${((after.anon - before.anon) / sessions).toFixed(0)} B each), ` +
        `mapped database pages (RssFile) +${MB(after.file - before.file)}`,
    )
    expect(tally.other).toEqual([])
    expect(pacedThrottled).toBe(0)
    // Above the rate: refused, and about the rate got through (burst + 600/s, with slack for
    // timing), never much less (the refused calls do not drain the bucket).
    expect(tally.throttled).toBeGreaterThan(0)
    expect(burstOk).toBeLessThanOrEqual(1200 + 600 * burstSeconds * 1.05 + 50)
    // (Half the rate as the floor: a machine busy with other tests may issue slower than 600/s.)
    expect(burstOk).toBeGreaterThanOrEqual(600 * burstSeconds * 0.5)
    expect(message).toMatch(
      /^Rate exceeded: the STS issuance rate for arn:aws:iam::\d{12}:root is 600 per second \(burst 1200\)$/,
    )
    // The process's own memory: at most the heap cap plus SQLite's 32 MB page cache. Mapped
    // database pages are page cache, bounded by SQLite's mmap_size (256 MB).
    expect(after.anon - before.anon).toBeLessThan((HEAP_MB + 32) * 1024 * 1024)
    expect(after.file).toBeLessThan(before.file + 256 * 1024 * 1024 + 16 * 1024 * 1024)
  }, 180_000)
})
