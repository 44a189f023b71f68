/**
 * docs/latchkey.service (issue 14 item 7): the hardening it promises is in the file, the flags
 * it starts the server with exist, it starts the `latchkey` command (whose first line gives node
 * the server's flags, config/node-flags.ts: node-flags-docs.test.ts), and — when systemd-analyze is installed — `systemd-analyze
 * verify` accepts it without a warning and `systemd-analyze security --offline` rates its
 * exposure low. verify also checks that ExecStart's program exists, so it runs on a copy whose
 * ExecStart names this machine's node and this checkout's dist/main.js instead of the npm
 * global bin; nothing else is changed.
 */
import { execFile, execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { SERVE_FLAGS } from '../../src/config/config.js'
import { SERVER_NODE_FLAGS } from '../../src/config/node-flags.js'
import { MAIN, ROOT } from '../e2e/harness.js'

const UNIT = readFileSync(join(ROOT, 'docs', 'latchkey.service'), 'utf8')

/** Every `Key=value` of a section, in order (comments and blank lines skipped). */
function section(name: string): [string, string][] {
  const out: [string, string][] = []
  let inside = false
  for (const raw of UNIT.split('\n')) {
    const line = raw.trim()
    if (line === '' || line.startsWith('#')) continue
    if (line.startsWith('[')) {
      inside = line === `[${name}]`
      continue
    }
    const eq = line.indexOf('=')
    if (inside && eq > 0) out.push([line.slice(0, eq), line.slice(eq + 1)])
  }
  return out
}
const service = new Map(section('Service'))

const HAS_SYSTEMD_ANALYZE = (() => {
  try {
    execFileSync('systemd-analyze', ['--version'], { stdio: 'ignore' })
    return true
  } catch {
    return false
  }
})()

function run(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    // cwd: verify also loads units from the working directory; keep it empty.
    const cwd = mkdtempSync(join(tmpdir(), 'latchkey-unit-cwd-'))
    execFile('systemd-analyze', args, { cwd }, (err, stdout, stderr) => {
      rmSync(cwd, { recursive: true, force: true })
      resolve({ code: err ? Number(err.code ?? 1) : 0, stdout, stderr })
    })
  })
}

describe('docs/latchkey.service', () => {
  it('runs as the dedicated user with the hardening the README promises', () => {
    expect(service.get('User')).toBe('latchkey')
    expect(service.get('Group')).toBe('latchkey')
    expect(service.get('ProtectSystem')).toBe('strict')
    expect(service.get('NoNewPrivileges')).toBe('yes')
    expect(service.get('PrivateTmp')).toBe('yes')
    expect(service.get('ProtectHome')).toBe('yes')
    expect(service.get('CapabilityBoundingSet')).toBe('')
    expect(service.get('AmbientCapabilities')).toBe('')
    expect(service.get('EnvironmentFile')).toBe('/etc/latchkey/latchkey.env')
    // Secrets belong in the EnvironmentFile; node's flags come from the command's first line.
    expect(section('Service').filter(([k]) => k === 'Environment')).toEqual([])
    expect(UNIT).toContain(`#!/usr/bin/env -S node ${SERVER_NODE_FLAGS.join(' ')}`)
  })

  it('starts `latchkey serve` with real flags, and the data dir is the only writable path', () => {
    const exec = (service.get('ExecStart') ?? '').split(/\s+/)
    expect(exec.slice(0, 2)).toEqual(['/usr/local/bin/latchkey', 'serve'])
    const flags = exec.filter((w) => w.startsWith('--'))
    for (const f of flags) expect(Object.keys(SERVE_FLAGS), f).toContain(f)
    const dataDir = exec[exec.indexOf('--data-dir') + 1]
    expect(dataDir).toBe('/var/lib/latchkey')
    expect(section('Service').filter(([k]) => k === 'ReadWritePaths')).toEqual([
      ['ReadWritePaths', dataDir],
    ])
    expect(service.get('StateDirectory')).toBe('latchkey') // /var/lib/latchkey, owned by the user
  })

  it.skipIf(!HAS_SYSTEMD_ANALYZE)(
    'systemd-analyze verify accepts it without a warning (needs systemd-analyze: skipped when it is not installed)',
    async () => {
      const dir = mkdtempSync(join(tmpdir(), 'latchkey-unit-'))
      try {
        const copy = join(dir, 'latchkey.service')
        const local = UNIT.replace(
          /^ExecStart=\/usr\/local\/bin\/latchkey /m,
          `ExecStart=${process.execPath} ${MAIN} `,
        )
        expect(local).not.toBe(UNIT)
        writeFileSync(copy, local)
        const r = await run(['verify', copy])
        expect(r.stderr).toBe('')
        expect(r.code).toBe(0)
      } finally {
        rmSync(dir, { recursive: true, force: true })
      }
    },
  )

  it.skipIf(!HAS_SYSTEMD_ANALYZE)(
    'systemd-analyze security rates its exposure low (needs systemd-analyze: skipped when it is not installed)',
    async () => {
      const r = await run(['security', '--offline=yes', join(ROOT, 'docs', 'latchkey.service')])
      const m = /Overall exposure level for latchkey\.service: ([\d.]+)/.exec(r.stdout + r.stderr)
      expect(m, r.stdout + r.stderr).not.toBeNull()
      expect(Number(m?.[1])).toBeLessThanOrEqual(2)
    },
  )
})
