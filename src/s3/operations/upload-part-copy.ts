/**
 * UploadPartCopy (PUT /bucket/key?partNumber=N&uploadId=U with x-amz-copy-source): a part made
 * from (a byte range of) an existing object, streamed into a new body. Source access
 * (s3:GetObject), existence and x-amz-copy-source-if-* are checked by object/copy.ts;
 * x-amz-copy-source-range must be `bytes=first-last` within the source. Authorized as
 * s3:PutObject on the destination with s3:x-amz-copy-source. A session's upload caps: the range
 * must fit max-object-size and its bytes count against max-bytes (object/upload-caps.ts).
 * @module
 */
import { commitWrite } from '../../storage/commit.js'
import { readBody } from '../../storage/object-bodies.js'
import type { PartRecord, StoredChecksum } from '../../storage/metadata-store.js'
import { S3Error } from '../errors.js'
import type { Operation } from '../operation.js'
import { objectCreationContext } from './put-object.js'
import { bucketOf, keyOf, requestObjectArn } from '../object/access.js'
import { loadCopySource } from '../object/copy.js'
import { copySourceConditionValue, parseCopySource } from '../object/copy-source.js'
import {
  checksumElementName,
  checksumResponseHeaders,
  digestAndWrite,
  commitIo,
} from '../object/ingest.js'
import { loadUpload, requirePartNumber } from '../object/multipart.js'
import { charged, checkObjectSize } from '../object/upload-caps.js'
import { parseCopySourceRange } from '../object/range.js'
import { doc, el, isoDate } from '../xml.js'

export const uploadPartCopy: Operation = {
  name: 'UploadPartCopy',
  target: 'object',
  authorize: (req) => {
    let src: string | undefined
    try {
      src = copySourceConditionValue(parseCopySource(req.header('x-amz-copy-source')))
    } catch {
      src = undefined // reported by handle()
    }
    const context = objectCreationContext(req, false)
    return [
      {
        action: 's3:PutObject',
        resource: requestObjectArn(req),
        context:
          src === undefined ? context : Object.assign({}, context, { 's3:x-amz-copy-source': src }),
      },
    ]
  },
  async handle(req, env) {
    const bucket = bucketOf(req)
    const key = keyOf(req)
    const partNumber = requirePartNumber(req.query.get('partNumber'), env.limits.maxParts)
    const upload = await loadUpload(req, env, bucket.name, key)
    const { object: source } = await loadCopySource(req, env)
    const range = parseCopySourceRange(req.header('x-amz-copy-source-range'), source.size)
    const length = range === undefined ? source.size : range.end - range.start + 1
    if (length > env.limits.maxPartSize) {
      throw new S3Error('EntityTooLarge', undefined, {
        ProposedSize: String(length),
        MaxSizeAllowed: String(env.limits.maxPartSize),
      })
    }
    checkObjectSize(req.principal, length)
    const algorithm = upload.checksumAlgorithm
    const io = commitIo(req, env)
    const {
      written: w,
      result: { part, checksum },
    } = await charged(
      req.principal,
      env.usage,
      { bytes: length, objects: 0 },
      () =>
        commitWrite(io, {
          write: () =>
            digestAndWrite(readBody(source.body, env.blobs, range), io, env, {
              algorithm,
              maxSize: env.limits.maxPartSize,
              knownLength: length,
            }),
          async commit(w) {
            const checksum: StoredChecksum | undefined =
              algorithm !== undefined && w.checksumB64 !== undefined
                ? { algorithm, value: w.checksumB64, type: 'FULL_OBJECT' }
                : undefined
            const part: PartRecord = {
              partNumber,
              size: w.size,
              etag: w.md5Hex,
              lastModified: req.ctx.clock.now(),
              body: w.body,
              ...(checksum === undefined ? {} : { checksum }),
            }
            const { replaced } = await env.meta.putPart(upload.uploadId, part)
            return { result: { part, checksum }, freed: [replaced] }
          },
        }),
      (r) => ({ bytes: r.written.size, objects: 0 }),
    )
    const checksumXml =
      checksum === undefined ? '' : el(checksumElementName(checksum.algorithm), checksum.value)
    return {
      status: 200,
      headers: { 'content-type': 'application/xml', ...checksumResponseHeaders(checksum, false) },
      body: doc(
        'CopyPartResult',
        el('ETag', `"${w.md5Hex}"`) + el('LastModified', isoDate(part.lastModified)) + checksumXml,
      ),
    }
  },
}
