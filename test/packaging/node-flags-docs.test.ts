/**
 * The server's node flags (src/config/node-flags.ts) wherever the server is started: the
 * `latchkey` command's first line (src/main.ts, and so dist/main.js, the npm bin) names exactly
 * them, and the README's quick start and the deploy guide name them and start that command, so a
 * change to the flags cannot leave the command or the docs behind (the systemd unit is checked in
 * systemd-unit.test.ts, `npm start` in test/e2e/npm-start.test.ts).
 */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { SERVER_NODE_FLAGS } from '../../src/config/node-flags.js'
import { ROOT } from '../e2e/harness.js'

describe("the server's node flags", () => {
  const flags = SERVER_NODE_FLAGS.join(' ')

  it("are the latchkey command's own: its first line starts node with them", () => {
    expect(flags).not.toBe('')
    const main = readFileSync(join(ROOT, 'src', 'main.ts'), 'utf8')
    expect(main.split('\n')[0]).toBe(`#!/usr/bin/env -S node ${flags}`)
  })

  it('README (quick start) and docs/deploy.md (starting the nodes) name them', () => {
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8')
    const quickStart = readme.slice(
      readme.indexOf('## Quick start'),
      readme.indexOf('## Web console'),
    )
    expect(quickStart.replace(/\s+/g, ' ')).toContain(`(\`${flags}\``)
    const deploy = readFileSync(join(ROOT, 'docs', 'deploy.md'), 'utf8')
    expect(deploy).toContain('\n  nohup npx latchkey serve --address')
    expect(deploy.replace(/\s+/g, ' ')).toContain(`\`${flags}\``)
    // NODE_OPTIONS cannot carry them (node refuses --no-memory-reducer there).
    expect(deploy).not.toContain('NODE_OPTIONS=')
  })
})
