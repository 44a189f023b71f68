/**
 * Microbenchmark for `npm run bench`: one decide() over a user whose identity policies total
 * 100 statements (wildcards, variables and conditions included) plus a 20-statement bucket
 * policy, next to one HMAC-SHA256 over 200 bytes (the unit of SigV4 work) measured in the same
 * run, so the numbers are comparable across machines. Medians of several repeats.
 * @module
 */
import { createHmac } from 'node:crypto'
import { decide, type DecideInput } from '../src/policy/combine.js'
import { parsePolicy } from '../src/policy/document.js'
import type { RequestFacts } from '../src/policy/types.js'

const ACTIONS = [
  's3:GetObject',
  's3:PutObject',
  's3:List*',
  's3:Get*',
  's3:DeleteObject',
  's3:*Tagging',
  's3:ListBucket',
]

function statement(i: number, allActionsMatch: boolean): Record<string, unknown> {
  const conds: Record<string, unknown>[] = [
    { IpAddress: { 'aws:SourceIp': ['10.0.0.0/8', '2001:db8::/32'] } },
    { Bool: { 'aws:SecureTransport': 'true' } },
    { StringLike: { 's3:prefix': ['home/${aws:username}/*', 'public/*'] } },
    { DateLessThan: { 'aws:CurrentTime': '2099-01-01T00:00:00Z' } },
    {
      StringEquals: { 'aws:PrincipalAccount': '123456789012' },
      NumericLessThanEquals: { 's3:max-keys': '1000' },
    },
  ]
  return {
    Sid: `S${i}`,
    Effect: i % 10 === 9 ? 'Deny' : 'Allow',
    Action: allActionsMatch ? 's3:Get*' : ACTIONS[i % ACTIONS.length],
    Resource:
      i % 3 === 0
        ? `arn:aws:s3:::bucket-${i}/*`
        : i % 3 === 1
          ? 'arn:aws:s3:::shared/${aws:username}/*'
          : `arn:aws:s3:::b${i}-*/k?y`,
    Condition: conds[i % conds.length],
  }
}

function buildInput(allActionsMatch: boolean): DecideInput {
  const identity = [0, 1, 2, 3].map((p) =>
    parsePolicy(
      {
        Version: '2012-10-17',
        Statement: Array.from({ length: 25 }, (_, j) => statement(p * 25 + j, allActionsMatch)),
      },
      { kind: 'identity', name: `p${p}` },
    ),
  )
  const resource = parsePolicy(
    {
      Version: '2012-10-17',
      Statement: Array.from({ length: 20 }, (_, i) => ({
        Sid: `B${i}`,
        Effect: 'Allow',
        Principal: { AWS: i % 2 ? `arn:aws:iam::123456789012:user/u${i}` : '210987654321' },
        Action: ACTIONS[i % ACTIONS.length],
        Resource: `arn:aws:s3:::bench/*`,
      })),
    },
    { kind: 'resource', name: 'bucket-policy' },
  )
  const facts: RequestFacts = {
    action: 's3:GetObject',
    resource: 'arn:aws:s3:::shared/alice/photo.jpg',
    principal: {
      kind: 'user',
      arn: 'arn:aws:iam::123456789012:user/alice',
      accountId: '123456789012',
    },
    context: new Map<string, readonly string[]>([
      ['aws:username', ['alice']],
      ['aws:sourceip', ['10.1.2.3']],
      ['aws:securetransport', ['true']],
      ['aws:currenttime', ['2026-01-01T00:00:00Z']],
      ['aws:principalaccount', ['123456789012']],
      ['s3:prefix', ['home/alice/x']],
    ]),
  }
  return { identity, resource, sameAccount: true, facts }
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.floor(s.length / 2)] as number
}

function nsPer(fn: () => unknown, iterations: number, repeats: number): number {
  for (let i = 0; i < iterations; i++) fn() // warm-up
  const runs: number[] = []
  for (let r = 0; r < repeats; r++) {
    const t0 = process.hrtime.bigint()
    for (let i = 0; i < iterations; i++) fn()
    runs.push(Number(process.hrtime.bigint() - t0) / iterations)
  }
  return median(runs)
}

export interface PolicyBench {
  /** ns per decide() for the realistic mix (statements pre-filtered by action). */
  readonly nsPerEval: number
  /** ns per decide() when every one of the 100 statements targets the action (worst case). */
  readonly nsPerEvalAllCandidates: number
  readonly nsPerHmac: number
  readonly statements: number
}

export function benchPolicyEval(iterations = 20_000, repeats = 7): PolicyBench {
  const mixed = buildInput(false)
  const worst = buildInput(true)
  if (decide(mixed).effect !== 'allow') throw new Error('bench setup: expected allow')
  const key = Buffer.alloc(32, 7)
  const data = Buffer.alloc(200, 0x61)
  return {
    nsPerEval: nsPer(() => decide(mixed), iterations, repeats),
    nsPerEvalAllCandidates: nsPer(() => decide(worst), Math.ceil(iterations / 4), repeats),
    nsPerHmac: nsPer(() => createHmac('sha256', key).update(data).digest(), iterations, repeats),
    statements: mixed.identity.reduce((n, p) => n + p.statements.length, 0),
  }
}
