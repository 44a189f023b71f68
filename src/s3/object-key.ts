/**
 * The one object-key rule, applied wherever a key enters: the request path (path-style and
 * virtual-hosted), the browser POST form's `key` field (after `${filename}`), the source of
 * CopyObject / UploadPartCopy (x-amz-copy-source) and the keys of a DeleteObjects document.
 * One function so no entry point can store (or address) a key another one refuses: a POST upload
 * once stored `a/../b`, which no path request could then name.
 *
 * - more than 1024 UTF-8 bytes → KeyTooLongError (AWS's limit);
 * - a `..` path segment → InvalidArgument. AWS allows such keys; the contract (§6) refuses path
 *   tricks like `..`: they are the traversal shape for tools that map keys to file paths (s3fs,
 *   rclone mounts, sync to disk), and HTTP clients normalise them out of URLs, so such a key
 *   would not round-trip anyway.
 * - a NUL character (U+0000) → InvalidArgument: PostgreSQL cannot store it in text, and an XML 1.0
 *   listing cannot carry it, so such a key could be stored on one backend and never listed.
 * @module
 */
import { S3Error } from './errors.js'

/** AWS's limit on an object key, in UTF-8 bytes. */
export const MAX_KEY_BYTES = 1024

/** Throws the S3Error for a key no entry point may accept; returns nothing otherwise. */
export function checkObjectKey(key: string): void {
  // Byte length only matters once the UTF-16 length could exceed it (3 bytes per unit at most).
  if (key.length > MAX_KEY_BYTES / 3 && Buffer.byteLength(key, 'utf8') > MAX_KEY_BYTES)
    throw new S3Error('KeyTooLongError')
  if (key.includes('\u0000'))
    throw new S3Error(
      'InvalidArgument',
      'Object key contains a NUL character, which is not allowed.',
    )
  if (key.includes('..') && key.split('/').includes('..'))
    throw new S3Error(
      'InvalidArgument',
      "Object key contains a '..' path segment, which is not allowed.",
    )
}
