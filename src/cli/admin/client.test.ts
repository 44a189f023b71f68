/**
 * The token file: written 0600 in a 0700 directory, refused when others can read it, when it is
 * not a regular file, malformed or expired (exit 3 each), and removed by logout; and the
 * dispatcher's exit codes for usage errors and an unreachable server (no server needed).
 */
import { chmodSync, mkdirSync, mkdtempSync, rmSync, statSync, symlinkSync } from 'node:fs'
import { writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { EXIT } from './args.js'
import { CliError, endpointOf, readToken, removeToken, tokenPath, writeToken } from './client.js'
import type { Io } from './client.js'
import { runAdmin } from './index.js'

let dir: string
let env: NodeJS.ProcessEnv
const NOW = Date.parse('2026-12-03T12:00:00Z')
const good = {
  endpoint: 'http://127.0.0.1:9000',
  token: 'header.payload.signature',
  expires_at: '2026-12-03T13:00:00.000Z',
  insecure: false,
  user: 'root',
}

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'latchkey-cli-token-'))
  env = { XDG_CONFIG_HOME: dir }
})
afterEach(() => rmSync(dir, { recursive: true, force: true }))

/** The CliError readToken throws (or fails the test). */
function refusal(): CliError {
  try {
    readToken(env, NOW)
  } catch (e) {
    if (e instanceof CliError) return e
    throw e
  }
  throw new Error('readToken accepted the file')
}

describe('token file', () => {
  it('lives in $XDG_CONFIG_HOME/latchkey/token, else ~/.config/latchkey/token', () => {
    expect(tokenPath({ XDG_CONFIG_HOME: '/x' })).toBe('/x/latchkey/token')
    expect(tokenPath({ HOME: '/home/op' })).toBe('/home/op/.config/latchkey/token')
  })

  it('is written 0600 in a 0700 directory and read back', () => {
    const path = writeToken(env, good)
    expect(statSync(path).mode & 0o777).toBe(0o600)
    expect(statSync(join(dir, 'latchkey')).mode & 0o777).toBe(0o700)
    expect(readToken(env, NOW)).toEqual(good)
    // A second login replaces it, still 0600.
    writeToken(env, { ...good, token: 'other.token.value' })
    expect(readToken(env, NOW).token).toBe('other.token.value')
    expect(statSync(path).mode & 0o777).toBe(0o600)
  })

  it('missing: not logged in (3)', () => {
    expect(refusal()).toMatchObject({ exitCode: EXIT.notLoggedIn })
    expect(refusal().message).toContain('not logged in')
  })

  it.each([0o644, 0o640, 0o604, 0o660])('mode %o: refused (3), the token is not read', (mode) => {
    const path = writeToken(env, good)
    chmodSync(path, mode)
    const e = refusal()
    expect(e.exitCode).toBe(EXIT.notLoggedIn)
    expect(e.message).toContain(`mode ${mode.toString(8)}`)
    expect(e.message).not.toContain(good.token)
  })

  it('a symlink or a directory is refused', () => {
    mkdirSync(join(dir, 'latchkey'), { mode: 0o700 })
    const target = join(dir, 'elsewhere')
    writeFileSync(target, JSON.stringify(good), { mode: 0o600 })
    symlinkSync(target, tokenPath(env))
    expect(refusal().message).toContain('not a regular file')
  })

  it('malformed or expired: refused (3)', () => {
    const path = writeToken(env, good)
    writeFileSync(path, 'not json', { mode: 0o600 })
    expect(refusal().message).toContain('not a Latchkey token file')
    writeFileSync(path, JSON.stringify({ ...good, token: '' }), { mode: 0o600 })
    expect(refusal().message).toContain('not a Latchkey token file')
    writeToken(env, { ...good, expires_at: '2026-12-03T11:59:59.000Z' })
    expect(refusal().message).toContain('expired at 2026-12-03T11:59:59.000Z')
  })

  it('removeToken: true once, then false', () => {
    writeToken(env, good)
    expect(removeToken(env)).toBe(true)
    expect(removeToken(env)).toBe(false)
  })
})

describe('endpointOf', () => {
  it('keeps scheme, host and port, drops a trailing slash', () => {
    expect(endpointOf('https://s3.example.com:9000/')).toBe('https://s3.example.com:9000')
  })
  it.each(['not a url', 'ftp://x'])('refuses %s', (v) => {
    expect(() => endpointOf(v)).toThrow(/--endpoint must be/)
  })
})

describe('runAdmin exit codes', () => {
  function io(stdin = ''): Io & { lines: string[]; errors: string[] } {
    const lines: string[] = []
    const errors: string[] = []
    return {
      lines,
      errors,
      out: (l) => void lines.push(l),
      err: (l) => void errors.push(l),
      env,
      readStdinLine: async () => stdin,
      promptPassword: async () => {
        throw new Error('no prompt in tests')
      },
      now: () => NOW,
    }
  }

  it('help is 0 on stdout; no command, an unknown one or a bad flag are 2 on stderr', async () => {
    const h = io()
    expect(await runAdmin(['--help'], h)).toBe(0)
    expect(h.lines.join('\n')).toContain('exit codes')
    for (const argv of [[], ['nope'], ['users'], ['users', 'nope'], ['users', 'list', '--x']]) {
      const t = io()
      expect(await runAdmin(argv, t)).toBe(EXIT.usage)
      expect(t.errors.length).toBeGreaterThan(0)
      expect(t.lines).toEqual([])
    }
  })

  it('a token file that cannot be written is one line and exit 1, not a stack trace', async () => {
    writeFileSync(join(dir, 'latchkey'), 'a file where the directory should be')
    const t = io()
    // The server (a fake fetch) answers the login; writing the token then fails.
    const answer = async (): Promise<Response> =>
      new Response(JSON.stringify({ token: 'a.b.c', expires_at: null }), { status: 200 })
    const realFetch = globalThis.fetch
    globalThis.fetch = answer as typeof fetch
    try {
      const code = await runAdmin(
        ['login', '--endpoint', 'http://127.0.0.1:1', '--password-stdin'],
        {
          ...t,
          readStdinLine: async () => 'pw-123456789',
        },
      )
      expect(code).toBe(EXIT.api)
      expect(t.errors).toHaveLength(1)
      expect(t.errors[0]).toMatch(/^latchkey admin login: .*(EEXIST|ENOTDIR)/)
      expect(t.errors[0]).not.toContain('a.b.c')
    } finally {
      globalThis.fetch = realFetch
    }
  })

  it('audit takes its filters: an unknown flag is a usage error (2)', async () => {
    const t = io()
    expect(await runAdmin(['audit', '--bogus', 'x'], t)).toBe(EXIT.usage)
    expect(t.errors[0]).not.toContain('not implemented yet')
  })

  it('a closed port is unreachable (4) and writes no token', async () => {
    const port = await new Promise<number>((resolve) => {
      const s = createServer().listen(0, '127.0.0.1', () => {
        const a = s.address()
        s.close(() => resolve(typeof a === 'object' && a ? a.port : 0))
      })
    })
    const t = io('some-password-1')
    const code = await runAdmin(
      ['login', '--endpoint', `http://127.0.0.1:${port}`, '--password-stdin'],
      t,
    )
    expect(code).toBe(EXIT.unreachable)
    expect(t.errors[0]).toMatch(/cannot reach http:\/\/127\.0\.0\.1:\d+: ECONNREFUSED/)
    expect(() => readToken(env, NOW)).toThrow(CliError)
  })
})
