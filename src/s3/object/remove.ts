/**
 * Deleting one object (DeleteObject, each key of DeleteObjects): the record goes in one commit,
 * and its blobs are retired through storage/commit.ts, so the garbage collector deletes them
 * after the retire grace period (a GET that found the record just before can still read them).
 * @module
 */
import { commitRemoval } from '../../storage/commit.js'
import type { S3Env, S3Request } from '../operation.js'
import { commitIo } from './ingest.js'

export function removeObject(
  req: S3Request,
  env: S3Env,
  bucket: string,
  key: string,
): Promise<void> {
  return commitRemoval(commitIo(req, env), async () => ({
    result: undefined,
    freed: [await env.meta.deleteObject(bucket, key)],
  }))
}
