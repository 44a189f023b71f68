/**
 * CompleteMultipartUpload (POST /bucket/key?uploadId=U): checks the client's part list against
 * the stored parts (ascending → InvalidPartOrder, present with that ETag → InvalidPart, all but
 * the last ≥ minPartSize → EntityTooSmall, listed checksums match → InvalidPart), then commits
 * one object whose body *references* the parts' bodies (no copying) and deletes unused parts.
 * ETag = md5(concat(part md5s))-N; with a checksum algorithm the object gets the COMPOSITE
 * checksum (checksum of the concatenated part checksums, "-N"), or for FULL_OBJECT the checksum
 * of the whole content, combined from the part CRCs (no re-read). Authorized as s3:PutObject.
 *
 * Retry-safe, as AWS documents completion: the object records the upload that completed it, so a
 * completion retried after it succeeded (its answer lost on the way) finds the upload gone and
 * this key still holding that upload's object, and answers 200 with the same ETag; the listed
 * parts must give that ETag, else it is NoSuchUpload as for any unknown upload. An overwrite of
 * the key ends the window (AWS keeps it "for a while" too). An empty part list is MalformedXML.
 * @module
 */
import { combineCrcFullObject, compositeChecksum } from '../integrity/checksum.js'
import type {
  ChecksumAlgorithm,
  ObjectRecord,
  PartRecord,
  StoredChecksum,
  UploadRecord,
} from '../../storage/metadata-store.js'
import { commitRemoval } from '../../storage/commit.js'
import { S3Error } from '../errors.js'
import type { Operation, S3Env, S3Request, S3Response } from '../operation.js'
import { ifMatchReadRequirement, objectCreationContext } from './put-object.js'
import { bucketOf, keyOf, requestObjectArn } from '../object/access.js'
import { writeConditionError, writeConditions } from '../object/conditional.js'
import {
  checksumElementName,
  checksumHeaderName,
  checksumResponseHeaders,
  commitIo,
} from '../object/ingest.js'
import {
  loadUpload,
  multipartEtag,
  parseCompleteDocument,
  storedParts,
  type CompletePart,
} from '../object/multipart.js'
import { doc, el, readBoundedText } from '../xml.js'
import { charged, checkContentType, checkObjectSize } from '../object/upload-caps.js'

export const COMPLETE_MAX_BODY = 4 * 1024 * 1024

function invalidPart(p: CompletePart, uploadId: string, message?: string): S3Error {
  return new S3Error('InvalidPart', message, {
    UploadId: uploadId,
    PartNumber: String(p.partNumber),
    ETag: p.etag,
  })
}

/** Match the client's list against stored parts; returns the chosen parts in order. */
export function chooseParts(
  listed: readonly CompletePart[],
  stored: ReadonlyMap<number, PartRecord>,
  upload: Pick<UploadRecord, 'uploadId' | 'checksumAlgorithm'>,
  minPartSize: number,
): PartRecord[] {
  return listed.map((p, i) => {
    const sp = stored.get(p.partNumber)
    if (sp === undefined || sp.etag !== p.etag) throw invalidPart(p, upload.uploadId)
    if (i < listed.length - 1 && sp.size < minPartSize) {
      throw new S3Error('EntityTooSmall', undefined, {
        ProposedSize: String(sp.size),
        MinSizeAllowed: String(minPartSize),
        PartNumber: String(p.partNumber),
        ETag: `"${sp.etag}"`,
      })
    }
    for (const [alg, given] of Object.entries(p.checksums)) {
      if (sp.checksum?.algorithm !== alg || sp.checksum.value !== given) {
        throw invalidPart(
          p,
          upload.uploadId,
          `The ${alg.toLowerCase()} checksum of part ${p.partNumber} did not match.`,
        )
      }
    }
    const alg = upload.checksumAlgorithm
    if (alg !== undefined && sp.checksum?.algorithm !== alg) {
      throw invalidPart(
        p,
        upload.uploadId,
        `Part ${p.partNumber} has no ${alg.toLowerCase()} checksum.`,
      )
    }
    return sp
  })
}

/** The COMPOSITE value: checksum of the concatenated binary part checksums, then "-N". */
export function compositeValue(
  alg: ChecksumAlgorithm,
  partChecksumsB64: readonly string[],
): string {
  const v = compositeChecksum(alg, partChecksumsB64)
  const suffix = `-${partChecksumsB64.length}`
  return v.endsWith(suffix) ? v : v + suffix
}

function objectChecksum(
  req: S3Request,
  upload: UploadRecord,
  parts: readonly PartRecord[],
): StoredChecksum | undefined {
  const alg = upload.checksumAlgorithm
  if (alg === undefined) return undefined
  if (upload.checksumType === 'FULL_OBJECT') {
    const value = combineCrcFullObject(
      alg,
      parts.map((p) => ({ checksumBase64: p.checksum?.value ?? '', size: p.size })),
    )
    const given = req.header(checksumHeaderName(alg))
    if (given !== undefined && given !== value) {
      throw new S3Error(
        'BadDigest',
        `The ${alg} you specified did not match the calculated checksum.`,
      )
    }
    return { algorithm: alg, value, type: 'FULL_OBJECT' }
  }
  const value = compositeValue(
    alg,
    parts.map((p) => p.checksum?.value ?? ''),
  )
  return { algorithm: alg, value, type: 'COMPOSITE' }
}

function location(req: S3Request, bucket: string, key: string): string {
  const host = req.header('host') ?? 'localhost'
  const path = key.split('/').map(encodeURIComponent).join('/')
  return `${req.raw.secure ? 'https' : 'http'}://${host}/${encodeURIComponent(bucket)}/${path}`
}

export const completeMultipartUpload: Operation = {
  name: 'CompleteMultipartUpload',
  target: 'object',
  authorize: (req) => [
    {
      action: 's3:PutObject',
      resource: requestObjectArn(req),
      context: objectCreationContext(req, true),
    },
    ...ifMatchReadRequirement(req),
  ],
  async handle(req, env) {
    const bucket = bucketOf(req)
    const key = keyOf(req)
    const upload = await loadUpload(req, env, bucket.name, key).catch(async (e: unknown) => {
      if (!(e instanceof S3Error) || e.code !== 'NoSuchUpload') throw e
      return alreadyCompleted(req, env, bucket.name, key, e)
    })
    if ('status' in upload) return upload
    const listed = parseCompleteDocument(await readBoundedText(req.body, COMPLETE_MAX_BODY))
    const stored = await storedParts(env, upload.uploadId)
    const parts = chooseParts(listed, stored, upload, env.limits.minPartSize)
    const size = parts.reduce((s, p) => s + p.size, 0)
    const declared = req.header('x-amz-mp-object-size')
    if (declared !== undefined && declared !== String(size)) {
      throw new S3Error(
        'InvalidRequest',
        `The provided 'x-amz-mp-object-size' header value ${declared} does not match what was computed: ${size}`,
      )
    }
    // A session's upload caps: the whole object's size and type; it counts as one object here
    // (its bytes were counted as the parts were written).
    checkObjectSize(req.principal, size)
    checkContentType(req.principal, upload.headers.contentType)
    const checksum = objectChecksum(req, upload, parts)
    const conditions = writeConditions((n) => req.header(n))
    const etag = multipartEtag(parts.map((p) => p.etag))
    const record: ObjectRecord = {
      bucket: bucket.name,
      key,
      size,
      etag,
      lastModified: req.ctx.clock.now(),
      headers: upload.headers,
      userMetadata: upload.userMetadata,
      tags: upload.tags,
      body: { kind: 'parts', parts: parts.map((p) => ({ ref: p.body, size: p.size })) },
      partSizes: parts.map((p) => p.size),
      ...(checksum === undefined
        ? {}
        : { partChecksums: parts.map((p) => p.checksum?.value ?? '') }),
      uploadId: upload.uploadId,
      ownerAccountId: upload.ownerAccountId,
      ...(checksum === undefined ? {} : { checksum }),
      ...(upload.acl === undefined ? {} : { acl: upload.acl }),
    }
    // The store decides If-Match / If-None-Match atomically with the completion.
    await charged(
      req.principal,
      env.usage,
      { bytes: 0, objects: 1 },
      () =>
        commitRemoval(commitIo(req, env), async () => {
          const { replaced, unused } = await env.meta
            .completeUpload(
              upload.uploadId,
              record,
              parts.map((p) => p.partNumber),
              conditions,
            )
            .catch((e: unknown) => {
              throw writeConditionError(e, key)
            })
          return { result: undefined, freed: [replaced, ...unused], kept: parts.map((p) => p.body) }
        }),
      () => ({ bytes: 0, objects: 1 }),
    )
    return completed(
      req,
      bucket.name,
      key,
      etag,
      checksum,
      await env.expiration?.(bucket.name, record),
    )
  },
}

function completed(
  req: S3Request,
  bucket: string,
  key: string,
  etag: string,
  checksum: StoredChecksum | undefined,
  /** x-amz-expiration when a lifecycle rule applies to the new object. */
  expiration: Readonly<Record<string, string>> = {},
): S3Response {
  const checksumXml =
    checksum === undefined
      ? ''
      : el(checksumElementName(checksum.algorithm), checksum.value) +
        el('ChecksumType', checksum.type)
  return {
    status: 200,
    headers: {
      'content-type': 'application/xml',
      ...checksumResponseHeaders(checksum),
      ...expiration,
    },
    body: doc(
      'CompleteMultipartUploadResult',
      el('Location', location(req, bucket, key)) +
        el('Bucket', bucket) +
        el('Key', key) +
        el('ETag', `"${etag}"`) +
        checksumXml,
    ),
  }
}

/**
 * The upload is gone: if this key holds the object that upload completed and the listed parts
 * give its ETag, this is a retry of a completion that succeeded: the same answer. Else `missing`.
 */
async function alreadyCompleted(
  req: S3Request,
  env: S3Env,
  bucket: string,
  key: string,
  missing: S3Error,
): Promise<S3Response> {
  const uploadId = req.query.get('uploadId') ?? ''
  if (uploadId === '') throw missing
  const o = await env.meta.getObject(bucket, key, { fresh: true })
  if (o === undefined || o.uploadId !== uploadId) throw missing
  const listed = parseCompleteDocument(await readBoundedText(req.body, COMPLETE_MAX_BODY))
  if (multipartEtag(listed.map((p) => p.etag)) !== o.etag) throw missing
  return completed(req, bucket, key, o.etag, o.checksum)
}
