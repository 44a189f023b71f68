/**
 * Test fixture: what an S3 client sees of an auth failure. Auth throws AuthError; the S3 surface
 * maps it through FROM_AUTH. The auth unit tests pin S3's codes, messages and extra elements (the
 * wire contract), so they look at errors through this mapping.
 * @module
 */
import { AuthError } from './errors.js'
import { fromAuthError } from '../s3/errors.js'

export function asS3(e: unknown): unknown {
  return e instanceof AuthError ? fromAuthError(e) : e
}

/** Run `f` and return what S3 would answer for its failure (undefined when it did not throw). */
export function s3ErrorOf(f: () => unknown): unknown {
  try {
    f()
  } catch (e) {
    return asS3(e)
  }
  return undefined
}
