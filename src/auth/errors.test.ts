import { describe, expect, it } from 'vitest'
import { AuthError, addressNotAllowed, assertAddressAllowed } from './errors.js'
import { FROM_AUTH as S3_FROM_AUTH, S3Error, bodyStreamError, toS3Error } from '../s3/errors.js'
import { FROM_AUTH as STS_FROM_AUTH, toStsError } from '../sts/errors.js'

// The surfaces' mapping of auth failures, seen from the wire: S3 keeps auth's text and detail
// (as extra <Error> elements), STS words its own messages. Auth itself knows neither.
describe('AuthError through each surface', () => {
  it('both tables name every kind (the satisfies clause makes this a compile error too)', () => {
    expect(Object.keys(STS_FROM_AUTH).sort()).toEqual(Object.keys(S3_FROM_AUTH).sort())
  })

  it('S3: the throw site text and detail, or the S3 table text when none was given', () => {
    const e = toS3Error(new AuthError('signature-mismatch', undefined, { AWSAccessKeyId: 'AK' }))
    expect([e.code, e.status, e.extra]).toEqual([
      'SignatureDoesNotMatch',
      403,
      { AWSAccessKeyId: 'AK' },
    ])
    expect(e.message).toMatch(/^The request signature we calculated does not match/)
    const m = toS3Error(new AuthError('malformed-query', 'X-Amz-Expires should be a number'))
    expect([m.code, m.message]).toEqual([
      'AuthorizationQueryParametersError',
      'X-Amz-Expires should be a number',
    ])
  })

  it('the allow-list refusal: one check, each surface words it as before', () => {
    const dir = { addressAllowed: (id: string, a: string) => id === 'A' || a === '10.0.0.1' }
    expect(() => assertAddressAllowed(dir, 'A', '10.9.9.9')).not.toThrow()
    expect(() => assertAddressAllowed(dir, 'B', '10.0.0.1')).not.toThrow()
    let thrown: unknown
    try {
      assertAddressAllowed(dir, 'B', '10.9.9.9')
    } catch (err) {
      thrown = err
    }
    expect(thrown).toBeInstanceOf(AuthError)
    const s3 = toS3Error(thrown)
    expect([s3.code, s3.message, s3.extra]).toEqual([
      'AccessDenied',
      "Access from 10.9.9.9 is not allowed by the account's address allow-list",
      {},
    ])
    const sts = toStsError(addressNotAllowed('10.9.9.9'))
    expect([sts.code, sts.message]).toEqual([
      'AccessDenied',
      'Access from 10.9.9.9 is not allowed for this account',
    ])
  })

  it('STS: a wrong service scope is SignatureDoesNotMatch, a malformed header IncompleteSignature', () => {
    expect(toStsError(new AuthError('wrong-service', 'x')).message).toBe(
      "Credential should be scoped to correct service: 'sts'. ",
    )
    const m = toStsError(new AuthError('malformed', 'The authorization header is malformed; no.'))
    expect([m.code, m.message]).toEqual([
      'IncompleteSignature',
      'The authorization header is malformed; no.',
    ])
    expect(toStsError(new AuthError('presign-expired', 'Request has expired')).code).toBe(
      'AccessDenied',
    )
    expect(toStsError(new AuthError('incomplete-body')).code).toBe('InternalFailure')
  })

  it('a failing S3 body stream: auth verifier errors keep their code, anything else is IncompleteBody', () => {
    const mismatch = bodyStreamError(new AuthError('payload-hash-mismatch', undefined, { A: '1' }))
    expect([mismatch.code, mismatch.extra]).toEqual(['XAmzContentSHA256Mismatch', { A: '1' }])
    expect(bodyStreamError(new AuthError('chunk-signature-mismatch')).code).toBe(
      'SignatureDoesNotMatch',
    )
    expect(bodyStreamError(new S3Error('EntityTooLarge')).code).toBe('EntityTooLarge')
    expect(bodyStreamError(new Error('ECONNRESET')).code).toBe('IncompleteBody')
  })
})
