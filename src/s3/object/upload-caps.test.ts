import { Readable } from 'node:stream'
import { describe, expect, it } from 'vitest'
import type { Principal } from '../../auth/principal.js'
import { MemorySessionUsage } from '../../backends/memory/session-usage.js'
import { StorageError } from '../../storage/errors.js'
import { S3Error } from '../errors.js'
import {
  CapGate,
  UploadCharge,
  capSizeError,
  capsOf,
  charged,
  checkContentType,
  maxSizeFor,
} from './upload-caps.js'
import type { UploadCaps } from '../../policy/upload-caps.js'

function session(caps: UploadCaps | undefined, via?: string[]): Principal {
  return {
    kind: 'session',
    accountId: '000000000001',
    accountName: 'a',
    accessKeyId: 'ASIACHILD0000000000',
    sessionName: 's',
    parent: { kind: 'account-root', accountId: '000000000001', accessKeyId: 'LKIA' },
    expiresAt: Date.now() + 60_000,
    roleName: 'root',
    roleId: 'AROA',
    issuedAt: Date.now(),
    ...(caps !== undefined ? { caps } : {}),
    ...(via !== undefined ? { via } : {}),
  }
}

async function drain(r: Readable): Promise<number> {
  let n = 0
  for await (const c of r) n += (c as Buffer).length
  return n
}

function chunks(count: number, size: number): Readable {
  return Readable.from(Array.from({ length: count }, () => Buffer.alloc(size, 1)))
}

describe('S3 upload-cap enforcement', () => {
  it('counts a chain into its first session; no caps means nothing counted', async () => {
    expect(capsOf(session({ maxBytes: 1 }, ['ASIAROOT', 'ASIAMID']))?.key).toBe('ASIAROOT')
    expect(capsOf(session({ maxBytes: 1 }))?.key).toBe('ASIACHILD0000000000')
    expect(capsOf(session(undefined))).toBeUndefined()
    expect(capsOf({ kind: 'anonymous' })).toBeUndefined()
    const usage = new MemorySessionUsage()
    expect(await UploadCharge.open(session(undefined), usage, { bytes: 5, objects: 1 })).toBe(
      undefined,
    )
  })

  it('max-object-size bounds the writers and restates a too-large error naming the cap', () => {
    const p = session({ maxObjectSize: 100 })
    expect(maxSizeFor(p, 5000)).toBe(100)
    expect(maxSizeFor(session(undefined), 5000)).toBe(5000)
    const e = capSizeError(p, 5000, new StorageError('too-large', 'x')) as S3Error
    expect(e.code).toBe('EntityTooLarge')
    expect(e.message).toContain('latchkey:max-object-size')
    // The server's own limit (smaller than the cap) keeps its own error.
    const own = new StorageError('too-large', 'x')
    expect(capSizeError(session({ maxObjectSize: 9000 }), 5000, own)).toBe(own)
  })

  it('content types: none is application/octet-stream; a mismatch is AccessDenied naming the cap', () => {
    const p = session({ contentTypes: ['image/*'] })
    expect(() => checkContentType(p, 'image/png')).not.toThrow()
    expect(() => checkContentType(p, undefined)).toThrow(/latchkey:content-types/)
    expect(() =>
      checkContentType(session({ contentTypes: ['application/octet-stream'] }), ''),
    ).not.toThrow()
    expect(() => checkContentType(session(undefined), 'text/plain')).not.toThrow()
  })

  it('CapGate reserves as bytes stream and cuts the stream where max-bytes refuses', async () => {
    const usage = new MemorySessionUsage()
    const p = session({ maxBytes: 3 * 1024 * 1024 })
    const charge = await UploadCharge.open(p, usage, { bytes: 0, objects: 1 })
    const gate = chunks(64, 64 * 1024).pipe(new CapGate(charge!))
    await expect(drain(gate)).rejects.toThrow(/latchkey:max-bytes/)
    await charge!.release()
    expect(usage.usageOf(['ASIACHILD0000000000']).get('ASIACHILD0000000000')).toEqual({
      bytes: 0,
      objects: 0,
    })
  })

  it('CapGate lets a body within the cap through and the commit keeps exactly what was stored', async () => {
    const usage = new MemorySessionUsage()
    const p = session({ maxBytes: 3 * 1024 * 1024, maxObjects: 5 })
    const n = await charged(
      p,
      usage,
      { bytes: 0, objects: 1 },
      async (charge) => drain(chunks(40, 64 * 1024).pipe(new CapGate(charge!))),
      (size) => ({ bytes: size, objects: 1 }),
    )
    expect(n).toBe(40 * 64 * 1024)
    expect(usage.usageOf(['ASIACHILD0000000000']).get('ASIACHILD0000000000')).toEqual({
      bytes: 40 * 64 * 1024,
      objects: 1,
    })
  })

  it('charged releases the reservation when the write fails', async () => {
    const usage = new MemorySessionUsage()
    const p = session({ maxObjects: 1 })
    await expect(
      charged(
        p,
        usage,
        { bytes: 10, objects: 1 },
        async () => {
          throw new Error('disk full')
        },
        () => ({ bytes: 10, objects: 1 }),
      ),
    ).rejects.toThrow('disk full')
    expect(usage.usageOf(['ASIACHILD0000000000']).get('ASIACHILD0000000000')).toEqual({
      bytes: 0,
      objects: 0,
    })
    await charged(
      p,
      usage,
      { bytes: 10, objects: 1 },
      async () => 1,
      () => ({ bytes: 10, objects: 1 }),
    )
    await expect(UploadCharge.open(p, usage, { bytes: 0, objects: 1 })).rejects.toThrow(
      /latchkey:max-objects/,
    )
  })
})
