/**
 * The server's node flags (src/config/node-flags.ts) as the docs tell an operator to pass them:
 * the README's quick start and the deploy guide's node start name the same flags, so a change to
 * the flags cannot leave the docs behind (the systemd unit is checked in systemd-unit.test.ts,
 * `npm start` in test/e2e/npm-start.test.ts).
 */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { SERVER_NODE_FLAGS } from '../../src/config/node-flags.js'
import { ROOT } from '../e2e/harness.js'

describe("the docs name the server's node flags", () => {
  it('README (quick start) and docs/deploy.md (starting the nodes)', () => {
    const flags = SERVER_NODE_FLAGS.join(' ')
    expect(flags).not.toBe('')
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8')
    const quickStart = readme.slice(
      readme.indexOf('## Quick start'),
      readme.indexOf('## Web console'),
    )
    expect(quickStart).toContain(`(\`${flags}\``)
    const deploy = readFileSync(join(ROOT, 'docs', 'deploy.md'), 'utf8')
    expect(deploy).toContain(`NODE_OPTIONS=${flags} \\\n    nohup npx latchkey serve`)
    expect(deploy).toContain(`\`NODE_OPTIONS=${flags}\` as in \`docs/latchkey.service\``)
  })
})
