/**
 * Serves the web console (issue 11): the Vite build in `dist/console/` under `/console/`, on the
 * same port as S3 and the admin API, so a newcomer opens http://localhost:9000/ and signs in.
 *
 * Why these headers: the console handles secrets (master keys, session credentials), so every
 * answer carries a strict Content-Security-Policy (no inline script, no other origin; the
 * build's scripts and styles are files), `frame-ancestors 'none'` and X-Frame-Options against
 * clickjacking, nosniff, and no Referer (presigned URLs in links must not leak). Vite names its
 * assets by content hash, so /console/assets/* is cached for a year as immutable; index.html is
 * revalidated every time so a new build is picked up at once.
 *
 * Paths without a file extension that name no file get index.html (the app's client-side
 * routes); a missing asset is 404, never HTML in place of a script. Files are read once and kept
 * in memory (gzipped too, for clients that accept it) until their mtime changes: the build is a
 * few hundred kilobytes. Where the build is missing (a checkout run without `npm run build`),
 * every console path answers 503 saying so.
 * @module
 */
import { readFile, stat } from 'node:fs/promises'
import { extname, join, resolve, sep } from 'node:path'
import { fileURLToPath } from 'node:url'
import { gzipSync } from 'node:zlib'
import type { HttpResponse } from '../http/http-response.js'
import type { RawRequest } from '../http/raw-request.js'

export const CONSOLE_PATH = '/console'

/** dist/console/, next to this module's own build directory (dist/console-server/). */
export const DEFAULT_CONSOLE_DIR = fileURLToPath(new URL('../console/', import.meta.url))

export const CONSOLE_CSP =
  "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; " +
  "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'; " +
  "object-src 'none'"

export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'content-security-policy': CONSOLE_CSP,
  'x-frame-options': 'DENY',
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
}

const TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.map': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.ico': 'image/x-icon',
  '.webp': 'image/webp',
  '.woff2': 'font/woff2',
  '.woff': 'font/woff',
  '.txt': 'text/plain; charset=utf-8',
  '.webmanifest': 'application/manifest+json',
}

const COMPRESSIBLE = new Set(['.html', '.js', '.mjs', '.css', '.json', '.svg', '.map', '.txt'])

interface Cached {
  readonly mtimeMs: number
  readonly body: Buffer
  readonly gzip?: Buffer
}

export type ConsoleHandler = (raw: RawRequest) => Promise<HttpResponse>

function text(status: number, body: string, headers: Record<string, string> = {}): HttpResponse {
  return {
    status,
    headers: Object.assign(
      {},
      SECURITY_HEADERS,
      { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' },
      headers,
    ),
    body,
  }
}

/** Whether `raw` is for the console's pages (`/console`, `/console/…`). */
export function isConsolePath(rawPath: string): boolean {
  return rawPath === CONSOLE_PATH || rawPath.startsWith(CONSOLE_PATH + '/')
}

/** The console's static files from `dir` (the Vite build). */
export function createConsoleHandler(dir: string = DEFAULT_CONSOLE_DIR): ConsoleHandler {
  const root = resolve(dir)
  const cache = new Map<string, Cached>()

  async function load(file: string): Promise<Cached | undefined> {
    let st
    try {
      st = await stat(file)
    } catch {
      return undefined
    }
    if (!st.isFile()) return undefined
    const hit = cache.get(file)
    if (hit !== undefined && hit.mtimeMs === st.mtimeMs) return hit
    const body = await readFile(file)
    const gz = COMPRESSIBLE.has(extname(file)) && body.length > 512 ? gzipSync(body) : undefined
    const entry: Cached = { mtimeMs: st.mtimeMs, body, ...(gz !== undefined ? { gzip: gz } : {}) }
    if (cache.size > 500) cache.clear()
    cache.set(file, entry)
    return entry
  }

  return async (raw) => {
    const method = raw.method.toUpperCase()
    if (method !== 'GET' && method !== 'HEAD')
      return text(405, 'Method not allowed', { allow: 'GET, HEAD' })
    if (raw.rawPath === CONSOLE_PATH)
      return {
        status: 302,
        headers: Object.assign({}, SECURITY_HEADERS, { location: '/console/' }),
      }
    try {
      const st = await stat(root)
      if (!st.isDirectory()) throw new Error('not a directory')
    } catch {
      return text(503, 'console not built: run npm run build\n')
    }
    let rel: string
    try {
      rel = decodeURIComponent(raw.rawPath.slice(CONSOLE_PATH.length + 1))
    } catch {
      return text(400, 'Bad path\n')
    }
    const segs = rel.split('/')
    if (segs.some((s) => s === '..' || s === '.' || s.includes('\\') || s.includes('\0')))
      return text(400, 'Bad path\n')
    const file = resolve(root, ...segs.filter((s) => s !== ''))
    if (file !== root && !file.startsWith(root + sep)) return text(400, 'Bad path\n')
    let served = file
    let hit = rel === '' || rel.endsWith('/') ? undefined : await load(file)
    if (hit === undefined) {
      // A client-side route (no extension): the app's index.html; a missing asset: 404.
      if (extname(segs[segs.length - 1] ?? '') !== '') return text(404, 'Not found\n')
      served = join(root, 'index.html')
      hit = await load(served)
      if (hit === undefined) return text(503, 'console not built: run npm run build\n')
    }
    const ext = extname(served)
    const immutable = rel.startsWith('assets/') && served !== join(root, 'index.html')
    const gzip =
      hit.gzip !== undefined && /\bgzip\b/.test(raw.headers['accept-encoding'] ?? '')
        ? hit.gzip
        : undefined
    const body = gzip ?? hit.body
    return {
      status: 200,
      headers: Object.assign(
        {},
        SECURITY_HEADERS,
        {
          'content-type': TYPES[ext] ?? 'application/octet-stream',
          'content-length': String(body.length),
          'cache-control': immutable ? 'public, max-age=31536000, immutable' : 'no-cache',
        },
        hit.gzip !== undefined ? { vary: 'Accept-Encoding' } : {},
        gzip !== undefined ? { 'content-encoding': 'gzip' } : {},
      ),
      ...(method === 'GET' ? { body } : {}),
    }
  }
}

/**
 * Whether an unsigned request for `/` comes from a browser (Accept names text/html): it is sent
 * to the console. Signed S3 requests (ListBuckets) never are; the caller checks that.
 */
export function isBrowserRoot(raw: RawRequest): boolean {
  return (
    raw.method.toUpperCase() === 'GET' &&
    raw.rawPath === '/' &&
    raw.rawQuery === '' &&
    raw.headers['authorization'] === undefined &&
    /\btext\/html\b/i.test(raw.headers['accept'] ?? '')
  )
}
