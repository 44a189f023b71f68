/**
 * Reading an admin request body: JSON only, capped (64 KiB), never trusting Content-Length.
 * An oversize or malformed body is a ValidationError, never a crash; the rest of an oversize
 * body is drained and discarded so the connection stays usable.
 * @module
 */
import type { Readable } from 'node:stream'
import { readBounded } from '../http/read-bounded.js'
import { AdminError } from './errors.js'

export const MAX_BODY_BYTES = 64 * 1024

/** The body as UTF-8 text; '' when empty. */
export async function readBodyText(body: Readable, limit = MAX_BODY_BYTES): Promise<string> {
  const read = await readBounded(body, limit)
  if (!read.ok) throw new AdminError('ValidationError', `Request body exceeds ${limit} bytes`)
  const buf = read.bytes
  const text = buf.toString('utf8')
  if (!Buffer.from(text, 'utf8').equals(buf))
    throw new AdminError('ValidationError', 'Request body is not valid UTF-8')
  return text
}

/** Parse JSON text; '' → undefined when `optional`, else a ValidationError. */
export function parseJson(text: string, optional = false): unknown {
  if (text.trim() === '') {
    if (optional) return undefined
    throw new AdminError('ValidationError', 'Request body must be JSON')
  }
  try {
    return JSON.parse(text) as unknown
  } catch (e) {
    throw new AdminError(
      'ValidationError',
      `Request body is not valid JSON: ${(e as Error).message}`,
    )
  }
}
