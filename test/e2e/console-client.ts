/**
 * A browser's side of the console API for the e2e tests: fetch with the console cookie sent back
 * as a browser would (same origin), the CSRF header on changes, and the answers parsed.
 */
import type { TestServer } from './harness.js'

export interface ConsoleAnswer {
  status: number
  json: any
  headers: Headers
}

export interface ConsoleBrowser {
  cookie: string | undefined
  csrf: string | undefined
  setCookie: string | undefined
  signIn(body: Record<string, string>): Promise<ConsoleAnswer>
  call(
    method: string,
    path: string,
    body?: unknown,
    opts?: { csrf?: string | null; origin?: string; headers?: Record<string, string> },
  ): Promise<ConsoleAnswer>
}

async function answer(r: Response): Promise<ConsoleAnswer> {
  const text = await r.text()
  let json: unknown
  try {
    json = text === '' ? undefined : JSON.parse(text)
  } catch {
    json = text
  }
  return { status: r.status, json, headers: r.headers }
}

export function consoleBrowser(server: TestServer): ConsoleBrowser {
  const b: ConsoleBrowser = {
    cookie: undefined,
    csrf: undefined,
    setCookie: undefined,
    async signIn(body) {
      const r = await fetch(`${server.endpoint}/api/admin/console/session`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', origin: server.endpoint },
        body: JSON.stringify(body),
      })
      const a = await answer(r)
      const sc = r.headers.get('set-cookie') ?? undefined
      if (a.status === 200 && sc !== undefined) {
        b.setCookie = sc
        b.cookie = sc.split(';')[0]
        b.csrf = a.json.csrf_token
      }
      return a
    },
    async call(method, path, body, opts = {}) {
      const csrf = opts.csrf === undefined ? b.csrf : opts.csrf
      const r = await fetch(`${server.endpoint}${path}`, {
        method,
        headers: {
          ...(b.cookie !== undefined ? { cookie: b.cookie } : {}),
          ...(csrf !== null && csrf !== undefined && method !== 'GET'
            ? { 'x-csrf-token': csrf }
            : {}),
          ...(opts.origin !== undefined ? { origin: opts.origin } : {}),
          ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
          ...opts.headers,
        },
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      })
      const a = await answer(r)
      const sc = r.headers.get('set-cookie')
      if (sc !== null) b.setCookie = sc
      return a
    },
  }
  return b
}
