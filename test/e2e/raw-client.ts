/**
 * A raw HTTP/1.1 client for adversarial tests: signs with @smithy/signature-v4 (so requests get
 * past authentication into the body paths), then writes the head and whatever body bytes a case
 * wants over a bare socket, and can stall, half-close or reset the connection at any point. Works
 * over TLS too (the harness's self-signed mode).
 * @module
 */
import { connect as netConnect, type Socket } from 'node:net'
import { connect as tlsConnect } from 'node:tls'
import { SignatureV4 } from '@smithy/signature-v4'
import { Sha256 } from '@aws-crypto/sha256-js'
import type { TestServer } from './harness.js'

export interface RawAnswer {
  readonly status: number
  readonly head: string
  readonly body: string
}

export interface Creds {
  readonly accessKeyId: string
  readonly secretAccessKey: string
  readonly sessionToken?: string
}

/** Sign a request (path may carry a query) and return its headers, host included. */
export async function signHeaders(
  server: TestServer,
  req: {
    method: string
    path: string
    headers?: Record<string, string>
    payloadHash?: string
    service?: 's3' | 'sts'
  },
  creds: Creds = server,
): Promise<Record<string, string>> {
  const url = new URL(server.endpoint)
  const q = req.path.indexOf('?')
  const query: Record<string, string> = {}
  if (q >= 0) for (const [k, v] of new URLSearchParams(req.path.slice(q + 1))) query[k] = v
  const signer = new SignatureV4({
    service: req.service ?? 's3',
    region: 'us-east-1',
    sha256: Sha256,
    uriEscapePath: false,
    credentials: creds,
  })
  const signed = await signer.sign({
    method: req.method,
    protocol: url.protocol,
    hostname: url.hostname,
    port: Number(url.port),
    path: q >= 0 ? req.path.slice(0, q) : req.path,
    query,
    headers: {
      host: url.host,
      'x-amz-content-sha256': req.payloadHash ?? 'UNSIGNED-PAYLOAD',
      ...req.headers,
    },
  })
  return signed.headers as Record<string, string>
}

export function openSocket(server: TestServer): Promise<Socket> {
  const url = new URL(server.endpoint)
  return new Promise((resolve, reject) => {
    const s: Socket =
      url.protocol === 'https:'
        ? tlsConnect(
            { host: url.hostname, port: Number(url.port), rejectUnauthorized: false },
            () => resolve(s),
          )
        : netConnect(Number(url.port), url.hostname, () => resolve(s))
    s.once('error', reject)
  })
}

export function head(method: string, path: string, headers: Record<string, string>): string {
  return (
    `${method} ${path} HTTP/1.1\r\n` +
    Object.entries(headers)
      .map(([k, v]) => `${k}: ${v}`)
      .join('\r\n') +
    '\r\n\r\n'
  )
}

/** Collect what the server answers on `s` until it closes (or `timeoutMs`). */
export function answerOf(s: Socket, timeoutMs = 10_000): Promise<RawAnswer | undefined> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = []
    let finished = false
    const done = (): void => {
      if (finished) return
      finished = true
      clearTimeout(timer)
      const text = Buffer.concat(chunks).toString('latin1')
      const m = /^HTTP\/1\.1 (\d{3})/.exec(text)
      if (m === null) return resolve(undefined)
      const split = text.indexOf('\r\n\r\n')
      resolve({
        status: Number(m[1]),
        head: text.slice(0, split),
        body: split < 0 ? '' : text.slice(split + 4),
      })
    }
    const timer = setTimeout(() => {
      s.destroy()
      done()
    }, timeoutMs)
    s.on('data', (c: Buffer) => {
      chunks.push(c)
      // A keep-alive answer is complete once Content-Length bytes of body have come.
      const text = Buffer.concat(chunks).toString('latin1')
      const split = text.indexOf('\r\n\r\n')
      const len = /\r\ncontent-length: *(\d+)/i.exec(text.slice(0, split))
      if (split >= 0 && len !== null && text.length - split - 4 >= Number(len[1])) {
        s.destroy()
        done()
      }
    })
    s.on('error', () => undefined)
    s.on('close', done)
  })
}

/**
 * Send the head and `body`, then act: 'reset' (RST), 'end' (half-close, nothing more sent),
 * 'stall' (keep the socket open and silent; the caller closes it) or 'wait' (read the answer).
 */
export async function rawRequest(
  server: TestServer,
  method: string,
  path: string,
  headers: Record<string, string>,
  body: Buffer | string,
  then: 'reset' | 'end' | 'stall' | 'wait',
): Promise<{ socket: Socket; answer: Promise<RawAnswer | undefined> }> {
  const s = await openSocket(server)
  const answer = answerOf(s)
  s.write(head(method, path, headers))
  if (body.length > 0) s.write(body)
  if (then === 'reset') {
    await new Promise((r) => setTimeout(r, 20))
    if ('resetAndDestroy' in s && typeof s.resetAndDestroy === 'function') s.resetAndDestroy()
    else s.destroy()
  } else if (then === 'end') s.end()
  return { socket: s, answer }
}
