/**
 * What an admin change records of its body: every secret-named field, at any depth, replaced by
 * `[removed]`; identifiers (an access key id, a user name, a TOTP flag) kept.
 * @module
 */
import { describe, expect, it } from 'vitest'
import { audited, withoutSecrets } from './audit-record.js'

describe('withoutSecrets', () => {
  it('removes secrets, passwords, tokens and one-time codes at any depth', () => {
    expect(
      withoutSecrets({
        username: 'alice',
        password: 'p',
        new_password: 'p2',
        master_key: { access_key: 'AKIA1', secret_key: 's' },
        otp: '123456',
        totp_code: '123456',
        session_token: 't',
        totp_enabled: true,
        list: [{ SecretAccessKey: 'x', AccessKeyId: 'ASIA1' }],
      }),
    ).toEqual({
      username: 'alice',
      password: '[removed]',
      new_password: '[removed]',
      master_key: { access_key: 'AKIA1', secret_key: '[removed]' },
      otp: '[removed]',
      totp_code: '[removed]',
      session_token: '[removed]',
      totp_enabled: true,
      list: [{ SecretAccessKey: '[removed]', AccessKeyId: 'ASIA1' }],
    })
  })
})

describe('audited', () => {
  it('records changes and the master-key reveal, not reads or the simulator', () => {
    expect(audited('POST', 'iam:CreateUser')).toBe(true)
    expect(audited('DELETE', 'iam:RevokeSession')).toBe(true)
    expect(audited('GET', 'iam:GetMasterKey')).toBe(true)
    expect(audited('GET', 'iam:ListUsers')).toBe(false)
    expect(audited('POST', 'iam:SimulateCustomPolicy')).toBe(false)
  })
})
