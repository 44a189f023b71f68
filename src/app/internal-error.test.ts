import { Readable } from 'node:stream'
import { describe, expect, it } from 'vitest'
import { internalErrorAnswer } from './dispatch.js'
import type { RawRequest } from '../http/raw-request.js'

function raw(
  method: string,
  rawPath: string,
  rawQuery = '',
  headers: Record<string, string> = {},
): RawRequest {
  return {
    method,
    rawPath,
    rawQuery,
    headers,
    body: Readable.from([]),
    remoteAddress: '127.0.0.1',
    secure: false,
  }
}

// The listener's last-resort 500 speaks the format of the surface the request was for (it was S3
// XML for every surface): an STS SDK parses <ErrorResponse>, the admin console parses JSON.
describe('internalErrorAnswer', () => {
  it('STS: <ErrorResponse> with InternalFailure (Type Receiver)', () => {
    const a = internalErrorAnswer(
      raw('POST', '/', '', { 'content-type': 'application/x-www-form-urlencoded' }),
      'rid',
    )
    expect(a.type).toBe('text/xml')
    expect(a.body).toContain('<Code>InternalFailure</Code>')
    expect(a.body).toContain('<Type>Receiver</Type>')
    expect(a.body).toContain('<RequestId>rid</RequestId>')
  })

  it('admin: JSON { error: { code, message } }', () => {
    const a = internalErrorAnswer(raw('GET', '/api/admin/users'), 'rid')
    expect(a.type).toBe('application/json')
    expect(JSON.parse(a.body)).toEqual({
      error: { code: 'InternalError', message: 'Internal error' },
    })
  })

  it('S3 (and a request that never parsed): <Error> InternalError', () => {
    for (const a of [
      internalErrorAnswer(raw('GET', '/bucket/key'), 'rid'),
      internalErrorAnswer(undefined, 'rid'),
    ]) {
      expect(a.type).toBe('application/xml')
      expect(a.body).toContain('<Code>InternalError</Code>')
      expect(a.body).toContain('We encountered an internal error. Please try again.')
    }
  })
})
