/**
 * `npm start` (scripts/start.mjs) as the README's quick start runs it: the server it starts runs
 * with the server's node flags (config/node-flags.ts), the same ones `npm run bench` measures
 * with, and says so in its `listening` line; it answers, and SIGTERM to `npm start` stops it.
 * Run against this checkout's build (npm test builds first, so start.mjs builds nothing).
 */
import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { afterEach, describe, expect, it } from 'vitest'
import { SERVER_NODE_FLAGS } from '../../src/config/node-flags.js'
import { ROOT, ROOT_ACCESS_KEY, ROOT_PASSWORD, ROOT_SECRET_KEY } from './harness.js'

const cleanups: (() => void)[] = []
afterEach(() => {
  for (const c of cleanups.splice(0)) c()
})

describe('npm start', () => {
  it("runs the server with the server's node flags, and stops on SIGTERM", async () => {
    expect(SERVER_NODE_FLAGS.length).toBeGreaterThan(0)
    const dataDir = mkdtempSync(join(tmpdir(), 'latchkey-npm-start-'))
    const proc = spawn(
      process.execPath,
      [join(ROOT, 'scripts', 'start.mjs'), '--address', '127.0.0.1:0', '--data-dir', dataDir],
      {
        cwd: ROOT,
        env: Object.assign({}, process.env, {
          LATCHKEY_ROOT_ACCESS_KEY: ROOT_ACCESS_KEY,
          LATCHKEY_ROOT_SECRET_KEY: ROOT_SECRET_KEY,
          LATCHKEY_ROOT_PASSWORD: ROOT_PASSWORD,
          LATCHKEY_LOG_LEVEL: 'warn',
        }),
        stdio: ['ignore', 'pipe', 'inherit'],
        // A process group of its own: a failed test kills npm start and the server it started.
        detached: true,
      },
    )
    cleanups.push(() => {
      try {
        process.kill(-proc.pid!, 'SIGKILL')
      } catch {
        // already gone
      }
      rmSync(dataDir, { recursive: true, force: true })
    })
    const exited = new Promise<number | null>((r) => proc.on('exit', (code) => r(code)))
    const listening = await new Promise<{ url: string; nodeFlags?: string[] }>(
      (resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('npm start: no listening line')), 60_000)
        createInterface({ input: proc.stdout! }).on('line', (l) => {
          if (!l.includes('"listening"')) return
          clearTimeout(timer)
          resolve(JSON.parse(l) as { url: string; nodeFlags?: string[] })
        })
      },
    )
    expect(listening.nodeFlags).toEqual(SERVER_NODE_FLAGS)
    const health = await fetch(`${listening.url}/health`)
    expect(health.status).toBe(200)
    proc.kill('SIGTERM')
    expect(await exited).toBe(0)
  }, 90_000)
})
