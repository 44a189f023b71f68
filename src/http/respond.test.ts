import { createServer, type Server } from 'node:http'
import { connect, type AddressInfo } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import type { HttpResponse } from './http-response.js'
import { writeResponse } from './respond.js'

let server: Server | undefined
afterEach(() => new Promise<void>((r) => (server ? server.close(() => r()) : r())))

/** The raw bytes node puts on the wire for one GET answered by writeResponse(r). */
async function wire(r: HttpResponse, method = 'GET'): Promise<Buffer> {
  server = createServer((_req, res) => {
    res.sendDate = false
    void writeResponse(res, r, method, { server: 'Latchkey' })
  })
  await new Promise<void>((ok) => server?.listen(0, '127.0.0.1', ok))
  const port = (server.address() as AddressInfo).port
  return new Promise((resolve, reject) => {
    const s = connect(port, '127.0.0.1')
    const parts: Buffer[] = []
    s.on('data', (b) => parts.push(b))
    s.on('end', () => resolve(Buffer.concat(parts)))
    s.on('error', reject)
    s.end(`${method} / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`)
  })
}

describe('writeResponse', () => {
  it('a string body goes out as UTF-8 with its byte length, after an ASCII head', async () => {
    const got = await wire({
      status: 200,
      headers: { 'content-type': 'text/xml' },
      body: '<a>é€</a>',
    })
    const head =
      'HTTP/1.1 200 OK\r\nserver: Latchkey\r\ncontent-type: text/xml\r\ncontent-length: 12\r\n'
    expect(got.subarray(0, head.length).toString('latin1')).toBe(head)
    expect(got.subarray(got.length - 12).toString('utf8')).toBe('<a>é€</a>')
  })

  it('a non-ASCII header value stays latin1 on the wire (one byte), body still UTF-8', async () => {
    const got = await wire({ status: 200, headers: { 'x-amz-meta-a': 'caf\u00e9' }, body: 'é' })
    expect(got.includes(Buffer.from('x-amz-meta-a: caf\u00e9\r\n', 'latin1'))).toBe(true)
    expect(got.subarray(got.length - 2).toString('utf8')).toBe('é')
  })

  it('HEAD sends the length of the string body but no body', async () => {
    const got = await wire({ status: 200, body: 'hello' }, 'HEAD')
    expect(got.toString('latin1')).toContain('content-length: 5\r\n')
    expect(got.toString('latin1').endsWith('\r\n\r\n')).toBe(true)
  })
})
