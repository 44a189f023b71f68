import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { ManualClock } from '../lib/clock.js'
import { runPolicySimulate } from './policy-simulate.js'

const dir = mkdtempSync(join(tmpdir(), 'latchkey-sim-'))
const file = (name: string, doc: unknown): string => {
  const p = join(dir, name)
  writeFileSync(p, typeof doc === 'string' ? doc : JSON.stringify(doc))
  return p
}
const readOnly = file('read.json', {
  Version: '2012-10-17',
  Statement: [
    {
      Sid: 'Read',
      Effect: 'Allow',
      Action: ['s3:GetObject', 's3:ListBucket'],
      Resource: '*',
      Condition: { 'ForAllValues:StringLike': { 's3:prefix': ['a/*', 'b/*'] } },
    },
  ],
})
const bad = file('bad.json', '{"Statement": [{"Effect": "Allow"}]}')

async function run(...argv: string[]): Promise<{ code: number; lines: string[] }> {
  const lines: string[] = []
  const code = await runPolicySimulate(argv, (l) => lines.push(l), new ManualClock())
  return { code, lines }
}

describe('latchkey policy simulate', () => {
  it('allow → exit 0 with the matched statement', async () => {
    const r = await run(
      '--policy',
      readOnly,
      '--action',
      's3:GetObject',
      '--resource',
      'arn:aws:s3:::b/k',
    )
    expect(r.code).toBe(0)
    expect(r.lines).toEqual([
      'decision: allow',
      'reason:   allowed by identity-based policy',
      `matched:  Allow ${readOnly} Read`,
    ])
  })
  it('deny → exit 1; repeated --context gives several values; --json', async () => {
    const r = await run(
      'policy',
      'simulate',
      '--policy',
      readOnly,
      '--action',
      's3:ListBucket',
      '--resource',
      'arn:aws:s3:::b',
      '--context',
      's3:prefix=a/x',
      '--context',
      's3:prefix=c/x',
      '--json',
    )
    expect(r.code).toBe(1)
    expect(JSON.parse(r.lines[0] ?? '')).toEqual({
      decision: 'implicit-deny',
      reason: 'no identity-based policy allows the action',
      matched: [],
    })
    const ok = await run(
      '--policy',
      readOnly,
      '--action',
      's3:ListBucket',
      '--resource',
      'arn:aws:s3:::b',
      '--context=s3:prefix=a/x',
      '--json',
    )
    expect(ok.code).toBe(0)
  })
  it('usage and malformed policies → exit 2 with one line', async () => {
    for (const argv of [
      ['--action', 's3:GetObject', '--resource', '*'],
      ['--policy', readOnly, '--resource', '*'],
      ['--policy', readOnly, '--action', 's3:GetObject'],
      ['--policy', readOnly, '--action', 's3:GetObject', '--resource', '*', '--bogus'],
      ['--policy', join(dir, 'missing.json'), '--action', 's3:GetObject', '--resource', '*'],
      ['--policy', readOnly, '--action', 's3:GetObject', '--resource', '*', '--context', 'novalue'],
      ['--policy'],
    ]) {
      const r = await run(...argv)
      expect(r.code, argv.join(' ')).toBe(2)
      expect(r.lines).toHaveLength(1)
    }
    const m = await run('--policy', bad, '--action', 's3:GetObject', '--resource', '*')
    expect(m).toEqual({
      code: 2,
      lines: [`error: malformed policy: ${bad}: Statement[0]: Missing required field Action`],
    })
  })
  it('--help', async () => {
    const r = await run('--help')
    expect(r.code).toBe(0)
    expect(r.lines[0]).toContain('usage: latchkey policy simulate')
  })
})
