/**
 * First start as a new operator sees it, with no LATCHKEY_ROOT_* in the environment: the secrets
 * Latchkey generates (operator password, default master key) must reach the operator exactly when
 * a start has succeeded (a start that dies after generating them shows them at the next one), must
 * never land in the JSON log stream (stdout is JSON lines only; without a terminal they go to a
 * 0600 file in the data dir), and a lost password is recovered offline with
 * `latchkey admin reset-root-password`, which refuses while a server holds the database.
 * These tests spawn dist/main.js themselves (not the harness) to keep stdout and stderr apart and
 * to control the environment exactly.
 */
import { describe, it, expect, afterEach } from 'vitest'
import { execFileSync, spawn, type ChildProcess } from 'node:child_process'
import { createServer } from 'node:net'
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { ListBucketsCommand, S3Client, S3ServiceException } from '@aws-sdk/client-s3'
import { MAIN, ROOT_PASSWORD, startServer } from './harness.js'

const SECRETS_FILE = 'first-start-secrets.txt'

/** Every server a test started, stopped after it even when an assertion failed midway. */
const live: { stop(): Promise<void> }[] = []
afterEach(async () => {
  for (const r of live.splice(0)) await r.stop()
})

interface Run {
  readonly proc: ChildProcess
  readonly stdout: string[]
  readonly stderr: string[]
  /** The listening URL, or undefined when the process exited before listening. */
  readonly url: string | undefined
  readonly exitCode: number | null | undefined
  stop(): Promise<void>
}

/** The environment of a fresh operator: no LATCHKEY_ROOT_* at all. */
function bareEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, LATCHKEY_LOG_LEVEL: 'info', ...extra }
  for (const k of Object.keys(env)) if (k.startsWith('LATCHKEY_ROOT_')) delete env[k]
  return env
}

/** Start dist/main.js (stdin, stdout, stderr are pipes: not terminals) and wait for it to listen or exit. */
async function run(dataDir: string, address: string): Promise<Run> {
  const proc = spawn(
    process.execPath,
    [MAIN, 'serve', '--address', address, '--data-dir', dataDir],
    {
      env: bareEnv(),
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  )
  const stdout: string[] = []
  const stderr: string[] = []
  let exitCode: number | null | undefined
  const exited = new Promise<void>((r) =>
    proc.on('exit', (code) => {
      exitCode = code
      r()
    }),
  )
  const outClosed = new Promise<void>((r) =>
    createInterface({ input: proc.stdout! })
      .on('line', (l) => stdout.push(l))
      .on('close', r),
  )
  const errClosed = new Promise<void>((r) =>
    createInterface({ input: proc.stderr! })
      .on('line', (l) => stderr.push(l))
      .on('close', r),
  )
  const url = await new Promise<string | undefined>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no start:\n${stdout.join('\n')}`)), 30_000)
    const poll = setInterval(() => {
      const line = stdout.find((l) => l.includes('"listening"'))
      const m = line !== undefined ? /"url":"(https?:\/\/[^"]+)"/.exec(line) : null
      if (m?.[1] !== undefined) {
        clearInterval(poll)
        clearTimeout(timer)
        resolve(m[1])
      }
    }, 20)
    void exited.then(async () => {
      await Promise.all([outClosed, errClosed])
      clearInterval(poll)
      clearTimeout(timer)
      resolve(undefined)
    })
  })
  const r: Run = {
    proc,
    stdout,
    stderr,
    url,
    get exitCode() {
      return exitCode
    },
    async stop() {
      if (proc.exitCode === null) proc.kill('SIGTERM')
      await exited
      await Promise.all([outClosed, errClosed])
    },
  }
  live.push(r)
  return r
}

type Secrets = Partial<
  Record<'rootUser' | 'rootPassword' | 'masterAccessKeyId' | 'masterSecretKey', string>
>

function parseSecrets(lines: readonly string[]): Secrets {
  const out: Record<string, string> = {}
  for (const l of lines) {
    const m = /^\s*(rootUser|rootPassword|masterAccessKeyId|masterSecretKey): (\S+)\s*$/.exec(l)
    if (m?.[1] !== undefined && m[2] !== undefined) out[m[1]] = m[2]
  }
  return out
}

/** What the operator was shown: a banner in the output, or the secrets file in the data dir. */
function deliveredSecrets(r: Run, dataDir: string): Secrets {
  const file = join(dataDir, SECRETS_FILE)
  return {
    ...parseSecrets([...r.stdout, ...r.stderr]),
    ...(existsSync(file) ? parseSecrets(readFileSync(file, 'utf8').split('\n')) : {}),
  }
}

async function adminLoginStatus(url: string, username: string, password: string) {
  const res = await fetch(`${url}/api/admin/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username, password }),
  })
  await res.arrayBuffer()
  return res.status
}

async function listBuckets(url: string, accessKeyId: string, secretAccessKey: string) {
  const s3 = new S3Client({
    endpoint: url,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId, secretAccessKey },
  })
  try {
    await s3.send(new ListBucketsCommand({}))
    return 'OK'
  } catch (e) {
    return e instanceof S3ServiceException ? e.name : String(e)
  } finally {
    s3.destroy()
  }
}

async function occupiedPort(): Promise<{ port: number; close(): Promise<void> }> {
  const srv = createServer()
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r))
  const port = (srv.address() as { port: number }).port
  return { port, close: () => new Promise<void>((r) => srv.close(() => r())) }
}

function cli(
  args: readonly string[],
  opts: { env?: NodeJS.ProcessEnv; input?: string } = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [MAIN, ...args], {
      env: opts.env ?? bareEnv(),
      stdio: ['pipe', 'pipe', 'pipe'],
    })
    let stdout = ''
    let stderr = ''
    p.stdout.on('data', (d: Buffer) => (stdout += d.toString()))
    p.stderr.on('data', (d: Buffer) => (stderr += d.toString()))
    p.stdin.end(opts.input ?? '')
    p.on('close', (code) => resolve({ code, stdout, stderr }))
  })
}

describe('first start', () => {
  it('REGRESSION first-start-lockout: a start that fails after generating the secrets (port taken) shows them at the next start, and they work; a third start shows none', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'latchkey-first-'))
    try {
      const blocker = await occupiedPort()
      const failed = await run(dataDir, `127.0.0.1:${blocker.port}`)
      expect(failed.url).toBeUndefined()
      expect(failed.exitCode).toBe(1)
      expect(failed.stderr.join('\n')).toMatch(/cannot start/)
      await blocker.close()

      const second = await run(dataDir, '127.0.0.1:0')
      expect(second.url).toBeDefined()
      const url = second.url ?? ''
      const s = deliveredSecrets(second, dataDir)
      expect(s.rootPassword, 'operator password shown at the first successful start').toMatch(
        /^[A-Za-z0-9]{24}$/,
      )
      expect(s.masterAccessKeyId).toMatch(/^S4AK[A-Za-z0-9]{20}$/)
      expect(s.masterSecretKey).toMatch(/^[A-Za-z0-9]{40}$/)
      expect(await adminLoginStatus(url, s.rootUser ?? 'root', s.rootPassword ?? '')).toBe(200)
      expect(await listBuckets(url, s.masterAccessKeyId ?? '', s.masterSecretKey ?? '')).toBe('OK')
      await second.stop()

      // The operator stored them and deleted the file; the next start shows nothing again.
      rmSync(join(dataDir, SECRETS_FILE), { force: true })
      const third = await run(dataDir, '127.0.0.1:0')
      expect(third.url).toBeDefined()
      await third.stop()
      expect(deliveredSecrets(third, dataDir)).toEqual({})
      const all = [...third.stdout, ...third.stderr].join('\n')
      expect(all.includes(s.rootPassword ?? '-')).toBe(false)
      expect(all.includes(s.masterSecretKey ?? '-')).toBe(false)
    } finally {
      rmSync(dataDir, { recursive: true, force: true })
    }
  })

  it('REGRESSION secrets-in-log-stream: without terminals stdout is JSON lines only, no secret is printed, and a 0600 file in the data dir holds working secrets', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'latchkey-first-'))
    try {
      const r = await run(dataDir, '127.0.0.1:0')
      expect(r.url).toBeDefined()
      const url = r.url ?? ''
      const file = join(dataDir, SECRETS_FILE)
      expect(existsSync(file), 'secrets file written').toBe(true)
      expect(statSync(file).mode & 0o777).toBe(0o600)
      const s = parseSecrets(readFileSync(file, 'utf8').split('\n'))
      expect(s.rootUser).toBe('root')
      expect(s.rootPassword).toMatch(/^[A-Za-z0-9]{24}$/)
      expect(s.masterSecretKey).toMatch(/^[A-Za-z0-9]{40}$/)
      expect(await adminLoginStatus(url, 'root', s.rootPassword ?? '')).toBe(200)
      expect(await listBuckets(url, s.masterAccessKeyId ?? '', s.masterSecretKey ?? '')).toBe('OK')
      await r.stop()

      for (const line of r.stdout) expect(() => JSON.parse(line), line).not.toThrow()
      const pointer = r.stdout.filter((l) => l.includes(file))
      expect(pointer, 'one log line says where the secrets are').toHaveLength(1)
      const everything = [...r.stdout, ...r.stderr].join('\n')
      for (const secret of [s.rootPassword, s.masterSecretKey])
        expect(everything.includes(secret ?? '-'), 'secret printed').toBe(false)
      // The harness's start detection still finds the listening line.
      expect(
        r.stdout.some((l) => /"url":"http:\/\/[^"]+"/.test(l) && l.includes('listening')),
      ).toBe(true)
    } finally {
      rmSync(dataDir, { recursive: true, force: true })
    }
  })
})

const HAS_SCRIPT = (() => {
  try {
    execFileSync('script', ['-qec', 'true', '/dev/null'], { stdio: 'ignore', timeout: 10_000 })
    return true
  } catch {
    return false
  }
})()

describe('first start on a terminal', () => {
  // util-linux `script` gives the server a pseudo-terminal; stdout is redirected to a file
  // inside it, as when an operator runs `latchkey serve > log.jsonl` interactively.
  it.skipIf(!HAS_SCRIPT)(
    'shows the banner on stderr when it is a terminal; stdout stays JSON lines, no file is written',
    async () => {
      const dataDir = mkdtempSync(join(tmpdir(), 'latchkey-first-'))
      const stdoutFile = join(dataDir, '..', `${dataDir.split('/').pop() ?? 'x'}.stdout`)
      try {
        const cmd = `exec ${JSON.stringify(process.execPath)} ${JSON.stringify(MAIN)} serve --address 127.0.0.1:0 --data-dir ${JSON.stringify(dataDir)} > ${JSON.stringify(stdoutFile)}`
        const p = spawn('script', ['-qec', cmd, '/dev/null'], {
          env: bareEnv(),
          stdio: ['pipe', 'pipe', 'pipe'],
        })
        let pty = ''
        p.stdout.on('data', (d: Buffer) => (pty += d.toString()))
        const exited = new Promise<void>((r) => p.on('exit', () => r()))
        live.push({
          stop: async () => {
            if (p.exitCode === null && p.signalCode === null) p.kill('SIGTERM')
            await exited
          },
        })
        const deadline = Date.now() + 30_000
        const listening = (): string | undefined =>
          existsSync(stdoutFile)
            ? readFileSync(stdoutFile, 'utf8')
                .split('\n')
                .find((l) => l.includes('"listening"'))
            : undefined
        while (listening() === undefined && Date.now() < deadline)
          await new Promise((r) => setTimeout(r, 50))
        const url = /"url":"([^"]+)"/.exec(listening() ?? '')?.[1] ?? ''
        const s = parseSecrets(pty.split(/\r?\n/))
        expect(s.rootPassword, pty).toMatch(/^[A-Za-z0-9]{24}$/)
        expect(await adminLoginStatus(url, 'root', s.rootPassword ?? '')).toBe(200)
        expect(await listBuckets(url, s.masterAccessKeyId ?? '', s.masterSecretKey ?? '')).toBe(
          'OK',
        )
        expect(existsSync(join(dataDir, SECRETS_FILE))).toBe(false)
        p.kill('SIGTERM')
        await exited
        const out = readFileSync(stdoutFile, 'utf8')
          .split('\n')
          .filter((l) => l !== '')
        for (const line of out) expect(() => JSON.parse(line), line).not.toThrow()
        expect(out.join('\n').includes(s.rootPassword ?? '-')).toBe(false)
      } finally {
        rmSync(dataDir, { recursive: true, force: true })
        rmSync(stdoutFile, { force: true })
      }
    },
  )
})

describe('latchkey admin reset-root-password', () => {
  it('REGRESSION reset-root-password: works offline (generated or from stdin), refuses while a server holds the database', async () => {
    const server = await startServer({ keepDataDir: true })
    live.push(server)
    const dataDir = server.dataDir
    try {
      const refused = await cli(['admin', 'reset-root-password', '--data-dir', dataDir])
      expect(refused.code).toBe(1)
      expect(refused.stderr).toMatch(/locked/)
      expect(refused.stderr).toMatch(/running/)
      expect(refused.stdout).toBe('')
      expect(await adminLoginStatus(server.endpoint, 'root', ROOT_PASSWORD)).toBe(200)
      await server.stop()

      const reset = await cli(['admin', 'reset-root-password', '--data-dir', dataDir])
      expect(reset.code, reset.stderr).toBe(0)
      const pw = /password: ([A-Za-z0-9]{24})\s*$/m.exec(reset.stdout)?.[1]
      expect(pw).toBeDefined()

      // Restarted with the harness's (now stale) LATCHKEY_ROOT_PASSWORD: the reset one wins.
      const again = await startServer({ dataDir })
      live.push(again)
      expect(await adminLoginStatus(again.endpoint, 'root', pw ?? '')).toBe(200)
      expect(await adminLoginStatus(again.endpoint, 'root', ROOT_PASSWORD)).toBe(401)
      await again.stop()

      const chosen = await cli(
        ['admin', 'reset-root-password', '--data-dir', dataDir, '--password-stdin'],
        { input: 'chosen-password-42\n' },
      )
      expect(chosen.code, chosen.stderr).toBe(0)
      expect(chosen.stdout.includes('chosen-password-42')).toBe(false)
      const third = await startServer({ dataDir })
      live.push(third)
      expect(await adminLoginStatus(third.endpoint, 'root', 'chosen-password-42')).toBe(200)
      expect(await adminLoginStatus(third.endpoint, 'root', pw ?? '')).toBe(401)
      await third.stop()

      const missing = await cli(['admin', 'reset-root-password', '--data-dir', join(dataDir, 'no')])
      expect(missing.code).toBe(1)
      expect(missing.stderr).toMatch(/no Latchkey database/)
    } finally {
      rmSync(dataDir, { recursive: true, force: true })
    }
  })
})
