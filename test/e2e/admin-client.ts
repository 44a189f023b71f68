/** A tiny client for the admin REST API used by the e2e tests. */
import type { TestServer } from './harness.js'

export interface AdminClient {
  token: string
  call(
    method: string,
    path: string,
    body?: unknown,
  ): Promise<{ status: number; json: any; headers: Headers }>
}

export async function adminLogin(
  server: TestServer,
  username = server.rootUser,
  password = server.rootPassword,
  extra: Record<string, string> = {},
): Promise<AdminClient> {
  const res = await fetch(`${server.endpoint}/api/admin/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username, password, ...extra }),
  })
  const json = (await res.json()) as { token?: string }
  if (res.status !== 200 || typeof json.token !== 'string')
    throw new Error(`login failed: ${res.status} ${JSON.stringify(json)}`)
  const client: AdminClient = {
    token: json.token,
    async call(method, path, body) {
      const r = await fetch(`${server.endpoint}${path}`, {
        method,
        headers: {
          authorization: `Bearer ${client.token}`,
          ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
        },
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      })
      const text = await r.text()
      return {
        status: r.status,
        json: text === '' ? undefined : JSON.parse(text),
        headers: r.headers,
      }
    },
  }
  return client
}

/** Create a user (in the default account unless `customer` is given) and give it an access key. */
export async function userWithKey(
  admin: AdminClient,
  username: string,
  role: 'Reader' | 'Writer' | 'SuperUser',
  customer?: string,
): Promise<{ id: string; accessKeyId: string; secretAccessKey: string }> {
  const u = await admin.call('POST', '/api/admin/users', {
    username,
    password: `${username}-password-1`,
    role,
    ...(customer !== undefined ? { customer } : {}),
  })
  if (u.status !== 201) throw new Error(`create user: ${u.status} ${JSON.stringify(u.json)}`)
  const k = await admin.call('POST', `/api/admin/users/${u.json.id}/credentials`)
  if (k.status !== 201) throw new Error(`credentials: ${k.status} ${JSON.stringify(k.json)}`)
  return {
    id: String(u.json.id),
    accessKeyId: k.json.access_key,
    secretAccessKey: k.json.secret_key,
  }
}
