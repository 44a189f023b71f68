/** Checksums: known vectors, streaming == one-shot, header parsing errors, composite/combined forms. */
import { createHash } from 'node:crypto'
import { Readable, Writable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { Crc64Nvme } from '@aws-sdk/crc64-nvme'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { S3Error } from '../errors.js'
import {
  BodyDigests,
  CHECKSUM_ALGORITHMS,
  combineCrcFullObject,
  compositeChecksum,
  createChecksummer,
  expectedChecksum,
  verifyContentMd5,
  type ChecksumAlgorithm,
} from './checksum.js'

function digest(alg: ChecksumAlgorithm, ...parts: (string | Buffer)[]): Buffer {
  const c = createChecksummer(alg)
  for (const p of parts) c.update(Buffer.from(p))
  return c.digest()
}

function codeOf(f: () => unknown): string {
  try {
    f()
    return 'ok'
  } catch (err) {
    return err instanceof S3Error ? `${err.code}: ${err.message}` : String(err)
  }
}

describe('checksum algorithms', () => {
  it('known check values of "123456789"', () => {
    expect(digest('CRC32', '123456789').toString('hex')).toBe('cbf43926')
    expect(digest('CRC32C', '123456789').toString('hex')).toBe('e3069283')
    expect(digest('CRC64NVME', '123456789').toString('hex')).toBe('ae8b14860a799888')
    expect(digest('CRC32', '123456789').toString('base64')).toBe('y/Q5Jg==')
    expect(digest('CRC32C', '123456789').toString('base64')).toBe('4waSgw==')
    expect(digest('CRC64NVME', '123456789').toString('base64')).toBe('rosUhgp5mIg=')
    expect(digest('SHA1', 'abc').toString('hex')).toBe('a9993e364706816aba3e25717850c26c9cd0d89d')
    expect(digest('SHA256', '').toString('hex')).toBe(
      'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
    )
    expect(digest('CRC32', '').toString('hex')).toBe('00000000')
  })

  it('incremental updates equal one shot, for any split', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 2000 }),
        fc.nat(),
        fc.constantFrom(...CHECKSUM_ALGORITHMS),
        (bytes, cut, alg) => {
          const b = Buffer.from(bytes)
          const at = cut % (b.length + 1)
          expect(digest(alg, b.subarray(0, at), b.subarray(at)).equals(digest(alg, b))).toBe(true)
        },
      ),
      { numRuns: 300 },
    )
  })

  it('CRC64NVME equals the AWS SDK implementation', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 3000 }), async (bytes) => {
        const sdk = new Crc64Nvme()
        sdk.update(bytes)
        expect(
          Buffer.from(await sdk.digest()).equals(digest('CRC64NVME', Buffer.from(bytes))),
        ).toBe(true)
      }),
      { numRuns: 200 },
    )
  })
})

describe('expectedChecksum', () => {
  const crc = digest('CRC32', 'x').toString('base64')

  it('reads a header, a trailer, or nothing', () => {
    expect(expectedChecksum({})).toBeUndefined()
    expect(
      expectedChecksum({ 'x-amz-checksum-crc32': crc, 'x-amz-sdk-checksum-algorithm': 'CRC32' }),
    ).toEqual({
      algorithm: 'CRC32',
      value: crc,
      fromTrailer: false,
    })
    expect(
      expectedChecksum({
        'x-amz-trailer': 'x-amz-checksum-crc64nvme',
        'x-amz-sdk-checksum-algorithm': 'crc64nvme',
      }),
    ).toEqual({
      algorithm: 'CRC64NVME',
      fromTrailer: true,
    })
    expect(expectedChecksum({ 'x-amz-checksum-mode': 'ENABLED' })).toBeUndefined()
  })

  it('rejects bad values, unknown and conflicting algorithms', () => {
    expect(codeOf(() => expectedChecksum({ 'x-amz-checksum-crc32': 'AAAA' }))).toBe(
      'InvalidRequest: Value for x-amz-checksum-crc32 header is invalid.',
    )
    expect(codeOf(() => expectedChecksum({ 'x-amz-checksum-sha256': crc }))).toMatch(
      /^InvalidRequest/,
    )
    expect(codeOf(() => expectedChecksum({ 'x-amz-checksum-crc32': 'not base64!' }))).toMatch(
      /^InvalidRequest/,
    )
    expect(
      codeOf(() =>
        expectedChecksum({ 'x-amz-sdk-checksum-algorithm': 'MD4', 'x-amz-checksum-crc32': crc }),
      ),
    ).toBe('InvalidRequest: Value for x-amz-sdk-checksum-algorithm header is invalid.')
    expect(
      codeOf(() => expectedChecksum({ 'x-amz-checksum-crc32': crc, 'x-amz-checksum-crc32c': crc })),
    ).toMatch(/Multiple checksum Types are not allowed/)
    expect(
      codeOf(() =>
        expectedChecksum({ 'x-amz-checksum-crc32': crc, 'x-amz-trailer': 'x-amz-checksum-crc32' }),
      ),
    ).toMatch(/Multiple checksum/)
    expect(
      codeOf(() =>
        expectedChecksum({ 'x-amz-checksum-crc32': crc, 'x-amz-sdk-checksum-algorithm': 'SHA1' }),
      ),
    ).toMatch(/x-amz-sdk-checksum-algorithm/)
    expect(codeOf(() => expectedChecksum({ 'x-amz-checksum-xxhash64': crc }))).toMatch(
      /^InvalidRequest/,
    )
    expect(codeOf(() => expectedChecksum({ 'x-amz-trailer': 'x-amz-meta-foo' }))).toMatch(
      /^InvalidRequest/,
    )
    expect(codeOf(() => expectedChecksum({ 'x-amz-sdk-checksum-algorithm': 'CRC32' }))).toMatch(
      /no corresponding/,
    )
  })
})

describe('BodyDigests', () => {
  it('passes bytes through and computes MD5 + checksum', async () => {
    const data = Buffer.from('hello digests '.repeat(1000))
    const d = new BodyDigests('CRC32C')
    const out: Buffer[] = []
    await pipeline(
      Readable.from([data.subarray(0, 100), data.subarray(100)]),
      d,
      new Writable({
        write(chunk: Buffer, _e, cb) {
          out.push(chunk)
          cb()
        },
      }),
    )
    expect(Buffer.concat(out).equals(data)).toBe(true)
    expect(d.size).toBe(data.length)
    expect(d.md5Hex()).toBe(createHash('md5').update(data).digest('hex'))
    expect(d.checksumBase64()).toBe(digest('CRC32C', data).toString('base64'))
    const plain = new BodyDigests()
    plain.end(Buffer.alloc(0))
    plain.resume()
    await new Promise((r) => plain.on('end', r))
    expect(plain.md5Hex()).toBe('d41d8cd98f00b204e9800998ecf8427e')
    expect(plain.checksumBase64()).toBeUndefined()
    expect(() => new BodyDigests().md5Hex()).toThrow()
  })
})

describe('multipart checksums', () => {
  it('COMPOSITE: checksum of the part digests, suffixed -N', () => {
    const p1 = digest('SHA256', 'part one')
    const p2 = digest('SHA256', 'part two')
    expect(compositeChecksum('SHA256', [p1.toString('base64'), p2.toString('base64')])).toBe(
      `${createHash('sha256')
        .update(Buffer.concat([p1, p2]))
        .digest('base64')}-2`,
    )
    expect(codeOf(() => compositeChecksum('CRC32', ['AAAAAAAA']))).toMatch(/^InvalidRequest/)
  })

  it('FULL_OBJECT: combined part CRCs equal the CRC of the whole object', () => {
    fc.assert(
      fc.property(
        fc.array(fc.uint8Array({ maxLength: 300 }), { minLength: 1, maxLength: 5 }),
        fc.constantFrom<ChecksumAlgorithm>('CRC32', 'CRC32C', 'CRC64NVME'),
        (parts, alg) => {
          const bufs = parts.map((p) => Buffer.from(p))
          const combined = combineCrcFullObject(
            alg,
            bufs.map((b) => ({
              checksumBase64: digest(alg, b).toString('base64'),
              size: b.length,
            })),
          )
          expect(combined).toBe(digest(alg, Buffer.concat(bufs)).toString('base64'))
        },
      ),
      { numRuns: 150 },
    )
    expect(codeOf(() => combineCrcFullObject('SHA1', []))).toMatch(/^InvalidRequest/)
  })
})

describe('verifyContentMd5', () => {
  it('accepts base64 of 16 bytes, otherwise InvalidDigest', () => {
    const md5 = createHash('md5').update('x').digest()
    expect(verifyContentMd5(undefined)).toBeUndefined()
    expect(verifyContentMd5(md5.toString('base64'))?.equals(md5)).toBe(true)
    for (const bad of [
      '',
      'abc',
      md5.toString('hex'),
      Buffer.alloc(15).toString('base64'),
      `${md5.toString('base64')}x`,
    ]) {
      expect(codeOf(() => verifyContentMd5(bad))).toMatch(/^InvalidDigest/)
    }
  })
})
