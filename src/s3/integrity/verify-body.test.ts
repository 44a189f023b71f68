/** The one body-digest check: header parsing first, then Content-MD5, then checksum/trailer. */
import { createHash } from 'node:crypto'
import { Readable } from 'node:stream'
import { describe, expect, it } from 'vitest'
import { S3Error } from '../errors.js'
import type { S3Request } from '../operation.js'
import { createChecksummer } from './checksum.js'
import {
  digestBuffer,
  expectedDigests,
  readVerifiedBody,
  requireSomeDigest,
  verifyBodyDigests,
} from './verify-body.js'

const BODY = Buffer.from('<Tagging><TagSet/></Tagging>')
const MD5 = createHash('md5').update(BODY).digest()
const crc32 = (b: Buffer): string => {
  const c = createChecksummer('CRC32')
  c.update(b)
  return c.digest().toString('base64')
}

/** Just the parts of S3Request the integrity check reads. */
function request(
  headers: Record<string, string>,
  trailers: Record<string, string> = {},
  body: Buffer = BODY,
): S3Request {
  return {
    header: (name: string) => headers[name],
    raw: { headers },
    trailers: new Map(Object.entries(trailers)),
    body: Readable.from([body]),
  } as unknown as S3Request
}

function codeOf(f: () => unknown): { code: string; message: string } | undefined {
  try {
    f()
  } catch (e) {
    if (e instanceof S3Error) return { code: e.code, message: e.message }
    throw e
  }
  return undefined
}

describe('verifyBodyDigests', () => {
  it('passes matching Content-MD5 and header checksum', () => {
    const req = request({
      'content-md5': MD5.toString('base64'),
      'x-amz-checksum-crc32': crc32(BODY),
    })
    const expected = expectedDigests(req)
    expect(
      codeOf(() => verifyBodyDigests(req, expected, digestBuffer(BODY, 'CRC32'))),
    ).toBeUndefined()
  })

  it('a Content-MD5 mismatch is BadDigest with both digests (the upload form) unless the caller says otherwise', () => {
    const req = request({ 'content-md5': MD5.toString('base64') })
    const other = digestBuffer(Buffer.from('x'), undefined)
    let err: S3Error | undefined
    try {
      verifyBodyDigests(req, expectedDigests(req), other)
    } catch (e) {
      err = e as S3Error
    }
    expect(err?.code).toBe('BadDigest')
    expect(err?.extra).toEqual({
      ExpectedDigest: MD5.toString('hex'),
      CalculatedDigest: other.md5Hex,
    })
    expect(
      codeOf(() =>
        verifyBodyDigests(req, expectedDigests(req), other, () => new S3Error('BadDigest')),
      ),
    ).toEqual({ code: 'BadDigest', message: new S3Error('BadDigest').message })
  })

  it('a checksum mismatch names the algorithm; a declared trailer that never came is InvalidRequest', () => {
    const wrong = request({ 'x-amz-checksum-crc32': crc32(Buffer.from('other')) })
    expect(
      codeOf(() => verifyBodyDigests(wrong, expectedDigests(wrong), digestBuffer(BODY, 'CRC32'))),
    ).toEqual({
      code: 'BadDigest',
      message: 'The CRC32 you specified did not match the calculated checksum.',
    })
    const trailer = { 'x-amz-trailer': 'x-amz-checksum-crc32' }
    const missing = request(trailer)
    expect(
      codeOf(() =>
        verifyBodyDigests(missing, expectedDigests(missing), digestBuffer(BODY, 'CRC32')),
      ),
    ).toEqual({
      code: 'InvalidRequest',
      message: 'The trailer x-amz-checksum-crc32 declared in x-amz-trailer was not sent.',
    })
    const sent = request(trailer, { 'x-amz-checksum-crc32': crc32(BODY) })
    expect(
      codeOf(() => verifyBodyDigests(sent, expectedDigests(sent), digestBuffer(BODY, 'CRC32'))),
    ).toBeUndefined()
  })

  it('Content-MD5 is checked before the checksum', () => {
    const req = request({
      'content-md5': createHash('md5').update('x').digest('base64'),
      'x-amz-checksum-crc32': crc32(Buffer.from('y')),
    })
    const e = codeOf(() =>
      verifyBodyDigests(
        req,
        expectedDigests(req),
        digestBuffer(BODY, 'CRC32'),
        () => new S3Error('BadDigest', 'md5'),
      ),
    )
    expect(e?.message).toBe('md5')
  })

  it('requireSomeDigest refuses a body with neither header, with the caller’s message', () => {
    expect(codeOf(() => requireSomeDigest(expectedDigests(request({})), 'need one'))).toEqual({
      code: 'InvalidRequest',
      message: 'need one',
    })
    expect(
      codeOf(() =>
        requireSomeDigest(expectedDigests(request({ 'x-amz-checksum-crc32': crc32(BODY) })), 'x'),
      ),
    ).toBeUndefined()
  })
})

describe('readVerifiedBody (small configuration bodies)', () => {
  it('a malformed digest header is refused before the body is read', async () => {
    const req = request({ 'content-md5': 'not-base64' })
    await expect(
      readVerifiedBody(req, { maxBytes: 1024, requireChecksum: false }),
    ).rejects.toMatchObject({
      code: 'InvalidDigest',
    })
    expect(req.body.readableEnded).toBe(false)
  })

  it('an oversize body gets the caller’s error, else MaxMessageLengthExceeded', async () => {
    const headers = { 'content-md5': MD5.toString('base64') }
    await expect(
      readVerifiedBody(request(headers), { maxBytes: 3, requireChecksum: true }),
    ).rejects.toMatchObject({
      code: 'MaxMessageLengthExceeded',
    })
    await expect(
      readVerifiedBody(request(headers), {
        maxBytes: 3,
        requireChecksum: true,
        tooLarge: () => new S3Error('EntityTooLarge'),
      }),
    ).rejects.toMatchObject({ code: 'EntityTooLarge' })
  })

  it('returns the verified text', async () => {
    const req = request({ 'x-amz-checksum-crc32': crc32(BODY) })
    await expect(readVerifiedBody(req, { maxBytes: 1024, requireChecksum: true })).resolves.toBe(
      BODY.toString(),
    )
  })
})
