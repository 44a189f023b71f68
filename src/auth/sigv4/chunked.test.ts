/**
 * aws-chunked decoder: property tests (any split of the incoming bytes decodes identically; signed
 * bodies from our own chunk signer verify, a flipped byte fails), trailer forms, truncation and
 * malformed framing.
 */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { S3Error } from '../../s3/errors.js'
import {
  AwsChunkedDecoder,
  encodeAwsChunked,
  type ChunkedMode,
  type ChunkSigning,
} from './chunked.js'
import { deriveSigningKey } from './signing-key.js'
import { collect } from './raw.case.js'
import { asS3 } from '../as-s3.case.js'

const SCOPE = { date: '20260314', region: 'us-east-1', service: 's3' }
const SIGNING: ChunkSigning = {
  key: deriveSigningKey(
    'secretsecretsecretsecretsecretsecret0000',
    SCOPE.date,
    SCOPE.region,
    SCOPE.service,
  ),
  amzDate: '20260314T101010Z',
  scope: SCOPE,
  seedSignature: 'c'.repeat(64),
}

/** Feed `encoded` split at `cuts` and collect output, trailers and the error (if any). */
async function run(
  encoded: Buffer,
  opts: { mode: ChunkedMode; decodedLength: number; maxChunkSize?: number },
  cuts: readonly number[] = [],
): Promise<{ out: Buffer; trailers: Map<string, string>; error: unknown }> {
  const d = new AwsChunkedDecoder({
    ...opts,
    ...(opts.mode !== 'unsigned-trailer' ? { signing: SIGNING } : {}),
  })
  const points = [...new Set(cuts.map((c) => c % (encoded.length + 1)))].sort((a, b) => a - b)
  const parts: Buffer[] = []
  let prev = 0
  for (const p of [...points, encoded.length]) {
    parts.push(encoded.subarray(prev, p))
    prev = p
  }
  const out: Buffer[] = []
  let error: unknown
  const done = (async () => {
    try {
      for await (const c of d) out.push(c as Buffer)
    } catch (caught) {
      const err = asS3(caught)
      error = err
    }
  })()
  for (const p of parts) if (p.length > 0 && !d.destroyed) d.write(p)
  if (!d.destroyed) d.end()
  await done
  return { out: Buffer.concat(out), trailers: d.trailers, error }
}

const CRC = ['x-amz-checksum-crc32', 'AAAAAA=='] as const

function encode(data: Buffer, chunkSize: number, mode: ChunkedMode, trailers = [CRC]): Buffer {
  switch (mode) {
    case 'signed':
      return encodeAwsChunked(data, chunkSize, { signing: SIGNING })
    case 'signed-trailer':
      return encodeAwsChunked(data, chunkSize, { signing: SIGNING, trailers })
    case 'unsigned-trailer':
      return encodeAwsChunked(data, chunkSize, { trailers })
  }
}

const modes = fc.constantFrom<ChunkedMode>('signed', 'signed-trailer', 'unsigned-trailer')
const body = fc.uint8Array({ maxLength: 3000 }).map((a) => Buffer.from(a))

describe('AwsChunkedDecoder', () => {
  it('decodes identically however the input is split', async () => {
    await fc.assert(
      fc.asyncProperty(
        body,
        fc.integer({ min: 1, max: 700 }),
        modes,
        fc.array(fc.nat(), { maxLength: 40 }),
        async (data, size, mode, cuts) => {
          const encoded = encode(data, size, mode)
          const r = await run(encoded, { mode, decodedLength: data.length }, cuts)
          expect(r.error).toBeUndefined()
          expect(r.out.equals(data)).toBe(true)
          if (mode !== 'signed') expect(r.trailers.get('x-amz-checksum-crc32')).toBe('AAAAAA==')
        },
      ),
      { numRuns: 300 },
    )
  })

  it('byte-at-a-time input works', async () => {
    const data = Buffer.from('hello aws-chunked world')
    const encoded = encode(data, 5, 'signed-trailer')
    const cuts = Array.from({ length: encoded.length }, (_, i) => i)
    const r = await run(encoded, { mode: 'signed-trailer', decodedLength: data.length }, cuts)
    expect(r.error).toBeUndefined()
    expect(r.out.toString()).toBe(data.toString())
  })

  it('any flipped byte of a signed body fails (never a silent different body)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.uint8Array({ minLength: 1, maxLength: 600 }).map((a) => Buffer.from(a)),
        fc.integer({ min: 1, max: 200 }),
        fc.constantFrom<ChunkedMode>('signed', 'signed-trailer'),
        fc.nat(),
        fc.integer({ min: 1, max: 255 }),
        fc.array(fc.nat(), { maxLength: 10 }),
        async (data, size, mode, pos, xor, cuts) => {
          const encoded = encode(data, size, mode)
          const i = pos % encoded.length
          const tampered = Buffer.from(encoded)
          tampered[i] = (tampered[i] as number) ^ xor
          const r = await run(tampered, { mode, decodedLength: data.length }, cuts)
          // Either the stream fails, or (only for bytes after the final signature, e.g. the
          // closing CRLF) it still yields exactly the original data.
          if (r.error === undefined) expect(r.out.equals(data)).toBe(true)
          else expect(r.error).toBeInstanceOf(S3Error)
        },
      ),
      { numRuns: 400 },
    )
  })

  it('a wrong chunk signature is SignatureDoesNotMatch', async () => {
    const data = Buffer.alloc(100, 7)
    const encoded = encode(data, 40, 'signed').toString('latin1')
    const bad = encoded.replace(
      /chunk-signature=([0-9a-f]{63})[0-9a-f]/,
      (_m, s: string) => `chunk-signature=${s}${s.endsWith('0') ? '1' : '0'}`,
    )
    const r = await run(Buffer.from(bad, 'latin1'), { mode: 'signed', decodedLength: 100 })
    expect((r.error as S3Error).code).toBe('SignatureDoesNotMatch')
    expect(r.out.length).toBeLessThanOrEqual(40)
  })

  it('a signed mode without chunk signatures is rejected', async () => {
    const unsigned = encode(Buffer.from('abc'), 2, 'unsigned-trailer')
    const r = await run(unsigned, { mode: 'signed-trailer', decodedLength: 3 })
    expect((r.error as S3Error).code).toBe('SignatureDoesNotMatch')
  })

  it('signed-trailer: a missing or wrong trailer signature fails', async () => {
    const data = Buffer.from('payload')
    const noSig = encodeAwsChunked(data, 4, { trailers: [CRC] }).toString('latin1')
    // Take a signed chain, then drop its trailer-signature line.
    const signed = encode(data, 4, 'signed-trailer').toString('latin1')
    const stripped = signed.replace(/x-amz-trailer-signature:[0-9a-f]{64}\r\n/, '')
    const r1 = await run(Buffer.from(stripped, 'latin1'), {
      mode: 'signed-trailer',
      decodedLength: data.length,
    })
    expect((r1.error as S3Error).code).toBe('SignatureDoesNotMatch')
    const changed = signed.replace('AAAAAA==', 'AAAAAB==')
    const r2 = await run(Buffer.from(changed, 'latin1'), {
      mode: 'signed-trailer',
      decodedLength: data.length,
    })
    expect((r2.error as S3Error).code).toBe('SignatureDoesNotMatch')
    expect(noSig).toContain('x-amz-checksum-crc32:AAAAAA==')
  })

  it('unsigned-trailer: several trailers, lower-cased names; no trailer at all', async () => {
    const data = Buffer.from('0123456789')
    const encoded = encode(data, 3, 'unsigned-trailer', [
      ['X-Amz-Checksum-CRC32C', 'sOO8/Q=='],
      ['x-amz-meta-a', ' 1 '],
    ] as never)
    const r = await run(encoded, { mode: 'unsigned-trailer', decodedLength: 10 })
    expect(r.error).toBeUndefined()
    expect([...r.trailers]).toEqual([
      ['x-amz-checksum-crc32c', 'sOO8/Q=='],
      ['x-amz-meta-a', '1'],
    ])
    const none = encode(data, 3, 'unsigned-trailer', [])
    const r2 = await run(none, { mode: 'unsigned-trailer', decodedLength: 10 })
    expect(r2.error).toBeUndefined()
    expect(r2.trailers.size).toBe(0)
  })

  it('accepts the end of the stream in place of the closing CRLFs', async () => {
    const data = Buffer.from('abcdef')
    const signed = encode(data, 4, 'signed')
    const r = await run(signed.subarray(0, signed.length - 2), { mode: 'signed', decodedLength: 6 })
    expect(r.error).toBeUndefined()
    const trailer = encode(data, 4, 'signed-trailer')
    const r2 = await run(trailer.subarray(0, trailer.length - 4), {
      mode: 'signed-trailer',
      decodedLength: 6,
    })
    expect(r2.error).toBeUndefined()
    expect(r2.trailers.get('x-amz-checksum-crc32')).toBe('AAAAAA==')
  })

  it('truncation anywhere before the final chunk is IncompleteBody', async () => {
    await fc.assert(
      fc.asyncProperty(
        body.filter((b) => b.length > 0),
        fc.integer({ min: 1, max: 500 }),
        modes,
        fc.nat(),
        async (data, size, mode, cut) => {
          const encoded = encode(data, size, mode)
          const lastChunk = encoded.lastIndexOf(Buffer.from('\r\n0')) + 2 // start of the "0..." line
          const at = cut % lastChunk
          const r = await run(encoded.subarray(0, at), { mode, decodedLength: data.length })
          expect(r.error).toBeInstanceOf(S3Error)
          expect(['IncompleteBody', 'InvalidRequest', 'SignatureDoesNotMatch']).toContain(
            (r.error as S3Error).code,
          )
        },
      ),
      { numRuns: 200 },
    )
  })

  it('decoded length must equal x-amz-decoded-content-length', async () => {
    const data = Buffer.from('abcdefgh')
    const short = await run(encode(data, 3, 'unsigned-trailer'), {
      mode: 'unsigned-trailer',
      decodedLength: 9,
    })
    expect((short.error as S3Error).code).toBe('IncompleteBody')
    const long = await run(encode(data, 3, 'signed'), { mode: 'signed', decodedLength: 7 })
    expect((long.error as S3Error).code).toBe('IncompleteBody')
  })

  it('rejects malformed framing and oversize chunks', async () => {
    const cases: [string, string][] = [
      ['zz\r\nab\r\n0\r\n\r\n', 'InvalidRequest'],
      ['2\nab\r\n0\r\n\r\n', 'InvalidRequest'],
      ['2\r\nabX\n0\r\n\r\n', 'InvalidRequest'],
      ['2\r\nab\r\n0\r\nno-colon-line\r\n\r\n', 'InvalidRequest'],
      [`${'1'.repeat(5000)}\r\n`, 'InvalidRequest'],
      ['', 'IncompleteBody'],
    ]
    for (const [text, code] of cases) {
      const r = await run(Buffer.from(text), { mode: 'unsigned-trailer', decodedLength: 2 })
      expect((r.error as S3Error | undefined)?.code, JSON.stringify(text)).toBe(code)
    }
    const big = await run(Buffer.from('1000001\r\n'), {
      mode: 'unsigned-trailer',
      decodedLength: 0x1000001,
    })
    expect((big.error as S3Error).code).toBe('InvalidRequest')
    expect((big.error as S3Error).message).toMatch(/exceeds the maximum/)
    const custom = await run(Buffer.from('11\r\n'), {
      mode: 'unsigned-trailer',
      decodedLength: 17,
      maxChunkSize: 16,
    })
    expect((custom.error as S3Error).code).toBe('InvalidRequest')
  })

  it('passes a large body through with bounded buffering', async () => {
    const data = Buffer.alloc(3 * 1024 * 1024 + 17, 0x61)
    const encoded = encode(data, 1024 * 1024, 'signed')
    const d = new AwsChunkedDecoder({
      mode: 'signed',
      decodedLength: data.length,
      signing: SIGNING,
    })
    d.end(encoded)
    expect((await collect(d)).equals(data)).toBe(true)
  })
})
