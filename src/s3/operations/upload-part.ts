/**
 * UploadPart (PUT /bucket/key?partNumber=N&uploadId=U): like PutObject's body path (digests,
 * Content-MD5, x-amz-checksum-* from header or trailer) into a part record. When the upload was
 * created with a checksum algorithm the part is checksummed with it (and a request naming another
 * algorithm is refused). A re-uploaded part number replaces the old part, whose body is deleted
 * (retired) after the commit. Authorized as s3:PutObject. A session's upload caps count the
 * part's bytes (object/upload-caps.ts says how multipart counts).
 * @module
 */
import { commitWrite } from '../../storage/commit.js'
import type { PartRecord } from '../../storage/metadata-store.js'
import type { Operation } from '../operation.js'
import { objectCreationContext } from './put-object.js'
import { bucketOf, keyOf, requestObjectArn } from '../object/access.js'
import { checksumResponseHeaders, commitIo, ingestRequestBody } from '../object/ingest.js'
import { loadUpload, requirePartNumber } from '../object/multipart.js'
import { capSizeError, charged, checkObjectSize, maxSizeFor } from '../object/upload-caps.js'

export const uploadPart: Operation = {
  name: 'UploadPart',
  target: 'object',
  authorize: (req) => [
    {
      action: 's3:PutObject',
      resource: requestObjectArn(req),
      context: objectCreationContext(req, false),
    },
  ],
  async handle(req, env) {
    const bucket = bucketOf(req)
    const key = keyOf(req)
    const partNumber = requirePartNumber(req.query.get('partNumber'), env.limits.maxParts)
    const upload = await loadUpload(req, env, bucket.name, key)
    // A session's caps: a part bigger than max-object-size can never complete; its bytes count
    // against max-bytes as it is written (a part cut by a cap stores and counts nothing).
    const p = req.principal
    if (req.contentLength !== undefined) checkObjectSize(p, req.contentLength)
    const io = commitIo(req, env)
    const { written: w } = await charged(
      p,
      env.usage,
      { bytes: req.contentLength ?? 0, objects: 0 },
      (charge) =>
        commitWrite(io, {
          write: () =>
            ingestRequestBody(req, io, env, {
              maxSize: maxSizeFor(p, env.limits.maxPartSize),
              defaultAlgorithm: upload.checksumAlgorithm,
              requiredAlgorithm: upload.checksumAlgorithm,
              charge,
            }),
          async commit(w) {
            const part: PartRecord = {
              partNumber,
              size: w.size,
              etag: w.md5Hex,
              lastModified: req.ctx.clock.now(),
              body: w.body,
              ...(w.checksum === undefined ? {} : { checksum: w.checksum }),
            }
            const { replaced } = await env.meta.putPart(upload.uploadId, part)
            return { result: undefined, freed: [replaced] }
          },
        }),
      (r) => ({ bytes: r.written.size, objects: 0 }),
    ).catch((e: unknown) => {
      throw capSizeError(p, env.limits.maxPartSize, e)
    })
    return {
      status: 200,
      headers: { etag: `"${w.md5Hex}"`, ...checksumResponseHeaders(w.checksum, false) },
    }
  },
}
