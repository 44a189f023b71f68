/**
 * The admin API's error table: one closed code union, statuses checked by `satisfies`, and the
 * `{error:{code,message}}` renderer. Domain errors (IamError) are mapped here and only here;
 * anything unexpected becomes InternalError with its message masked (the cause is logged).
 * @module
 */
import { jsonResponse, type HttpResponse } from '../http/http-response.js'
import { IamError, type IamErrorCode } from '../iam/types.js'
import { isUnavailableError } from '../lib/unavailable.js'

export type AdminErrorCode =
  | 'ValidationError'
  | 'Unauthorized'
  | 'Forbidden'
  | 'NotFound'
  | 'MethodNotAllowed'
  | 'Conflict'
  | 'TooManyRequests'
  | 'InternalError'
  | 'NotImplemented'
  | 'ServiceUnavailable'
  | 'InvalidCsrfToken'
  | 'OtpRequired'

export const ADMIN_ERRORS = {
  ValidationError: { status: 400, message: 'The request is not valid' },
  Unauthorized: { status: 401, message: 'Authentication required' },
  Forbidden: { status: 403, message: 'Not allowed' },
  NotFound: { status: 404, message: 'Not found' },
  MethodNotAllowed: { status: 405, message: 'Method not allowed on this resource' },
  Conflict: { status: 409, message: 'Already exists' },
  TooManyRequests: { status: 429, message: 'Too many requests; try again later' },
  InternalError: { status: 500, message: 'Internal error' },
  NotImplemented: { status: 501, message: 'Not available in this configuration' },
  ServiceUnavailable: {
    status: 503,
    message: 'The database is unavailable; try again shortly',
  },
  InvalidCsrfToken: { status: 403, message: 'Missing or wrong X-CSRF-Token header' },
  OtpRequired: { status: 400, message: 'A one-time code is required' },
} as const satisfies Record<AdminErrorCode, { status: number; message: string }>

const FROM_IAM = {
  'not-found': 'NotFound',
  conflict: 'Conflict',
  invalid: 'ValidationError',
  forbidden: 'Forbidden',
  unauthorized: 'Unauthorized',
  throttled: 'TooManyRequests',
} as const satisfies Record<IamErrorCode, AdminErrorCode>

export class AdminError extends Error {
  override readonly name = 'AdminError'
  readonly code: AdminErrorCode
  readonly retryAfter?: number
  constructor(code: AdminErrorCode, message?: string, retryAfter?: number) {
    super(message ?? ADMIN_ERRORS[code].message)
    this.code = code
    if (retryAfter !== undefined) this.retryAfter = retryAfter
  }
}

export function toAdminError(e: unknown): AdminError | undefined {
  if (e instanceof AdminError) return e
  if (e instanceof IamError) return new AdminError(FROM_IAM[e.code], e.message, e.retryAfter)
  if (isUnavailableError(e)) return new AdminError('ServiceUnavailable', undefined, 1)
  return undefined
}

export function renderAdminError(e: AdminError, requestId: string): HttpResponse {
  const headers: Record<string, string> = {
    'x-amz-request-id': requestId,
    'cache-control': 'no-store',
  }
  if (e.retryAfter !== undefined) headers['retry-after'] = String(e.retryAfter)
  return jsonResponse(
    ADMIN_ERRORS[e.code].status,
    { error: { code: e.code, message: e.message } },
    headers,
  )
}
