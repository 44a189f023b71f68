/**
 * pipeInto: a source's failure reaches the destination whenever it happened, before the pipe or
 * after it (REGRESSION piped-after-failure: a stage piped onto a payload decoder that had
 * already failed waited forever, and the request was never answered).
 */
import { once } from 'node:events'
import { PassThrough, type Readable } from 'node:stream'
import { text } from 'node:stream/consumers'
import { describe, expect, it } from 'vitest'
import { BodyTransform, pipeInto } from './streams.js'

const typed = (cause: unknown): Error => new Error(`typed: ${String((cause as Error)?.message)}`)

function failed(after: 'error' | 'abort'): Readable {
  const r = new PassThrough()
  r.on('error', () => {})
  if (after === 'error') r.destroy(new Error('garbled frame'))
  else r.destroy()
  return r
}

describe('pipeInto', () => {
  it('REGRESSION piped-after-failure: a source that failed before the pipe fails the destination', async () => {
    const dest = pipeInto(failed('error'), new BodyTransform(), typed)
    await expect(text(dest)).rejects.toThrow('typed: garbled frame')
  })

  it('a source destroyed before its end (an abort) fails the destination too', async () => {
    const dest = pipeInto(failed('abort'), new BodyTransform(), typed)
    await expect(text(dest)).rejects.toThrow('typed: undefined')
  })

  it('a source that ended before the pipe (and was destroyed after its end) ends the destination', async () => {
    const src = new PassThrough()
    src.end('xyz')
    src.resume()
    await once(src, 'close')
    expect([src.readableEnded, src.destroyed]).toEqual([true, true])
    const out = pipeInto(src, new BodyTransform({ transform: (c, _e, cb) => cb(null, c) }), typed)
    expect(await text(out)).toBe('')
  })

  it('a failure after the pipe fails the destination as before', async () => {
    const src = new PassThrough()
    const dest = pipeInto(src, new BodyTransform({ transform: (c, _e, cb) => cb(null, c) }), typed)
    src.write('a')
    src.destroy(new Error('reset'))
    await expect(text(dest)).rejects.toThrow('typed: reset')
  })
})
