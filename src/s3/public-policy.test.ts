import { describe, expect, it } from 'vitest'
import { isPublicPolicy } from './public-policy.js'

const policy = (statement: Record<string, unknown>): string =>
  JSON.stringify({
    Version: '2012-10-17',
    Statement: [
      { Effect: 'Allow', Action: 's3:GetObject', Resource: 'arn:aws:s3:::b/*', ...statement },
    ],
  })

describe('isPublicPolicy', () => {
  it('a wildcard principal without a pinning condition is public', () => {
    expect(isPublicPolicy(policy({ Principal: '*' }))).toBe(true)
    expect(isPublicPolicy(policy({ Principal: { AWS: '*' } }))).toBe(true)
    expect(isPublicPolicy(policy({ Principal: { AWS: ['arn:aws:iam::1:root', '*'] } }))).toBe(true)
    expect(isPublicPolicy(policy({ NotPrincipal: { AWS: 'arn:aws:iam::1:root' } }))).toBe(true)
  })

  it('named principals, Deny statements and fixed conditions are not public', () => {
    expect(isPublicPolicy(policy({ Principal: { AWS: 'arn:aws:iam::111122223333:root' } }))).toBe(
      false,
    )
    expect(isPublicPolicy(policy({ Principal: '*', Effect: 'Deny' }))).toBe(false)
    expect(
      isPublicPolicy(
        policy({ Principal: '*', Condition: { IpAddress: { 'aws:SourceIp': '10.0.0.0/8' } } }),
      ),
    ).toBe(false)
    expect(
      isPublicPolicy(
        policy({ Principal: '*', Condition: { StringEquals: { 'aws:PrincipalAccount': '1' } } }),
      ),
    ).toBe(false)
  })

  it('conditions that do not fix who may use it leave it public', () => {
    for (const Condition of [
      { IpAddress: { 'aws:SourceIp': '0.0.0.0/0' } },
      { StringLike: { 'aws:PrincipalArn': 'arn:aws:iam::*' } },
      { StringNotEquals: { 'aws:PrincipalAccount': '1' } },
      { StringEquals: { 's3:prefix': 'public/' } },
      { Bool: { 'aws:SecureTransport': 'true' } },
    ])
      expect(isPublicPolicy(policy({ Principal: '*', Condition })), JSON.stringify(Condition)).toBe(
        true,
      )
  })
})
