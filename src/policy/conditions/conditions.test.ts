import { describe, expect, it } from 'vitest'
import { PolicyError } from '../types.js'
import { compileCondition, OPERATOR_NAMES } from './index.js'
import { ipInAny, parseCidr, parseIPv4 } from './ip.js'

type Ctx = Record<string, string | string[]>
function run(op: string, key: string, values: string[], ctx: Ctx, variables = true): boolean {
  const m = new Map<string, readonly string[]>()
  for (const [k, v] of Object.entries(ctx)) m.set(k.toLowerCase(), typeof v === 'string' ? [v] : v)
  return compileCondition(op, key, values, variables, 'Statement[0].Condition')(m)
}

// [operator, key, policy values, request context, expected]
const CASES: [string, string, string[], Ctx, boolean][] = [
  // String
  ['StringEquals', 's3:prefix', ['home/'], { 's3:prefix': 'home/' }, true],
  ['StringEquals', 's3:prefix', ['home/'], { 's3:prefix': 'Home/' }, false],
  ['StringEquals', 's3:prefix', ['a', 'home/'], { 's3:prefix': 'home/' }, true],
  ['StringEquals', 's3:prefix', ['home/'], {}, false],
  ['StringEquals', 's3:prefix', ['h*'], { 's3:prefix': 'home' }, false],
  ['StringNotEquals', 's3:prefix', ['home/'], { 's3:prefix': 'x' }, true],
  ['StringNotEquals', 's3:prefix', ['home/'], { 's3:prefix': 'home/' }, false],
  ['StringNotEquals', 's3:prefix', ['home/'], {}, true],
  ['StringEqualsIgnoreCase', 's3:prefix', ['HOME/'], { 's3:prefix': 'home/' }, true],
  ['StringNotEqualsIgnoreCase', 's3:prefix', ['HOME/'], { 's3:prefix': 'home/' }, false],
  ['StringNotEqualsIgnoreCase', 's3:prefix', ['HOME/'], { 's3:prefix': 'other' }, true],
  ['StringLike', 's3:prefix', ['home/*'], { 's3:prefix': 'home/x/y' }, true],
  ['StringLike', 's3:prefix', ['home/?'], { 's3:prefix': 'home/xy' }, false],
  ['StringNotLike', 's3:prefix', ['home/*'], { 's3:prefix': 'tmp/' }, true],
  ['StringNotLike', 's3:prefix', ['home/*'], { 's3:prefix': 'home/a' }, false],
  ['StringNotLike', 's3:prefix', ['home/*'], {}, true],
  // IfExists
  ['StringEqualsIfExists', 's3:prefix', ['home/'], {}, true],
  ['StringEqualsIfExists', 's3:prefix', ['home/'], { 's3:prefix': 'x' }, false],
  ['StringLikeIfExists', 's3:prefix', ['h*'], { 's3:prefix': 'hx' }, true],
  ['NumericLessThanIfExists', 's3:max-keys', ['10'], {}, true],
  ['BoolIfExists', 'aws:SecureTransport', ['true'], {}, true],
  ['IpAddressIfExists', 'aws:SourceIp', ['10.0.0.0/8'], { 'aws:sourceip': '11.0.0.1' }, false],
  // keys are case-insensitive
  ['StringEquals', 'S3:PREFIX', ['home/'], { 's3:prefix': 'home/' }, true],
  ['stringequals', 's3:prefix', ['home/'], { 's3:prefix': 'home/' }, true],
  // Numeric
  ['NumericEquals', 's3:max-keys', ['10'], { 's3:max-keys': '10' }, true],
  ['NumericEquals', 's3:max-keys', ['10'], { 's3:max-keys': '10.0' }, true],
  ['NumericEquals', 's3:max-keys', ['10'], { 's3:max-keys': 'ten' }, false],
  ['NumericNotEquals', 's3:max-keys', ['10'], { 's3:max-keys': '11' }, true],
  ['NumericNotEquals', 's3:max-keys', ['10'], { 's3:max-keys': '10' }, false],
  ['NumericLessThan', 's3:max-keys', ['10'], { 's3:max-keys': '9' }, true],
  ['NumericLessThan', 's3:max-keys', ['10'], { 's3:max-keys': '10' }, false],
  ['NumericLessThanEquals', 's3:max-keys', ['10'], { 's3:max-keys': '10' }, true],
  ['NumericGreaterThan', 's3:max-keys', ['10'], { 's3:max-keys': '11' }, true],
  ['NumericGreaterThan', 's3:max-keys', ['10'], { 's3:max-keys': '10' }, false],
  ['NumericGreaterThanEquals', 's3:max-keys', ['10'], { 's3:max-keys': '10' }, true],
  ['NumericGreaterThanEquals', 's3:max-keys', ['10'], {}, false],
  // Date (ISO and epoch seconds on either side)
  [
    'DateLessThan',
    'aws:CurrentTime',
    ['2026-01-01T00:00:00Z'],
    { 'aws:currenttime': '2025-12-31T23:59:59Z' },
    true,
  ],
  [
    'DateLessThan',
    'aws:CurrentTime',
    ['2026-01-01T00:00:00Z'],
    { 'aws:currenttime': '2026-01-01T00:00:00Z' },
    false,
  ],
  [
    'DateLessThanEquals',
    'aws:CurrentTime',
    ['2026-01-01T00:00:00Z'],
    { 'aws:currenttime': '2026-01-01T00:00:00Z' },
    true,
  ],
  [
    'DateGreaterThan',
    'aws:CurrentTime',
    ['2026-01-01'],
    { 'aws:currenttime': '2026-01-02T00:00:00Z' },
    true,
  ],
  [
    'DateGreaterThanEquals',
    'aws:EpochTime',
    ['1767225600'],
    { 'aws:epochtime': '1767225600' },
    true,
  ],
  [
    'DateEquals',
    'aws:EpochTime',
    ['2026-01-01T00:00:00Z'],
    { 'aws:epochtime': '1767225600' },
    true,
  ],
  [
    'DateNotEquals',
    'aws:EpochTime',
    ['2026-01-01T00:00:00Z'],
    { 'aws:epochtime': '1767225601' },
    true,
  ],
  [
    'DateLessThan',
    'aws:CurrentTime',
    ['2026-01-01T00:00:00Z'],
    { 'aws:currenttime': 'yesterday' },
    false,
  ],
  // Bool
  ['Bool', 'aws:SecureTransport', ['true'], { 'aws:securetransport': 'true' }, true],
  ['Bool', 'aws:SecureTransport', ['true'], { 'aws:securetransport': 'TRUE' }, true],
  ['Bool', 'aws:SecureTransport', ['false'], { 'aws:securetransport': 'true' }, false],
  ['Bool', 'aws:SecureTransport', ['false'], {}, false],
  // Binary
  ['BinaryEquals', 'x:bin', ['QmluYXJ5'], { 'x:bin': 'QmluYXJ5' }, true],
  ['BinaryEquals', 'x:bin', ['QmluYXJ5'], { 'x:bin': 'QmluYXJ6' }, false],
  ['BinaryEquals', 'x:bin', ['QmluYXJ5'], { 'x:bin': 'not base64!' }, false],
  // IP v4 / v6
  ['IpAddress', 'aws:SourceIp', ['203.0.113.0/24'], { 'aws:sourceip': '203.0.113.9' }, true],
  ['IpAddress', 'aws:SourceIp', ['203.0.113.0/24'], { 'aws:sourceip': '203.0.114.9' }, false],
  ['IpAddress', 'aws:SourceIp', ['203.0.113.7'], { 'aws:sourceip': '203.0.113.7' }, true],
  ['IpAddress', 'aws:SourceIp', ['0.0.0.0/0'], { 'aws:sourceip': '8.8.8.8' }, true],
  ['IpAddress', 'aws:SourceIp', ['2001:db8::/32'], { 'aws:sourceip': '2001:db8:1::5' }, true],
  ['IpAddress', 'aws:SourceIp', ['2001:db8::/32'], { 'aws:sourceip': '2001:db9::5' }, false],
  ['IpAddress', 'aws:SourceIp', ['2001:db8:0:0:0:0:0:1'], { 'aws:sourceip': '2001:db8::1' }, true],
  ['IpAddress', 'aws:SourceIp', ['10.0.0.0/8'], { 'aws:sourceip': '::ffff:10.1.2.3' }, true],
  ['IpAddress', 'aws:SourceIp', ['10.0.0.0/8'], { 'aws:sourceip': '2001:db8::1' }, false],
  ['IpAddress', 'aws:SourceIp', ['2001:db8::/32'], { 'aws:sourceip': '10.0.0.1' }, false],
  ['IpAddress', 'aws:SourceIp', ['10.0.0.0/8'], { 'aws:sourceip': 'garbage' }, false],
  ['NotIpAddress', 'aws:SourceIp', ['10.0.0.0/8'], { 'aws:sourceip': '11.0.0.1' }, true],
  ['NotIpAddress', 'aws:SourceIp', ['10.0.0.0/8'], { 'aws:sourceip': '10.0.0.1' }, false],
  ['NotIpAddress', 'aws:SourceIp', ['10.0.0.0/8'], {}, true],
  // Arn
  [
    'ArnEquals',
    'aws:PrincipalArn',
    ['arn:aws:iam::111122223333:user/alice'],
    { 'aws:principalarn': 'arn:aws:iam::111122223333:user/alice' },
    true,
  ],
  [
    'ArnLike',
    'aws:PrincipalArn',
    ['arn:aws:iam::*:user/a*'],
    { 'aws:principalarn': 'arn:aws:iam::111122223333:user/alice' },
    true,
  ],
  [
    'ArnLike',
    'aws:PrincipalArn',
    ['arn:aws:iam::*:user/b*'],
    { 'aws:principalarn': 'arn:aws:iam::111122223333:user/alice' },
    false,
  ],
  [
    'ArnNotLike',
    'aws:PrincipalArn',
    ['arn:aws:iam::*:user/b*'],
    { 'aws:principalarn': 'arn:aws:iam::111122223333:user/alice' },
    true,
  ],
  ['ArnNotEquals', 'aws:PrincipalArn', ['arn:aws:iam::1:user/x'], {}, true],
  // Null
  ['Null', 's3:prefix', ['true'], {}, true],
  ['Null', 's3:prefix', ['true'], { 's3:prefix': 'x' }, false],
  ['Null', 's3:prefix', ['false'], { 's3:prefix': 'x' }, true],
  ['Null', 's3:prefix', ['false'], {}, false],
  ['Null', 's3:prefix', ['true'], { 's3:prefix': [] }, true],
  // multi-valued request keys without a qualifier
  [
    'StringEquals',
    's3:requestobjecttagkeys',
    ['a'],
    { 's3:requestobjecttagkeys': ['b', 'a'] },
    true,
  ],
  [
    'StringNotEquals',
    's3:requestobjecttagkeys',
    ['a'],
    { 's3:requestobjecttagkeys': ['b', 'a'] },
    false,
  ],
  // ForAnyValue / ForAllValues incl. empty and missing sets
  [
    'ForAnyValue:StringEquals',
    's3:requestobjecttagkeys',
    ['a', 'b'],
    { 's3:requestobjecttagkeys': ['x', 'b'] },
    true,
  ],
  [
    'ForAnyValue:StringEquals',
    's3:requestobjecttagkeys',
    ['a', 'b'],
    { 's3:requestobjecttagkeys': ['x', 'y'] },
    false,
  ],
  ['ForAnyValue:StringEquals', 's3:requestobjecttagkeys', ['a'], {}, false],
  [
    'ForAnyValue:StringEquals',
    's3:requestobjecttagkeys',
    ['a'],
    { 's3:requestobjecttagkeys': [] },
    false,
  ],
  ['ForAnyValue:StringEqualsIfExists', 's3:requestobjecttagkeys', ['a'], {}, true],
  [
    'ForAllValues:StringEquals',
    's3:requestobjecttagkeys',
    ['a', 'b'],
    { 's3:requestobjecttagkeys': ['a', 'b'] },
    true,
  ],
  [
    'ForAllValues:StringEquals',
    's3:requestobjecttagkeys',
    ['a', 'b'],
    { 's3:requestobjecttagkeys': ['a', 'c'] },
    false,
  ],
  ['ForAllValues:StringEquals', 's3:requestobjecttagkeys', ['a'], {}, true],
  [
    'ForAllValues:StringEquals',
    's3:requestobjecttagkeys',
    ['a'],
    { 's3:requestobjecttagkeys': [] },
    true,
  ],
  [
    'ForAllValues:StringNotEquals',
    's3:requestobjecttagkeys',
    ['secret'],
    { 's3:requestobjecttagkeys': ['a', 'b'] },
    true,
  ],
  [
    'ForAllValues:StringNotEquals',
    's3:requestobjecttagkeys',
    ['secret'],
    { 's3:requestobjecttagkeys': ['a', 'secret'] },
    false,
  ],
  [
    'ForAnyValue:StringNotEquals',
    's3:requestobjecttagkeys',
    ['a'],
    { 's3:requestobjecttagkeys': ['a', 'b'] },
    true,
  ],
  [
    'ForAnyValue:StringNotEquals',
    's3:requestobjecttagkeys',
    ['a'],
    { 's3:requestobjecttagkeys': ['a'] },
    false,
  ],
  [
    'ForAllValues:StringLike',
    's3:requestobjecttagkeys',
    ['p-*'],
    { 's3:requestobjecttagkeys': ['p-1', 'p-2'] },
    true,
  ],
  ['ForAnyValue:NumericLessThan', 'x:n', ['5'], { 'x:n': ['9', '4'] }, true],
  // variables and escapes in condition values
  [
    'StringEquals',
    's3:prefix',
    ['home/${aws:username}/'],
    { 's3:prefix': 'home/alice/', 'aws:username': 'alice' },
    true,
  ],
  [
    'StringEquals',
    's3:prefix',
    ['home/${aws:username}/'],
    { 's3:prefix': 'home/bob/', 'aws:username': 'alice' },
    false,
  ],
  ['StringEquals', 's3:prefix', ['home/${aws:username}/'], { 's3:prefix': 'home//' }, false],
  ['StringNotEquals', 's3:prefix', ['home/${aws:username}/'], { 's3:prefix': 'home//' }, false],
  [
    'StringEquals',
    's3:prefix',
    ["home/${aws:username, 'guest'}/"],
    { 's3:prefix': 'home/guest/' },
    true,
  ],
  [
    'StringLike',
    's3:prefix',
    ['${aws:username}/*'],
    { 's3:prefix': 'alice/x', 'aws:username': 'alice' },
    true,
  ],
  ['StringLike', 's3:prefix', ['a${*}b'], { 's3:prefix': 'a*b' }, true],
  ['StringLike', 's3:prefix', ['a${*}b'], { 's3:prefix': 'axb' }, false],
  ['StringEquals', 's3:prefix', ['${$}{x}${?}'], { 's3:prefix': '${x}?' }, true],
  [
    'StringEqualsIgnoreCase',
    's3:prefix',
    ['HOME/${aws:username}'],
    { 's3:prefix': 'home/ALICE', 'aws:username': 'alice' },
    true,
  ],
  [
    'ArnLike',
    'aws:PrincipalArn',
    ['arn:aws:iam::*:user/${aws:username}'],
    { 'aws:principalarn': 'arn:aws:iam::1:user/alice', 'aws:username': 'alice' },
    true,
  ],
]

describe('condition operators', () => {
  it.each(CASES)('%s %s %j with %j → %s', (op, key, values, ctx, want) => {
    expect(run(op, key, values, ctx)).toBe(want)
  })

  it('covers every operator family', () => {
    const used = new Set(
      CASES.map(([op]) =>
        op
          .replace(/^For(Any|All)Values?:/, '')
          .replace(/IfExists$/, '')
          .toLowerCase(),
      ),
    )
    for (const name of OPERATOR_NAMES) expect(used, name).toContain(name.toLowerCase())
  })

  it('version 2008-10-17 treats ${...} as text', () => {
    expect(
      run(
        'StringEquals',
        's3:prefix',
        ['${aws:username}'],
        { 's3:prefix': '${aws:username}', 'aws:username': 'a' },
        false,
      ),
    ).toBe(true)
  })

  it.each([
    ['StringEqualz', 's3:prefix', ['x'], "Unknown condition operator 'StringEqualz'"],
    ['ForSomeValues:StringEquals', 's3:prefix', ['x'], 'Unknown condition operator'],
    ['NullIfExists', 's3:prefix', ['true'], 'Unknown condition operator'],
    ['Null', 's3:prefix', ['maybe'], 'not a boolean'],
    ['Bool', 'aws:SecureTransport', ['yes'], 'not a boolean'],
    ['NumericEquals', 's3:max-keys', ['ten'], 'not a number'],
    ['DateLessThan', 'aws:CurrentTime', ['soon'], 'not a date'],
    ['IpAddress', 'aws:SourceIp', ['10.0.0.0/33'], 'not an IP address'],
    ['IpAddress', 'aws:SourceIp', ['1.2.3'], 'not an IP address'],
    ['IpAddress', 'aws:SourceIp', ['2001:db8::/129'], 'not an IP address'],
    ['BinaryEquals', 'x:b', ['***'], 'not base64'],
    ['ArnLike', 'aws:PrincipalArn', ['alice'], 'not an ARN'],
    ['StringEquals', 'noprefix', ['x'], 'invalid condition key'],
    ['StringEquals', 's3:prefix', [], 'has no values'],
  ])('%s %s %j is rejected: %s', (op, key, values, msg) => {
    expect(() => run(op, key, values, {})).toThrow(PolicyError)
    expect(() => run(op, key, values, {})).toThrow(msg)
  })
})

describe('IP parsing', () => {
  it('parses v4 strictly', () => {
    expect(parseIPv4('1.2.3.4')).toBe(0x01020304)
    expect(parseIPv4('255.255.255.255')).toBe(0xffffffff)
    for (const bad of ['1.2.3', '1.2.3.4.5', '256.1.1.1', '01.2.3.4', '1..2.3', 'a.b.c.d', ''])
      expect(parseIPv4(bad)).toBe(-1)
  })
  it('parses v6 forms', () => {
    for (const ok of [
      '::',
      '::1',
      'fe80::1',
      '2001:db8::',
      '1:2:3:4:5:6:7:8',
      '::ffff:1.2.3.4',
      '1::8',
    ]) {
      expect(parseCidr(ok), ok).toBeDefined()
    }
    for (const bad of ['1:2:3:4:5:6:7:8:9', '1::2::3', '12345::', 'fe80::1%eth0', ':::'])
      expect(parseCidr(bad), bad).toBeUndefined()
  })
  it('prefix boundaries', () => {
    const b = [parseCidr('192.168.1.128/25')!]
    expect(ipInAny('192.168.1.127', b)).toBe(false)
    expect(ipInAny('192.168.1.128', b)).toBe(true)
    expect(ipInAny('192.168.1.255', b)).toBe(true)
    const c = [parseCidr('2001:db8:abcd:12::/63')!]
    expect(ipInAny('2001:db8:abcd:13::1', c)).toBe(true)
    expect(ipInAny('2001:db8:abcd:14::1', c)).toBe(false)
    expect(ipInAny('::', [parseCidr('::/0')!])).toBe(true)
  })
})
