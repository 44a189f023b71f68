/**
 * Conditional writes are decided by the store in the write's own transaction: of two PutObject
 * requests racing with the same condition, both pass the early check (nothing has committed yet)
 * and upload their bodies, yet exactly one commits; the other gets 409 ConditionalRequestConflict
 * (its condition held when it started, another writer changed the key meanwhile: AWS's answer),
 * and its body is deleted. CopyObject's If-Match / If-None-Match name the destination and are
 * decided the same way.
 * @module
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { S3Error, toS3Error } from '../errors.js'
import {
  ACCOUNT,
  blobCount,
  bodyOf,
  bytes,
  header,
  makeEnv,
  run,
  fakeRequest,
  type TestEnv,
} from '../object/fixtures.case.js'
import { completeMultipartUpload } from './complete-multipart-upload.js'
import { createMultipartUpload } from './create-multipart-upload.js'
import { uploadPart } from './upload-part.js'
import { uploadPartCopy } from './upload-part-copy.js'
import { getObject } from './get-object.js'
import { copyObject } from './copy-object.js'
import { deleteObject } from './delete-object.js'
import { putObject } from './put-object.js'

let env: TestEnv
/** Writers held at the store until this many have arrived (0 = no hold). */
let barrier = 0
let held: (() => void)[] = []
beforeEach(async () => {
  env = await makeEnv()
  // Both racers reach the store before either commits (as in one group-commit batch): a check
  // made by reading before the write lets both through; only the store's own decision holds.
  const store = env.meta
  const commit = store.putObject.bind(store)
  store.putObject = async (o, c) => {
    if (barrier > 0) {
      await new Promise<void>((r) => {
        held.push(r)
        if (held.length === barrier) for (const go of held.splice(0)) go()
      })
    }
    return commit(o, c)
  }
})
afterEach(async () => {
  await env.close()
})

const put = (key: string, body: Buffer, headers: Record<string, string>) =>
  run(putObject, env, { method: 'PUT', key, body, headers })

async function race(key: string, headers: Record<string, string>) {
  const a = bytes(5000, 1)
  const b = bytes(5000, 2)
  barrier = 2
  held = []
  const settled = await Promise.allSettled([put(key, a, headers), put(key, b, headers)])
  const won = settled.flatMap((r, i) => (r.status === 'fulfilled' ? [i === 0 ? a : b] : []))
  const lost = settled.flatMap((r) =>
    r.status === 'rejected' ? [toS3Error(r.reason, ACCOUNT).code] : [],
  )
  barrier = 0
  return { won, lost }
}

describe('conditional PutObject under a race', () => {
  it('REGRESSION conditional-put-race: If-None-Match: * — exactly one of two concurrent creators wins', async () => {
    const { won, lost } = await race('new', { 'if-none-match': '*' })
    expect(won).toHaveLength(1)
    expect(lost).toEqual(['ConditionalRequestConflict'])
    expect(await bodyOf(await run(getObject, env, { key: 'new' }))).toEqual(won[0])
    expect(await blobCount(env)).toBe(1) // the loser's uploaded body is gone
  })

  it('REGRESSION conditional-put-race: If-Match: <etag> — exactly one of two concurrent updaters of the same version wins', async () => {
    const first = await put('upd', bytes(10, 9), {})
    const { won, lost } = await race('upd', { 'if-match': header(first, 'etag') ?? '' })
    expect(won).toHaveLength(1)
    expect(lost).toEqual(['ConditionalRequestConflict'])
    expect(await bodyOf(await run(getObject, env, { key: 'upd' }))).toEqual(won[0])
    expect(await blobCount(env)).toBe(1)
  })
})

describe('conditional CopyObject (If-Match / If-None-Match name the destination)', () => {
  const copy = (key: string, headers: Record<string, string>) =>
    run(copyObject, env, {
      method: 'PUT',
      key,
      headers: { 'x-amz-copy-source': `/${env.bucket.name}/src`, ...headers },
    })
  const copyError = async (key: string, headers: Record<string, string>) => {
    try {
      await copy(key, headers)
    } catch (e) {
      return toS3Error(e, ACCOUNT)
    }
    throw new Error('CopyObject succeeded but an error was expected')
  }

  it('REGRESSION conditional-copy: If-None-Match: * refuses to copy over an existing destination (it overwrote it)', async () => {
    await put('src', bytes(3000, 1), {})
    await put('dst', bytes(3000, 2), {})
    const err = await copyError('dst', { 'if-none-match': '*' })
    expect([err.code, err.status]).toEqual(['PreconditionFailed', 412])
    expect(err.extra['Condition']).toBe('If-None-Match')
    expect(await bodyOf(await run(getObject, env, { key: 'dst' }))).toEqual(bytes(3000, 2))
    await copy('fresh', { 'if-none-match': '*' })
    expect(await bodyOf(await run(getObject, env, { key: 'fresh' }))).toEqual(bytes(3000, 1))
    expect(await blobCount(env)).toBe(3) // the refused copy left no body behind
  })

  it('REGRESSION conditional-copy: If-Match compares the destination ETag; a missing destination is NoSuchKey', async () => {
    await put('src', bytes(3000, 1), {})
    const dst = await put('dst', bytes(3000, 2), {})
    const wrong = await copyError('dst', { 'if-match': '"0123456789abcdef0123456789abcdef"' })
    expect([wrong.code, wrong.extra['Condition']]).toEqual(['PreconditionFailed', 'If-Match'])
    const missing = await copyError('nothing-here', { 'if-match': '*' })
    expect([missing.code, missing.status]).toEqual(['NoSuchKey', 404])
    await copy('dst', { 'if-match': header(dst, 'etag') ?? '' })
    expect(await bodyOf(await run(getObject, env, { key: 'dst' }))).toEqual(bytes(3000, 1))
  })

  it('If-None-Match other than * is NotImplemented, as on PutObject', async () => {
    await put('src', bytes(10, 1), {})
    const err = await copyError('dst', { 'if-none-match': '"abc"' })
    expect(err).toBeInstanceOf(S3Error)
    expect([err.code, err.status]).toEqual(['NotImplemented', 501])
  })

  it('a copy whose destination is written while the copy runs answers 409 ConditionalRequestConflict', async () => {
    await put('src', bytes(5000, 1), {})
    barrier = 2
    held = []
    const settled = await Promise.allSettled([
      copy('dst', { 'if-none-match': '*' }),
      put('dst', bytes(5000, 7), { 'if-none-match': '*' }),
    ])
    barrier = 0
    const codes = settled.map((r) =>
      r.status === 'fulfilled' ? 'ok' : toS3Error(r.reason, ACCOUNT).code,
    )
    expect(codes.filter((c) => c === 'ok')).toHaveLength(1)
    expect(codes.filter((c) => c === 'ConditionalRequestConflict')).toHaveLength(1)
    expect(await blobCount(env)).toBe(2) // src and the one winner
  })
})

describe('If-Match when the key is deleted during the upload', () => {
  it('answers 409 ConditionalRequestConflict (the early check held), and keeps nothing', async () => {
    const first = await put('gone', bytes(5000, 1), {})
    const store = env.meta
    const commit = store.putObject.bind(store)
    // Delete the key after the early check has read it, before the PUT commits.
    store.putObject = async (o, c) => {
      await run(deleteObject, env, { method: 'DELETE', key: 'gone' })
      return commit(o, c)
    }
    const settled = await Promise.allSettled([
      put('gone', bytes(5000, 2), { 'if-match': header(first, 'etag') ?? '' }),
    ])
    store.putObject = commit
    const r = settled[0]
    expect(r?.status).toBe('rejected')
    if (r?.status === 'rejected') {
      const err = toS3Error(r.reason, ACCOUNT)
      expect([err.code, err.status]).toEqual(['ConditionalRequestConflict', 409])
    }
    expect(await blobCount(env)).toBe(0)
  })
})

describe('authorizing conditional writes (as AWS: bucket policies can demand them)', () => {
  const req = (headers: Record<string, string>) =>
    fakeRequest(env, { method: 'PUT', key: 'k', headers })
  const arn = 'arn:aws:s3:::bkt/k'

  it('PutObject, CopyObject and CompleteMultipartUpload carry s3:if-none-match / s3:if-match and s3:ObjectCreationOperation=true', () => {
    expect(putObject.authorize(req({ 'if-none-match': '*' }))).toEqual([
      {
        action: 's3:PutObject',
        resource: arn,
        context: { 's3:ObjectCreationOperation': 'true', 's3:if-none-match': '*' },
      },
    ])
    const copy = copyObject.authorize(req({ 'x-amz-copy-source': 'bkt/src', 'if-none-match': '*' }))
    expect(copy).toEqual([
      {
        action: 's3:PutObject',
        resource: arn,
        context: {
          's3:x-amz-copy-source': 'bkt/src',
          's3:ObjectCreationOperation': 'true',
          's3:if-none-match': '*',
        },
      },
    ])
    expect(completeMultipartUpload.authorize(req({}))).toEqual([
      { action: 's3:PutObject', resource: arn, context: { 's3:ObjectCreationOperation': 'true' } },
    ])
  })

  it('REGRESSION if-match-needs-read: If-Match also needs s3:GetObject (it tells whether the object has that ETag)', () => {
    for (const op of [putObject, completeMultipartUpload]) {
      const needs = op.authorize(req({ 'if-match': '"abc"' }))
      expect(needs).toContainEqual({ action: 's3:GetObject', resource: arn })
      expect(needs[0]?.context).toMatchObject({ 's3:if-match': '"abc"' })
    }
    const copy = copyObject.authorize(req({ 'x-amz-copy-source': 'bkt/src', 'if-match': '"abc"' }))
    expect(copy).toContainEqual({ action: 's3:GetObject', resource: arn })
    expect(putObject.authorize(req({ 'if-none-match': '*' }))).toHaveLength(1)
  })

  it('the steps of a multipart upload say s3:ObjectCreationOperation=false', () => {
    for (const op of [createMultipartUpload, uploadPart, uploadPartCopy]) {
      const needs = op.authorize(req({ 'if-none-match': '*', 'x-amz-copy-source': 'bkt/src' }))
      expect(needs).toHaveLength(1)
      expect(needs[0]?.context?.['s3:ObjectCreationOperation']).toBe('false')
      expect(needs[0]?.context?.['s3:if-none-match']).toBeUndefined()
    }
  })
})
