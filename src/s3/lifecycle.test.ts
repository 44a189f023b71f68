import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { S3Error } from './errors.js'
import {
  DAY_MS,
  afterDays,
  expirationHeader,
  objectExpiry,
  parseLifecycleXml,
  parseStoredLifecycle,
  renderLifecycleXml,
  ruleMatches,
  serializeLifecycle,
  uploadAbortAt,
  type LifecycleObject,
  type LifecycleRule,
} from './lifecycle.js'

const NS = 'http://s3.amazonaws.com/doc/2006-03-01/'
const cfg = (rules: string): string =>
  `<?xml version="1.0" encoding="UTF-8"?><LifecycleConfiguration xmlns="${NS}">${rules}</LifecycleConfiguration>`

function code(f: () => unknown): string {
  try {
    f()
  } catch (e) {
    if (e instanceof S3Error) return `${e.code}`
    throw e
  }
  return 'ok'
}

const obj = (over: Partial<LifecycleObject> = {}): LifecycleObject => ({
  key: 'logs/a.txt',
  size: 100,
  lastModified: Date.UTC(2014, 0, 15, 10, 30),
  tags: {},
  ...over,
})

describe('parseLifecycleXml', () => {
  it('reads what the SDK sends: Filter/Prefix, Expiration Days, abort, ID, Status', () => {
    const rules = parseLifecycleXml(
      cfg(
        '<Rule><Expiration><Days>3</Days></Expiration><ID>logs</ID><Filter><Prefix>logs/</Prefix></Filter>' +
          '<Status>Enabled</Status><AbortIncompleteMultipartUpload><DaysAfterInitiation>7</DaysAfterInitiation></AbortIncompleteMultipartUpload></Rule>',
      ),
    )
    expect(rules).toEqual([
      {
        id: 'logs',
        enabled: true,
        filter: { form: 'filter', prefix: 'logs/', tags: [] },
        expiration: { days: 3 },
        abortIncompleteAfterDays: 7,
      },
    ])
  })

  it('reads the legacy rule-level Prefix, And, Tag, sizes, Date, a pretty-printed document', () => {
    const rules = parseLifecycleXml(`<LifecycleConfiguration>
      <Rule>
        <ID>old</ID>
        <Prefix>tmp/</Prefix>
        <Status>Disabled</Status>
        <Expiration><Date>2030-01-01T00:00:00.000Z</Date></Expiration>
      </Rule>
      <Rule>
        <ID>and</ID>
        <Filter>
          <And>
            <Prefix>p/</Prefix>
            <Tag><Key>a</Key><Value>1</Value></Tag>
            <Tag><Key>b</Key><Value>2</Value></Tag>
            <ObjectSizeGreaterThan>10</ObjectSizeGreaterThan>
            <ObjectSizeLessThan>1000</ObjectSizeLessThan>
          </And>
        </Filter>
        <Status>Enabled</Status>
        <Expiration><Days>1</Days></Expiration>
      </Rule>
      <Rule><ID>tag</ID><Filter><Tag><Key>t</Key><Value>v</Value></Tag></Filter><Status>Enabled</Status><Expiration><Days>2</Days></Expiration></Rule>
      <Rule><ID>all</ID><Filter></Filter><Status>Enabled</Status><Expiration><Days>2</Days></Expiration></Rule>
      <Rule><ID>gt</ID><Filter><ObjectSizeGreaterThan>5</ObjectSizeGreaterThan></Filter><Status>Enabled</Status><Expiration><Days>2</Days></Expiration></Rule>
    </LifecycleConfiguration>`)
    expect(rules.map((r) => r.filter)).toEqual([
      { form: 'legacy', prefix: 'tmp/', tags: [] },
      {
        form: 'and',
        prefix: 'p/',
        tags: [
          { key: 'a', value: '1' },
          { key: 'b', value: '2' },
        ],
        sizeGreaterThan: 10,
        sizeLessThan: 1000,
      },
      { form: 'filter', tags: [{ key: 't', value: 'v' }] },
      { form: 'filter', tags: [] },
      { form: 'filter', tags: [], sizeGreaterThan: 5 },
    ])
    expect(rules[0]?.expiration).toEqual({ date: Date.UTC(2030, 0, 1) })
    expect(rules[0]?.enabled).toBe(false)
  })

  it('gives a rule without an ID a stable one', () => {
    const xml = cfg(
      '<Rule><Filter><Prefix>a</Prefix></Filter><Status>Enabled</Status><Expiration><Days>1</Days></Expiration></Rule>',
    )
    const a = parseLifecycleXml(xml)[0]?.id
    expect(a).toMatch(/^[A-Za-z0-9]{20,}$/)
    expect(parseLifecycleXml(xml)[0]?.id).toBe(a)
  })

  const rule = (body: string): string => cfg(`<Rule>${body}</Rule>`)
  const ok = '<Status>Enabled</Status><Expiration><Days>1</Days></Expiration>'
  it.each([
    ['no rule at all', cfg(''), 'MalformedXML'],
    ['not a lifecycle document', '<Tagging/>', 'MalformedXML'],
    ['not XML', 'nope', 'MalformedXML'],
    ['neither Filter nor Prefix', rule(ok), 'MalformedXML'],
    ['both Filter and Prefix', rule(`<Prefix/><Filter/>${ok}`), 'MalformedXML'],
    [
      'a bad Status',
      rule('<Filter/><Status>On</Status><Expiration><Days>1</Days></Expiration>'),
      'MalformedXML',
    ],
    ['no Status', rule('<Filter/><Expiration><Days>1</Days></Expiration>'), 'MalformedXML'],
    ['an unknown element', rule(`<Filter/>${ok}<Colour>red</Colour>`), 'MalformedXML'],
    [
      'two predicates in a Filter',
      rule(`<Filter><Prefix>a</Prefix><ObjectSizeLessThan>5</ObjectSizeLessThan></Filter>${ok}`),
      'MalformedXML',
    ],
    ['an empty And', rule(`<Filter><And></And></Filter>${ok}`), 'MalformedXML'],
    ['no action', rule('<Filter/><Status>Enabled</Status>'), 'InvalidArgument'],
    [
      'Days 0',
      rule('<Filter/><Status>Enabled</Status><Expiration><Days>0</Days></Expiration>'),
      'InvalidArgument',
    ],
    [
      'Days negative',
      rule('<Filter/><Status>Enabled</Status><Expiration><Days>-1</Days></Expiration>'),
      'InvalidArgument',
    ],
    [
      'Days not a number',
      rule('<Filter/><Status>Enabled</Status><Expiration><Days>x</Days></Expiration>'),
      'MalformedXML',
    ],
    [
      'Days and Date',
      rule(
        '<Filter/><Status>Enabled</Status><Expiration><Days>1</Days><Date>2030-01-01T00:00:00Z</Date></Expiration>',
      ),
      'MalformedXML',
    ],
    [
      'a Date not at midnight',
      rule(
        '<Filter/><Status>Enabled</Status><Expiration><Date>2030-01-01T10:00:00Z</Date></Expiration>',
      ),
      'InvalidArgument',
    ],
    [
      'a Date that is no date',
      rule('<Filter/><Status>Enabled</Status><Expiration><Date>soon</Date></Expiration>'),
      'MalformedXML',
    ],
    [
      'DaysAfterInitiation 0',
      rule(
        '<Filter/><Status>Enabled</Status><AbortIncompleteMultipartUpload><DaysAfterInitiation>0</DaysAfterInitiation></AbortIncompleteMultipartUpload>',
      ),
      'InvalidArgument',
    ],
    [
      'abort with a tag filter',
      rule(
        '<Filter><Tag><Key>a</Key><Value>b</Value></Tag></Filter><Status>Enabled</Status><AbortIncompleteMultipartUpload><DaysAfterInitiation>1</DaysAfterInitiation></AbortIncompleteMultipartUpload>',
      ),
      'InvalidArgument',
    ],
    [
      'abort with a size filter',
      rule(
        '<Filter><ObjectSizeLessThan>9</ObjectSizeLessThan></Filter><Status>Enabled</Status><AbortIncompleteMultipartUpload><DaysAfterInitiation>1</DaysAfterInitiation></AbortIncompleteMultipartUpload>',
      ),
      'InvalidArgument',
    ],
    [
      'sizes the wrong way round',
      rule(
        `<Filter><And><ObjectSizeGreaterThan>9</ObjectSizeGreaterThan><ObjectSizeLessThan>9</ObjectSizeLessThan></And></Filter>${ok}`,
      ),
      'InvalidArgument',
    ],
    [
      'duplicate tag keys',
      rule(
        `<Filter><And><Tag><Key>a</Key><Value>1</Value></Tag><Tag><Key>a</Key><Value>2</Value></Tag></And></Filter>${ok}`,
      ),
      'InvalidArgument',
    ],
    [
      'a tag without a key',
      rule(`<Filter><Tag><Value>1</Value></Tag></Filter>${ok}`),
      'MalformedXML',
    ],
    ['an ID too long', rule(`<ID>${'x'.repeat(256)}</ID><Filter/>${ok}`), 'InvalidArgument'],
    [
      'a Transition',
      rule(
        `<Filter/>${ok}<Transition><Days>1</Days><StorageClass>GLACIER</StorageClass></Transition>`,
      ),
      'NotImplemented',
    ],
    [
      'a noncurrent expiration',
      rule(
        `<Filter/><Status>Enabled</Status><NoncurrentVersionExpiration><NoncurrentDays>1</NoncurrentDays></NoncurrentVersionExpiration>`,
      ),
      'NotImplemented',
    ],
  ])('refuses %s', (_name, xml, expected) => {
    expect(code(() => parseLifecycleXml(xml))).toBe(expected)
  })

  it('refuses two rules with one ID', () => {
    const r = `<Rule><ID>same</ID><Filter/>${ok}</Rule>`
    expect(code(() => parseLifecycleXml(cfg(r + r)))).toBe('InvalidArgument')
  })

  it('refuses more than 1000 rules', () => {
    const many = Array.from({ length: 1001 }, (_, i) => `<Rule><ID>r${i}</ID><Filter/>${ok}</Rule>`)
    expect(code(() => parseLifecycleXml(cfg(many.join(''))))).toBe('InvalidArgument')
  })
})

// Arbitrary documents: sometimes valid, mostly not.
const leafText = fc.oneof(
  fc.constantFrom('', '0', '1', '7', '-1', 'x', 'Enabled', 'Disabled', '2030-01-01T00:00:00Z'),
  fc.string({ maxLength: 6 }),
)
const xmlText = (s: string): string =>
  s.replace(/[<>&]/g, (c) => (c === '<' ? '&lt;' : c === '>' ? '&gt;' : '&amp;'))
const NAMES = [
  'Rule',
  'ID',
  'Status',
  'Prefix',
  'Filter',
  'And',
  'Tag',
  'Key',
  'Value',
  'ObjectSizeGreaterThan',
  'ObjectSizeLessThan',
  'Expiration',
  'Days',
  'Date',
  'ExpiredObjectDeleteMarker',
  'AbortIncompleteMultipartUpload',
  'DaysAfterInitiation',
  'Transition',
]
const { tree } = fc.letrec<{ tree: string }>((tie) => ({
  tree: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    leafText.map(xmlText),
    fc
      .tuple(fc.constantFrom(...NAMES), fc.array(tie('tree'), { maxLength: 4 }))
      .map(([n, kids]) => `<${n}>${kids.join('')}</${n}>`),
  ),
}))

// Valid rules, built from the model.
const tagArb = fc.record({
  key: fc.string({ minLength: 1, maxLength: 8 }).filter((s) => s.trim() === s && s !== ''),
  value: fc.string({ maxLength: 8 }).filter((s) => s.trim() === s),
})
const validRuleXml = fc
  .record({
    id: fc.stringMatching(/^[A-Za-z0-9 ._-]{1,12}$/),
    enabled: fc.boolean(),
    prefix: fc.string({ maxLength: 8 }),
    form: fc.constantFrom('legacy', 'prefix', 'tag', 'and', 'empty'),
    tag: tagArb,
    exp: fc.oneof(
      fc.record({ days: fc.integer({ min: 1, max: 100000 }) }),
      fc.record({ date: fc.integer({ min: 0, max: 40000 }).map((d) => d * DAY_MS) }),
      fc.constant(undefined),
    ),
    abort: fc.option(fc.integer({ min: 1, max: 1000 }), { nil: undefined }),
  })
  .filter(
    (r) => r.exp !== undefined || (r.abort !== undefined && r.form !== 'tag' && r.form !== 'and'),
  )
  .map((r) => {
    const filter =
      r.form === 'legacy'
        ? `<Prefix>${xmlText(r.prefix)}</Prefix>`
        : r.form === 'prefix'
          ? `<Filter><Prefix>${xmlText(r.prefix)}</Prefix></Filter>`
          : r.form === 'tag'
            ? `<Filter><Tag><Key>${xmlText(r.tag.key)}</Key><Value>${xmlText(r.tag.value)}</Value></Tag></Filter>`
            : r.form === 'and'
              ? `<Filter><And><Prefix>${xmlText(r.prefix)}</Prefix><Tag><Key>${xmlText(r.tag.key)}</Key><Value>${xmlText(r.tag.value)}</Value></Tag></And></Filter>`
              : '<Filter></Filter>'
    const exp =
      r.exp === undefined
        ? ''
        : 'days' in r.exp
          ? `<Expiration><Days>${r.exp.days}</Days></Expiration>`
          : `<Expiration><Date>${new Date(r.exp.date).toISOString()}</Date></Expiration>`
    const abort =
      r.abort === undefined || r.form === 'tag' || r.form === 'and'
        ? ''
        : `<AbortIncompleteMultipartUpload><DaysAfterInitiation>${r.abort}</DaysAfterInitiation></AbortIncompleteMultipartUpload>`
    return {
      id: r.id,
      xml: `<ID>${xmlText(r.id)}</ID>${filter}<Status>${r.enabled ? 'Enabled' : 'Disabled'}</Status>${exp}${abort}`,
    }
  })

describe('parseLifecycleXml properties', () => {
  it('never throws anything but an S3Error, whatever the document', () => {
    fc.assert(
      fc.property(fc.array(tree, { maxLength: 3 }), (kids) => {
        const xml = cfg(kids.join(''))
        try {
          parseLifecycleXml(xml)
        } catch (e) {
          if (!(e instanceof S3Error)) throw e
        }
      }),
      { numRuns: 2000 },
    )
  })

  it('round-trips: what GET renders parses to the same rules, and so does the stored form', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(validRuleXml, { minLength: 1, maxLength: 5, selector: (r) => r.id }),
        (rules) => {
          const parsed = parseLifecycleXml(cfg(rules.map((r) => `<Rule>${r.xml}</Rule>`).join('')))
          expect(parseLifecycleXml(renderLifecycleXml(parsed))).toEqual(parsed)
          expect(parseStoredLifecycle(serializeLifecycle(parsed))).toEqual(parsed)
        },
      ),
      { numRuns: 500 },
    )
  })
})

describe('rule matching and time', () => {
  const base: LifecycleRule = {
    id: 'r',
    enabled: true,
    filter: { form: 'filter', tags: [] },
    expiration: { days: 3 },
  }

  it('rounds up to the next midnight UTC as AWS documents (10:30 on the 15th + 3 days → the 19th)', () => {
    expect(afterDays(Date.UTC(2014, 0, 15, 10, 30), 3, DAY_MS)).toBe(Date.UTC(2014, 0, 19))
    // A shortened day rounds the same way: to the next multiple of the day.
    expect(afterDays(10_500, 1, 1000)).toBe(12_000)
    expect(afterDays(10_000, 1, 1000)).toBe(12_000)
    // Past the last representable date: never (no "Invalid Date" header).
    expect(afterDays(Date.UTC(2026, 0, 1), 2_147_483_647, DAY_MS)).toBeUndefined()
  })

  it('matches prefix, tags (all of them), and sizes strictly', () => {
    const and: LifecycleRule = {
      ...base,
      filter: {
        form: 'and',
        prefix: 'logs/',
        tags: [{ key: 'k', value: 'v' }],
        sizeGreaterThan: 10,
        sizeLessThan: 200,
      },
    }
    const tagged = obj({ tags: { k: 'v', other: 'x' } })
    expect(ruleMatches(and, tagged)).toBe(true)
    expect(ruleMatches(and, obj())).toBe(false)
    expect(ruleMatches(and, { ...tagged, key: 'other/a' })).toBe(false)
    expect(ruleMatches(and, { ...tagged, size: 10 })).toBe(false)
    expect(ruleMatches(and, { ...tagged, size: 200 })).toBe(false)
    expect(ruleMatches(and, { ...tagged, tags: { k: 'w' } })).toBe(false)
    // An own-property check: a tag named like an Object.prototype member is no match by accident.
    const proto: LifecycleRule = {
      ...base,
      filter: { form: 'filter', tags: [{ key: 'constructor', value: '' }] },
    }
    expect(ruleMatches(proto, obj())).toBe(false)
  })

  it('answers the earliest expiry of the enabled rules, with its rule ID', () => {
    const rules: LifecycleRule[] = [
      { ...base, id: 'late', expiration: { days: 30 } },
      { ...base, id: 'off', enabled: false, expiration: { days: 1 } },
      { ...base, id: 'early', expiration: { days: 3 } },
      { id: 'abort-only', enabled: true, filter: base.filter, abortIncompleteAfterDays: 1 },
    ]
    expect(objectExpiry(rules, obj(), DAY_MS)).toEqual({
      at: Date.UTC(2014, 0, 19),
      ruleId: 'early',
    })
    expect(
      objectExpiry([{ ...base, expiration: { date: Date.UTC(2014, 0, 16) } }], obj(), DAY_MS),
    ).toEqual({
      at: Date.UTC(2014, 0, 16),
      ruleId: 'r',
    })
    expect(objectExpiry(rules.slice(1, 2), obj(), DAY_MS)).toBeUndefined()
  })

  it('renders x-amz-expiration as AWS does, and keeps an odd rule ID a valid header value', () => {
    expect(expirationHeader(Date.UTC(2012, 11, 23), 'picture-deletion-rule')).toBe(
      'expiry-date="Sun, 23 Dec 2012 00:00:00 GMT", rule-id="picture-deletion-rule"',
    )
    expect(expirationHeader(0, 'a"b\nc é')).toBe(
      'expiry-date="Thu, 01 Jan 1970 00:00:00 GMT", rule-id="a\\"b%0Ac %C3%A9"',
    )
  })

  it('aborts uploads under the prefix after DaysAfterInitiation, rounded the same way', () => {
    const r: LifecycleRule = {
      id: 'mpu',
      enabled: true,
      filter: { form: 'legacy', prefix: 'up/', tags: [] },
      abortIncompleteAfterDays: 2,
    }
    expect(uploadAbortAt(r, 'up/x', 10_500, 1000)).toBe(13_000)
    expect(uploadAbortAt(r, 'down/x', 10_500, 1000)).toBeUndefined()
    expect(uploadAbortAt({ ...r, enabled: false }, 'up/x', 10_500, 1000)).toBeUndefined()
  })
})
