/**
 * DeleteObjects (POST /bucket?delete): up to 1000 keys in one <Delete> document. AWS requires an
 * integrity header (Content-MD5 or x-amz-checksum-*; SDKs since 2025 send CRC32) and verifies it.
 * Authorization is per key: `authorize` returns [] (the pipeline has still authenticated the
 * caller) and handle() asks `env.authz.allows` for s3:DeleteObject on every key, reporting
 * refusals as <Error> entries like AWS. Quiet mode lists only errors.
 * @module
 */
import { Readable } from 'node:stream'
import { BodyDigests, expectedChecksum, verifyContentMd5 } from '../../auth/checksum.js'
import type { ChecksumAlgorithm } from '../../storage/metadata-store.js'
import { S3Error } from '../errors.js'
import { checkObjectKey } from '../object-key.js'
import type { Operation, S3Env, S3Request } from '../operation.js'
import { bucketOf, objectArn } from '../object/access.js'
import { checksumHeaderName } from '../object/ingest.js'
import { removeObject } from '../object/remove.js'
import { child, doc, el, list, parseXml, text, wrap } from '../xml.js'

export const DELETE_OBJECTS_MAX_BODY = 2 * 1024 * 1024
export const DELETE_OBJECTS_MAX_KEYS = 1000

interface Entry {
  readonly key: string
  readonly versionId?: string
}

async function readBounded(body: Readable, max: number): Promise<Buffer> {
  const chunks: Buffer[] = []
  let n = 0
  for await (const c of body) {
    const b = c as Buffer
    n += b.length
    if (n > max) {
      body.destroy()
      throw new S3Error('MaxMessageLengthExceeded')
    }
    chunks.push(b)
  }
  return Buffer.concat(chunks, n)
}

async function digestBuffer(buf: Buffer, alg: ChecksumAlgorithm | undefined): Promise<BodyDigests> {
  const d = new BodyDigests(alg)
  d.resume()
  await new Promise<void>((resolve, reject) => {
    d.on('error', reject)
    d.on('finish', resolve)
    d.end(buf)
  })
  return d
}

/** Read and verify the body against Content-MD5 / x-amz-checksum-* (one of them is required). */
async function readVerifiedBody(req: S3Request): Promise<Buffer> {
  const md5 = verifyContentMd5(req.header('content-md5'))
  const expected = expectedChecksum(req.raw.headers)
  if (md5 === undefined && expected === undefined) {
    throw new S3Error('InvalidRequest', 'Missing required header for this request: Content-MD5')
  }
  const buf = await readBounded(req.body, DELETE_OBJECTS_MAX_BODY)
  const d = await digestBuffer(buf, expected?.algorithm)
  if (md5 !== undefined && md5.toString('hex') !== d.md5Hex()) {
    throw new S3Error('BadDigest', 'The Content-MD5 you specified did not match what we received.')
  }
  if (expected !== undefined) {
    const given = expected.fromTrailer
      ? req.trailers.get(checksumHeaderName(expected.algorithm))
      : expected.value
    if (given === undefined) {
      throw new S3Error(
        'InvalidRequest',
        `The trailer ${checksumHeaderName(expected.algorithm)} declared in x-amz-trailer was not sent.`,
      )
    }
    if (given !== d.checksumBase64()) {
      throw new S3Error(
        'BadDigest',
        `The ${expected.algorithm} you specified did not match the calculated checksum.`,
      )
    }
  }
  return buf
}

/** Parse <Delete>; no objects, more than 1000, or an object without a Key → MalformedXML. */
export function parseDeleteDocument(xml: string): { quiet: boolean; entries: Entry[] } {
  const root = parseXml(xml)
  const del = root['Delete']
  if (del === undefined || typeof del === 'string' || Array.isArray(del))
    throw new S3Error('MalformedXML')
  const quiet = (text(child(del, 'Quiet')) ?? 'false').trim().toLowerCase() === 'true'
  const objects = list(child(del, 'Object'))
  if (objects.length === 0 || objects.length > DELETE_OBJECTS_MAX_KEYS)
    throw new S3Error('MalformedXML')
  const entries = objects.map((o): Entry => {
    const key = text(child(o, 'Key'))
    if (key === undefined || key === '') throw new S3Error('MalformedXML')
    const versionId = text(child(o, 'VersionId'))
    return versionId === undefined ? { key } : { key, versionId }
  })
  return { quiet, entries }
}

async function deleteOne(
  req: S3Request,
  env: S3Env,
  e: Entry,
): Promise<{ ok: true } | { ok: false; code: string; message: string }> {
  const bucket = bucketOf(req)
  // The path's key rule, reported per key as AWS reports KeyTooLongError here.
  try {
    checkObjectKey(e.key)
  } catch (err) {
    if (err instanceof S3Error) return { ok: false, code: err.code, message: err.message }
    throw err
  }
  if (e.versionId !== undefined && e.versionId !== 'null') {
    return { ok: false, code: 'NoSuchVersion', message: 'The specified version does not exist.' }
  }
  const allowed = await env.authz.allows(
    req,
    { action: 's3:DeleteObject', resource: objectArn(bucket.name, e.key) },
    bucket,
  )
  if (!allowed) return { ok: false, code: 'AccessDenied', message: 'Access Denied' }
  try {
    await removeObject(req, env, bucket.name, e.key)
    return { ok: true }
  } catch {
    return {
      ok: false,
      code: 'InternalError',
      message: 'We encountered an internal error. Please try again.',
    }
  }
}

export const deleteObjects: Operation = {
  name: 'DeleteObjects',
  authorize: () => [],
  async handle(req, env) {
    bucketOf(req)
    const buf = await readVerifiedBody(req)
    const { quiet, entries } = parseDeleteDocument(buf.toString('utf8'))
    let out = ''
    for (const e of entries) {
      const r = await deleteOne(req, env, e)
      const version = e.versionId === undefined ? '' : el('VersionId', e.versionId)
      if (r.ok) {
        if (!quiet) out += wrap('Deleted', el('Key', e.key) + version)
      } else {
        out += wrap(
          'Error',
          el('Key', e.key) + version + el('Code', r.code) + el('Message', r.message),
        )
      }
    }
    return {
      status: 200,
      headers: { 'content-type': 'application/xml' },
      body: doc('DeleteResult', out),
    }
  },
}
