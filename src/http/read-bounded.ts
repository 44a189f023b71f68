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
 * Read at most `maxBytes` of `body`. Past the limit the body is destroyed (leaving a for-await
 * loop early destroys it anyway) and the result is `too-large`; the caller never sees a partial
 * body. String chunks (tests' Readable.from) count as their UTF-8 bytes.
 */
export async function readBounded(
  body: Readable,
  maxBytes: number,
  opts: ReadBoundedOptions = {},
): Promise<BoundedBody> {
  if (opts.declaredLength !== undefined && Number(opts.declaredLength) > maxBytes) {
    body.resume()
    return TOO_LARGE
  }
  const chunks: Buffer[] = []
  let n = 0
  for await (const chunk of body) {
    const b = typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer)
    n += b.length
    if (n > maxBytes) {
      body.destroy()
      return TOO_LARGE
    }
    chunks.push(b)
  }
  return { ok: true, bytes: Buffer.concat(chunks, n) }
}
