/**
 * The fuzz campaign of the standing adversarial suite: malformed requests to every surface of a
 * live server — aws-chunked framing over raw sockets, S3 XML bodies, browser POST forms, STS
 * forms (signed and unsigned), admin JSON, raw query strings. Every answer must be a 4xx (or 501
 * NotImplemented / 503 SlowDown) in the surface's own format; afterwards the process is up,
 * healthy, and no temp file is left. (test/e2e/robustness.test.ts fuzzes S3 headers and paths.)
 *
 * CI replays a fixed seed, so a landing never hinges on luck; local runs explore fresh seeds,
 * and fast-check prints the seed of any failure so it can be replayed with FUZZ_SEED=….
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest'
import fc from 'fast-check'
import { readdirSync, existsSync } from 'node:fs'
import { join } from 'node:path'
import { CreateBucketCommand, PutObjectCommand } from '@aws-sdk/client-s3'
import { startServer, type TestServer } from './harness.js'
import { adminLogin, type AdminClient } from './admin-client.js'
import { rawRequest, signHeaders, type RawAnswer } from './raw-client.js'

const SEED = Number(
  process.env['FUZZ_SEED'] ?? (process.env['CI'] === 'true' ? 20261203 : Date.now() % 2 ** 31),
)
const RUNS = Number(process.env['FUZZ_RUNS'] ?? 150)

let server: TestServer
let admin: AdminClient
beforeAll(async () => {
  server = await startServer({ tls: false })
  admin = await adminLogin(server)
  await server.s3().send(new CreateBucketCommand({ Bucket: 'fuzzed' }))
  await server.s3().send(new PutObjectCommand({ Bucket: 'fuzzed', Key: 'a', Body: 'x' }))
}, 60_000)
afterAll(async () => {
  await server.stop()
})

/** A server error other than 501/503 fails; so does no answer at all. */
function acceptable(a: RawAnswer | undefined, what: string): void {
  if (a === undefined) throw new Error(`no answer: ${what}`)
  if (a.status >= 500 && a.status !== 501 && a.status !== 503)
    throw new Error(`${a.status} for ${what}\n${a.body.slice(0, 400)}`)
}

const text = fc.oneof(
  fc.string({ maxLength: 30 }),
  fc.string({ unit: 'binary', maxLength: 30 }),
  fc.constantFrom('', '0', '-1', '99999999999999999999', '%ZZ', '..', '\u0000', 'a'.repeat(3000)),
)

const chunkedFrame = fc.oneof(
  fc
    .uint8Array({ maxLength: 64 })
    .map((d) => `${d.length.toString(16)}\r\n${Buffer.from(d).toString('latin1')}\r\n`),
  fc
    .string({ unit: fc.constantFrom(...'0123456789abcdefABCDEF;='), maxLength: 10 })
    .map((h) => `${h}\r\n`),
  fc.constantFrom(
    '0\r\n\r\n',
    '0\r\nx-amz-checksum-crc32:AAAAAA==\r\n\r\n',
    `5;chunk-signature=${'f'.repeat(64)}\r\nhello\r\n`,
    'ffffffff\r\n',
    'zz\r\n',
    '\r\n\r\n',
    '5\r\nhello',
    'x-amz-trailer-signature:abc\r\n',
  ),
  text.map((t) => t.replace(/[^\x00-\xff]/g, '?')),
)

const xmlNode: fc.Arbitrary<string> = fc.letrec<{ node: string }>((tie) => ({
  node: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    text.map((t) => t.replace(/[<&]/g, '')),
    fc
      .tuple(
        fc.constantFrom(
          'Delete',
          'Object',
          'Key',
          'VersionId',
          'Quiet',
          'Tagging',
          'TagSet',
          'Tag',
          'Value',
          'CORSConfiguration',
          'CORSRule',
          'AllowedOrigin',
          'AllowedMethod',
          'MaxAgeSeconds',
          'CompleteMultipartUpload',
          'Part',
          'PartNumber',
          'ETag',
          'CreateBucketConfiguration',
          'LocationConstraint',
          'AccessControlPolicy',
          'Grant',
          'x',
        ),
        fc.array(tie('node'), { maxLength: 4 }),
      )
      .map(([name, kids]) => `<${name}>${kids.join('')}</${name}>`),
  ),
})).node

describe('fuzz campaign (seed ' + String(SEED) + ')', () => {
  it('aws-chunked framing: random frames never crash or 5xx', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(chunkedFrame, { maxLength: 6 }),
        fc.constantFrom(
          'STREAMING-UNSIGNED-PAYLOAD-TRAILER',
          'STREAMING-AWS4-HMAC-SHA256-PAYLOAD',
          'STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER',
        ),
        fc.nat({ max: 200 }),
        fc.boolean(),
        async (frames, mode, decoded, withTrailer) => {
          const path = `/fuzzed/chunked-${Math.random().toString(36).slice(2)}`
          const headers = await signHeaders(server, {
            method: 'PUT',
            path,
            headers: {
              'content-encoding': 'aws-chunked',
              'x-amz-decoded-content-length': String(decoded),
              'transfer-encoding': 'chunked',
              ...(withTrailer ? { 'x-amz-trailer': 'x-amz-checksum-crc32' } : {}),
            },
            payloadHash: mode,
          })
          const body = Buffer.from(frames.join(''), 'latin1')
          const wire = Buffer.concat([
            Buffer.from(`${body.length.toString(16)}\r\n`),
            body,
            Buffer.from('\r\n0\r\n\r\n'),
          ])
          const r = await rawRequest(server, 'PUT', path, headers, wire, 'wait')
          acceptable(await r.answer, `chunked ${JSON.stringify(frames)}`)
        },
      ),
      { numRuns: RUNS, seed: SEED },
    )
  }, 120_000)

  it('S3 XML bodies: random documents to every XML-taking operation', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(
          ['POST', '/fuzzed?delete'],
          ['PUT', '/fuzzed?cors'],
          ['PUT', '/fuzzed?tagging'],
          ['PUT', '/fuzzed/a?tagging'],
          ['PUT', '/fuzzed?lifecycle'],
          ['PUT', '/fuzzed?acl'],
          ['PUT', '/fuzzed/a?acl'],
          ['PUT', '/fuzzed?policy'],
          ['PUT', '/fuzz-new-bucket'],
          ['POST', '/fuzzed/a?uploadId=nope'],
        ),
        fc.oneof(
          xmlNode,
          text,
          fc.jsonValue().map((j) => JSON.stringify(j)),
        ),
        fc.boolean(),
        async ([method, path], doc, withDecl) => {
          const body = Buffer.from((withDecl ? '<?xml version="1.0"?>' : '') + doc, 'utf8')
          const { createHash } = await import('node:crypto')
          const md5 = createHash('md5').update(body).digest('base64')
          const headers = await signHeaders(server, {
            method,
            path,
            headers: { 'content-length': String(body.length), 'content-md5': md5 },
            payloadHash: createHash('sha256').update(body).digest('hex'),
          })
          const r = await rawRequest(server, method, path, headers, body, 'wait')
          const a = await r.answer
          acceptable(a, `${method} ${path} ${doc.slice(0, 200)}`)
          if ((a?.status ?? 0) >= 400) expect(a?.body).toMatch(/<Error><Code>\w+<\/Code>/)
        },
      ),
      { numRuns: RUNS, seed: SEED },
    )
  }, 120_000)

  it('browser POST forms: random fields and framing', async () => {
    const host = new URL(server.endpoint).host
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.tuple(
            fc.constantFrom(
              'key',
              'policy',
              'x-amz-signature',
              'x-amz-credential',
              'x-amz-algorithm',
              'x-amz-date',
              'success_action_status',
              'success_action_redirect',
              'Content-Type',
              'x-amz-meta-a',
              'tagging',
              'acl',
              '__proto__',
              'file',
            ),
            text,
          ),
          { maxLength: 8 },
        ),
        fc.boolean(),
        fc.constantFrom('b', '----x', ''),
        async (fields, truncate, boundary) => {
          let form = ''
          for (const [name, value] of fields)
            form += `--${boundary}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`
          form += `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="f"\r\n\r\nDATA\r\n`
          if (!truncate) form += `--${boundary}--\r\n`
          const body = Buffer.from(form, 'utf8')
          const r = await rawRequest(
            server,
            'POST',
            '/fuzzed',
            {
              host,
              'content-type': `multipart/form-data; boundary=${boundary}`,
              'content-length': String(body.length),
            },
            body,
            'wait',
          )
          acceptable(await r.answer, `POST form ${JSON.stringify(fields).slice(0, 300)}`)
        },
      ),
      { numRuns: RUNS, seed: SEED },
    )
  }, 120_000)

  it('STS forms: random actions and parameters, signed and unsigned', async () => {
    const host = new URL(server.endpoint).host
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(
          'AssumeRole',
          'GetSessionToken',
          'GetCallerIdentity',
          'RSLogin',
          'RSAssumeCustomerRole',
          'Nope',
          '',
        ),
        fc.array(
          fc.tuple(
            fc.constantFrom(
              'Version',
              'RoleArn',
              'RoleSessionName',
              'DurationSeconds',
              'Policy',
              'PolicyArns.member.1.arn',
              'Tags.member.1.Key',
              'Tags.member.1.Value',
              'Tags.member.1.Key',
              'ExternalId',
              'SourceIdentity',
              'Customer',
              'UserName',
              'Password',
              'OTP',
              '__proto__',
              'constructor',
            ),
            fc.oneof(
              text,
              fc.jsonValue().map((j) => JSON.stringify(j)),
            ),
          ),
          { maxLength: 6 },
        ),
        fc.boolean(),
        async (action, params, signed) => {
          const form = new URLSearchParams([['Action', action], ...params])
          const body = Buffer.from(form.toString())
          let headers: Record<string, string> = {
            host,
            'content-type': 'application/x-www-form-urlencoded',
            'content-length': String(body.length),
          }
          if (signed) {
            const { createHash } = await import('node:crypto')
            headers = await signHeaders(server, {
              method: 'POST',
              path: '/',
              service: 'sts',
              headers,
              payloadHash: createHash('sha256').update(body).digest('hex'),
            })
          }
          const r = await rawRequest(server, 'POST', '/', headers, body, 'wait')
          const a = await r.answer
          acceptable(a, `STS ${form.toString().slice(0, 300)}`)
          if ((a?.status ?? 0) >= 400) expect(a?.body).toMatch(/<Code>\w+<\/Code>|"(code|Code)"/)
        },
      ),
      { numRuns: RUNS, seed: SEED },
    )
  }, 120_000)

  it('admin JSON: random bodies to every route, with and without a token', async () => {
    const host = new URL(server.endpoint).host
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(
          ['POST', '/api/admin/login'],
          ['POST', '/api/admin/users'],
          ['PATCH', '/api/admin/users/x'],
          ['PUT', '/api/admin/users/x/policy'],
          ['POST', '/api/admin/customers'],
          ['PUT', '/api/admin/customers/default/allowlist'],
          ['POST', '/api/admin/policy/simulate'],
          ['GET', '/api/admin/users?limit=-1&offset=abc'],
          ['GET', '/api/admin/sessions?user=%ZZ'],
          ['DELETE', '/api/admin/sessions/%00'],
        ),
        fc.oneof(
          fc.jsonValue().map((j) => JSON.stringify(j)),
          text,
          fc.constant('{"a":'.repeat(500)),
        ),
        fc.boolean(),
        async ([method, path], doc, withToken) => {
          const body = Buffer.from(doc, 'utf8')
          const r = await rawRequest(
            server,
            method,
            path,
            {
              host,
              'content-type': 'application/json',
              'content-length': String(body.length),
              ...(withToken ? { authorization: `Bearer ${admin.token}` } : {}),
            },
            body,
            'wait',
          )
          const a = await r.answer
          acceptable(a, `${method} ${path} ${doc.slice(0, 200)}`)
          if ((a?.status ?? 0) >= 400) expect(a?.body).toMatch(/^\{"error":\{"code":"\w+"/)
        },
      ),
      { numRuns: RUNS, seed: SEED },
    )
  }, 120_000)

  it('raw query strings: random bytes in the query of S3 operations', async () => {
    const host = new URL(server.endpoint).host
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('GET', 'PUT', 'DELETE', 'HEAD', 'POST'),
        fc.constantFrom('/', '/fuzzed', '/fuzzed/a'),
        fc.string({ unit: 'binary', maxLength: 60 }),
        async (method, path, q) => {
          // Printable bytes as they are (stray '%' included), the rest percent-encoded.
          let raw = ''
          for (const b of Buffer.from(q, 'utf8'))
            raw +=
              b > 0x20 && b < 0x7f && b !== 0x23
                ? String.fromCharCode(b)
                : `%${b.toString(16).padStart(2, '0')}`
          const r = await rawRequest(
            server,
            method,
            `${path}?${raw}`,
            { host, 'content-length': '0' },
            '',
            'wait',
          )
          acceptable(await r.answer, `${method} ${path}?${raw}`)
        },
      ),
      { numRuns: RUNS, seed: SEED },
    )
  }, 120_000)

  it('afterwards: the process is up, healthy, and left no temp file', async () => {
    expect(server.proc.exitCode).toBeNull()
    expect((await fetch(`${server.endpoint}/health`)).status).toBe(200)
    const dir = join(server.dataDir, 'objects', 'tmp')
    let left = existsSync(dir) ? readdirSync(dir) : []
    for (let i = 0; i < 50 && left.length > 0; i++) {
      await new Promise((r) => setTimeout(r, 100))
      left = readdirSync(dir)
    }
    expect(left).toEqual([])
    expect(server.output.filter((l) => /"level":(50|60)|Unhandled/.test(l))).toEqual([])
  })
})
