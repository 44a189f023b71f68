import { describe, expect, it } from 'vitest'
import { principalFromArn, simulate } from './simulate.js'
import { PolicyError } from './types.js'

const NOW = Date.UTC(2026, 0, 1)
const readHome = {
  Version: '2012-10-17',
  Statement: [
    {
      Sid: 'Home',
      Effect: 'Allow',
      Action: 's3:GetObject',
      Resource: 'arn:aws:s3:::b/home/${aws:username}/*',
    },
    {
      Sid: 'NoOld',
      Effect: 'Deny',
      Action: 's3:*',
      Resource: '*',
      Condition: { DateGreaterThan: { 'aws:CurrentTime': '2030-01-01T00:00:00Z' } },
    },
  ],
}

describe('simulate', () => {
  it('allows with the matched statements, using aws:username from the principal', () => {
    const r = simulate(
      {
        policies: [readHome],
        principal: 'arn:aws:iam::123456789012:user/alice',
        action: 's3:GetObject',
        resource: 'arn:aws:s3:::b/home/alice/x',
      },
      NOW,
    )
    expect(r).toEqual({
      decision: 'allow',
      reason: 'allowed by identity-based policy',
      matched: [{ policy: 'policies[0]', sid: 'Home', effect: 'Allow' }],
    })
  })

  it('implicit deny for another user', () => {
    const r = simulate(
      {
        policies: [readHome],
        principal: 'arn:aws:iam::123456789012:user/bob',
        action: 's3:GetObject',
        resource: 'arn:aws:s3:::b/home/alice/x',
      },
      NOW,
    )
    expect(r).toEqual({
      decision: 'implicit-deny',
      reason: 'no identity-based policy allows the action',
      matched: [],
    })
  })

  it('fills aws:CurrentTime from now unless given', () => {
    const later = Date.UTC(2031, 0, 1)
    const base = {
      policies: [readHome],
      principal: 'arn:aws:iam::123456789012:user/alice',
      action: 's3:GetObject',
      resource: 'arn:aws:s3:::b/home/alice/x',
    }
    expect(simulate(base, later)).toMatchObject({
      decision: 'explicit-deny',
      reason: 'explicit deny in an identity-based policy',
      matched: [{ sid: 'NoOld', effect: 'Deny' }],
    })
    expect(
      simulate({ ...base, context: { 'aws:CurrentTime': '2026-06-01T00:00:00Z' } }, later).decision,
    ).toBe('allow')
  })

  it('bucket policy, session policy and anonymous callers', () => {
    const bucket = {
      Version: '2012-10-17',
      Statement: [
        {
          Sid: 'Public',
          Effect: 'Allow',
          Principal: '*',
          Action: 's3:GetObject',
          Resource: 'arn:aws:s3:::pub/*',
        },
      ],
    }
    expect(
      simulate(
        {
          policies: [],
          bucket_policy: bucket,
          principal: '*',
          action: 's3:GetObject',
          resource: 'arn:aws:s3:::pub/x',
        },
        NOW,
      ),
    ).toMatchObject({
      decision: 'allow',
      matched: [{ policy: 'bucket_policy', sid: 'Public' }],
    })
    const session = {
      Version: '2012-10-17',
      Statement: [{ Effect: 'Allow', Action: 's3:ListBucket', Resource: '*' }],
    }
    const all = {
      Version: '2012-10-17',
      Statement: [{ Effect: 'Allow', Action: 's3:*', Resource: '*' }],
    }
    expect(
      simulate(
        {
          policies: [all],
          session_policy: session,
          principal: 'arn:aws:sts::123456789012:assumed-role/alice/s',
          action: 's3:GetObject',
          resource: 'arn:aws:s3:::b/k',
        },
        NOW,
      ),
    ).toMatchObject({ decision: 'implicit-deny', reason: 'no session policy allows the action' })
    expect(
      simulate(
        {
          policies: [all],
          action: 's3:GetObject',
          resource: 'arn:aws:s3:::b/k',
          sameAccount: false,
        },
        NOW,
      ),
    ).toMatchObject({
      decision: 'implicit-deny',
      reason: 'no resource-based policy allows the action',
    })
  })

  it('multi-valued context and IP conditions', () => {
    const p = {
      Version: '2012-10-17',
      Statement: [
        {
          Effect: 'Allow',
          Action: 's3:PutObject',
          Resource: '*',
          Condition: {
            'ForAllValues:StringEquals': { 's3:RequestObjectTagKeys': ['a', 'b'] },
            IpAddress: { 'aws:SourceIp': '10.0.0.0/8' },
          },
        },
      ],
    }
    const base = { policies: [p], action: 's3:PutObject', resource: 'arn:aws:s3:::b/k' }
    expect(
      simulate(
        { ...base, context: { 's3:RequestObjectTagKeys': ['a', 'b'], 'aws:SourceIp': '10.0.0.1' } },
        NOW,
      ).decision,
    ).toBe('allow')
    expect(
      simulate(
        { ...base, context: { 's3:RequestObjectTagKeys': ['a', 'c'], 'aws:SourceIp': '10.0.0.1' } },
        NOW,
      ).decision,
    ).toBe('implicit-deny')
    expect(simulate({ ...base, context: { 'aws:SourceIp': '11.0.0.1' } }, NOW).decision).toBe(
      'implicit-deny',
    )
  })

  it('throws PolicyError naming the policy', () => {
    expect(() =>
      simulate(
        {
          policies: [readHome, { Statement: [{ Effect: 'Maybe', Action: '*', Resource: '*' }] }],
          action: 's3:GetObject',
          resource: '*',
        },
        NOW,
      ),
    ).toThrow(new PolicyError('policies[1]: Statement[0].Effect must be Allow or Deny'))
    expect(() => simulate({ policies: [], action: '', resource: '*' }, NOW)).toThrow(PolicyError)
    expect(() =>
      simulate({ policies: [], principal: 'alice', action: 's3:GetObject', resource: '*' }, NOW),
    ).toThrow(PolicyError)
    expect(() =>
      simulate(
        {
          policies: [],
          session_policy: '{"Statement": [' + ' '.repeat(3000) + ']}',
          action: 's3:GetObject',
          resource: '*',
        },
        NOW,
      ),
    ).toThrow('exceeds the limit of 2048')
  })

  it('derives principal facts', () => {
    expect(principalFromArn('123456789012').facts).toEqual({
      kind: 'account-root',
      arn: 'arn:aws:iam::123456789012:root',
      accountId: '123456789012',
    })
    expect(principalFromArn('arn:aws:iam::123456789012:user/dev/alice').vars['aws:username']).toBe(
      'alice',
    )
    expect(principalFromArn('arn:aws:sts::123456789012:assumed-role/R/S').facts.parentArn).toBe(
      'arn:aws:iam::123456789012:role/R',
    )
  })
})
