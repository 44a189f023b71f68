import { Readable } from 'node:stream'
import { describe, expect, it } from 'vitest'
import { readBounded } from './read-bounded.js'

describe('readBounded', () => {
  it('returns the whole body when it fits, exactly at the limit too', async () => {
    const r = await readBounded(Readable.from([Buffer.from('abc'), Buffer.from('de')]), 5)
    expect(r).toEqual({ ok: true, bytes: Buffer.from('abcde') })
  })

  it('counts string chunks as UTF-8 bytes', async () => {
    const r = await readBounded(Readable.from(['é']), 1)
    expect(r).toEqual({ ok: false, reason: 'too-large' })
  })

  it('an empty body is an empty buffer', async () => {
    const r = await readBounded(Readable.from([]), 0)
    expect(r).toEqual({ ok: true, bytes: Buffer.alloc(0) })
  })

  it('one byte over the limit is too-large and the body is destroyed', async () => {
    const body = Readable.from([Buffer.from('abc'), Buffer.from('def')])
    const r = await readBounded(body, 5)
    expect(r).toEqual({ ok: false, reason: 'too-large' })
    expect(body.destroyed).toBe(true)
  })

  it('a declared length over the limit is refused before reading, and the body drained', async () => {
    let pulled = 0
    const body = new Readable({
      read() {
        pulled++
        this.push(null)
      },
    })
    const r = await readBounded(body, 10, { declaredLength: '11' })
    expect(r).toEqual({ ok: false, reason: 'too-large' })
    expect(body.readableFlowing).toBe(true)
    expect(body.destroyed).toBe(false)
    await new Promise((resolve) => body.once('end', resolve))
    expect(pulled).toBe(1)
  })

  it('a declared length within the limit still counts the bytes actually sent', async () => {
    const r = await readBounded(Readable.from([Buffer.alloc(12)]), 10, { declaredLength: '3' })
    expect(r).toEqual({ ok: false, reason: 'too-large' })
  })

  it('a body that fails rejects with its error, as a for-await over it would', async () => {
    const body = new Readable({ read() {} })
    const p = readBounded(body, 10)
    body.push('ab')
    body.destroy(Object.assign(new Error('aborted'), { code: 'ECONNRESET' }))
    await expect(p).rejects.toMatchObject({ code: 'ECONNRESET' })
  })

  it('a body closed before its end rejects with ERR_STREAM_PREMATURE_CLOSE', async () => {
    const body = new Readable({ read() {} })
    const p = readBounded(body, 10)
    body.push('ab')
    body.destroy()
    await expect(p).rejects.toMatchObject({ code: 'ERR_STREAM_PREMATURE_CLOSE' })
  })

  it('many small chunks are joined in order', async () => {
    const parts = Array.from({ length: 50 }, (_, i) => Buffer.from(String(i % 10)))
    const r = await readBounded(Readable.from(parts), 50)
    expect(r).toEqual({ ok: true, bytes: Buffer.concat(parts) })
  })
})
