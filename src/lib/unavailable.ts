/**
 * "A dependency is unreachable, try again": the one property every surface turns into a 503 in
 * its own format (S3 SlowDown, STS ServiceUnavailable, admin ServiceUnavailable) instead of a 500.
 *
 * Why a property and not a class: the storage layer throws StorageError('unavailable') when the
 * database or the upstream blob store does not answer, and the STS and admin surfaces may not
 * import storage (test/architecture); they read this flag instead.
 * @module
 */

export interface MaybeUnavailable {
  readonly unavailable?: boolean
}

/** True for an error that means "the database or blob store is away; retry later". */
export function isUnavailableError(e: unknown): boolean {
  return e instanceof Error && (e as MaybeUnavailable).unavailable === true
}

/**
 * A write committed but not confirmed applied on every node in time (ChangeFeed.applied timed
 * out): the caller gets 503 rather than a success that would promise "refused everywhere on the
 * next request" before it holds. Retrying the call confirms it.
 */
export class NotSettledError extends Error {
  override readonly name = 'NotSettledError'
  readonly unavailable = true
  constructor(what: string, timeoutMs: number) {
    super(
      `${what} was saved, but not every node confirmed it within ${timeoutMs} ms; retry to confirm`,
    )
  }
}
