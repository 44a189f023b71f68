/**
 * Differential test against botocore, the client that makes SigV2 matter: random requests
 * (unicode/space/reserved characters in keys, raw path encodings, sub-resources with encoded
 * values, repeated and padded x-amz-meta headers, Content-Type/MD5, session tokens, path- and
 * virtual-hosted style) signed by botocore's HmacV1Auth (header) and HmacV1QueryAuth (presigned)
 * must verify with ours; changing the method, path, a sub-resource, a signed header, the token or
 * one byte of the signature must not. Skipped when python3 with botocore is missing.
 */
import { execFileSync } from 'node:child_process'
import { randomInt } from 'node:crypto'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { parseQuery, type RawRequest } from '../../http/raw-request.js'
import { S3Error } from '../../s3/errors.js'
import { rawRequest } from '../sigv4/raw.case.js'
import { parseSigV2 } from './parse.js'
import { verifySigV2 } from './verify.js'
import { asS3 } from '../as-s3.case.js'

const SECRET = 'abcdefghijklmnopqrstuvwxyz0123456789ABCD'
const SCRIPT = join(dirname(fileURLToPath(import.meta.url)), 'testing', 'botocore-sign.py')

function hasBotocore(): boolean {
  try {
    execFileSync('python3', ['-c', 'import botocore'], { stdio: 'ignore', timeout: 30_000 })
    return true
  } catch {
    return false
  }
}

interface Case {
  method: string
  rawPath: string
  rawQuery: string
  headers: [string, string][]
  domain: string | null
  presigned: boolean
  token: string | null
  now: number
}

/** Headers as the listener hands them over: lower-case names, values trimmed, repeats joined with ','. */
function toRaw(c: Case): RawRequest {
  const headers: Record<string, string> = {}
  for (const [k, v] of c.headers) {
    const n = k.toLowerCase()
    headers[n] = headers[n] === undefined ? v.trim() : `${headers[n]},${v.trim()}`
  }
  return rawRequest({ method: c.method, path: c.rawPath, query: c.rawQuery, headers })
}

/** Verify; returns the error code, or 'ok'. */
function check(raw: RawRequest, c: Case): string {
  try {
    const query = parseQuery(raw.rawQuery)
    const sig = parseSigV2(raw, query)
    if (sig === undefined) return 'not-v2'
    verifySigV2(raw, query, sig, SECRET, {
      now: c.now,
      ...(c.domain !== null ? { domain: c.domain } : {}),
    })
    return 'ok'
  } catch (caught) {
    const e = asS3(caught)
    if (e instanceof S3Error) return e.code
    throw e
  }
}

function flipChar(s: string, i: number): string {
  const ch = s[i] ?? 'A'
  return s.slice(0, i) + (ch === 'A' ? 'B' : 'A') + s.slice(i + 1)
}

/** Every tampered variant of a case that botocore's signature must no longer cover. */
function tampered(c: Case): [string, RawRequest][] {
  const raw = toRaw(c)
  const out: [string, RawRequest][] = []
  const withHeaders = (h: Record<string, string | undefined>): RawRequest => ({
    ...raw,
    headers: h,
  })
  out.push(['method', { ...raw, method: c.method === 'GET' ? 'PUT' : 'GET' }])
  out.push(['path', { ...raw, rawPath: `${c.rawPath}Z` }])
  out.push(['sub-resource', { ...raw, rawQuery: c.rawQuery === '' ? 'acl' : `${c.rawQuery}&acl` }])
  out.push([
    'added x-amz header',
    withHeaders({ ...raw.headers, 'x-amz-copy-source': '/other/key' }),
  ])
  if (c.presigned) {
    const m = /(^|&)Signature=([^&]*)/.exec(c.rawQuery)
    const sig = decodeURIComponent(m?.[2] ?? '')
    const flipped = flipChar(sig, randomInt(sig.length))
    out.push([
      'signature',
      {
        ...raw,
        rawQuery: c.rawQuery.replace(
          /(^|&)Signature=[^&]*/,
          `$1Signature=${encodeURIComponent(flipped)}`,
        ),
      },
    ])
    const signedParam = /(^|&)((?:x-amz-[^=&]*|content-type|content-md5)=)([^&]*)/.exec(c.rawQuery)
    if (signedParam !== null && raw.headers[signedParam[2]!.slice(0, -1)] === undefined) {
      out.push([
        'signed query parameter',
        {
          ...raw,
          rawQuery: c.rawQuery.replace(
            signedParam[0],
            `${signedParam[1]}${signedParam[2]}${signedParam[3]}x`,
          ),
        },
      ])
    }
    const expires = /(^|&)Expires=(\d+)/.exec(c.rawQuery)
    out.push([
      'expires',
      {
        ...raw,
        rawQuery: c.rawQuery.replace(
          `Expires=${expires?.[2] ?? ''}`,
          `Expires=${Number(expires?.[2] ?? 0) + 1}`,
        ),
      },
    ])
  } else {
    const auth = raw.headers['authorization'] ?? ''
    const colon = auth.lastIndexOf(':')
    const i = colon + 1 + randomInt(auth.length - colon - 1)
    out.push(['signature', withHeaders({ ...raw.headers, authorization: flipChar(auth, i) })])
    out.push(['date', withHeaders({ ...raw.headers, date: new Date(c.now + 1000).toUTCString() })])
  }
  for (const name of Object.keys(raw.headers)) {
    if (name.startsWith('x-amz-') || name === 'content-type' || name === 'content-md5') {
      out.push([
        `header ${name}`,
        withHeaders({ ...raw.headers, [name]: `${raw.headers[name] ?? ''}x` }),
      ])
    }
  }
  return out
}

describe.skipIf(!hasBotocore())('SigV2 differential against botocore', () => {
  it('botocore-signed requests verify; tampered ones do not', () => {
    const seed = randomInt(2 ** 31)
    const cases = JSON.parse(
      execFileSync('python3', [SCRIPT, String(seed), '200'], { encoding: 'utf8', timeout: 60_000 }),
    ) as Case[]
    expect(cases.length).toBe(200)
    let presigned = 0
    let tokens = 0
    let virtual = 0
    for (const c of cases) {
      const where = `seed ${seed}: ${JSON.stringify(c)}`
      expect(check(toRaw(c), c), where).toBe('ok')
      for (const [what, raw] of tampered(c)) {
        expect(check(raw, c), `${what} / ${where}`).toMatch(
          /^(SignatureDoesNotMatch|AccessDenied|RequestTimeTooSkewed)$/,
        )
      }
      if (c.presigned) presigned++
      if (c.token !== null) tokens++
      if (c.domain !== null) virtual++
    }
    // The generator covers every form.
    expect(presigned).toBeGreaterThan(20)
    expect(tokens).toBeGreaterThan(20)
    expect(virtual).toBeGreaterThan(20)
  }, 60_000)
})
