import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { el } from '../http/xml.js'
import { STS_NS } from './errors.js'
import { assumeRoleXml, awsIso, getSessionTokenXml } from './responses.js'

/** AssumeRole's answer as el() and the shared envelope built it before the one-template form. */
function reference(r: Parameters<typeof assumeRoleXml>[0], requestId: string): string {
  const c = r.credentials
  const result =
    (r.sourceIdentity !== undefined ? el('SourceIdentity', r.sourceIdentity) : '') +
    `<AssumedRoleUser>${el('Arn', r.arn)}${el('AssumedRoleId', r.assumedRoleId)}</AssumedRoleUser>` +
    '<Credentials>' +
    el('AccessKeyId', c.accessKeyId) +
    el('SecretAccessKey', c.secretAccessKey) +
    el('SessionToken', c.sessionToken) +
    el('Expiration', awsIso(c.expiresAt)) +
    '</Credentials>' +
    el('PackedPolicySize', r.packedPolicySize)
  return (
    `<AssumeRoleResponse xmlns="${STS_NS}">` +
    `<AssumeRoleResult>${result}</AssumeRoleResult>` +
    `<ResponseMetadata>${el('RequestId', requestId)}</ResponseMetadata>` +
    `</AssumeRoleResponse>\n`
  )
}

describe('assumeRoleXml', () => {
  it('is the text the element-by-element form gives, specials and controls escaped', () => {
    const text = fc.string({ maxLength: 30 })
    fc.assert(
      fc.property(
        fc.record({
          arn: text,
          assumedRoleId: text,
          packedPolicySize: fc.nat(100),
          sourceIdentity: fc.option(text, { nil: undefined }),
          credentials: fc.record({
            accessKeyId: text,
            secretAccessKey: text,
            sessionToken: text,
            expiresAt: fc.integer({ min: 0, max: 4_102_444_800_000 }),
          }),
        }),
        text,
        (r, requestId) => {
          const { sourceIdentity, ...rest } = r
          const input = sourceIdentity === undefined ? rest : { ...rest, sourceIdentity }
          expect(assumeRoleXml(input, requestId)).toBe(reference(input, requestId))
        },
      ),
      { numRuns: 500 },
    )
  })

  it('GetSessionToken keeps the shared envelope', () => {
    const xml = getSessionTokenXml(
      { accessKeyId: 'ASIA1', secretAccessKey: 's<', sessionToken: 't', expiresAt: 0 },
      'r',
    )
    expect(xml).toContain('<SecretAccessKey>s&lt;</SecretAccessKey>')
    expect(xml).toContain('<Expiration>1970-01-01T00:00:00Z</Expiration>')
  })
})
