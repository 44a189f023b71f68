import { mkdtempSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { basename, dirname, join } from 'node:path'
import { describe, expect, it } from 'vitest'

describe('test temp files', () => {
  it('go under the run’s own directory (removed when the run ends)', () => {
    const made = mkdtempSync(join(tmpdir(), 'lk-temp-root-'))
    expect(basename(dirname(made))).toMatch(/^latchkey-test-/)
    expect(process.env['TMPDIR']).toBe(dirname(made))
    // Reachable by tools that run as another user (PostgreSQL under runuser), as /tmp is.
    expect(statSync(dirname(made)).mode & 0o7777).toBe(0o1777)
  })
})
