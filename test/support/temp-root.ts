/**
 * Vitest global setup: every temporary file of a test run goes under one directory of its own,
 * removed when the run ends. The test processes (forks) and everything they start (servers, the
 * aws CLI, rclone, PostgreSQL, RGW, Chromium) inherit TMPDIR, which node's `os.tmpdir()` and
 * most tools read; a test that forgets to remove what it made (or is killed before it can) no
 * longer leaves it behind. Found before this: two days of runs here had left ~4,000 directories
 * in /tmp (one per aws CLI call, seal keys, CLI homes, data dirs).
 * @module
 */
import { chmodSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

export default function setup(): () => void {
  const root = mkdtempSync(join(tmpdir(), 'latchkey-test-'))
  // As /tmp is: tools that run as another user (PostgreSQL under runuser when the tests run as
  // root) reach and write their own directories inside it.
  chmodSync(root, 0o1777)
  const before = process.env['TMPDIR']
  process.env['TMPDIR'] = root
  return () => {
    if (before === undefined) delete process.env['TMPDIR']
    else process.env['TMPDIR'] = before
    rmSync(root, { recursive: true, force: true, maxRetries: 3 })
  }
}
