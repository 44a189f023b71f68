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
import { describe, it, expect } from 'vitest'
import { spawn, type ChildProcess } from 'node:child_process'
import { createServer } from 'node:net'
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { ListBucketsCommand, S3Client, S3ServiceException } from '@aws-sdk/client-s3'
import { MAIN, ROOT_PASSWORD, startServer } from './harness.js'

const SECRETS_FILE = 'first-start-secrets.txt'

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
  return {
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
})

describe('latchkey admin reset-root-password', () => {
  it('REGRESSION reset-root-password: works offline (generated or from stdin), refuses while a server holds the database', async () => {
    const server = await startServer({ keepDataDir: true })
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
