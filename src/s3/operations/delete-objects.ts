/**
 * DeleteObjects (POST /bucket?delete): up to 1000 keys in one <Delete> document. AWS requires an
 * integrity header (Content-MD5 or x-amz-checksum-*; SDKs since 2025 send CRC32) and verifies it.
 * Authorization is per key: `authorize` returns 'self' (the pipeline has still authenticated the
 * caller) and handle() asks `env.authz.allows` for s3:DeleteObject on every key, reporting
 * refusals as <Error> entries like AWS. Quiet mode lists only errors.
 * @module
 */
import { readBounded } from '../../http/read-bounded.js'
import { S3Error } from '../errors.js'
import { checkObjectKey } from '../object-key.js'
import type { SelfAuthorizingOperation, S3Env, S3Request } from '../operation.js'
import { bucketOf, objectArn } from '../object/access.js'
import {
  digestBuffer,
  expectedDigests,
  requireSomeDigest,
  verifyBodyDigests,
} from '../integrity/verify-body.js'
import { removeObject } from '../object/remove.js'
import { child, doc, el, list, parseXml, text, wrap } from '../xml.js'

export const DELETE_OBJECTS_MAX_BODY = 2 * 1024 * 1024
export const DELETE_OBJECTS_MAX_KEYS = 1000

interface Entry {
  readonly key: string
  readonly versionId?: string
}

/** Read and verify the body against Content-MD5 / x-amz-checksum-* (one of them is required). */
async function readVerifiedBody(req: S3Request): Promise<Buffer> {
  const expected = expectedDigests(req)
  requireSomeDigest(expected, 'Missing required header for this request: Content-MD5')
  const read = await readBounded(req.body, DELETE_OBJECTS_MAX_BODY)
  if (!read.ok) throw new S3Error('MaxMessageLengthExceeded')
  const buf = read.bytes
  verifyBodyDigests(
    req,
    expected,
    digestBuffer(buf, expected.checksum?.algorithm),
    () => new S3Error('BadDigest', 'The Content-MD5 you specified did not match what we received.'),
  )
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

export const deleteObjects: SelfAuthorizingOperation = {
  name: 'DeleteObjects',
  target: 'bucket',
  authorize: () => 'self',
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
