/**
 * SigV2 POST form fields: which forms are V2, the fields each needs, and the HMAC-SHA1 over the
 * base64 policy (checked against node's own HMAC, as botocore's S3PostPresigner computes it).
 * @module
 */
import { createHmac } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { AuthError } from '../errors.js'
import { isPostAuthV2, parsePostAuthV2, verifyPostSignatureV2 } from './post-policy.js'

const SECRET = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY'
const POLICY = Buffer.from('{"expiration":"2030-01-01T00:00:00Z","conditions":[]}').toString(
  'base64',
)
const SIG = createHmac('sha1', SECRET).update(POLICY).digest('base64')

describe('SigV2 POST forms', () => {
  it('tells V2 forms from V4 and anonymous ones', () => {
    expect(isPostAuthV2(new Map([['awsaccesskeyid', 'AK']]))).toBe(true)
    expect(isPostAuthV2(new Map([['signature', 'x']]))).toBe(true)
    expect(
      isPostAuthV2(
        new Map([
          ['x-amz-signature', 'x'],
          ['signature', 'y'],
        ]),
      ),
    ).toBe(false)
    expect(isPostAuthV2(new Map([['policy', POLICY]]))).toBe(false)
  })

  it('needs AWSAccessKeyId, signature and policy; keeps the session token', () => {
    const full = new Map([
      ['awsaccesskeyid', 'AKIDEXAMPLE'],
      ['signature', SIG],
      ['policy', POLICY],
      ['x-amz-security-token', 'tok'],
    ])
    expect(parsePostAuthV2(full)).toEqual({
      accessKeyId: 'AKIDEXAMPLE',
      signature: SIG,
      policyB64: POLICY,
      sessionToken: 'tok',
    })
    for (const [drop, name] of [
      ['awsaccesskeyid', 'AWSAccessKeyId'],
      ['signature', 'signature'],
      ['policy', 'policy'],
    ] as const) {
      const m = new Map(full)
      m.delete(drop)
      const e = (() => {
        try {
          parsePostAuthV2(m)
        } catch (err) {
          return err
        }
        return undefined
      })()
      expect(e).toBeInstanceOf(AuthError)
      expect((e as AuthError).message).toContain(`'${name}'`)
    }
  })

  it('verifies base64(HMAC-SHA1(secret, policy)) and nothing else', () => {
    expect(verifyPostSignatureV2(POLICY, SIG, SECRET)).toBe(true)
    expect(verifyPostSignatureV2(POLICY + 'x', SIG, SECRET)).toBe(false)
    expect(verifyPostSignatureV2(POLICY, SIG, SECRET + 'x')).toBe(false)
    expect(verifyPostSignatureV2(POLICY, '', SECRET)).toBe(false)
  })
})
