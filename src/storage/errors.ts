/**
 * Storage speaks domain, the edge speaks HTTP: backends throw StorageError with a kind, and only
 * s3/errors.ts (and the admin/STS error tables) map kinds to codes.
 * @module
 */
export type StorageErrorKind =
  | 'bucket-not-found'
  | 'bucket-exists' // detail.ownerAccountId tells BucketAlreadyOwnedByYou vs BucketAlreadyExists
  | 'bucket-not-empty'
  | 'key-not-found'
  | 'upload-not-found'
  | 'precondition'
  | 'conflict'
  | 'not-found'
  | 'too-large'
  | 'unavailable'

export class StorageError extends Error {
  override readonly name = 'StorageError'
  readonly kind: StorageErrorKind
  readonly detail: Readonly<Record<string, string>>
  constructor(
    kind: StorageErrorKind,
    msg: string,
    detail: Record<string, string> = {},
    o?: ErrorOptions,
  ) {
    super(msg, o)
    this.kind = kind
    this.detail = detail
  }

  /** lib/unavailable.ts: the surfaces answer 503 for this without importing storage. */
  get unavailable(): boolean {
    return this.kind === 'unavailable'
  }
}
