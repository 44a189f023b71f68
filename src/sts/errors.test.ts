import { describe, expect, it } from 'vitest'
import { XMLParser } from 'fast-xml-parser'
import { IamError } from '../iam/types.js'
import { PolicyError } from '../policy/types.js'
import { AuthError } from '../auth/errors.js'
import { STS_ERRORS, StsError, renderStsErrorXml, stsErrorJson, toStsError } from './errors.js'

describe('STS error envelope', () => {
  it('renders AWS <ErrorResponse> with Type, Code, Message and RequestId, escaped', () => {
    const xml = renderStsErrorXml(new StsError('ValidationError', "Value '<x>&' bad"), 'rid-1')
    const doc = new XMLParser({ ignoreAttributes: false }).parse(xml) as Record<
      string,
      Record<string, unknown>
    >
    expect(doc['ErrorResponse']?.['@_xmlns']).toBe('https://sts.amazonaws.com/doc/2011-06-15/')
    expect(doc['ErrorResponse']?.['Error']).toEqual({
      Type: 'Sender',
      Code: 'ValidationError',
      Message: "Value '<x>&' bad",
    })
    expect(doc['ErrorResponse']?.['RequestId']).toBe('rid-1')
    expect(xml).toContain('&lt;x&gt;&amp;')
  })

  it('uses Type Receiver for 5xx', () => {
    expect(renderStsErrorXml(new StsError('InternalFailure'), 'r')).toContain(
      '<Type>Receiver</Type>',
    )
  })

  it('renders the RS* JSON form', () => {
    expect(stsErrorJson(new StsError('AccessDenied', 'no'), 'r')).toEqual({
      Error: { Code: 'AccessDenied', Message: 'no' },
      RequestId: 'r',
    })
  })

  it('has AWS statuses for the documented codes', () => {
    expect(STS_ERRORS.InvalidClientTokenId.status).toBe(403)
    expect(STS_ERRORS.ExpiredToken.status).toBe(403)
    expect(STS_ERRORS.MissingAuthenticationToken.status).toBe(403)
    expect(STS_ERRORS.ValidationError.status).toBe(400)
    expect(STS_ERRORS.Throttling.status).toBe(400)
    expect(STS_ERRORS.InvalidAction.status).toBe(400)
  })
})

describe('toStsError', () => {
  it('maps domain errors', () => {
    expect(toStsError(new PolicyError('Statement[0].Effect must be Allow or Deny'))).toMatchObject({
      code: 'MalformedPolicyDocument',
      message: 'Statement[0].Effect must be Allow or Deny',
    })
    expect(toStsError(new IamError('throttled', 'x', 5))).toMatchObject({
      code: 'Throttling',
      message: 'Rate exceeded',
      retryAfter: 5,
    })
    expect(toStsError(new IamError('unauthorized', 'x')).code).toBe('AccessDenied')
    expect(toStsError(new Error('boom')).code).toBe('InternalFailure')
    expect(toStsError(new AuthError('unknown-key')).code).toBe('InvalidClientTokenId')
    expect(
      toStsError(
        new AuthError('wrong-service', "the service 's3' in the credential scope is wrong"),
      ).code,
    ).toBe('SignatureDoesNotMatch')
  })
})
