import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { CompiledPolicy, checkBucketPolicyResources, heldBytes, parsePolicy } from './document.js'
import { ACTIONS } from './fixtures.case.js'
import { PolicyError, type PolicyKind } from './types.js'

const ok = { Effect: 'Allow', Action: 's3:GetObject', Resource: 'arn:aws:s3:::b/*' }
const doc = (...st: unknown[]): unknown => ({ Version: '2012-10-17', Statement: st })

function err(json: unknown, kind: PolicyKind = 'identity', maxLength?: number): string {
  try {
    parsePolicy(json, { kind, name: 't', ...(maxLength !== undefined ? { maxLength } : {}) })
  } catch (e) {
    expect(e).toBeInstanceOf(PolicyError)
    return (e as Error).message
  }
  throw new Error('expected a PolicyError')
}

describe('parsePolicy validation', () => {
  it.each<[string, unknown, PolicyKind, string]>([
    [
      'bad Effect',
      doc(ok, ok, { ...ok, Effect: 'Permit' }),
      'identity',
      'Statement[2].Effect must be Allow or Deny',
    ],
    [
      'missing Effect',
      doc({ Action: 's3:*', Resource: '*' }),
      'identity',
      'Missing required field Effect',
    ],
    [
      'unknown operator',
      doc({ ...ok, Condition: { StringEqualz: { 's3:prefix': 'x' } } }),
      'identity',
      "Unknown condition operator 'StringEqualz'",
    ],
    [
      'Principal in identity',
      doc({ ...ok, Principal: '*' }),
      'identity',
      'Principal is not allowed in identity/session policies',
    ],
    [
      'Principal in session',
      doc({ ...ok, Principal: '*' }),
      'session',
      'Principal is not allowed in identity/session policies',
    ],
    [
      'no Principal in bucket policy',
      doc(ok),
      'resource',
      'Resource-based policy must have a Principal',
    ],
    [
      'missing Resource',
      doc({ Effect: 'Allow', Action: 's3:*' }),
      'identity',
      'Missing required field Resource',
    ],
    [
      'missing Action',
      doc({ Effect: 'Allow', Resource: '*' }),
      'identity',
      'Missing required field Action',
    ],
    [
      'Action + NotAction',
      doc({ ...ok, NotAction: 's3:PutObject' }),
      'identity',
      'both Action and NotAction',
    ],
    [
      'Resource + NotResource',
      doc({ ...ok, NotResource: '*' }),
      'identity',
      'both Resource and NotResource',
    ],
    [
      'Principal + NotPrincipal',
      doc({ ...ok, Principal: '*', NotPrincipal: '*' }),
      'resource',
      'both Principal and NotPrincipal',
    ],
    [
      'bad version',
      { Version: '2010-01-01', Statement: [ok] },
      'identity',
      'Version "2010-01-01" is not supported',
    ],
    ['no Statement', { Version: '2012-10-17' }, 'identity', 'Missing required field Statement'],
    [
      'empty Statement',
      { Version: '2012-10-17', Statement: [] },
      'identity',
      'Statement must not be empty',
    ],
    [
      'unknown top field',
      { Version: '2012-10-17', Statement: [ok], Foo: 1 },
      'identity',
      "Unknown field 'Foo'",
    ],
    [
      'unknown statement field',
      doc({ ...ok, Actions: 's3:*' }),
      'identity',
      "unknown field 'Actions'",
    ],
    [
      'bad action',
      doc({ ...ok, Action: 'GetObject' }),
      'identity',
      "Statement[0].Action 'GetObject' must look like service:ActionName",
    ],
    ['bad resource', doc({ ...ok, Resource: 'bucket/key' }), 'identity', 'must be an ARN or *'],
    [
      'action not string',
      doc({ ...ok, Action: [1] }),
      'identity',
      'Statement[0].Action[0] must be a string',
    ],
    ['empty action list', doc({ ...ok, Action: [] }), 'identity', 'must not be empty'],
    ['duplicate Sid', doc({ ...ok, Sid: 'a' }, { ...ok, Sid: 'a' }), 'identity', 'must be unique'],
    ['Sid not string', doc({ ...ok, Sid: 5 }), 'identity', 'Sid must be a string'],
    [
      'bad principal',
      doc({ ...ok, Principal: { AWS: 'alice' } }),
      'resource',
      'Invalid principal in policy',
    ],
    [
      'bad principal type',
      doc({ ...ok, Principal: { Bogus: 'x' } }),
      'resource',
      "unknown principal type 'Bogus'",
    ],
    [
      'principal string',
      doc({ ...ok, Principal: 'arn:aws:iam::111122223333:root' }),
      'resource',
      'must be "*" or an object',
    ],
    [
      'condition not object',
      doc({ ...ok, Condition: [] }),
      'identity',
      'Condition must be an object',
    ],
    [
      'condition value object',
      doc({ ...ok, Condition: { StringEquals: { 's3:prefix': { a: 1 } } } }),
      'identity',
      'must be a string, number or boolean',
    ],
    ['statement not object', doc('x'), 'identity', 'Statement[0] must be an object'],
    ['not an object', [], 'identity', 'must be a JSON object'],
    ['bad JSON', '{"Version": ', 'identity', 'not valid JSON'],
    ['empty', '  ', 'identity', 'empty'],
  ])('%s', (_name, json, kind, msg) => {
    expect(err(json, kind)).toContain(msg)
  })

  it('enforces maxLength on strings and objects', () => {
    const text = JSON.stringify(doc(ok)) + ' '.repeat(2100)
    expect(err(text, 'session', 2048)).toBe(
      `Policy document length ${text.length} exceeds the limit of 2048`,
    )
    const big = doc(...Array.from({ length: 40 }, (_, i) => ({ ...ok, Sid: `S${i}` })))
    expect(err(big, 'session', 2048)).toMatch(
      /^Policy document length \d+ exceeds the limit of 2048$/,
    )
  })

  it('accepts both versions, a missing Version, and a single Statement object', () => {
    for (const v of ['2012-10-17', '2008-10-17', undefined]) {
      const p = parsePolicy(
        { ...(v ? { Version: v } : {}), Statement: ok },
        { kind: 'identity', name: 'n' },
      )
      expect(p.version).toBe(v)
      expect(p.statements).toHaveLength(1)
    }
  })

  it('normalizes text and keeps names, refs and source', () => {
    const p = parsePolicy(
      '{"Statement":[{"Resource":"*","Action":"s3:*","Effect":"Deny","Sid":"X"},{"Effect":"Allow","NotAction":["iam:*"],"NotResource":"arn:aws:s3:::b"}],"Version":"2012-10-17"}',
      { kind: 'session', name: 'session-policy' },
    )
    expect(p.text).toBe(
      '{"Version":"2012-10-17","Statement":[{"Sid":"X","Effect":"Deny","Action":["s3:*"],"Resource":["*"]},{"Effect":"Allow","NotAction":["iam:*"],"NotResource":["arn:aws:s3:::b"]}]}',
    )
    expect(p.source).toBe('session')
    expect(p.statements.map((s) => s.ref)).toEqual([
      { policy: 'session-policy', source: 'session', sid: 'X', effect: 'Deny' },
      { policy: 'session-policy', source: 'session', sid: '#1', effect: 'Allow' },
    ])
    // round trip
    expect(parsePolicy(p.text, { kind: 'session', name: 'x' }).text).toBe(p.text)
  })

  it('accepts numbers and booleans as condition values and principal forms', () => {
    const p = parsePolicy(
      doc({
        ...ok,
        Principal: {
          AWS: [
            '111122223333',
            'arn:aws:iam::111122223333:root',
            'arn:aws:iam::111122223333:user/a',
            'arn:aws:iam::111122223333:role/path/r',
            'arn:aws:sts::111122223333:assumed-role/r/s',
          ],
          Service: 'cloudfront.amazonaws.com',
        },
        Condition: {
          NumericLessThan: { 's3:max-keys': 10 },
          Bool: { 'aws:SecureTransport': true },
        },
      }),
      { kind: 'resource', name: 'bp' },
    )
    expect(p.statements[0]?.principal?.accounts.has('111122223333')).toBe(true)
    expect(p.statements[0]?.principal?.rolePrefixes).toEqual([
      'arn:aws:sts::111122223333:assumed-role/r/',
    ])
  })

  it('checks bucket policy resources', () => {
    const p = parsePolicy(
      doc({ ...ok, Principal: '*', Resource: ['arn:aws:s3:::b', 'arn:aws:s3:::b/*'] }),
      { kind: 'resource', name: 'bp' },
    )
    expect(() => checkBucketPolicyResources(p, 'b')).not.toThrow()
    expect(() => checkBucketPolicyResources(p, 'c')).toThrow('Policy has invalid resource')
  })

  it('never throws anything but PolicyError on random JSON', () => {
    const statementish = fc.record(
      {
        Sid: fc.oneof(fc.string(), fc.integer()),
        Effect: fc.constantFrom('Allow', 'Deny', 'allow', 1),
        Action: fc.oneof(
          fc.constantFrom('s3:*', 's3:Get?bject', '*', 'bad', ''),
          fc.array(fc.string(), { maxLength: 3 }),
        ),
        NotAction: fc.constantFrom('s3:PutObject'),
        Resource: fc.oneof(
          fc.constantFrom('*', 'arn:aws:s3:::b/${aws:username}', 'arn:x'),
          fc.jsonValue(),
        ),
        Principal: fc.oneof(
          fc.constantFrom('*', { AWS: '111122223333' }, { AWS: 'x' }),
          fc.jsonValue(),
        ),
        Condition: fc.oneof(
          fc.dictionary(
            fc.constantFrom(
              'StringEquals',
              'ForAllValues:StringLike',
              'IpAddress',
              'DateLessThan',
              'Null',
              'NumericEquals',
              'Bool',
              'BinaryEquals',
              'ArnLike',
              'X',
            ),
            fc.dictionary(
              fc.constantFrom('aws:SourceIp', 's3:prefix', 'bad key', 'x:y'),
              fc.jsonValue({ maxDepth: 2 }),
            ),
          ),
          fc.jsonValue({ maxDepth: 2 }),
        ),
      },
      { requiredKeys: [] },
    )
    const docs = fc.oneof(
      fc.jsonValue(),
      fc.record(
        {
          Version: fc.constantFrom('2012-10-17', '2008-10-17', 'x'),
          Statement: fc.oneof(statementish, fc.array(statementish, { maxLength: 4 })),
        },
        { requiredKeys: [] },
      ),
      fc.string(),
    )
    fc.assert(
      fc.property(
        docs,
        fc.constantFrom<PolicyKind>('identity', 'resource', 'session'),
        (d, kind) => {
          try {
            parsePolicy(d, { kind, name: 'r', maxLength: 4096 })
          } catch (e) {
            if (!(e instanceof PolicyError)) throw e
          }
        },
      ),
      { numRuns: 1500 },
    )
  })
})

describe('statementsFor(action, resource): the per-bucket index never drops a candidate', () => {
  const PATTERNS = [
    '*',
    'arn:aws:s3:::b',
    'arn:aws:s3:::b/*',
    'arn:aws:s3:::b/k?y',
    'arn:aws:s3:::bb/*',
    'arn:aws:s3:::b*',
    'arn:aws:s3:::b?/x',
    'arn:aws:s3:::*/k',
    'arn:aws:s3:::${aws:username}/*',
    'arn:aws:s3:::c/${aws:username}/*',
    'arn:aws:s3:::c',
    'arn:aws:sts::123456789012:assumed-role/r/*',
    'arn:aws:s3:::b/',
  ]
  const VALUES = [
    'arn:aws:s3:::b',
    'arn:aws:s3:::b/',
    'arn:aws:s3:::b/key',
    'arn:aws:s3:::b/kay',
    'arn:aws:s3:::bb/x',
    'arn:aws:s3:::b1/x',
    'arn:aws:s3:::c',
    'arn:aws:s3:::c/alice/1',
    'arn:aws:s3:::alice/z',
    'arn:aws:s3:::*',
    'arn:aws:s3:::',
    '*',
    'arn:aws:sts::123456789012:assumed-role/r/s',
  ]
  const arbSt = fc.record({
    Effect: fc.constantFrom('Allow', 'Deny'),
    Action: fc.constantFrom('s3:GetObject', 's3:*', '*', 's3:PutObject'),
    res: fc.subarray(PATTERNS, { minLength: 1 }),
    not: fc.boolean(),
  })
  it('returns every statement whose Action and Resource match, in document order', () => {
    const ctx = new Map([['aws:username', ['alice']]])
    fc.assert(
      fc.property(
        fc.array(arbSt, { minLength: 1, maxLength: 8 }),
        fc.constantFrom(...VALUES),
        fc.constantFrom('s3:GetObject', 's3:PutObject'),
        (sts, value, action) => {
          const p = parsePolicy(
            doc(
              ...sts.map((s) => ({
                Effect: s.Effect,
                Action: s.Action,
                [s.not ? 'NotResource' : 'Resource']: s.res,
              })),
            ),
            { kind: 'identity', name: 't' },
          )
          const all = p.statementsFor(action)
          const picked = p.statementsFor(action, value)
          const expected = all.filter((st) => st.matchesResource(value, ctx))
          for (const st of expected) expect(picked).toContain(st)
          // a subset of the action's statements, in the same order
          const positions = picked.map((st) => all.indexOf(st))
          expect(positions.every((x) => x >= 0)).toBe(true)
          expect([...positions].sort((a, b) => a - b)).toEqual(positions)
        },
      ),
      { numRuns: 2000 },
    )
  })

  it('leaves out statements about other named buckets', () => {
    const p = parsePolicy(
      doc(
        { Effect: 'Allow', Action: 's3:GetObject', Resource: 'arn:aws:s3:::a/*' },
        {
          Effect: 'Allow',
          Action: 's3:GetObject',
          Resource: ['arn:aws:s3:::b', 'arn:aws:s3:::b/*'],
        },
        { Effect: 'Deny', Action: 's3:*', NotResource: 'arn:aws:s3:::a/*' },
        { Effect: 'Allow', Action: 's3:GetObject', Resource: 'arn:aws:s3:::c*/*' },
      ),
      { kind: 'identity', name: 't' },
    )
    const sids = (r: string): number[] => p.statementsFor('s3:GetObject', r).map((s) => s.index)
    expect(sids('arn:aws:s3:::a/k')).toEqual([0, 2, 3])
    expect(sids('arn:aws:s3:::b')).toEqual([1, 2, 3])
    expect(sids('arn:aws:s3:::zzz/k')).toEqual([2, 3])
    expect(p.statementsFor('s3:GetObject').map((s) => s.index)).toEqual([0, 1, 2, 3])
  })
})

describe('action tests shared between statements and policies (a policy is kept per session)', () => {
  const st = (p: ReturnType<typeof parsePolicy>, i: number) => p.statements[i]
  it('the same action list shares one test; a different list never gets another one', () => {
    const a = parsePolicy(
      doc(
        { ...ok, Action: ['s3:GetObject', 's3:ListBucket'] },
        { ...ok, Action: ['s3:GetObject', 's3:ListBucket'] },
        { ...ok, Action: ['s3:GetObject'] },
        { ...ok, Action: ['s3:ListBucket', 's3:GetObject'] },
      ),
      { kind: 'identity', name: 'a' },
    )
    const b = parsePolicy(doc({ ...ok, Action: ['s3:GetObject', 's3:ListBucket'] }), {
      kind: 'session',
      name: 'b',
    })
    expect(st(a, 1)?.matchesAction).toBe(st(a, 0)?.matchesAction)
    expect(st(b, 0)?.matchesAction).toBe(st(a, 0)?.matchesAction)
    expect(st(a, 2)?.matchesAction).not.toBe(st(a, 0)?.matchesAction)
    expect(st(a, 2)?.matchesAction('s3:listbucket')).toBe(false)
    expect(st(a, 2)?.matchesAction('s3:getobject')).toBe(true)
    expect(st(a, 3)?.matchesAction('s3:listbucket')).toBe(true)
  })

  it('NotAction negates the shared test without changing it for Action statements', () => {
    const p = parsePolicy(
      doc(
        { ...ok, Action: 's3:PutObject' },
        { Effect: 'Deny', NotAction: 's3:PutObject', Resource: '*' },
      ),
      { kind: 'identity', name: 'n' },
    )
    expect(st(p, 0)?.matchesAction('s3:putobject')).toBe(true)
    expect(st(p, 1)?.matchesAction('s3:putobject')).toBe(false)
    expect(st(p, 1)?.matchesAction('s3:getobject')).toBe(true)
  })

  it('a refused action is refused every time, and many distinct lists stay correct', () => {
    for (let i = 0; i < 2; i++)
      expect(err(doc({ ...ok, Action: ['s3:GetObject', 'bad action'] }))).toMatch(
        /must look like service:ActionName/,
      )
    for (let i = 0; i < 1500; i++) {
      const p = parsePolicy(doc({ ...ok, Action: [`s3:Get${String(i)}`, 's3:Put*'] }), {
        kind: 'identity',
        name: 'm',
      })
      expect(st(p, 0)?.matchesAction(`s3:get${String(i)}`)).toBe(true)
      expect(st(p, 0)?.matchesAction(`s3:get${String(i + 1)}`)).toBe(false)
      expect(st(p, 0)?.matchesAction('s3:putanything')).toBe(true)
    }
  })
})

describe('releasable policies (session policies): statements let go and rebuilt from the text', () => {
  const session = (st: unknown[], name = 'session-policy'): ReturnType<typeof parsePolicy> =>
    parsePolicy(doc(...st), { kind: 'session', name, source: 'session', releasable: true })
  /** Compile another releasable policy: with no room for two, every one before it lets go. */
  const pushOut = (): void => {
    const was = CompiledPolicy.holdAtMost(0)
    session([{ Effect: 'Allow', Action: 's3:PutObject', Resource: 'arn:aws:s3:::b/u/*' }])
    CompiledPolicy.holdAtMost(was)
  }

  it('lets go of the oldest beyond the bound in bytes, and only releasable ones', () => {
    const was = CompiledPolicy.holdAtMost(0)
    try {
      const kept = parsePolicy(doc(ok), { kind: 'identity', name: 'i' })
      const p = session([ok])
      expect(p.held).toBe(true) // the newest always holds its statements
      const q = session([{ ...ok, Resource: 'arn:aws:s3:::c/*' }])
      expect([p.held, q.held, kept.held]).toEqual([false, true, true])
      // Used again: rebuilt, and the newest.
      expect(p.statementsFor('s3:GetObject', 'arn:aws:s3:::b/k').map((s) => s.index)).toEqual([0])
      expect([p.held, q.held]).toEqual([true, false])
      // Room for both: both hold once used.
      CompiledPolicy.holdAtMost(heldBytes(p.text) + heldBytes(q.text))
      expect(q.statementsFor('s3:GetObject').length).toBe(1)
      expect([p.held, q.held]).toEqual([true, true])
      // Room for one less: the oldest lets go.
      CompiledPolicy.holdAtMost(heldBytes(p.text) + heldBytes(q.text) - 1)
      expect([p.held, q.held]).toEqual([false, true])
    } finally {
      CompiledPolicy.holdAtMost(was)
    }
  })

  it('keeps exactly the newest that fit, across thousands compiled (the list compacts itself)', () => {
    const at = (i: number) =>
      session([{ ...ok, Resource: `arn:aws:s3:::b/${String(i).padStart(5, '0')}/*` }])
    const one = heldBytes(at(0).text)
    const was = CompiledPolicy.holdAtMost(3 * one)
    try {
      const all = Array.from({ length: 5000 }, (_, i) => at(i))
      expect(all.filter((p) => p.held).length).toBe(3)
      expect(all.slice(-3).every((p) => p.held)).toBe(true)
      // The oldest used again: rebuilt, and the then-oldest of the three lets go.
      expect(all[0]!.statementsFor('s3:GetObject').length).toBe(1)
      expect(all.filter((p) => p.held).length).toBe(3)
      expect([all[0]!.held, all[4997]!.held, all[4999]!.held]).toEqual([true, false, true])
    } finally {
      CompiledPolicy.holdAtMost(was)
    }
  })

  const VALUES = [
    'arn:aws:s3:::b',
    'arn:aws:s3:::b/key',
    'arn:aws:s3:::b/alice/x',
    'arn:aws:s3:::c/1',
    'arn:aws:s3:::bb/x',
  ]
  const CONDITIONS = [
    undefined,
    { StringLike: { 's3:prefix': ['alice/*', 'pub/'] } },
    { StringEquals: { 'aws:username': '${aws:username}' } },
    { IpAddress: { 'aws:SourceIp': '10.0.0.0/8' } },
    { NumericLessThanEquals: { 's3:max-keys': 10 } },
    { Bool: { 'aws:SecureTransport': true } },
  ]
  const arbSt = fc.record({
    Sid: fc.option(fc.constantFrom('A', 'B', 'C', ''), { nil: undefined }),
    Effect: fc.constantFrom('Allow', 'Deny'),
    act: fc.subarray(['s3:GetObject', 's3:Put*', 's3:*', '*', 's3:List?ucket'], { minLength: 1 }),
    notAction: fc.boolean(),
    res: fc.subarray(
      [
        '*',
        'arn:aws:s3:::b',
        'arn:aws:s3:::b/*',
        'arn:aws:s3:::b/${aws:username}/*',
        'arn:aws:s3:::c/?',
      ],
      { minLength: 1 },
    ),
    notResource: fc.boolean(),
    cond: fc.constantFrom(...CONDITIONS),
  })
  const request = (user: string, prefix: string, ip: string, maxKeys: string, tls: string) =>
    new Map([
      ['aws:username', [user]],
      ['s3:prefix', [prefix]],
      ['aws:sourceip', [ip]],
      ['s3:max-keys', [maxKeys]],
      ['aws:securetransport', [tls]],
    ])
  const CTXS = [
    new Map<string, string[]>(),
    request('alice', 'alice/1', '10.1.2.3', '5', 'true'),
    request('bob', 'pub/', '192.168.0.1', '50', 'false'),
  ]
  /** What a policy answers for every action, resource and context here. */
  const answers = (p: ReturnType<typeof parsePolicy>): string[] => {
    const out: string[] = []
    for (const a of ACTIONS)
      for (const v of VALUES)
        for (const ctx of CTXS)
          for (const st of p.statementsFor(a, v))
            out.push(
              `${a} ${v} ${st.index} ${st.ref.sid} ${st.effect} ${String(st.matchesResource(v, ctx))} ${st.conditions.map((c) => String(c(ctx))).join(',')}`,
            )
    return out
  }

  it('answers exactly as before once rebuilt (property)', () => {
    fc.assert(
      fc.property(fc.array(arbSt, { minLength: 1, maxLength: 5 }), (sts) => {
        const seen = new Set<string>()
        const list = sts.map((s) => {
          const sid = s.Sid !== undefined && s.Sid !== '' && !seen.has(s.Sid) ? s.Sid : undefined
          if (sid !== undefined) seen.add(sid)
          return {
            ...(sid !== undefined ? { Sid: sid } : {}),
            Effect: s.Effect,
            [s.notAction ? 'NotAction' : 'Action']: s.act,
            [s.notResource ? 'NotResource' : 'Resource']: s.res,
            ...(s.cond !== undefined ? { Condition: s.cond } : {}),
          }
        })
        const p = session(list, 'session-policy-1')
        const before = answers(p)
        const text = p.text
        pushOut()
        expect(p.held).toBe(false)
        expect(answers(p)).toEqual(before)
        expect(p.held).toBe(true)
        expect(p.text).toBe(text)
        expect(p.statements.map((s) => s.ref)).toEqual(
          parsePolicy(doc(...list), {
            kind: 'session',
            name: 'session-policy-1',
            source: 'session',
          }).statements.map((s) => s.ref),
        )
      }),
      { numRuns: 60 },
    )
  })
})
