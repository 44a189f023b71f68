/**
 * The console's one door to the admin API: same-origin fetch with the HttpOnly session cookie
 * (the browser sends it; JS never sees it), the CSRF token on every state-changing call, and
 * admin errors (`{error:{code,message}}`) turned into ApiError so pages can show them plainly.
 * The CSRF token and `me` live in this module's memory only — never in Web Storage.
 */

export interface Can {
  buckets: boolean
  users: boolean
  sessions: boolean
  customers: boolean
  policies: boolean
  audit: boolean
  master_key: boolean
}

export interface Me {
  kind: 'operator' | 'user'
  username: string
  customer: string
  account_id: string
  role: string
  totp_enabled: boolean
  can: Can
}

export interface ConsoleSession {
  csrf_token: string
  expires_at: string
  me: Me
  limits?: { max_duration_seconds?: number }
}

export class ApiError extends Error {
  readonly status: number
  readonly code: string
  /** Seconds to wait, from Retry-After (throttled sign-ins and reveals). */
  retryAfter: number | undefined
  constructor(status: number, code: string, message: string) {
    super(message)
    this.name = 'ApiError'
    this.status = status
    this.code = code
    this.retryAfter = undefined
  }
}

let csrf = ''
/** Called when the server says the session is gone (401): the app returns to Sign in. */
let onSignedOut: () => void = () => {}

export function setCsrf(token: string): void {
  csrf = token
}
export function onUnauthorized(f: () => void): void {
  onSignedOut = f
}

export interface ApiResult<T> {
  data: T
  headers: Headers
}

export async function apiFull<T>(
  method: string,
  path: string,
  body?: unknown,
  opts: { raw?: string; quiet401?: boolean } = {},
): Promise<ApiResult<T>> {
  const headers: Record<string, string> = { accept: 'application/json' }
  if (method !== 'GET' && method !== 'HEAD') headers['x-csrf-token'] = csrf
  let payload: string | undefined
  if (opts.raw !== undefined) {
    payload = opts.raw
    headers['content-type'] = 'application/json'
  } else if (body !== undefined) {
    payload = JSON.stringify(body)
    headers['content-type'] = 'application/json'
  }
  const res = await fetch(`/api/admin${path}`, {
    method,
    headers,
    credentials: 'same-origin',
    cache: 'no-store',
    ...(payload !== undefined ? { body: payload } : {}),
  })
  const text = await res.text()
  let json: unknown = undefined
  if (text !== '') {
    try {
      json = JSON.parse(text)
    } catch {
      json = undefined
    }
  }
  if (!res.ok) {
    const err = (json as { error?: { code?: string; message?: string } } | undefined)?.error
    const e = new ApiError(
      res.status,
      err?.code ?? `HTTP${res.status}`,
      err?.message ?? (text.slice(0, 300) || `${res.status} ${res.statusText}`),
    )
    // A 401 may mean the session is gone (expired, revoked) or only that a re-entered password
    // was wrong (reveal, password change): ask the session itself before signing out.
    const wait = Number(res.headers.get('retry-after') ?? '')
    if (Number.isFinite(wait) && wait > 0) e.retryAfter = wait
    if (res.status === 401 && opts.quiet401 !== true && path !== '/console/session')
      void sessionGone().then((gone) => gone && onSignedOut())
    throw e
  }
  return { data: json as T, headers: res.headers }
}

async function sessionGone(): Promise<boolean> {
  try {
    const r = await fetch('/api/admin/console/session', {
      credentials: 'same-origin',
      cache: 'no-store',
    })
    return r.status === 401
  } catch {
    return false
  }
}

export async function api<T>(method: string, path: string, body?: unknown): Promise<T> {
  return (await apiFull<T>(method, path, body)).data
}

export const enc = encodeURIComponent

/** Sign in: the server sets the HttpOnly cookie and answers the CSRF token and `me`. */
export async function signIn(body: {
  username: string
  password: string
  customer?: string
  otp?: string
}): Promise<ConsoleSession> {
  const s = await api<ConsoleSession>('POST', '/console/session', body)
  setCsrf(s.csrf_token)
  return s
}

/** The current session after a reload, or undefined when signed out. */
export async function currentSession(): Promise<ConsoleSession | undefined> {
  try {
    const s = (
      await apiFull<ConsoleSession>('GET', '/console/session', undefined, { quiet401: true })
    ).data
    setCsrf(s.csrf_token)
    return s
  } catch (e) {
    if (e instanceof ApiError && (e.status === 401 || e.status === 403)) return undefined
    throw e
  }
}

export async function signOut(): Promise<void> {
  try {
    await api('DELETE', '/console/session')
  } finally {
    csrf = ''
  }
}

export function errorText(e: unknown): string {
  if (e instanceof ApiError) return `${e.message} (${e.code})`
  if (e instanceof Error) return e.message
  return String(e)
}

export interface Page<T> {
  items: T[]
  total: number
  next: number | undefined
}

export async function listPage<T>(path: string): Promise<Page<T>> {
  const r = await apiFull<T[]>('GET', path)
  const total = Number(r.headers.get('x-total-count') ?? r.data.length)
  const n = r.headers.get('x-next-offset')
  return { items: r.data, total, next: n === null ? undefined : Number(n) }
}

/** A query string from the non-empty entries. */
export function qs(params: Record<string, string | number | undefined>): string {
  const u = new URLSearchParams()
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== '') u.set(k, String(v))
  const s = u.toString()
  return s === '' ? '' : `?${s}`
}
