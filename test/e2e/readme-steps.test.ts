/**
 * The README's steps as a new user follows them (issue 12, "The README's broken steps"):
 * `latchkey --version`, a `--help` that lists every subcommand and every flag (the serve flags
 * compared with config.ts's FLAGS table, so a new flag cannot be left out), one spelling of the
 * command throughout the README, the STS ValidationError naming `--sts-max-duration`, and the
 * README's quick start and `aws sts assume-role` example run literally with the aws CLI (skipped
 * without it; the quick start's `npm start &` becomes the built server on a free port).
 * @module
 */
import { execFile } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { AssumeRoleCommand } from '@aws-sdk/client-sts'
import { SERVE_FLAGS } from '../../src/config/config.js'
import { MAIN, ROOT, startServer, type TestServer } from './harness.js'
import { HAS_AWS_CLI, awsEnv, run } from './tools.js'
import { freePort } from '../support/ports.js'

function latchkey(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [MAIN, ...args], { timeout: 30_000 }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof err.code === 'number' ? err.code : 1
      resolve({ code, stdout, stderr })
    })
  })
}

const README = readFileSync(join(ROOT, 'README.md'), 'utf8')
const PKG = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
  version: string
  bin?: Record<string, string>
}

describe('the command line', () => {
  it('REGRESSION cli-version: --version prints the package version', async () => {
    for (const flag of ['--version', '-v', 'version']) {
      const r = await latchkey([flag])
      expect([flag, r.code]).toEqual([flag, 0])
      expect(r.stdout.trim()).toBe(`latchkey ${PKG.version}`)
    }
  })

  it('REGRESSION cli-help-complete: --help lists every subcommand and every flag, serve flags from config.ts', async () => {
    const r = await latchkey(['--help'])
    expect(r.code).toBe(0)
    const help = r.stdout
    for (const [flag, env] of Object.entries(SERVE_FLAGS)) {
      expect(help, `serve flag ${flag}`).toContain(flag)
      expect(help, `serve env ${env}`).toContain(env)
    }
    const sub: Record<string, string[]> = {
      'policy simulate': [
        '--policy',
        '--bucket-policy',
        '--session-policy',
        '--principal',
        '--action',
        '--resource',
        '--context',
        '--json',
        '--cross-account',
      ],
      'sts assume-role': [
        '--endpoint',
        '--policy',
        '--duration',
        '--session-name',
        '--role-arn',
        '--region',
        '--format',
        '--insecure',
      ],
      'admin reset-root-password': ['--data-dir', '--password-stdin'],
    }
    for (const [cmd, flags] of Object.entries(sub)) {
      const line = help.split('\n').findIndex((l) => l.includes(`latchkey ${cmd}`))
      expect(line, cmd).toBeGreaterThanOrEqual(0)
      // The subcommand's flags, on its line or the indented lines after it.
      const block: string[] = []
      for (const l of help.split('\n').slice(line)) {
        if (block.length > 0 && /^\s{0,2}latchkey /.test(l)) break
        block.push(l)
      }
      for (const f of flags) expect(block.join('\n'), `${cmd} ${f}`).toMatch(new RegExp(`${f}\\b`))
    }
    for (const f of ['--version', '--help']) expect(help).toContain(f)
    // The same text for `help` and `-h`; an unknown command prints it on stderr, exit 2.
    expect((await latchkey(['-h'])).stdout).toBe(help)
    expect((await latchkey(['serve', '--help'])).stdout).toBe(help)
    const bad = await latchkey(['frobnicate'])
    expect(bad.code).toBe(2)
    expect(bad.stderr).toContain('unknown command')
  })

  it('REGRESSION readme-one-spelling: the README spells the command one way, the way package.json makes it runnable', () => {
    expect(PKG.bin?.['latchkey']).toBe('dist/main.js')
    // Every invocation is `npx latchkey …`; never `node dist/main.js …` nor a bare `latchkey …`
    // at the start of a command (the bin is not on PATH after `npm install`).
    expect(README).not.toMatch(/node dist\/main\.js/)
    const commands = README.split('\n').filter((l) => /^\s*(\$\s*)?latchkey\s/.test(l))
    expect(commands).toEqual([])
    expect(README).toMatch(/npx latchkey --version/)
    // The quick start tells the aws CLI which credentials to use and shows the secret it made.
    const quick = README.slice(README.indexOf('## Quick start'), README.indexOf('## Configuration'))
    expect(quick).toMatch(/export AWS_ACCESS_KEY_ID=/)
    expect(quick).toMatch(/echo .*LATCHKEY_ROOT_SECRET_KEY/)
    expect(quick).toMatch(/AWS_DEFAULT_REGION=us-east-1/)
  })
})

describe('STS against a server', () => {
  let server: TestServer
  beforeAll(async () => {
    server = await startServer()
  })
  afterAll(async () => {
    await server?.stop()
  })

  it('REGRESSION sts-max-duration-flag: DurationSeconds over --sts-max-duration is a ValidationError naming the flag', async () => {
    const sts = server.sts()
    const err = await sts
      .send(
        new AssumeRoleCommand({
          RoleArn: 'arn:xxx:xxx:xxx:xxxx',
          RoleSessionName: 'long',
          DurationSeconds: 7_889_400,
        }),
      )
      .then(
        () => undefined,
        (e: unknown) => e as { name?: string; message?: string },
      )
    expect(err?.name).toBe('ValidationError')
    expect(err?.message).toContain('less than or equal to 43200')
    expect(err?.message).toContain('--sts-max-duration')
    sts.destroy()
  })

  it("REGRESSION readme-admin-examples: the README's Lyve-style customer, user, login and policy-simulator calls work as written", async () => {
    const blockWith = (needle: string): string => {
      const at = README.indexOf(needle)
      expect(at, needle).toBeGreaterThan(0)
      const open = README.lastIndexOf('```sh\n', at)
      return README.slice(open + 6, README.indexOf('```', at))
    }
    const login = await fetch(`${server.endpoint}/api/admin/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: server.rootUser, password: server.rootPassword }),
    })
    const { token } = (await login.json()) as { token: string }
    const env = { PATH: process.env['PATH'] ?? '', TOKEN: token }
    const sh = async (block: string): Promise<string[]> => {
      const script = block
        .replaceAll('https://localhost:9000', server.endpoint)
        .split('\n')
        .filter((l) => !l.startsWith('#'))
        .join('\n')
      // One JSON answer per curl, one per line.
      const r = await run(
        'sh',
        ['-e', '-c', script.replaceAll('curl -s -k ', 'curl -s -w "\\n" ')],
        env,
      )
      expect(r.code, r.stderr).toBe(0)
      return r.stdout.split('\n').filter((l) => l.trim() !== '')
    }
    const [customer, user, userLogin] = await sh(blockWith('"name":"fastvideo","type":"customer"'))
    expect(JSON.parse(customer ?? '{}')).toMatchObject({ name: 'fastvideo', type: 'customer' })
    expect(JSON.parse(user ?? '{}')).toMatchObject({
      username: 'super@fastvideo.com',
      email: 'super@fastvideo.com',
      firstname: 'Clark',
      lastname: 'Kent',
      role: 'SuperUser',
    })
    expect(JSON.parse(userLogin ?? '{}')).toHaveProperty('token')
    const [decision] = await sh(blockWith('/api/admin/policy/simulate -H'))
    expect(JSON.parse(decision ?? '{}')).toMatchObject({ decision: 'allow' })
  })

  it.skipIf(!HAS_AWS_CLI)(
    "REGRESSION readme-assume-role: the README's `aws sts assume-role` example runs as written",
    async () => {
      const start = README.indexOf(
        'aws --endpoint-url http://localhost:9000 --region us-east-1 sts assume-role',
      )
      expect(start).toBeGreaterThan(0)
      const end = README.indexOf('\n\n', start)
      const command = README.slice(start, end).replaceAll('http://localhost:9000', server.endpoint)
      const env = awsEnv(server)
      delete env['AWS_DEFAULT_REGION']
      // The config file's region too: the example must carry its own.
      env['AWS_CONFIG_FILE'] = '/dev/null'
      const r = await run('sh', ['-c', command], env)
      expect(r.stderr).toBe('')
      expect(r.code).toBe(0)
      const out = JSON.parse(r.stdout) as { Credentials?: { AccessKeyId?: string } }
      expect(out.Credentials?.AccessKeyId).toMatch(/^ASIA/)
    },
    60_000,
  )
})

describe.skipIf(!HAS_AWS_CLI)('the quick start', () => {
  it('REGRESSION readme-quick-start: the quick start block runs as written and the aws CLI uses its credentials', async () => {
    const open = README.indexOf('```sh\nexport LATCHKEY_ROOT_ACCESS_KEY=')
    expect(open).toBeGreaterThan(0)
    const body = README.slice(open + '```sh\n'.length, README.indexOf('```', open + 6))
    expect(body).toContain('npm start &')
    const dir = mkdtempSync(join(tmpdir(), 'latchkey-quickstart-'))
    const port = await freePort()
    // The one substitution: `npm start &` (which builds first) is the built server, here on a
    // free port with a fresh data dir; it is stopped when the block ends, however it ends.
    const script =
      `cd ${JSON.stringify(dir)}\n` +
      body
        .replace(
          'npm start &',
          `${JSON.stringify(process.execPath)} ${JSON.stringify(MAIN)} serve --data-dir ./data --address 127.0.0.1:${port} & SERVER_PID=$!; trap 'kill $SERVER_PID 2>/dev/null' EXIT`,
        )
        .replaceAll('localhost:9000', `127.0.0.1:${port}`)
    const env = awsEnv({ accessKeyId: 'unset', secretAccessKey: 'unset' })
    delete env['AWS_ACCESS_KEY_ID']
    delete env['AWS_SECRET_ACCESS_KEY']
    delete env['AWS_DEFAULT_REGION']
    env['AWS_CONFIG_FILE'] = '/dev/null'
    env['LATCHKEY_LOG_LEVEL'] = 'warn'
    try {
      const r = await run('sh', ['-e', '-c', script], env)
      expect(r.stderr).not.toMatch(/Unable to locate credentials|error/i)
      expect(r.code).toBe(0)
      expect(r.stdout).toMatch(/master key: AKIAEXAMPLEROOT00001 \S{40}/)
      expect(r.stdout).toContain('make_bucket: photos')
      expect(r.stdout).toMatch(/\shello\.txt\n/)
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  }, 120_000)
})
