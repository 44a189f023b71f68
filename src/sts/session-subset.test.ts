/**
 * Property (named security regression "session exceeding its parent"): for random parent
 * policies, random session policies (inline and managed, as STS compiles them) and random
 * requests, whatever the session may do its parent may do too; and for role chains (one policy
 * layer per AssumeRole), whatever the last session may do every ancestor may do. In-process,
 * policy engine only.
 */
import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { decide } from '../policy/combine.js'
import { parsePolicy, type CompiledPolicy } from '../policy/document.js'
import { MASTER_KEY_POLICY, rolePolicy } from '../policy/presets.js'
import type { RequestFacts } from '../policy/types.js'
import { compileSessionPolicy, resolveManagedPolicies, MANAGED_POLICIES } from './session-policy.js'

const ACCT = '111122223333'
const ACTIONS = [
  's3:GetObject',
  's3:PutObject',
  's3:ListBucket',
  's3:DeleteObject',
  's3:AbortMultipartUpload',
  's3:CreateBucket',
  'sts:AssumeRole',
]
const ACTION_PATTERNS = [...ACTIONS, 's3:*', 's3:Get*', 's3:*Object', '*', 'sts:*']
const RESOURCES = [
  'arn:aws:s3:::b1/dir/x',
  'arn:aws:s3:::b1/other',
  'arn:aws:s3:::b1',
  'arn:aws:s3:::b2/k',
  '*',
]
const RESOURCE_PATTERNS = [
  'arn:aws:s3:::b1/dir/*',
  'arn:aws:s3:::b1/*',
  'arn:aws:s3:::b1',
  'arn:aws:s3:::*',
  '*',
  'arn:aws:s3:::b?/k',
]
const ADDRESSES = ['10.0.0.1', '192.0.2.9']

const statement = fc.record({
  Effect: fc.constantFrom('Allow', 'Allow', 'Deny'),
  Action: fc.subarray(ACTION_PATTERNS, { minLength: 1, maxLength: 3 }),
  Resource: fc.subarray(RESOURCE_PATTERNS, { minLength: 1, maxLength: 3 }),
  cond: fc.option(fc.constantFrom('10.0.0.0/8', '192.0.2.0/24'), { nil: undefined }),
})

interface St {
  readonly Effect: string
  readonly Action: string[]
  readonly Resource: string[]
  readonly cond: string | undefined
}

function policyText(sts: readonly St[]): string {
  return JSON.stringify({
    Version: '2012-10-17',
    Statement: sts.map((s) => ({
      Effect: s.Effect,
      Action: s.Action,
      Resource: s.Resource,
      ...(s.cond !== undefined ? { Condition: { IpAddress: { 'aws:SourceIp': s.cond } } } : {}),
    })),
  })
}

const parentPolicies: fc.Arbitrary<CompiledPolicy[]> = fc.oneof(
  fc.constant<CompiledPolicy[]>([MASTER_KEY_POLICY]),
  fc
    .constantFrom('Reader', 'Writer', 'SuperUser')
    .map((r) => [rolePolicy(r as 'Reader' | 'Writer' | 'SuperUser')]),
  fc
    .tuple(fc.constantFrom('Reader', 'Writer'), fc.array(statement, { minLength: 1, maxLength: 4 }))
    .map(([r, sts]) => [
      rolePolicy(r as 'Reader' | 'Writer'),
      parsePolicy(policyText(sts), { kind: 'identity', name: 'user-policy', source: 'identity' }),
    ]),
)

const sessionPolicies: fc.Arbitrary<CompiledPolicy[]> = fc
  .tuple(
    fc.option(fc.array(statement, { minLength: 1, maxLength: 4 }), { nil: undefined }),
    fc.subarray(Object.keys(MANAGED_POLICIES)),
  )
  .map(([inline, arns]) => [
    ...(inline !== undefined ? [compileSessionPolicy(policyText(inline))] : []),
    ...resolveManagedPolicies(arns),
  ])

const bucketPolicy: fc.Arbitrary<CompiledPolicy | undefined> = fc.option(
  fc
    .tuple(
      fc.array(statement, { minLength: 1, maxLength: 3 }),
      fc.constantFrom(`arn:aws:iam::${ACCT}:user/alice`, '*', ACCT),
    )
    .map(([sts, principal]) => {
      const doc = JSON.parse(policyText(sts)) as { Statement: Record<string, unknown>[] }
      for (const s of doc.Statement) s['Principal'] = principal === '*' ? '*' : { AWS: principal }
      return parsePolicy(JSON.stringify(doc), {
        kind: 'resource',
        name: 'bucket-policy',
        source: 'resource',
      })
    }),
  { nil: undefined },
)

function facts(
  kind: 'user' | 'session',
  action: string,
  resource: string,
  ip: string,
): RequestFacts {
  const userArn = `arn:aws:iam::${ACCT}:user/alice`
  return {
    action,
    resource,
    principal:
      kind === 'user'
        ? { kind, arn: userArn, accountId: ACCT }
        : {
            kind,
            arn: `arn:aws:sts::${ACCT}:assumed-role/alice/s`,
            accountId: ACCT,
            parentArn: userArn,
          },
    context: new Map([
      ['aws:sourceip', [ip]],
      ['aws:username', ['alice']],
    ]),
  }
}

describe('session ⊆ parent', () => {
  it('a session is never allowed what its parent is denied', () => {
    fc.assert(
      fc.property(
        parentPolicies,
        sessionPolicies,
        bucketPolicy,
        fc.constantFrom(...ACTIONS),
        fc.constantFrom(...RESOURCES),
        fc.constantFrom(...ADDRESSES),
        (identity, session, resource, action, res, ip) => {
          const parent = decide({
            identity,
            ...(resource ? { resource } : {}),
            sameAccount: true,
            facts: facts('user', action, res, ip),
          })
          const child = decide({
            identity,
            session,
            ...(resource ? { resource } : {}),
            sameAccount: true,
            facts: facts('session', action, res, ip),
          })
          if (child.effect === 'allow') expect(parent.effect).toBe('allow')
        },
      ),
      { numRuns: 400 },
    )
  })

  it('role chaining: for random chains of 1-3 session policies, the chained session ⊆ every ancestor', () => {
    fc.assert(
      fc.property(
        parentPolicies,
        fc.array(
          sessionPolicies.filter((l) => l.length > 0),
          { minLength: 1, maxLength: 3 },
        ),
        bucketPolicy,
        fc.constantFrom(...ACTIONS),
        fc.constantFrom(...RESOURCES),
        fc.constantFrom(...ADDRESSES),
        (identity, chain, resource, action, res, ip) => {
          const at = (layers: readonly (readonly CompiledPolicy[])[]): string =>
            decide({
              identity,
              ...(layers.length > 0 ? { sessionLayers: layers } : {}),
              ...(resource ? { resource } : {}),
              sameAccount: true,
              facts: facts(layers.length > 0 ? 'session' : 'user', action, res, ip),
            }).effect
          if (at(chain) !== 'allow') return
          // every ancestor: the parent itself (no layer) and each shorter chain
          for (let j = 0; j < chain.length; j++) expect(at(chain.slice(0, j))).toBe('allow')
        },
      ),
      { numRuns: 400 },
    )
  })

  it('the seed-000 session policy allows only PutObject/AbortMultipartUpload under the directory', () => {
    const p = compileSessionPolicy(
      '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:PutObject","s3:AbortMultipartUpload"],"Resource":["arn:aws:s3:::your-bucket-name/your-directory/*"]}]}',
    )
    const allow = (action: string, resource: string): string =>
      decide({
        identity: [MASTER_KEY_POLICY],
        session: [p],
        sameAccount: true,
        facts: facts('session', action, resource, '10.0.0.1'),
      }).effect
    expect(allow('s3:PutObject', 'arn:aws:s3:::your-bucket-name/your-directory/a.txt')).toBe(
      'allow',
    )
    expect(
      allow('s3:AbortMultipartUpload', 'arn:aws:s3:::your-bucket-name/your-directory/a.txt'),
    ).toBe('allow')
    expect(allow('s3:PutObject', 'arn:aws:s3:::your-bucket-name/elsewhere.txt')).toBe('deny')
    expect(allow('s3:GetObject', 'arn:aws:s3:::your-bucket-name/your-directory/a.txt')).toBe('deny')
    expect(allow('s3:ListBucket', 'arn:aws:s3:::your-bucket-name')).toBe('deny')
  })
})
