import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { decide, type DecideInput } from './combine.js'
import type { CompiledPolicy } from './document.js'
import { evaluatePolicy } from './evaluate.js'
import {
  ACCT,
  ACTIONS,
  ALICE,
  OTHER,
  alice,
  aliceSession,
  allow,
  anon,
  bob,
  deny,
  facts,
  pol,
  type P,
} from './fixtures.case.js'
import { parsePolicy } from './document.js'
import type { Decision, RequestFacts } from './types.js'

const verdict = (d: Decision): string =>
  d.effect === 'allow' ? 'allow' : d.explicit ? `explicit:${d.source}` : `implicit:${d.reason}`

function run(o: {
  identity?: CompiledPolicy[]
  resource?: CompiledPolicy
  session?: CompiledPolicy[]
  sameAccount?: boolean
  f?: RequestFacts
}): string {
  const input: DecideInput = {
    identity: o.identity ?? [],
    ...(o.resource ? { resource: o.resource } : {}),
    ...(o.session ? { session: o.session } : {}),
    sameAccount: o.sameAccount ?? true,
    facts: o.f ?? facts({}),
  }
  return verdict(decide(input))
}

const bp = (st: Record<string, unknown>[]): CompiledPolicy => pol(st, 'resource', 'bucket-policy')

describe('evaluatePolicy', () => {
  const cases: [
    string,
    Record<string, unknown>,
    Partial<Parameters<typeof facts>[0]>,
    'allow' | 'none',
  ][] = [
    ['exact action', allow(), {}, 'allow'],
    ['action is case-insensitive', allow({ Action: 'S3:getobject' }), {}, 'allow'],
    ['action wildcard', allow({ Action: 's3:Get*' }), {}, 'allow'],
    [
      'request action in any case',
      allow({ Action: 's3:Get*' }),
      { action: 'S3:GETOBJECT' },
      'allow',
    ],
    ['action ? wildcard', allow({ Action: 's3:GetObjec?' }), {}, 'allow'],
    ['other action', allow({ Action: 's3:PutObject' }), {}, 'none'],
    ['Action *', allow({ Action: '*' }), {}, 'allow'],
    ['NotAction excludes', allow({ Action: undefined, NotAction: 's3:GetObject' }), {}, 'none'],
    ['NotAction includes others', allow({ Action: undefined, NotAction: 's3:Put*' }), {}, 'allow'],
    ['resource is case-sensitive', allow({ Resource: 'arn:aws:s3:::B/*' }), {}, 'none'],
    [
      'NotResource excludes',
      allow({ Resource: undefined, NotResource: 'arn:aws:s3:::b/*' }),
      {},
      'none',
    ],
    [
      'NotResource includes others',
      allow({ Resource: undefined, NotResource: 'arn:aws:s3:::secret/*' }),
      {},
      'allow',
    ],
    [
      'resource variable',
      allow({ Resource: 'arn:aws:s3:::b/${aws:username}/*' }),
      { resource: 'arn:aws:s3:::b/alice/x', ctx: { 'aws:username': 'alice' } },
      'allow',
    ],
    [
      'resource variable other user',
      allow({ Resource: 'arn:aws:s3:::b/${aws:username}/*' }),
      { resource: 'arn:aws:s3:::b/bob/x', ctx: { 'aws:username': 'alice' } },
      'none',
    ],
    [
      'missing variable never matches',
      allow({ Resource: 'arn:aws:s3:::b/${aws:username}/*' }),
      { resource: 'arn:aws:s3:::b//x' },
      'none',
    ],
    [
      'escape ${*} is literal',
      allow({ Resource: 'arn:aws:s3:::b/${*}' }),
      { resource: 'arn:aws:s3:::b/*' },
      'allow',
    ],
    [
      'escape ${*} not a wildcard',
      allow({ Resource: 'arn:aws:s3:::b/${*}' }),
      { resource: 'arn:aws:s3:::b/x' },
      'none',
    ],
    [
      'condition holds',
      allow({ Condition: { Bool: { 'aws:SecureTransport': 'true' } } }),
      { ctx: { 'aws:SecureTransport': 'true' } },
      'allow',
    ],
    [
      'condition fails',
      allow({ Condition: { Bool: { 'aws:SecureTransport': 'true' } } }),
      { ctx: { 'aws:SecureTransport': 'false' } },
      'none',
    ],
    [
      'all conditions must hold',
      allow({
        Condition: { Bool: { 'aws:SecureTransport': 'true' }, StringEquals: { 's3:prefix': 'a' } },
      }),
      { ctx: { 'aws:SecureTransport': 'true' } },
      'none',
    ],
  ]
  it.each(cases)('%s', (_n, st, f, want) => {
    const clean = Object.fromEntries(Object.entries(st).filter(([, v]) => v !== undefined))
    const m = evaluatePolicy(pol([clean]), facts(f))
    expect(m.denies).toHaveLength(0)
    expect(m.allows.length > 0 ? 'allow' : 'none').toBe(want)
  })

  it('2008-10-17 does not substitute variables', () => {
    const p = pol(
      [allow({ Resource: 'arn:aws:s3:::b/${aws:username}/*' })],
      'identity',
      'p',
      '2008-10-17',
    )
    expect(
      evaluatePolicy(
        p,
        facts({ resource: 'arn:aws:s3:::b/alice/x', ctx: { 'aws:username': 'alice' } }),
      ).allows,
    ).toHaveLength(0)
    expect(
      evaluatePolicy(p, facts({ resource: 'arn:aws:s3:::b/${aws:username}/x' })).allows,
    ).toHaveLength(1)
  })
})

describe('Principal matching (bucket policies)', () => {
  const sessionOfRole: P = {
    kind: 'session',
    arn: `arn:aws:sts::${ACCT}:assumed-role/Deploy/job1`,
    accountId: ACCT,
    parentArn: `arn:aws:iam::${ACCT}:role/Deploy`,
  }
  const cases: [string, unknown, P, boolean][] = [
    ['* matches anonymous', '*', anon, true],
    ['AWS * matches anonymous', { AWS: '*' }, anon, true],
    ['account id matches its user', { AWS: ACCT }, alice, true],
    ['account id does not match anonymous', { AWS: ACCT }, anon, false],
    ['root ARN = whole account', { AWS: `arn:aws:iam::${ACCT}:root` }, alice, true],
    ['root ARN other account', { AWS: `arn:aws:iam::${OTHER}:root` }, alice, false],
    ['user ARN', { AWS: ALICE }, alice, true],
    ['user ARN other user', { AWS: ALICE }, bob, false],
    ['user ARN matches its session via parentArn', { AWS: ALICE }, aliceSession, true],
    ['session ARN', { AWS: aliceSession.arn }, aliceSession, true],
    [
      'role ARN matches its sessions',
      { AWS: `arn:aws:iam::${ACCT}:role/Deploy` },
      sessionOfRole,
      true,
    ],
    [
      'role ARN by prefix without parentArn',
      { AWS: `arn:aws:iam::${ACCT}:role/Deploy` },
      (({ parentArn: _, ...rest }) => rest as P)(sessionOfRole),
      true,
    ],
    ['role ARN other role', { AWS: `arn:aws:iam::${ACCT}:role/Other` }, sessionOfRole, false],
    ['service principal never matches', { Service: 'cloudfront.amazonaws.com' }, alice, false],
  ]
  it.each(cases)('%s', (_n, principal, who, want) => {
    const p = bp([allow({ Principal: principal })])
    expect(evaluatePolicy(p, facts({ principal: who })).allows.length > 0).toBe(want)
  })
  it('NotPrincipal applies to everyone else', () => {
    const p = bp([deny({ NotPrincipal: { AWS: ALICE } })])
    expect(evaluatePolicy(p, facts({ principal: alice })).denies).toHaveLength(0)
    expect(evaluatePolicy(p, facts({ principal: bob })).denies).toHaveLength(1)
    expect(evaluatePolicy(p, facts({ principal: anon })).denies).toHaveLength(1)
  })
})

describe('decide', () => {
  const A = pol([allow({ Sid: 'A' })], 'identity', 'a')
  const D = pol([deny({ Sid: 'D' })], 'identity', 'd')
  const SA = pol([allow({ Sid: 'SA' })], 'session', 'sp')
  const SNone = pol([allow({ Sid: 'SP', Action: 's3:PutObject' })], 'session', 'sp')
  const SD = pol(
    [deny({ Sid: 'SD' }), allow({ Sid: 'SA2', Action: '*', Resource: '*' })],
    'session',
    'sp',
  )
  const bpAll = bp([allow({ Principal: '*' })])
  const bpDeny = bp([deny({ Principal: '*' })])
  const bpAlice = bp([allow({ Principal: { AWS: ALICE } })])
  const bpSession = bp([allow({ Principal: { AWS: aliceSession.arn } })])
  const bpBob = bp([allow({ Principal: { AWS: OTHER } })])
  const cases: [string, Parameters<typeof run>[0], string][] = [
    ['nothing → implicit deny', {}, 'implicit:no-identity-allow'],
    ['identity allow', { identity: [A] }, 'allow'],
    ['deny beats allow across policies', { identity: [A, D] }, 'explicit:identity'],
    ['deny beats allow, other order', { identity: [D, A] }, 'explicit:identity'],
    [
      'bucket policy deny beats identity allow',
      { identity: [A], resource: bpDeny },
      'explicit:resource',
    ],
    [
      'session deny beats everything',
      { identity: [A], resource: bpAll, session: [SD], f: facts({ principal: aliceSession }) },
      'explicit:session',
    ],
    ['same account: bucket policy alone is enough', { resource: bpAlice }, 'allow'],
    [
      'cross-account: identity alone is not enough',
      { identity: [A], sameAccount: false, f: facts({ principal: bob }) },
      'implicit:no-resource-allow',
    ],
    [
      'cross-account: bucket policy alone is not enough',
      { resource: bpBob, sameAccount: false, f: facts({ principal: bob }) },
      'implicit:no-identity-allow',
    ],
    [
      'cross-account: both → allow',
      { identity: [A], resource: bpBob, sameAccount: false, f: facts({ principal: bob }) },
      'allow',
    ],
    [
      'anonymous: bucket policy * → allow',
      { resource: bpAll, sameAccount: false, f: facts({ principal: anon }) },
      'allow',
    ],
    [
      'anonymous: no bucket policy',
      { sameAccount: false, f: facts({ principal: anon }) },
      'implicit:no-resource-allow',
    ],
    [
      'anonymous: account principal does not cover anonymous',
      {
        resource: bp([allow({ Principal: { AWS: ACCT } })]),
        sameAccount: false,
        f: facts({ principal: anon }),
      },
      'implicit:no-resource-allow',
    ],
    [
      'session: identity ∩ session allow',
      { identity: [A], session: [SA], f: facts({ principal: aliceSession }) },
      'allow',
    ],
    [
      'session: session policy does not allow',
      { identity: [A], session: [SNone], f: facts({ principal: aliceSession }) },
      'implicit:session-policy-no-allow',
    ],
    [
      'session: session policy alone grants nothing',
      { session: [SA], f: facts({ principal: aliceSession }) },
      'implicit:no-identity-allow',
    ],
    [
      'session: empty session list allows nothing',
      { identity: [A], session: [], f: facts({ principal: aliceSession }) },
      'implicit:session-policy-no-allow',
    ],
    [
      'session: bucket policy naming the parent is limited by the session policy',
      { resource: bpAlice, session: [SNone], f: facts({ principal: aliceSession }) },
      'implicit:no-identity-allow',
    ],
    [
      'session: bucket policy naming the parent + session allow',
      { resource: bpAlice, session: [SA], f: facts({ principal: aliceSession }) },
      'allow',
    ],
    [
      'session: bucket policy naming the session ARN is not limited',
      { resource: bpSession, session: [SNone], f: facts({ principal: aliceSession }) },
      'allow',
    ],
    [
      'session: no session policy → parent rights',
      { identity: [A], f: facts({ principal: aliceSession }) },
      'allow',
    ],
  ]
  it.each(cases)('%s', (_n, o, want) => {
    expect(run(o)).toBe(want)
  })

  describe('session layers (role chaining): every layer must allow', () => {
    const SPut = pol([allow({ Sid: 'SPut', Action: 's3:*', Resource: '*' })], 'session', 'wide')
    const f = facts({ principal: aliceSession })
    const layered = (o: Omit<DecideInput, 'facts' | 'sameAccount'>): string =>
      verdict(decide({ sameAccount: true, facts: f, ...o }))
    const layerCases: [string, Omit<DecideInput, 'facts' | 'sameAccount'>, string][] = [
      ['one layer = the old session list', { identity: [A], sessionLayers: [[SA]] }, 'allow'],
      [
        'a wider later layer does not widen an earlier one',
        { identity: [A], sessionLayers: [[SNone], [SPut]] },
        'implicit:session-policy-no-allow',
      ],
      [
        '…whereas one flat list would union them',
        { identity: [A], session: [SNone, SPut] },
        'allow',
      ],
      [
        'a narrower later layer narrows',
        { identity: [A], sessionLayers: [[SPut], [SNone]] },
        'implicit:session-policy-no-allow',
      ],
      ['all layers allow', { identity: [A], sessionLayers: [[SPut], [SA], [SNone, SA]] }, 'allow'],
      [
        'a Deny in any layer wins',
        { identity: [A], sessionLayers: [[SA], [SD]] },
        'explicit:session',
      ],
      [
        'an empty layer allows nothing',
        { identity: [A], sessionLayers: [[SA], []] },
        'implicit:session-policy-no-allow',
      ],
      ['no layers = no session policy', { identity: [A], sessionLayers: [] }, 'allow'],
      [
        'sessionLayers takes precedence over session',
        { identity: [A], session: [SA], sessionLayers: [[SNone]] },
        'implicit:session-policy-no-allow',
      ],
      [
        'bucket grant to the parent is limited by every layer',
        { identity: [], resource: bpAlice, sessionLayers: [[SA], [SNone]] },
        'implicit:no-identity-allow',
      ],
      [
        'bucket grant to the parent passes when every layer allows',
        { identity: [], resource: bpAlice, sessionLayers: [[SA], [SPut]] },
        'allow',
      ],
      [
        'bucket grant naming the session ARN is not limited',
        { identity: [], resource: bpSession, sessionLayers: [[SNone], [SNone]] },
        'allow',
      ],
    ]
    it.each(layerCases)('%s', (_n, o, want) => {
      expect(layered(o)).toBe(want)
    })

    it('reports the allows of every layer', () => {
      const d = decide({
        identity: [A],
        sessionLayers: [[SPut], [SA]],
        sameAccount: true,
        facts: f,
      })
      expect(d.effect === 'allow' && d.matched.map((m) => m.sid)).toEqual(['A', 'SA', 'SPut'])
    })
  })

  it('reports matched statements sorted, and denies with their source', () => {
    const d = decide({
      identity: [A, pol([allow({ Sid: 'B', Action: 's3:*' })], 'identity', '0-first')],
      sameAccount: true,
      facts: facts({}),
    })
    expect(d).toEqual({
      effect: 'allow',
      matched: [
        { policy: '0-first', source: 'identity', sid: 'B', effect: 'Allow' },
        { policy: 'a', source: 'identity', sid: 'A', effect: 'Allow' },
      ],
    })
    const x = decide({ identity: [A, D], resource: bpDeny, sameAccount: true, facts: facts({}) })
    expect(x.effect === 'deny' && x.explicit && x.matched.map((m) => m.sid)).toEqual(['D', '#0'])
  })
})

// ---------- property tests ----------

const RESOURCES = [
  'arn:aws:s3:::b',
  'arn:aws:s3:::b/k',
  'arn:aws:s3:::b/home/alice/x',
  'arn:aws:s3:::c/k',
]
const arbStatement = fc.record({
  Effect: fc.constantFrom('Allow', 'Allow', 'Deny'),
  Action: fc.oneof(
    fc.constantFrom('*', 's3:*', 's3:Get*', 's3:*Object', ...ACTIONS),
    fc.subarray(ACTIONS, { minLength: 1 }),
  ),
  Resource: fc.constantFrom(
    '*',
    'arn:aws:s3:::b/*',
    'arn:aws:s3:::b',
    'arn:aws:s3:::?/k',
    'arn:aws:s3:::b/home/${aws:username}/*',
    'arn:aws:s3:::c/*',
  ),
  Condition: fc.option(
    fc.constantFrom(
      { Bool: { 'aws:SecureTransport': 'true' } },
      { IpAddress: { 'aws:SourceIp': '10.0.0.0/8' } },
      { StringLikeIfExists: { 's3:prefix': 'home/*' } },
      { 'ForAllValues:StringEquals': { 's3:requestobjecttagkeys': ['a', 'b'] } },
      { Null: { 's3:prefix': 'true' } },
    ),
    { nil: undefined },
  ),
})
const clean = (s: Record<string, unknown>): Record<string, unknown> =>
  Object.fromEntries(Object.entries(s).filter(([, v]) => v !== undefined))
const arbStatements = fc.array(arbStatement, { minLength: 1, maxLength: 5 })
const arbFacts = fc.record({
  action: fc.constantFrom(...ACTIONS),
  resource: fc.constantFrom(...RESOURCES),
  secure: fc.constantFrom('true', 'false'),
  ip: fc.constantFrom('10.1.1.1', '192.168.0.1'),
  tags: fc.constantFrom<string[]>([], ['a'], ['a', 'c']),
  who: fc.constantFrom<P>(alice, aliceSession, bob, anon),
})
function toFacts(f: {
  action: string
  resource: string
  secure: string
  ip: string
  tags: string[]
  who: P
}): RequestFacts {
  return facts({
    action: f.action,
    resource: f.resource,
    principal: f.who,
    ctx: {
      'aws:SecureTransport': f.secure,
      'aws:SourceIp': f.ip,
      's3:RequestObjectTagKeys': f.tags,
      ...(f.who === alice || f.who === aliceSession ? { 'aws:username': 'alice' } : {}),
    },
  })
}
const mkIdentity = (sts: Record<string, unknown>[][]): CompiledPolicy[] =>
  sts.map((s, i) => pol(s.map(clean), 'identity', `p${i}`))
const mkBucket = (sts: Record<string, unknown>[], principals: unknown[]): CompiledPolicy =>
  parsePolicy(
    {
      Version: '2012-10-17',
      Statement: sts.map((s, i) => ({ ...clean(s), Principal: principals[i % principals.length] })),
    },
    { kind: 'resource', name: 'bp' },
  )
const arbPrincipal = fc.constantFrom<unknown>(
  '*',
  { AWS: ACCT },
  { AWS: ALICE },
  { AWS: aliceSession.arn },
  { AWS: OTHER },
)

const normalize = (d: Decision): string => {
  const m =
    d.effect === 'allow' || d.explicit
      ? [...d.matched]
          .map((r) => `${r.policy}/${r.sid}`)
          .sort()
          .join(',')
      : ''
  return `${verdict(d)}|${m}`
}

describe('decide properties', () => {
  it('adding a Deny never turns a deny into an allow (and allow into allow only if the Deny misses)', () => {
    fc.assert(
      fc.property(
        fc.array(arbStatements, { maxLength: 3 }),
        arbStatements,
        fc.array(arbPrincipal, { minLength: 1, maxLength: 3 }),
        arbStatement,
        fc.boolean(),
        arbFacts,
        (ids, bst, prs, extra, toBucket, f) => {
          const facts0 = toFacts(f)
          const identity = f.who.kind === 'anonymous' ? [] : mkIdentity(ids)
          const sameAccount = f.who.kind !== 'anonymous' && f.who.accountId === ACCT
          const base = decide({
            identity,
            resource: mkBucket(bst, prs),
            sameAccount,
            facts: facts0,
          })
          const d = { ...extra, Effect: 'Deny' }
          const paired = bst.map((s, i) => ({ ...clean(s), Principal: prs[i % prs.length] }))
          const withDeny = parsePolicy(
            { Version: '2012-10-17', Statement: [...paired, { ...clean(d), Principal: '*' }] },
            { kind: 'resource', name: 'bp' },
          )
          const more = toBucket
            ? decide({ identity, resource: withDeny, sameAccount, facts: facts0 })
            : decide({
                identity: [...identity, pol([clean(d)], 'identity', 'extra')],
                resource: mkBucket(bst, prs),
                sameAccount,
                facts: facts0,
              })
          if (base.effect === 'deny') expect(more.effect).toBe('deny')
          if (base.effect === 'deny' && base.explicit)
            expect(more.effect === 'deny' && more.explicit).toBe(true)
        },
      ),
      { numRuns: 400 },
    )
  })

  it('the decision does not depend on statement or policy order', () => {
    fc.assert(
      fc.property(
        fc.array(arbStatements, { minLength: 1, maxLength: 3 }),
        arbStatements,
        fc.array(arbPrincipal, { minLength: 1, maxLength: 3 }),
        fc.option(arbStatements, { nil: undefined }),
        arbFacts,
        fc.boolean(),
        (ids, bst, prs, ses, f, same) => {
          const facts0 = toFacts(f)
          const a = decide({
            identity: mkIdentity(ids),
            resource: mkBucket(bst, prs),
            ...(ses ? { session: [pol(ses.map(clean), 'session', 's')] } : {}),
            sameAccount: same,
            facts: facts0,
          })
          // reverse policies and statements (keeping policy names and principal pairing)
          const revIds = ids
            .map((s, i) => pol([...s].reverse().map(clean), 'identity', `p${i}`))
            .reverse()
          const pairs = bst
            .map((s, i) => ({ ...clean(s), Principal: prs[i % prs.length] }))
            .reverse()
          const revB = parsePolicy(
            { Version: '2012-10-17', Statement: pairs },
            { kind: 'resource', name: 'bp' },
          )
          const b = decide({
            identity: revIds,
            resource: revB,
            ...(ses ? { session: [pol([...ses].reverse().map(clean), 'session', 's')] } : {}),
            sameAccount: same,
            facts: facts0,
          })
          expect(verdict(b)).toBe(verdict(a))
          // matched sets are equal up to the statement-index sids, which reversal renames
          expect(b.effect === 'allow' || b.explicit ? b.matched.length : 0).toBe(
            a.effect === 'allow' || a.explicit ? a.matched.length : 0,
          )
        },
      ),
      { numRuns: 400 },
    )
  })

  it("a session's allowed set is a subset of its parent's", () => {
    fc.assert(
      fc.property(
        fc.array(arbStatements, { minLength: 1, maxLength: 3 }),
        arbStatements,
        fc.array(arbStatements, { maxLength: 2 }),
        arbFacts,
        (ids, bst, sess, f) => {
          const identity = mkIdentity(ids)
          // bucket policy naming the parent or the account (not the session ARN itself)
          const resource = mkBucket(bst, [{ AWS: ALICE }, { AWS: ACCT }])
          const pf = toFacts({ ...f, who: alice })
          const sf = toFacts({ ...f, who: aliceSession })
          const parent = decide({ identity, resource, sameAccount: true, facts: pf })
          const child = decide({
            identity,
            resource,
            session: sess.map((s, i) => pol(s.map(clean), 'session', `s${i}`)),
            sameAccount: true,
            facts: sf,
          })
          if (child.effect === 'allow') expect(parent.effect).toBe('allow')
        },
      ),
      { numRuns: 400 },
    )
  })

  it('adding a layer never widens: chain ⊆ every prefix of the chain', () => {
    fc.assert(
      fc.property(
        fc.array(arbStatements, { minLength: 1, maxLength: 3 }),
        arbStatements,
        fc.array(fc.array(arbStatements, { minLength: 1, maxLength: 2 }), {
          minLength: 1,
          maxLength: 3,
        }),
        arbFacts,
        (ids, bst, chain, f) => {
          const identity = mkIdentity(ids)
          const resource = mkBucket(bst, [{ AWS: ALICE }, { AWS: ACCT }])
          const layers = chain.map((l, j) =>
            l.map((s, i) => pol(s.map(clean), 'session', `s${j}-${i}`)),
          )
          const sf = toFacts({ ...f, who: aliceSession })
          const child = decide({
            identity,
            resource,
            sessionLayers: layers,
            sameAccount: true,
            facts: sf,
          })
          if (child.effect !== 'allow') return
          expect(
            decide({ identity, resource, sameAccount: true, facts: toFacts({ ...f, who: alice }) })
              .effect,
          ).toBe('allow')
          for (let j = 1; j < layers.length; j++) {
            expect(
              decide({
                identity,
                resource,
                sessionLayers: layers.slice(0, j),
                sameAccount: true,
                facts: sf,
              }).effect,
            ).toBe('allow')
            // and every single layer on its own
            expect(
              decide({
                identity,
                resource,
                sessionLayers: [layers[j]!],
                sameAccount: true,
                facts: sf,
              }).effect,
            ).toBe('allow')
          }
        },
      ),
      { numRuns: 300 },
    )
  })

  it('normalize helper is stable', () => {
    expect(normalize({ effect: 'deny', explicit: false, reason: 'no-identity-allow' })).toBe(
      'implicit:no-identity-allow|',
    )
  })
})

describe('decide: an S3 ACL grant as one more allow source', () => {
  const withAcl = (o: {
    identity?: CompiledPolicy[]
    resource?: CompiledPolicy
    session?: CompiledPolicy[]
    sameAccount: boolean
    f: RequestFacts
  }): string =>
    verdict(
      decide({
        identity: o.identity ?? [],
        ...(o.resource ? { resource: o.resource } : {}),
        ...(o.session ? { session: o.session } : {}),
        sameAccount: o.sameAccount,
        facts: o.f,
        aclAllow: true,
      }),
    )
  it('lets an anonymous caller in alone, but never past an explicit Deny', () => {
    expect(withAcl({ sameAccount: false, f: facts({ principal: anon }) })).toBe('allow')
    expect(
      withAcl({
        resource: bp([deny({ Principal: '*' })]),
        sameAccount: false,
        f: facts({ principal: anon }),
      }),
    ).toBe('explicit:resource')
  })
  it('across accounts it is the resource side only: the identity policy must allow too', () => {
    expect(withAcl({ sameAccount: false, f: facts({ principal: bob }) })).toBe(
      'implicit:no-identity-allow',
    )
    expect(
      withAcl({ identity: [pol([allow()])], sameAccount: false, f: facts({ principal: bob }) }),
    ).toBe('allow')
  })
  it('a session policy still bounds it', () => {
    expect(
      withAcl({
        identity: [pol([allow()])],
        session: [pol([allow({ Action: 's3:PutObject' })], 'session')],
        sameAccount: false,
        f: facts({ principal: aliceSession }),
      }),
    ).toBe('implicit:session-policy-no-allow')
  })
})
