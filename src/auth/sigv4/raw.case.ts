/**
 * Test helpers: build a RawRequest from parts or from an HTTP/1.1 request text (the AWS
 * test-suite's request files), and collect a stream. Used only by tests.
 * @module
 */
import { Readable } from 'node:stream'
import type { RawRequest } from '../../http/raw-request.js'
import { asS3 } from '../as-s3.case.js'

export function rawRequest(p: {
  method?: string
  path?: string
  query?: string
  headers?: Record<string, string>
  body?: Buffer | string | readonly Buffer[]
}): RawRequest {
  const body = p.body ?? Buffer.alloc(0)
  const chunks = Array.isArray(body)
    ? (body as readonly Buffer[])
    : [Buffer.from(body as Buffer | string)]
  const headers: Record<string, string> = {}
  for (const [k, v] of Object.entries(p.headers ?? {})) headers[k.toLowerCase()] = v
  return {
    method: p.method ?? 'GET',
    rawPath: p.path ?? '/',
    rawQuery: p.query ?? '',
    headers,
    body: Readable.from(
      chunks.filter((c) => c.length > 0),
      { objectMode: false },
    ),
    remoteAddress: '127.0.0.1',
    secure: false,
  }
}

/**
 * Parse a request text: "METHOD PATH HTTP/1.1", header lines (continuations folded into one
 * space, repeated names joined with ',' as the listener does, values trimmed as node does), an
 * empty line, the body.
 */
export function parseHttpRequest(text: string): RawRequest {
  const sep = text.indexOf('\n\n')
  const head = sep < 0 ? text : text.slice(0, sep)
  const body = sep < 0 ? '' : text.slice(sep + 2)
  const lines = head.split('\n')
  const first = lines.shift() ?? ''
  const method = first.slice(0, first.indexOf(' '))
  const target = first.slice(first.indexOf(' ') + 1, first.lastIndexOf(' '))
  const q = target.indexOf('?')
  const headers: Record<string, string> = {}
  let last: string | undefined
  for (const line of lines) {
    if (line === '') continue
    if (/^\s/.test(line) && last !== undefined) {
      headers[last] = `${headers[last] ?? ''} ${line.trim()}`
      continue
    }
    const colon = line.indexOf(':')
    const name = line.slice(0, colon).toLowerCase()
    const value = line.slice(colon + 1).trim()
    headers[name] = headers[name] === undefined ? value : `${headers[name]},${value}`
    last = name
  }
  return rawRequest({
    method,
    path: q < 0 ? target : target.slice(0, q),
    query: q < 0 ? '' : target.slice(q + 1),
    headers,
    body,
  })
}

export async function collect(stream: Readable): Promise<Buffer> {
  const parts: Buffer[] = []
  for await (const c of stream) parts.push(Buffer.from(c as Buffer))
  return Buffer.concat(parts)
}

/** Resolves to the error the stream fails with, or undefined when it ends cleanly. */
export async function streamError(stream: Readable): Promise<unknown> {
  try {
    await collect(stream)
    return undefined
  } catch (caught) {
    const err = asS3(caught)
    return err
  }
}
