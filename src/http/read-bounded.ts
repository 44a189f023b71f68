/**
 * The one bounded body reader. Every small body the server reads whole (STS forms, admin JSON, S3
 * XML documents and configuration bodies) goes through here, so the cap, the chunk handling and
 * what happens to the rest of an oversize body are decided once. It never throws a surface
 * error: an oversize body is a typed `too-large` result and each surface maps it to its own
 * answer (S3 MaxMessageLengthExceeded, STS ValidationError 413, admin ValidationError).
 * @module
 */
import type { Readable } from 'node:stream'

export type BoundedBody =
  | { readonly ok: true; readonly bytes: Buffer }
  | { readonly ok: false; readonly reason: 'too-large' }

const TOO_LARGE: BoundedBody = { ok: false, reason: 'too-large' }

export interface ReadBoundedOptions {
  /**
   * The request's Content-Length header, when the caller wants a declared oversize body refused
   * before reading a byte. The body is then resumed (drained) so the connection stays usable.
   */
  readonly declaredLength?: string | undefined
}

/**
 * Read at most `maxBytes` of `body`. Past the limit the body is destroyed and the result is
 * `too-large`; the caller never sees a partial body. String chunks (tests' Readable.from) count
 * as their UTF-8 bytes. A body that fails or closes before its end rejects, as a `for await` over
 * it would (the stream's error, or ERR_STREAM_PREMATURE_CLOSE).
 *
 * Why listeners and not `for await`: the async iterator costs an end-of-stream watcher, a
 * promise per chunk and several ticks; a small form body (STS) arrives in one chunk, which is
 * returned as is, without a copy.
 */
export function readBounded(
  body: Readable,
  maxBytes: number,
  opts: ReadBoundedOptions = {},
): Promise<BoundedBody> {
  if (opts.declaredLength !== undefined && Number(opts.declaredLength) > maxBytes) {
    body.resume()
    return Promise.resolve(TOO_LARGE)
  }
  if (body.readableEnded) return Promise.resolve({ ok: true, bytes: Buffer.alloc(0) })
  if (body.destroyed) return Promise.reject(body.errored ?? prematureClose())
  return new Promise((resolve, reject) => {
    let first: Buffer | undefined
    let more: Buffer[] | undefined
    let n = 0
    const done = (): void => {
      body.off('data', onData)
      body.off('end', onEnd)
      body.off('error', onError)
      body.off('close', onClose)
    }
    const onData = (chunk: unknown): void => {
      const b = typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer)
      n += b.length
      if (n > maxBytes) {
        done()
        body.destroy()
        resolve(TOO_LARGE)
        return
      }
      if (first === undefined) first = b
      else (more ??= [first]).push(b)
    }
    const onEnd = (): void => {
      done()
      resolve({
        ok: true,
        bytes: more !== undefined ? Buffer.concat(more, n) : (first ?? Buffer.alloc(0)),
      })
    }
    const onError = (err: unknown): void => {
      done()
      reject(err)
    }
    const onClose = (): void => {
      done()
      reject(body.errored ?? prematureClose())
    }
    body.on('data', onData)
    body.on('end', onEnd)
    body.on('error', onError)
    body.on('close', onClose)
  })
}

/** What node's stream helpers throw when a stream closes before its end. */
function prematureClose(): Error {
  return Object.assign(new Error('Premature close'), { code: 'ERR_STREAM_PREMATURE_CLOSE' })
}
