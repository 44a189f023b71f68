/**
 * Browser POST upload (POST /bucket, multipart/form-data), SigV4 POST policy flavour
 * (docs.aws.amazon.com/AmazonS3/latest/API/RESTObjectPOST.html, sigv4-HTTPPOSTConstructPolicy).
 *
 * The form is parsed with busboy while it streams: every field before `file` is collected, the
 * file itself is never buffered (size limiter → MD5/checksum digests → writeBody), and fields
 * after the file are ignored, as AWS does. The operation authenticates and authorizes itself
 * (`authorize` returns 'self'), in this order:
 *  1. fields up to `file`; `key` with `${filename}` substituted, checked by the path's key rule;
 *  2. env.authenticatePostForm → principal (anonymous when unsigned);
 *  3. the POST policy: expiration, eq/starts-with conditions, no unnamed fields;
 *  4. s3:PutObject on bucket/key for that principal (policies, bucket policy);
 *  5. stream the file, enforcing content-length-range while streaming (EntityTooLarge aborts at
 *     once; EntityTooSmall after the end deletes what was written);
 *  6. commit the object, then answer per success_action_redirect / success_action_status.
 * A session's upload caps (object/upload-caps.ts) apply as to PutObject: the form's Content-Type
 * before the file, max-object-size and max-bytes while it streams, one object at the commit.
 * @module
 */
import { Readable, type TransformCallback } from 'node:stream'
import { BodyTransform } from '../../lib/streams.js'
import busboy from 'busboy'
import type { Principal } from '../../auth/principal.js'
import {
  BodyDigests,
  checksumHeaderName,
  parseChecksumAlgorithm,
  CHECKSUM_ALGORITHMS,
  type ChecksumAlgorithm,
} from '../integrity/checksum.js'
import {
  checkPostPolicy,
  contentLengthRange,
  parsePostPolicy,
} from '../../auth/sigv4/post-policy.js'
import { dict } from '../../lib/dict.js'
import { commitWrite, type CommitIo } from '../../storage/commit.js'
import { writeBody } from '../../storage/object-bodies.js'
import { StorageError } from '../../storage/errors.js'
import type { BodyRef, ObjectRecord, StoredChecksum } from '../../storage/metadata-store.js'
import { bucketArn } from '../bucket-name.js'
import { S3Error, bodyStreamError } from '../errors.js'
import { checkObjectKey } from '../object-key.js'
import type { SelfAuthorizingOperation, S3Env, S3Request, S3Response } from '../operation.js'
import { bucketRecordOf } from '../responses.js'
import { describeObject } from '../object/headers.js'
import { objectAclFromRequest } from '../acl-apply.js'
import { commitIo } from '../object/ingest.js'
import { parseTaggingXml, type TagSet } from '../object/tags.js'
import { el, parseXml, XML_DECL } from '../xml.js'
import {
  CapGate,
  capSizeError,
  charged,
  checkContentType,
  maxSizeFor,
  type UploadCharge,
} from '../object/upload-caps.js'

/** All non-file fields together (AWS caps the pre-file form data; policy alone may be 64 KB). */
const MAX_FIELDS_BYTES = 256 * 1024

interface FormStart {
  /** Lower-cased field name → value, fields before the file only. */
  readonly fields: Map<string, string>
  readonly file: Readable
  readonly filename: string
  /** Resolves when the whole request body has been parsed (fields after the file ignored). */
  readonly done: Promise<void>
}

function malformed(why?: string): S3Error {
  return new S3Error(
    'MalformedPOSTRequest',
    why === undefined
      ? undefined
      : `The body of your POST request is not well-formed multipart/form-data. ${why}`,
  )
}

/** Start parsing; resolves at the `file` part (or rejects when the form has none / is malformed). */
export function startForm(req: S3Request): Promise<FormStart> {
  const contentType = req.header('content-type') ?? ''
  if (!/^multipart\/form-data\s*;/i.test(contentType))
    return Promise.reject(
      new S3Error(
        'PreconditionFailed',
        'Bucket POST must be of the enclosure-type multipart/form-data',
        { Condition: 'Bucket POST must be of the enclosure-type multipart/form-data' },
      ),
    )
  let bb: busboy.Busboy
  try {
    bb = busboy({
      headers: { 'content-type': contentType },
      defParamCharset: 'utf8',
      limits: { fieldSize: MAX_FIELDS_BYTES, fields: 1000, parts: 2000, fieldNameSize: 1024 },
    })
  } catch {
    return Promise.reject(malformed('Missing or invalid boundary.'))
  }
  return new Promise<FormStart>((resolve, reject) => {
    const fields = new Map<string, string>()
    let bytes = 0
    let started = false
    let failure: S3Error | undefined
    let current: Readable | undefined
    let resolveDone: () => void = () => undefined
    let rejectDone: (e: unknown) => void = () => undefined
    const done = new Promise<void>((res, rej) => {
      resolveDone = res
      rejectDone = rej
    })
    done.catch(() => undefined)
    const fail = (e: S3Error): void => {
      failure ??= e
      if (!started) reject(e)
      else {
        rejectDone(e)
        // A file still streaming would otherwise wait forever for bytes that will not come.
        if (current !== undefined && !current.readableEnded) current.destroy(e)
      }
    }
    const begin = (file: Readable, filename: string): void => {
      started = true
      current = file
      // Errors before streamFile attaches its handlers are read back from file.errored.
      file.on('error', () => undefined)
      resolve({ fields, file, filename, done })
    }
    bb.on('field', (name, value, info) => {
      if (started || failure !== undefined) return
      const n = name.toLowerCase()
      if (info.valueTruncated || info.nameTruncated)
        return fail(new S3Error('MaxMessageLengthExceeded', 'Your POST form fields are too large.'))
      bytes += name.length + value.length
      if (bytes > MAX_FIELDS_BYTES)
        return fail(new S3Error('MaxMessageLengthExceeded', 'Your POST form fields are too large.'))
      // A `file` part without a filename is still the file (AWS takes its value as the content).
      if (n === 'file') return begin(Readable.from([Buffer.from(value, 'utf8')]), '')
      if (!fields.has(n)) fields.set(n, value)
    })
    bb.on('file', (name, stream, info) => {
      if (started || failure !== undefined || name.toLowerCase() !== 'file') {
        stream.resume()
        return
      }
      begin(stream, info.filename ?? '')
    })
    bb.on('fieldsLimit', () =>
      fail(new S3Error('MaxMessageLengthExceeded', 'Too many POST form fields.')),
    )
    bb.on('partsLimit', () =>
      fail(new S3Error('MaxMessageLengthExceeded', 'Too many POST form parts.')),
    )
    bb.on('error', (e) => fail(malformed(e instanceof Error ? e.message : undefined)))
    bb.on('close', () => {
      if (failure !== undefined) return
      if (!started)
        return reject(
          new S3Error('InvalidArgument', 'POST requires exactly one file upload per request.', {
            ArgumentName: 'file',
            ArgumentValue: '0',
          }),
        )
      resolveDone()
    })
    req.body.on('error', (e) => fail(bodyStreamError(e)))
    req.body.pipe(bb)
  })
}

/** Counts bytes and errors (without destroying the source) once more than `max` pass. */
class SizeLimit extends BodyTransform {
  readonly max: number
  size = 0
  exceeded = false
  constructor(max: number) {
    super()
    this.max = max
  }
  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.size += chunk.length
    if (this.size > this.max) {
      this.exceeded = true
      cb(new S3Error('EntityTooLarge', undefined, { MaxSizeAllowed: String(this.max) }))
    } else cb(null, chunk)
  }
}

function missingField(name: string): S3Error {
  return new S3Error(
    'InvalidArgument',
    `Bucket POST must contain a field named '${name}'.  If it is specified, please check the order of the fields.`,
    {
      ArgumentName: name,
      ArgumentValue: '',
    },
  )
}

/** The checksum a form asks us to verify (x-amz-checksum-<alg> field), if any. */
function formChecksum(
  fields: ReadonlyMap<string, string>,
): { algorithm: ChecksumAlgorithm; value: string } | undefined {
  for (const alg of CHECKSUM_ALGORITHMS) {
    const v = fields.get(checksumHeaderName(alg))
    if (v !== undefined) return { algorithm: alg, value: v.trim() }
  }
  const named = fields.get('x-amz-checksum-algorithm')
  if (named !== undefined && parseChecksumAlgorithm(named) === undefined)
    throw new S3Error('InvalidRequest', 'Checksum algorithm provided is unsupported.')
  return undefined
}

/** Everything about the object that comes from the fields, validated before any byte is stored. */
function describeFromFields(fields: ReadonlyMap<string, string>): {
  desc: ReturnType<typeof describeObject>
  tags: TagSet
} {
  // Field names are the client's: a prototype-free record keeps `__proto__` & co. as plain keys.
  const asHeaders = dict<string>()
  for (const [k, v] of fields) {
    if (k === 'acl') asHeaders['x-amz-acl'] = v
    else if (k === 'policy' || k === 'key' || k === 'tagging' || k === 'file') continue
    else asHeaders[k] = v
  }
  const desc = describeObject((n) => asHeaders[n], asHeaders)
  const tagging = fields.get('tagging')
  const tags =
    tagging === undefined || tagging.trim() === '' ? {} : parseTaggingXml(parseXml(tagging))
  return { desc, tags }
}

/**
 * The object key of a POST upload: the `key` field with `${filename}` replaced by the file's
 * name, then the same key rule as the request path (s3/object-key.ts), so a form cannot store a
 * key (`a/../b`, or `uploads/..` from a crafted filename) that no path request could address.
 */
export function postObjectKey(rawKey: string, filename: string): string {
  const key = rawKey.replaceAll('${filename}', filename)
  if (key === '')
    throw new S3Error('InvalidArgument', 'User key must have a length greater than 0.', {
      ArgumentName: 'key',
      ArgumentValue: '',
    })
  checkObjectKey(key)
  return key
}

function objectUrl(req: S3Request, bucket: string, key: string): string {
  const host = req.header('host') ?? 'localhost'
  const path = key.split('/').map(encodeURIComponent).join('/')
  return `${req.raw.secure ? 'https' : 'http'}://${host}/${encodeURIComponent(bucket)}/${path}`
}

/** The success answer: 303 to success_action_redirect, else success_action_status (default 204). */
export function successResponse(
  fields: ReadonlyMap<string, string>,
  o: { bucket: string; key: string; etag: string; location: string },
): S3Response {
  const headers: Record<string, string> = { etag: `"${o.etag}"`, location: o.location }
  const redirect = fields.get('success_action_redirect') ?? fields.get('redirect')
  if (redirect !== undefined && redirect !== '') {
    try {
      const u = new URL(redirect)
      u.searchParams.append('bucket', o.bucket)
      u.searchParams.append('key', o.key)
      u.searchParams.append('etag', `"${o.etag}"`)
      return { status: 303, headers: Object.assign({}, headers, { location: u.toString() }) }
    } catch {
      // AWS ignores an unusable redirect and falls back to the status.
    }
  }
  const status = fields.get('success_action_status')
  if (status === '200') return { status: 200, headers }
  if (status === '201')
    return {
      status: 201,
      headers: Object.assign({}, headers, { 'content-type': 'application/xml' }),
      body:
        `${XML_DECL}<PostResponse>${el('Location', o.location)}${el('Bucket', o.bucket)}` +
        `${el('Key', o.key)}${el('ETag', `"${o.etag}"`)}</PostResponse>`,
    }
  return { status: 204, headers }
}

/** The upload's bytes, within the policy's maximum (the minimum is checked after, as a `check`). */
async function streamFile(
  form: FormStart,
  io: CommitIo,
  range: { min: number; max: number },
  inlineMax: number,
  algorithm: ChecksumAlgorithm | undefined,
  charge: UploadCharge | undefined,
): Promise<{ body: BodyRef; size: number; md5Hex: string; checksumB64?: string }> {
  const limiter = new SizeLimit(range.max)
  const digests = new BodyDigests(algorithm)
  const { file } = form
  if (file.destroyed) {
    const e = file.errored
    throw e instanceof S3Error ? e : malformed(e?.message)
  }
  limiter.on('error', (e) => {
    file.unpipe(limiter)
    file.resume()
    digests.destroy(e)
  })
  file.on('error', (e) => digests.destroy(e instanceof S3Error ? e : malformed(e.message)))
  // writeBody reports the failure; these keep a late error from becoming an uncaught one.
  digests.on('error', () => undefined)
  if (charge !== undefined && charge.countsBytes) {
    // The session's byte cap: bytes reserved as they stream, the upload cut when it refuses.
    const gate = new CapGate(charge)
    gate.on('error', (e) => {
      file.unpipe(limiter)
      file.resume()
      digests.destroy(e)
    })
    file.pipe(limiter).pipe(gate).pipe(digests)
  } else file.pipe(limiter).pipe(digests)
  let written: { body: BodyRef; size: number }
  try {
    written = await writeBody(digests, {
      blobs: io.blobs,
      ledger: io.ledger,
      now: io.now,
      inlineMax,
      maxSize: range.max,
    })
  } catch (e) {
    if (limiter.exceeded || (e instanceof StorageError && e.kind === 'too-large'))
      throw new S3Error('EntityTooLarge', undefined, { MaxSizeAllowed: String(range.max) })
    throw e
  }
  const checksumB64 = digests.checksumBase64()
  return Object.assign({}, written, {
    md5Hex: digests.md5Hex(),
    ...(checksumB64 !== undefined ? { checksumB64 } : {}),
  })
}

async function handlePost(req: S3Request, env: S3Env, form: FormStart): Promise<S3Response> {
  const bucket = bucketRecordOf(req)
  const { fields } = form
  // 1. key, with ${filename} substituted
  const rawKey = fields.get('key')
  if (rawKey === undefined) throw missingField('key')
  const key = postObjectKey(rawKey, form.filename)
  // 2. who is calling
  const principal: Principal = await env.authenticatePostForm(fields, req)
  // 3. the POST policy
  const now = req.ctx.clock.now()
  let range = { min: 0, max: env.limits.maxObjectSize }
  const policyB64 = fields.get('policy')
  if (policyB64 !== undefined) {
    const policy = parsePostPolicy(policyB64)
    const checked = new Map(fields)
    checked.set('key', key)
    checked.set('bucket', bucket.name)
    checkPostPolicy(policy, checked, now)
    const r = contentLengthRange(policy)
    if (r !== undefined) range = { min: r.min, max: Math.min(r.max, range.max) }
  } else if (principal.kind !== 'anonymous') {
    throw missingField('policy')
  }
  const { desc, tags } = describeFromFields(fields)
  const expected = formChecksum(fields)
  // The session's upload caps (object/upload-caps.ts): type now, size while streaming.
  checkContentType(principal, desc.headers.contentType)
  const policyMax = range.max
  range = { min: range.min, max: maxSizeFor(principal, range.max) }
  // 4. s3:PutObject for that principal
  const context: Record<string, string | string[]> = {}
  if (desc.acl?.kind === 'canned') context['s3:x-amz-acl'] = desc.acl.name
  const tagKeys = Object.keys(tags)
  if (tagKeys.length > 0) {
    context['s3:RequestObjectTagKeys'] = tagKeys
    for (const [k, v] of Object.entries(tags)) context[`s3:RequestObjectTag/${k}`] = v
  }
  await env.authz.require(
    Object.assign({}, req, { principal }),
    { action: 's3:PutObject', resource: bucketArn(bucket.name, key), context },
    bucket,
  )
  // Setting an ACL also needs s3:PutObjectAcl (put-object.ts aclWriteRequirement).
  if (desc.acl !== undefined)
    await env.authz.require(
      Object.assign({}, req, { principal }),
      {
        action: 's3:PutObjectAcl',
        resource: bucketArn(bucket.name, key),
        ...(desc.acl.kind === 'canned' ? { context: { 's3:x-amz-acl': desc.acl.name } } : {}),
      },
      bucket,
    )
  const acl = await objectAclFromRequest(desc.acl, bucket, env)
  // 5. the bytes, 6. commit
  const io = commitIo(req, env)
  let checksum: StoredChecksum | undefined
  const { written: w } = await charged(
    principal,
    env.usage,
    { bytes: 0, objects: 1 },
    (charge) =>
      commitWrite(io, {
        write: () => streamFile(form, io, range, env.limits.inlineMax, expected?.algorithm, charge),
        check(w) {
          if (w.size < range.min) {
            throw new S3Error('EntityTooSmall', undefined, {
              ProposedSize: String(w.size),
              MinSizeAllowed: String(range.min),
            })
          }
          if (expected !== undefined) {
            if (w.checksumB64 !== expected.value) {
              throw new S3Error(
                'BadDigest',
                `The ${expected.algorithm} you specified did not match the calculated checksum.`,
              )
            }
            checksum = { algorithm: expected.algorithm, value: expected.value, type: 'FULL_OBJECT' }
          }
        },
        async commit(w) {
          const record: ObjectRecord = {
            bucket: bucket.name,
            key,
            size: w.size,
            etag: w.md5Hex,
            lastModified: now,
            headers: desc.headers,
            userMetadata: desc.userMetadata,
            ...(checksum !== undefined ? { checksum } : {}),
            tags,
            body: w.body,
            ownerAccountId: bucket.accountId,
            ...(acl === undefined ? {} : { acl }),
          }
          const { replaced } = await env.meta.putObject(record)
          return { result: undefined, freed: [replaced] }
        },
      }),
    (r) => ({ bytes: r.written.size, objects: 1 }),
  ).catch((e: unknown) => {
    throw capSizeError(principal, policyMax, e)
  })
  await form.done
  return successResponse(fields, {
    bucket: bucket.name,
    key,
    etag: w.md5Hex,
    location: objectUrl(req, bucket.name, key),
  })
}

export const postObject: SelfAuthorizingOperation = {
  name: 'PostObject',
  target: 'bucket',
  authorize: () => 'self',
  async handle(req, env) {
    bucketRecordOf(req)
    const form = await startForm(req)
    try {
      return await handlePost(req, env, form)
    } catch (e) {
      // Let the rest of the upload drain so the client reads our error instead of a reset.
      form.file.resume()
      throw e
    }
  },
}
