/**
 * `latchkey admin …` end to end (issue 14 item 5): the real `node dist/main.js admin` commands
 * against a real server — login keeps the token in a 0600 file, users, keys (the printed key
 * works with the AWS SDK, then is refused once revoked), a customer's master key reset,
 * allow-lists, STS sessions listed and revoked, a user's policy, logout — and the exit codes
 * scripts rely on: 1 the server refused, 2 usage, 3 not logged in, 4 server unreachable. Every
 * command's output is kept and checked at the end for the token and the password.
 */
import { execFileSync, spawn } from 'node:child_process'
import {
  chmodSync,
  existsSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ListBucketsCommand } from '@aws-sdk/client-s3'
import { GetSessionTokenCommand } from '@aws-sdk/client-sts'
import { MAIN, ROOT_ACCESS_KEY, startServer, type TestServer } from './harness.js'
import { outcome } from './harness.js'

let server: TestServer
let config: string
const transcript: string[] = []

interface Run {
  code: number
  stdout: string
  stderr: string
}

function cli(args: string[], stdin = '', env: Record<string, string> = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [MAIN, 'admin', ...args], {
      env: { ...process.env, XDG_CONFIG_HOME: config, ...env },
      stdio: ['pipe', 'pipe', 'pipe'],
    })
    let stdout = ''
    let stderr = ''
    p.stdout.on('data', (c: Buffer) => (stdout += c.toString()))
    p.stderr.on('data', (c: Buffer) => (stderr += c.toString()))
    p.on('error', reject)
    p.on('close', (code) => {
      transcript.push(stdout, stderr)
      resolve({ code: code ?? -1, stdout, stderr })
    })
    p.stdin.end(stdin)
  })
}

const json = async (args: string[]): Promise<any> => {
  const r = await cli([...args, '--json'])
  expect(r, r.stderr).toMatchObject({ code: 0 })
  return JSON.parse(r.stdout)
}

const tokenFile = (): string => join(config, 'latchkey', 'token')

const HAS_SCRIPT = (() => {
  try {
    execFileSync('script', ['--version'], { stdio: 'ignore' })
    return true
  } catch {
    return false
  }
})()

beforeAll(async () => {
  config = mkdtempSync(join(tmpdir(), 'latchkey-cli-config-'))
  server = await startServer({ keepDataDir: true })
})
afterAll(async () => {
  await server?.stop()
  if (server) rmSync(server.dataDir, { recursive: true, force: true })
  rmSync(config, { recursive: true, force: true })
})

describe('latchkey admin against a running server', () => {
  it('refuses bad usage (2) and commands before login (3), changing nothing', async () => {
    expect((await cli(['users', 'frobnicate'])).code).toBe(2)
    expect((await cli(['users', 'list', '--bogus'])).code).toBe(2)
    expect((await cli(['login'])).code).toBe(2) // no --endpoint
    expect((await cli(['frobnicate'])).code).toBe(2)
    expect((await cli(['audit', '--bogus', 'x'])).code).toBe(2)
    const audit = await cli(['audit'])
    expect(audit.code).toBe(3)
    expect(audit.stderr).toContain('not logged in')
    const r = await cli(['users', 'list'])
    expect(r.code).toBe(3)
    expect(r.stderr).toContain('not logged in')
    // No terminal and no --password-stdin: a usage error, not a hang.
    expect((await cli(['login', '--endpoint', server.endpoint])).code).toBe(2)
    const help = await cli(['--help'])
    expect(help.code).toBe(0)
    expect(help.stdout).toMatch(/exit codes: 0 ok; 1 .*2 usage error; 3 not logged in/s)
  })

  it('a wrong password is the server refusing (1) and writes no token', async () => {
    const r = await cli(
      ['login', '--endpoint', server.endpoint, '--password-stdin'],
      'wrong-password-1\n',
    )
    expect(r.code).toBe(1)
    expect(r.stderr).toContain('Unauthorized')
    expect(existsSync(tokenFile())).toBe(false)
  })

  it('login keeps the token in a 0600 file in a 0700 directory', async () => {
    const r = await cli(
      ['login', '--endpoint', server.endpoint, '--user', 'root', '--password-stdin'],
      `${server.rootPassword}\n`,
    )
    expect(r, r.stderr).toMatchObject({ code: 0 })
    expect(r.stdout).toContain('Logged in')
    expect(statSync(tokenFile()).mode & 0o777).toBe(0o600)
    expect(statSync(join(config, 'latchkey')).mode & 0o777).toBe(0o700)
  })

  it.skipIf(!HAS_SCRIPT)(
    'on a terminal, login asks the password without echoing it (needs util-linux script)',
    async () => {
      const cfg = mkdtempSync(join(tmpdir(), 'latchkey-cli-tty-'))
      try {
        // script(1) gives the CLI a pseudo-terminal; the password is typed once the prompt shows.
        const p = spawn(
          'script',
          [
            '-qec',
            `${process.execPath} ${MAIN} admin login --endpoint ${server.endpoint}`,
            '/dev/null',
          ],
          {
            env: { ...process.env, XDG_CONFIG_HOME: cfg },
            stdio: ['pipe', 'pipe', 'pipe'],
          },
        )
        let screen = ''
        const typed = new Promise<void>((resolve) =>
          p.stdout.on('data', (c: Buffer) => {
            screen += c.toString()
            if (screen.includes('Password for root')) resolve()
          }),
        )
        const exited = new Promise<number>((resolve) =>
          p.on('close', (code) => resolve(code ?? -1)),
        )
        await typed
        p.stdin.write(`${server.rootPassword}\r`)
        expect(await exited).toBe(0)
        transcript.push(screen)
        expect(screen).toContain('Logged in')
        expect(screen).not.toContain(server.rootPassword)
        expect(statSync(join(cfg, 'latchkey', 'token')).mode & 0o777).toBe(0o600)
      } finally {
        rmSync(cfg, { recursive: true, force: true })
      }
    },
  )

  it('users: create, list (table, --json, pages), get, set role, deactivate, activate, delete', async () => {
    const alice = await json(['users', 'create', 'alice', '--role', 'Writer'])
    expect(alice).toMatchObject({ username: 'alice', role: 'Writer', is_active: true })
    expect(alice.password).toMatch(/^[A-Za-z0-9]{24}$/) // generated, shown once
    const bob = await cli(
      ['users', 'create', 'bob', '--role', 'Reader', '--password-stdin'],
      'bob-password-123\n',
    )
    expect(bob.code, bob.stderr).toBe(0)
    expect(bob.stdout).not.toContain('Generated password')

    const table = await cli(['users', 'list'])
    expect(table.code).toBe(0)
    const lines = table.stdout.trim().split('\n')
    expect(lines[0]).toMatch(/^ID\s+USERNAME\s+CUSTOMER\s+ROLE\s+ACTIVE\s+ACCESS KEY\s+CREATED$/)
    expect(lines.find((l) => l.includes(' alice '))).toMatch(/default\s+Writer\s+yes\s+-/)
    const list = await json(['users', 'list'])
    expect(list.map((u: any) => u.username).sort()).toEqual(['alice', 'bob'])

    const page = await cli(['users', 'list', '--limit', '1'])
    expect(page.stdout.trim().split('\n')).toHaveLength(2) // header + one row
    expect(page.stderr).toContain('next page: --offset 1')
    expect((await json(['users', 'list', '--limit', '1', '--all'])).length).toBe(2)
    expect((await json(['users', 'list', '--limit', '1', '--offset', '1'])).length).toBe(1)

    expect(await json(['users', 'get', alice.id])).toMatchObject({ username: 'alice' })
    expect(await json(['users', 'set-role', alice.id, 'Reader'])).toMatchObject({ role: 'Reader' })
    expect(await json(['users', 'set-role', alice.id, 'Writer'])).toMatchObject({ role: 'Writer' })
    expect((await cli(['users', 'set-role', alice.id, 'Admin'])).code).toBe(2)
    expect(await json(['users', 'deactivate', alice.id])).toMatchObject({ is_active: false })
    expect(await json(['users', 'activate', alice.id])).toMatchObject({ is_active: true })
    const bobId = list.find((u: any) => u.username === 'bob').id
    expect((await cli(['users', 'delete', bobId])).code).toBe(0)
    const gone = await cli(['users', 'get', bobId])
    expect(gone.code).toBe(1)
    expect(gone.stderr).toContain('NotFound')
  })

  it('credentials: the printed key works with the AWS SDK, and is refused once revoked', async () => {
    const alice = (await json(['users', 'list'])).find((u: any) => u.username === 'alice')
    const human = await cli(['credentials', 'generate', alice.id])
    expect(human.code).toBe(0)
    const akid = /access_key:\s+(\S+)/.exec(human.stdout)?.[1] ?? ''
    const secret = /secret_key:\s+(\S+)/.exec(human.stdout)?.[1] ?? ''
    expect(secret.length).toBeGreaterThan(20)
    const s3 = server.s3({ accessKeyId: akid, secretAccessKey: secret })
    expect(await outcome(s3.send(new ListBucketsCommand({})))).toBe('OK')
    expect((await cli(['credentials', 'revoke', alice.id])).code).toBe(0)
    expect(await outcome(s3.send(new ListBucketsCommand({})))).toBe('InvalidAccessKeyId')
  })

  it('customers and master keys: create prints the key once, show the id, reset a new secret', async () => {
    const acme = await json(['customers', 'create', 'acme'])
    const old = acme.master_key
    expect(old.secret_key.length).toBeGreaterThan(20)
    const table = await cli(['customers', 'list'])
    expect(table.stdout).toMatch(/^NAME\s+TYPE/)
    expect(table.stdout).toMatch(new RegExp(`acme\\s+customer\\s+-\\s+${old.access_key}`))
    expect((await json(['customers', 'list'])).map((c: any) => c.name)).toContain('acme')

    const shown = await cli(['master-key', 'show', 'acme'])
    expect(shown.stdout.trim()).toBe(`access_key: ${old.access_key}`)
    expect((await json(['master-key', 'show'])).access_key).toBe(ROOT_ACCESS_KEY)

    const reset = await json(['master-key', 'reset', 'acme'])
    expect(reset.access_key).toBe(old.access_key)
    expect(reset.secret_key).not.toBe(old.secret_key)
    const fresh = server.s3({ accessKeyId: reset.access_key, secretAccessKey: reset.secret_key })
    expect(await outcome(fresh.send(new ListBucketsCommand({})))).toBe('OK')
    const stale = server.s3({ accessKeyId: old.access_key, secretAccessKey: old.secret_key })
    expect(await outcome(stale.send(new ListBucketsCommand({})))).toBe('SignatureDoesNotMatch')
  })

  it('allow-lists: set, get, clear', async () => {
    expect((await cli(['allowlist', 'set', 'acme'])).code).toBe(2) // neither CIDRs nor --clear
    const set = await cli(['allowlist', 'set', 'acme', '10.0.0.0/8', '192.168.0.0/16'])
    expect(set.code, set.stderr).toBe(0)
    expect((await cli(['allowlist', 'get', 'acme'])).stdout.trim().split('\n')).toEqual([
      '10.0.0.0/8',
      '192.168.0.0/16',
    ])
    const bad = await cli(['allowlist', 'set', 'acme', 'not-a-cidr'])
    expect(bad.code).toBe(1)
    expect(bad.stderr).toContain('ValidationError')
    expect(await json(['allowlist', 'set', 'acme', '--clear'])).toEqual({ cidrs: [] })
    expect((await cli(['allowlist', 'get', 'acme'])).stdout).toContain('no allow-list')
  })

  it('sessions: list a session minted with GetSessionToken, revoke it, revoke all of a user', async () => {
    const alice = (await json(['users', 'list'])).find((u: any) => u.username === 'alice')
    const key = await json(['credentials', 'generate', alice.id])
    const sts = server.sts({ accessKeyId: key.access_key, secretAccessKey: key.secret_key })
    const mint = async () => {
      const c = (await sts.send(new GetSessionTokenCommand({ DurationSeconds: 900 }))).Credentials!
      return {
        accessKeyId: c.AccessKeyId!,
        secretAccessKey: c.SecretAccessKey!,
        sessionToken: c.SessionToken!,
      }
    }
    const one = await mint()
    const listed = await json(['sessions', 'list', '--user', alice.id])
    expect(listed.map((s: any) => s.access_key)).toEqual([one.accessKeyId])
    const table = await cli(['sessions', 'list'])
    expect(table.stdout).toMatch(new RegExp(`${one.accessKeyId}\\s+default\\s+user alice`))
    expect(await outcome(server.s3(one).send(new ListBucketsCommand({})))).toBe('OK')
    expect((await cli(['sessions', 'revoke', one.accessKeyId])).code).toBe(0)
    expect(await outcome(server.s3(one).send(new ListBucketsCommand({})))).toBe(
      'InvalidAccessKeyId',
    )

    const two = [await mint(), await mint()]
    const all = await json(['sessions', 'revoke', '--user', alice.id])
    expect(all.revoked.sort()).toEqual(two.map((t) => t.accessKeyId).sort())
    for (const t of two)
      expect(await outcome(server.s3(t).send(new ListBucketsCommand({})))).toBe(
        'InvalidAccessKeyId',
      )
    expect(await json(['sessions', 'list', '--user', alice.id])).toEqual([])
  })

  it("policy: put a user's extra policy from a file, get it, delete it", async () => {
    const alice = (await json(['users', 'list'])).find((u: any) => u.username === 'alice')
    const doc = {
      Version: '2012-10-17',
      Statement: [{ Effect: 'Deny', Action: 's3:DeleteObject', Resource: '*' }],
    }
    const file = join(config, 'policy.json')
    writeFileSync(file, JSON.stringify(doc))
    expect((await cli(['policy', 'put', alice.id, file])).code).toBe(0)
    expect(JSON.parse((await cli(['policy', 'get', alice.id])).stdout)).toEqual(doc)
    expect((await cli(['policy', 'delete', alice.id])).code).toBe(0)
    expect((await cli(['policy', 'get', alice.id])).code).toBe(1)
    expect((await cli(['policy', 'put', alice.id, join(config, 'missing.json')])).code).toBe(2)
  })

  it('offline master-key-id refuses a data dir the running server holds (1)', async () => {
    const r = await cli(['master-key-id', '--data-dir', server.dataDir])
    expect(r.code).toBe(1)
    expect(r.stderr).toContain('locked')
  })

  it('refuses a token file readable by others, and a token the server refuses (3)', async () => {
    chmodSync(tokenFile(), 0o644)
    const loose = await cli(['users', 'list'])
    expect(loose.code).toBe(3)
    expect(loose.stderr).toContain('mode 644')
    chmodSync(tokenFile(), 0o600)
    expect((await cli(['users', 'list'])).code).toBe(0)

    const other = mkdtempSync(join(tmpdir(), 'latchkey-cli-forged-'))
    try {
      const stored = JSON.parse(readFileSync(tokenFile(), 'utf8'))
      const dir = join(other, 'latchkey')
      const { mkdirSync } = await import('node:fs')
      mkdirSync(dir, { mode: 0o700 })
      writeFileSync(join(dir, 'token'), JSON.stringify({ ...stored, token: 'e30.e30.forged' }), {
        mode: 0o600,
      })
      const forged = await cli(['users', 'list'], '', { XDG_CONFIG_HOME: other })
      expect(forged.code).toBe(3)
      expect(forged.stderr).toContain('Unauthorized')
      const expired = { ...stored, expires_at: '2000-01-01T00:00:00.000Z' }
      writeFileSync(join(dir, 'token'), JSON.stringify(expired), { mode: 0o600 })
      const late = await cli(['users', 'list'], '', { XDG_CONFIG_HOME: other })
      expect(late.code).toBe(3)
      expect(late.stderr).toContain('expired')
    } finally {
      rmSync(other, { recursive: true, force: true })
    }
  })

  it('server down: 4; offline master-key-id reads the stopped data dir; logout removes the token', async () => {
    const token = JSON.parse(readFileSync(tokenFile(), 'utf8')).token as string
    await server.stop()
    const down = await cli(['users', 'list'])
    expect(down.code).toBe(4)
    expect(down.stderr).toContain('cannot reach')
    const id = await cli(['master-key-id', '--data-dir', server.dataDir])
    expect(id, id.stderr).toMatchObject({ code: 0, stdout: `${ROOT_ACCESS_KEY}\n` })

    expect((await cli(['logout'])).code).toBe(0)
    expect(existsSync(tokenFile())).toBe(false)
    expect((await cli(['users', 'list'])).code).toBe(3)

    // Nothing any command printed carries the token or the operator's password.
    const all = transcript.join('\n')
    expect(token.length).toBeGreaterThan(20)
    expect(all).not.toContain(token)
    expect(all).not.toContain(server.rootPassword)
  })
})

describe('latchkey admin over HTTPS with a self-signed certificate', () => {
  it('refuses the certificate (4) unless --insecure at login or NODE_EXTRA_CA_CERTS', async () => {
    const tls = await startServer({ tls: true })
    const cfg = mkdtempSync(join(tmpdir(), 'latchkey-cli-tls-'))
    // startServer({tls}) relaxed TLS checks in this process; the CLI must not inherit that.
    const env = { XDG_CONFIG_HOME: cfg, NODE_TLS_REJECT_UNAUTHORIZED: '1' }
    const login = (extra: string[], more: Record<string, string> = {}) =>
      cli(
        ['login', '--endpoint', tls.endpoint, '--password-stdin', ...extra],
        `${tls.rootPassword}\n`,
        { ...env, ...more },
      )
    try {
      const refused = await login([])
      expect(refused.code).toBe(4)
      expect(refused.stderr).toContain('NODE_EXTRA_CA_CERTS')
      expect((await login(['--insecure'])).code).toBe(0)
      // The token file remembers --insecure for the later commands.
      expect((await cli(['users', 'list'], '', env)).code).toBe(0)
      const ca = { ...env, NODE_EXTRA_CA_CERTS: join(tls.dataDir, 'tls-cert.pem') }
      const trusted = await login([], ca)
      expect(trusted.code, trusted.stderr).toBe(0)
      expect((await cli(['master-key', 'show'], '', ca)).stdout).toContain(ROOT_ACCESS_KEY)
      // That login did not skip checks: without the CA the certificate is refused again.
      expect((await cli(['master-key', 'show'], '', env)).code).toBe(4)
    } finally {
      await tls.stop()
      rmSync(cfg, { recursive: true, force: true })
    }
  })
})
