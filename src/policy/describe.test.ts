import { describe, expect, it } from 'vitest'
import { accessDeniedMessage } from './describe.js'
import type { Decision } from './types.js'

const U = 'arn:aws:iam::123456789012:user/alice'
const R = 'arn:aws:s3:::b/k'
const implicit = (
  reason: 'no-identity-allow' | 'no-resource-allow' | 'session-policy-no-allow',
): Decision => ({ effect: 'deny', explicit: false, reason })
const explicit = (source: 'identity' | 'resource' | 'session'): Decision => ({
  effect: 'deny',
  explicit: true,
  source,
  matched: [{ policy: 'secret-policy-name', source, sid: 'S', effect: 'Deny' }],
})

describe('accessDeniedMessage', () => {
  it.each<[Decision, string]>([
    [
      implicit('no-identity-allow'),
      `User: ${U} is not authorized to perform: s3:GetObject on resource: "${R}" because no identity-based policy allows the s3:GetObject action`,
    ],
    [
      implicit('session-policy-no-allow'),
      `User: ${U} is not authorized to perform: s3:GetObject on resource: "${R}" because no session policy allows the s3:GetObject action`,
    ],
    [
      implicit('no-resource-allow'),
      `User: ${U} is not authorized to perform: s3:GetObject on resource: "${R}" because no resource-based policy allows the s3:GetObject action`,
    ],
    [
      explicit('resource'),
      `User: ${U} is not authorized to perform: s3:GetObject on resource: "${R}" with an explicit deny in a resource-based policy`,
    ],
    [
      explicit('identity'),
      `User: ${U} is not authorized to perform: s3:GetObject on resource: "${R}" with an explicit deny in an identity-based policy`,
    ],
    [
      explicit('session'),
      `User: ${U} is not authorized to perform: s3:GetObject on resource: "${R}" with an explicit deny in a session policy`,
    ],
  ])('%j', (d, want) => {
    const msg = accessDeniedMessage(U, 's3:GetObject', R, d)
    expect(msg).toBe(want)
    expect(msg).not.toContain('secret-policy-name')
  })
  it('anonymous gets plain Access Denied', () => {
    expect(accessDeniedMessage('*', 's3:GetObject', R, implicit('no-resource-allow'))).toBe(
      'Access Denied',
    )
  })
})
