import { describe, expect, it } from 'vitest'
import { authorize, NO_POLICIES } from './authorize.js'
import { parsePolicy } from './document.js'

const ALLOW_GET = parsePolicy(
  '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}',
  { kind: 'identity', name: 'p', source: 'identity' },
)
const ALICE = {
  kind: 'user',
  arn: 'arn:aws:iam::111122223333:user/alice',
  accountId: '111122223333',
} as const
const ctx = new Map<string, readonly string[]>()
const need = (action: string) => ({ action, resource: 'arn:aws:s3:::b/k' })

// The one decision S3, STS, the admin API and the simulator share: same-account rule and denial text.
describe('authorize', () => {
  it('allows with no denial text', () => {
    const r = authorize({
      principal: ALICE,
      policies: { identity: [ALLOW_GET] },
      requirement: need('s3:GetObject'),
      context: ctx,
    })
    expect(r.decision.effect).toBe('allow')
    expect(r.denial).toBeUndefined()
  })

  it('a same-account caller is told who, what and why', () => {
    const r = authorize({
      principal: ALICE,
      policies: { identity: [ALLOW_GET] },
      resourceAccountId: '111122223333',
      requirement: need('s3:PutObject'),
      context: ctx,
    })
    expect(r.denial).toBe(
      'User: arn:aws:iam::111122223333:user/alice is not authorized to perform: s3:PutObject on resource: "arn:aws:s3:::b/k" because no identity-based policy allows the s3:PutObject action',
    )
  })

  it('cross-account and anonymous callers get the plain message', () => {
    const cross = authorize({
      principal: ALICE,
      policies: { identity: [ALLOW_GET] },
      resourceAccountId: '999988887777',
      requirement: need('s3:GetObject'),
      context: ctx,
    })
    // No bucket policy grants it: cross-account needs the resource's consent.
    expect([cross.decision.effect, cross.denial]).toEqual(['deny', 'Access Denied'])
    const anon = authorize({
      principal: { kind: 'anonymous', arn: '*' },
      policies: NO_POLICIES,
      resourceAccountId: '111122223333',
      requirement: need('s3:GetObject'),
      context: ctx,
    })
    expect(anon.denial).toBe('Access Denied')
  })

  it('the simulator may state the same-account question outright', () => {
    const r = authorize({
      principal: ALICE,
      policies: { identity: [ALLOW_GET] },
      sameAccount: false,
      requirement: need('s3:GetObject'),
      context: ctx,
    })
    expect(r.denial).toBe('Access Denied')
  })
})
