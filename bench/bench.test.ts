/**
 * Smoke test for the benchmark suite: the pure verdict logic, argument parsing, /proc parsing,
 * the signer against an AWS SigV4 vector, and every ceiling server answering the load
 * generator. Nothing heavy: the real measurements are `npm run bench`.
 */
import { describe, expect, it } from 'vitest'
import { spawn, spawnSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import { fileURLToPath } from 'node:url'
import { median, pairedRatio, renderTable, score, summaryJson, verdict } from './stats.js'
import { parseArgs } from './args.js'
import { mainThreadBusy } from './env.js'
import {
  cpuSeconds,
  parseCpuSeconds,
  parseCpuTimes,
  parseRssBytes,
  rssBytes,
  spawnServer,
  threadCpu,
  treeCpuSeconds,
} from './proc.js'
import { signRequest, type PreparedRequest } from './sign.js'
import { makePool, runLoad, send } from './load.js'
import { startCeiling, CEILING_KINDS } from './ceiling-servers.js'
import { countEntries } from './targets/list.js'
import { userPolicy, bucketPolicy } from './targets/iam.js'
import { peakLevel, RGW_LEVELS, sessionPolicy } from './targets/sts.js'
import { findOrStartRgw } from './rgw.js'
import { foldProfile } from './profile-sts.js'
import { perfSymbolSamples } from './profile-session-get.js'

describe('stats', () => {
  it('median of odd, even and empty lists', () => {
    expect(median([5, 1, 3])).toBe(3)
    expect(median([4, 1, 3, 2])).toBe(2.5)
    expect(median([])).toBeNaN()
  })
  it('verdicts respect the direction of the target', () => {
    expect(verdict(0.5, { kind: 'min-ratio', target: 0.5 })).toBe('PASS')
    expect(verdict(0.49, { kind: 'min-ratio', target: 0.5 })).toBe('FAIL')
    expect(verdict(3.1, { kind: 'max-ratio', target: 3 })).toBe('FAIL')
    expect(verdict(2.9, { kind: 'max-ratio', target: 3 })).toBe('PASS')
    expect(verdict(Number.NaN, { kind: 'min-ratio', target: 0.5 })).toBe('FAIL')
    expect(verdict(1, { kind: 'info' })).toBe('INFO')
  })
  it('paired ratios: median of per-round ratios, judged instead of the ratio of medians', () => {
    // Drift: both sides slow down together in rounds 3-4; pairing sees 0.9 every round.
    expect(pairedRatio([90, 90, 45, 45, 90], [100, 100, 50, 50, 100])).toBeCloseTo(0.9)
    expect(pairedRatio([], [])).toBeNaN()
    const row = score({
      group: 'g',
      name: 'paired',
      unit: 'req/s',
      ours: 80,
      ceiling: 100,
      ceilingName: 'c',
      comparison: { kind: 'min-ratio', target: 0.9 },
      pairedRatio: 0.91,
    })
    expect(row).toMatchObject({ ratio: 0.91, verdict: 'PASS' })
  })
  it('scores, renders and summarises rows', () => {
    const rows = [
      score({
        group: 'g',
        name: 'fast',
        unit: 'req/s',
        ours: 60,
        ceiling: 100,
        ceilingName: 'c',
        comparison: { kind: 'min-ratio', target: 0.5 },
      }),
      score({
        group: 'g',
        name: 'slow',
        unit: 'req/s',
        ours: 40,
        ceiling: 100,
        ceilingName: 'c',
        comparison: { kind: 'min-ratio', target: 0.5 },
      }),
      score({
        group: 'g',
        name: 'broken',
        unit: '-',
        ours: 1,
        ceiling: 1,
        ceilingName: 'c',
        comparison: { kind: 'info' },
        error: 'boom',
      }),
    ]
    expect(rows.map((r) => r.verdict)).toEqual(['PASS', 'FAIL', 'ERROR'])
    expect(rows[0]?.ratio).toBeCloseTo(0.6)
    const table = renderTable(rows)
    expect(table).toMatch(/fast.*PASS/)
    expect(table).toMatch(/slow.*FAIL/)
    expect(table).toContain('error: boom')
    const json = JSON.parse(summaryJson(rows)) as {
      passed: number
      failed: number
      results: unknown[]
    }
    expect(json).toMatchObject({ passed: 1, failed: 2 })
    expect(json.results).toHaveLength(3)
  })
})

describe('args', () => {
  it('parses --quick and --only lists', () => {
    expect(parseArgs([])).toEqual({ quick: false, only: undefined, list: false })
    expect(parseArgs(['--only', 'postgres,cluster']).only).toEqual(['postgres', 'cluster'])
    expect(parseArgs(['--quick', '--only', 'get4k,list', '--only=iam'])).toEqual({
      quick: true,
      only: ['get4k', 'list', 'iam'],
      list: false,
    })
  })
  it('rejects unknown targets and flags', () => {
    expect(() => parseArgs(['--only', 'nope'])).toThrow(/unknown target/)
    expect(() => parseArgs(['--only'])).toThrow(/needs a target/)
    expect(() => parseArgs(['--fast'])).toThrow(/unknown argument/)
  })
})

describe('perf report parsing (profile-session-get --perf)', () => {
  it('sums samples per symbol and skips headers, comments and blank lines', () => {
    const report = [
      '# Samples: 12K of event cpu-clock',
      '#',
      '# Samples  Symbol',
      '# .......  ......',
      '#',
      '    1234  [k] _raw_spin_unlock_irqrestore',
      '      56  [.] JS:*resolveCredential file:///x/auth/authenticate.js:8:40',
      '       7  [.] Builtins_LoadIC',
      '       3  [.] Builtins_LoadIC',
      '',
      'garbage line',
    ].join('\n')
    expect([...perfSymbolSamples(report)]).toEqual([
      ['_raw_spin_unlock_irqrestore', 1234],
      ['JS:*resolveCredential file:///x/auth/authenticate.js:8:40', 56],
      ['Builtins_LoadIC', 10],
    ])
  })
})

describe('/proc parsing', () => {
  it('reads utime+stime after a comm with spaces and parens', () => {
    const stat = '1234 (node (x) y) S 1 2 3 4 5 6 7 8 9 10 250 50 0 0 20 0 1 0 100 0 0'
    expect(parseCpuSeconds(stat)).toBeCloseTo(3.0)
    expect(() => parseCpuSeconds('garbage')).toThrow()
  })
  it('reads VmRSS in bytes', () => {
    expect(parseRssBytes('Name:\tnode\nVmRSS:\t  2048 kB\nVmData: 1 kB\n')).toBe(2048 * 1024)
    expect(parseRssBytes('Name: x\n')).toBeNaN()
  })
  it('reads this process', () => {
    expect(cpuSeconds(process.pid)).toBeGreaterThan(0)
    expect(rssBytes(process.pid)).toBeGreaterThan(1 << 20)
  })
  it('reads user and kernel time apart', () => {
    const stat = '1234 (node (x) y) S 1 2 3 4 5 6 7 8 9 10 250 50 0 0 20 0 1 0 100 0 0'
    expect(parseCpuTimes(stat)).toEqual({ user: 2.5, system: 0.5 })
    expect(() => parseCpuTimes('garbage')).toThrow()
  })
  it("splits a process's CPU by thread: the main thread's user and kernel time, and the rest", () => {
    // Burn 0.2 s on this (main) thread: it shows in mainUser, not in the other threads.
    const before = threadCpu(process.pid)
    const t0 = process.cpuUsage()
    while (process.cpuUsage(t0).user < 200_000) {
      /* burn */
    }
    const after = threadCpu(process.pid)
    expect(after.mainUser - before.mainUser).toBeGreaterThanOrEqual(0.15)
    expect(after.others).toBeGreaterThanOrEqual(0)
    expect(after.mainSystem).toBeGreaterThanOrEqual(0)
    const all = after.mainUser + after.mainSystem + after.others
    // The process's own count also holds threads that have exited (and ticks round apart).
    expect(all).toBeLessThanOrEqual(cpuSeconds(process.pid) + 0.05)
    expect(threadCpu(2 ** 22 + 12345).mainUser).toBeNaN()
  })
  it('counts the CPU of running and of exited children (the PostgreSQL server tree)', async () => {
    // Burns 0.3 s of its own CPU (not wall time: the machine may be busy), then says so.
    const burn =
      'const u = () => { const c = process.cpuUsage(); return (c.user + c.system) / 1e3 }; ' +
      'while (u() < 300) {}'
    const child = spawn(
      process.execPath,
      ['-e', `${burn}; console.log('done'); setInterval(() => {}, 1000)`],
      {
        stdio: ['ignore', 'pipe', 'ignore'],
      },
    )
    try {
      await new Promise((r) => child.stdout.once('data', r))
      // A child still running: its time is counted, ours alone would not include it. (/proc counts
      // in clock ticks and samples them, so 0.3 s of getrusage time may read a few ticks short.)
      expect(treeCpuSeconds(process.pid) - cpuSeconds(process.pid)).toBeGreaterThanOrEqual(0.25)
    } finally {
      child.kill('SIGKILL')
      await new Promise((r) => child.once('exit', r))
    }
    // Reaped: its time moves to our cutime/cstime, still counted, and so is the next one's.
    const reaped = spawnSync(process.execPath, ['-e', burn])
    expect(reaped.status).toBe(0)
    expect(treeCpuSeconds(process.pid) - cpuSeconds(process.pid)).toBeGreaterThanOrEqual(0.5)
    expect(treeCpuSeconds(-1)).toBeNaN()
  })
})

describe('signer', () => {
  it('matches the AWS get-vanilla SigV4 vector', async () => {
    const r = await signRequest({
      origin: 'http://example.amazonaws.com',
      creds: {
        accessKeyId: 'AKIDEXAMPLE',
        secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY',
      },
      service: 'service',
      method: 'GET',
      path: '/',
      signingDate: new Date('2015-08-30T12:36:00Z'),
    })
    expect(r.headers['authorization']).toBe(
      'AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31',
    )
  })
  it('signs S3 payload hashes and session tokens', async () => {
    const body = Buffer.from('hello')
    const r = await signRequest({
      origin: 'http://127.0.0.1:9',
      creds: { accessKeyId: 'AK', secretAccessKey: 'SK', sessionToken: 'TOK' },
      method: 'PUT',
      path: '/b/k',
      query: { 'start-after': 'a b' },
      body,
    })
    expect(r.path).toBe('/b/k?start-after=a%20b')
    expect(r.headers['x-amz-content-sha256']).toBe(createHash('sha256').update(body).digest('hex'))
    expect(r.headers['x-amz-security-token']).toBe('TOK')
    expect(r.headers['authorization']).toMatch(
      /SignedHeaders=[^,]*x-amz-content-sha256[^,]*x-amz-security-token/,
    )
  })
})

describe('payload builders', () => {
  it('policies have the promised sizes', () => {
    const u = JSON.parse(userPolicy(99, 'bench')) as { Statement: unknown[] }
    expect(u.Statement).toHaveLength(99)
    expect((JSON.parse(bucketPolicy('bench')) as { Statement: unknown[] }).Statement).toHaveLength(
      20,
    )
    const sp = sessionPolicy('bench')
    expect(sp.length).toBeGreaterThan(850)
    expect(sp.length).toBeLessThanOrEqual(1100)
  })
  it('counts ListObjectsV2 entries', () => {
    const xml =
      '<ListBucketResult><Prefix></Prefix><Contents><Key>a</Key></Contents><Contents><Key>b</Key></Contents><CommonPrefixes><Prefix>d/</Prefix></CommonPrefixes></ListBucketResult>'
    expect(countEntries(xml)).toBe(3)
  })
})

describe('ceilings answer the load generator', () => {
  for (const kind of CEILING_KINDS) {
    it(kind, async () => {
      const dir = mkdtempSync(join(tmpdir(), 'latchkey-bench-test-'))
      const { server, url } = await startCeiling({ kind, port: 0, dir, busyUs: 50 })
      const pool = makePool(url, 4)
      try {
        const body = Buffer.alloc(4096, 'z')
        const get = kind === 'get4k' || kind === 'get4k-busy'
        const req: PreparedRequest = get
          ? { method: 'GET', path: '/x', headers: {} }
          : { method: 'PUT', path: '/x', headers: { 'content-length': '4096' }, body }
        const r = await runLoad({ pool, requests: [req], concurrency: 4, durationMs: 300 })
        expect(r.errors).toBe(0)
        // Throughput is the benchmark's business; here only that it answers (fsync may be slow
        // while the rest of the suite runs in parallel).
        expect(r.ok).toBeGreaterThan(0)
        if (get) expect(r.bytes).toBe(r.ok * 4096)
        // 50 µs of spinning per request caps one connection-serialised server at 20k req/s.
        if (kind === 'get4k-busy') expect(r.rps).toBeLessThan(21_000)
        if (kind === 'stream') {
          const big = Buffer.alloc(3 << 20, 'b')
          const put = await send(
            pool,
            { method: 'PUT', path: '/big', headers: { 'content-length': String(big.length) } },
            Readable.from([big.subarray(0, 1 << 20), big.subarray(1 << 20)], { objectMode: false }),
          )
          expect(put.status).toBe(200)
          const get = await send(pool, { method: 'GET', path: '/big', headers: {} })
          expect(get).toMatchObject({ status: 200, bytes: big.length })
          expect((await send(pool, { method: 'GET', path: '/missing', headers: {} })).status).toBe(
            404,
          )
        }
      } finally {
        await pool.close()
        server.closeAllConnections()
        await new Promise((r) => server.close(r))
        rmSync(dir, { recursive: true, force: true })
      }
    })
  }

  const built = join(
    fileURLToPath(new URL('.', import.meta.url)),
    '..',
    'dist-bench',
    'bench',
    'ceilings.js',
  )
  it.skipIf(!existsSync(built))(
    'the built ceilings.js runs as a child with readable CPU and RSS',
    async () => {
      const child = await spawnServer({ args: [built, 'get4k', '0'], startTimeoutMs: 10_000 })
      const pool = makePool(child.url, 2)
      try {
        const a = await send(pool, { method: 'GET', path: '/', headers: {} })
        expect(a).toMatchObject({ status: 200, bytes: 4096 })
        expect(cpuSeconds(child.pid)).toBeGreaterThan(0)
        expect(rssBytes(child.pid)).toBeGreaterThan(1 << 20)
      } finally {
        await pool.close()
        await child.stop()
      }
    },
  )
})

describe('the Ceph RGW side of target 13', () => {
  it('an RGW that does not answer at a given endpoint is a reason, not a failure', async () => {
    const before = process.env['LATCHKEY_BENCH_RGW_ENDPOINT']
    process.env['LATCHKEY_BENCH_RGW_ENDPOINT'] = 'http://127.0.0.1:1'
    try {
      const r = await findOrStartRgw(() => undefined)
      expect('why' in r && r.why).toMatch(/no RGW answers at LATCHKEY_BENCH_RGW_ENDPOINT/)
    } finally {
      if (before === undefined) delete process.env['LATCHKEY_BENCH_RGW_ENDPOINT']
      else process.env['LATCHKEY_BENCH_RGW_ENDPOINT'] = before
    }
  })
})

describe('peakLevel (target 13 judges each contender at its best connection count)', () => {
  const at = (level: number, rps: number) => ({
    level,
    stats: { rps, cpuUsPerOp: 80, errors: 0, ok: 1, rounds: [rps], partsUsPerOp: {} },
  })
  it('picks the level with the highest median throughput, the first of equals', () => {
    expect(peakLevel([at(32, 11_000), at(64, 12_700), at(128, 12_500)]).level).toBe(64)
    expect(peakLevel([at(32, 4_100), at(64, 4_100), at(128, 4_000)]).level).toBe(32)
    expect(() => peakLevel([])).toThrow(/no levels/)
  })
  it('starts at the 32 connections of every other target, so that comparison stays in the run', () => {
    expect(RGW_LEVELS[0]).toBe(32)
    expect([...RGW_LEVELS].sort((a, b) => a - b)).toEqual(RGW_LEVELS)
  })
})

describe('mainThreadBusy', () => {
  it("is the main thread's user and kernel µs per op times ops per second", () => {
    const stats = {
      rps: 10_000,
      cpuUsPerOp: 95,
      errors: 0,
      ok: 1,
      rounds: [10_000],
      partsUsPerOp: { 'main thread user': 70, 'main thread kernel': 13, 'other threads': 12 },
    }
    expect(mainThreadBusy(stats)).toBeCloseTo(0.83, 6)
    expect(mainThreadBusy({ ...stats, partsUsPerOp: {} })).toBeNaN()
  })
})

describe('profile-sts: folding a CPU profile into AssumeRole phases', () => {
  /** A profile node: one frame and the nodes it called. */
  const f = (id: number, functionName: string, url: string, children: number[] = []) => ({
    id,
    callFrame: { functionName, url, lineNumber: 0 },
    children,
  })

  it('charges a sample to the first phase any frame of its stack matches, else other', () => {
    const profile = {
      nodes: [
        f(1, '(root)', '', [2, 5, 6]),
        f(2, 'issue', 'file:///x/dist/iam/sessions.js', [3]),
        f(3, 'seal', 'file:///x/dist/crypto/seal.js', [4]),
        f(4, 'createCipheriv', 'node:crypto'),
        f(5, '(garbage collector)', ''),
        f(6, 'somethingElse', 'file:///x/dist/lib/x.js'),
      ],
      samples: [4, 2, 5, 6, 4],
      timeDeltas: [10, 20, 30, 40, 50],
    }
    const folded = foldProfile(profile)
    // seal comes before issue in PHASES: the AES work inside issue is charged to seal.
    expect(folded.get('the session secret (derived: HMAC-SHA512; AES-256-GCM seal before)')).toBe(
      60,
    )
    expect(folded.get('issue: ids, token, token HMAC, cache entry, slot')).toBe(20)
    expect(folded.get('garbage collector')).toBe(30)
    expect(folded.get('other')).toBe(40)
  })

  it("charges STS's issue adapter (sts/index.js) to issuance, its authenticate to SigV4", () => {
    const profile = {
      nodes: [
        f(1, '(root)', '', [2, 4]),
        f(2, 'issue', 'file:///x/dist/sts/index.js', [3]),
        f(3, 'issue', 'file:///x/dist/iam/sessions.js'),
        f(4, 'authenticate', 'file:///x/dist/sts/index.js'),
      ],
      samples: [3, 4],
      timeDeltas: [10, 20],
    }
    const folded = foldProfile(profile)
    expect(folded.get('issue: ids, token, token HMAC, cache entry, slot')).toBe(10)
    expect(folded.get('SigV4 verify, body SHA-256, credential lookup')).toBe(20)
  })
})
