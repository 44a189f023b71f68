import { describe, expect, it } from 'vitest'
import { decide } from './combine.js'
import { MASTER_KEY_POLICY, READER_ACTIONS, rolePolicy, WRITER_EXTRA_ACTIONS } from './presets.js'
import { ACCT, alice, bob, facts } from './fixtures.case.js'

function can(
  role: 'Reader' | 'Writer' | 'SuperUser' | 'master',
  action: string,
  sameAccount = true,
): boolean {
  const p = role === 'master' ? MASTER_KEY_POLICY : rolePolicy(role)
  return (
    decide({
      identity: [p],
      sameAccount,
      facts: facts({ action, principal: sameAccount ? alice : bob }),
    }).effect === 'allow'
  )
}

describe('role presets', () => {
  it.each([
    ['Reader', 's3:GetObject', true],
    ['Reader', 's3:ListBucket', true],
    ['Reader', 's3:ListAllMyBuckets', true],
    ['Reader', 's3:PutObject', false],
    ['Reader', 's3:DeleteObject', false],
    ['Reader', 's3:CreateBucket', false],
    ['Reader', 's3:PutBucketPolicy', false],
    ['Reader', 'admin:CreateUser', false],
    ['Writer', 's3:GetObject', true],
    ['Writer', 's3:PutObject', true],
    ['Writer', 's3:DeleteObject', true],
    ['Writer', 's3:CreateBucket', true],
    ['Writer', 's3:AbortMultipartUpload', true],
    ['Writer', 's3:PutBucketPolicy', false],
    ['Writer', 'admin:CreateUser', false],
    ['SuperUser', 's3:PutBucketPolicy', true],
    ['SuperUser', 'sts:AssumeRole', true],
    ['SuperUser', 'iam:CreateUser', true],
    ['SuperUser', 'iam:ResetMasterKey', true],
    ['SuperUser', 'admin:CreateUser', false],
    ['Reader', 'iam:CreateUser', false],
    ['Writer', 'iam:CreateUser', false],
    ['master', 's3:DeleteBucket', true],
    ['master', 'admin:ResetMasterKey', true],
  ] as const)('%s %s → %s', (role, action, want) => {
    expect(can(role, action)).toBe(want)
  })

  it('stay inside their account', () => {
    expect(can('SuperUser', 's3:GetObject', false)).toBe(false)
    expect(can('master', 's3:GetObject', false)).toBe(false)
  })

  it('Writer is a superset of Reader, compiled once', () => {
    for (const a of [...READER_ACTIONS, ...WRITER_EXTRA_ACTIONS])
      expect(can('Writer', a), a).toBe(true)
    expect(rolePolicy('Reader')).toBe(rolePolicy('Reader'))
    expect(rolePolicy('Writer').name).toBe('role:Writer')
    expect(ACCT).toHaveLength(12)
  })
})
