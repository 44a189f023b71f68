/**
 * The admin API described as OpenAPI 3 (GET /api/admin/openapi.json, no sign-in), generated from
 * the route table so it cannot miss a route: every path and method in ROUTES appears, with its
 * summary from SUMMARIES (router.test.ts checks that every route has one), the iam:* action it
 * asks for, and who may call it (public, any signed-in caller, or the admin API's policies).
 * @module
 */
import type { PublicRoute, Route } from './call.js'

/** One line per route: `METHOD /path` with `{…}` parameters, as the document names them. */
export const SUMMARIES: Readonly<Record<string, string>> = {
  'POST /login': 'Sign in with a password (and one-time code); answers a Bearer token',
  'GET /users': 'List users (?q= search, ?customer=, ?limit=, ?offset=)',
  'POST /users': 'Create a user',
  'GET /users/{id}': 'Read one user',
  'PATCH /users/{id}': 'Change a user (role, active, password, profile)',
  'DELETE /users/{id}': 'Delete a user (its key and sessions die)',
  'POST /users/{id}/credentials': "Make the user's access key (the secret is shown once)",
  'DELETE /users/{id}/credentials': "Revoke the user's access key",
  'PUT /users/{id}/policy': "Set the user's extra policy",
  'GET /users/{id}/policy': "Read the user's extra policy",
  'DELETE /users/{id}/policy': "Remove the user's extra policy",
  'POST /users/{id}/totp': 'Enrol the user in TOTP (answers the secret and otpauth URL)',
  'DELETE /users/{id}/totp': "Remove the user's TOTP enrolment",
  'GET /customers': 'List the customer accounts the caller manages',
  'POST /customers': 'Create a customer or reseller account (answers its master key once)',
  'GET /customers/{name}': 'Read one customer account',
  'GET /customers/{name}/master-key': "The account's master access key id",
  'POST /customers/{name}/master-key/reset':
    'Replace the master secret; answers it once and how many sessions died',
  'POST /customers/{name}/master-key/reveal':
    "Show the master secret after re-entering the caller's password (audited, throttled)",
  'GET /customers/{name}/allowlist': "The account's address allow-list",
  'PUT /customers/{name}/allowlist': "Replace the account's address allow-list",
  'GET /sessions': 'List live temporary credentials (?user=, ?customer=, ?parent=)',
  'DELETE /sessions': 'Revoke every live session of one parent (?parent=user id or key id)',
  'DELETE /sessions/{access_key}': 'Revoke one session',
  'POST /policy/simulate': 'Simulate a request against policies',
  'POST /policy/validate': 'Validate a policy (errors with line and column)',
  'POST /backup': 'Make a backup in the data directory (SQLite mode)',
  'GET /audit': 'Query the audit trail',
  'POST /console/session': 'Console sign-in: sets the HttpOnly session cookie',
  'GET /console/session': 'The console session: CSRF token, expiry, who is signed in, limits',
  'DELETE /console/session': 'Console sign-out: revokes the session and clears the cookie',
  'GET /console/credentials': "The console session's own S3 credentials",
  'GET /me': 'The signed-in caller and its profile',
  'PUT /me/password': 'Change your own password',
  'POST /me/totp': 'Enrol yourself in TOTP',
  'DELETE /me/totp': 'Remove your own TOTP enrolment',
  'POST /me/credentials': 'Mint temporary credentials for yourself (never beyond your rights)',
  'GET /openapi.json': 'This document',
}

/** The name of the parameter after `segment` (users/{id}, customers/{name}, …). */
function paramName(previous: string | undefined): string {
  if (previous === 'customers') return 'name'
  if (previous === 'sessions') return 'access_key'
  return 'id'
}

/** `/users/{id}/policy` for ['users', ':', 'policy']. */
export function openApiPath(pattern: readonly string[]): string {
  return '/' + pattern.map((p, i) => (p === ':' ? `{${paramName(pattern[i - 1])}}` : p)).join('/')
}

export interface RouteTable {
  readonly pattern: readonly string[]
  readonly methods: Readonly<Record<string, Route | PublicRoute>>
}

/** The OpenAPI document of `routes` (plus POST /login, which the handler answers itself). */
export function openApiDocument(routes: readonly RouteTable[], prefix: string): unknown {
  const paths: Record<string, Record<string, unknown>> = {}
  const error = { $ref: '#/components/responses/Error' }
  const add = (path: string, method: string, access: string, action?: string): void => {
    const key = `${method} ${path}`
    const params = [...path.matchAll(/\{(\w+)\}/g)].map((m) => ({
      name: m[1],
      in: 'path',
      required: true,
      schema: { type: 'string' },
    }))
    const op: Record<string, unknown> = {
      summary: SUMMARIES[key] ?? key,
      operationId: key.replace(/[^A-Za-z0-9]+/g, '_').replace(/_+$/, ''),
      ...(params.length > 0 ? { parameters: params } : {}),
      ...(access === 'public' ? { security: [] } : {}),
      'x-latchkey-access': access,
      ...(action !== undefined ? { 'x-latchkey-action': action } : {}),
      responses: {
        '200': { description: 'OK' },
        '400': error,
        '401': error,
        '403': error,
        '404': error,
      },
    }
    ;(paths[prefix + path] ??= {})[method.toLowerCase()] = op
  }
  add('/login', 'POST', 'public')
  for (const r of routes)
    for (const [method, route] of Object.entries(r.methods))
      add(
        openApiPath(r.pattern),
        method,
        route.access ?? 'admin',
        route.access === 'public' ? undefined : route.action,
      )
  return {
    openapi: '3.0.3',
    info: {
      title: 'Latchkey admin API',
      version: '1',
      description:
        'JSON over the shared port. Authenticate with `Authorization: Bearer <token>` from POST /login, or with the console cookie from POST /console/session (then send `X-CSRF-Token` on every change). Errors are `{error:{code,message}}`. Lists page with ?limit= and ?offset= (headers x-total-count, x-next-offset).',
    },
    servers: [{ url: '/' }],
    security: [{ bearer: [] }, { consoleCookie: [] }],
    components: {
      securitySchemes: {
        bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' },
        consoleCookie: { type: 'apiKey', in: 'cookie', name: 'latchkey_console' },
      },
      responses: {
        Error: {
          description: 'An error',
          content: {
            'application/json': {
              schema: {
                type: 'object',
                properties: {
                  error: {
                    type: 'object',
                    properties: { code: { type: 'string' }, message: { type: 'string' } },
                  },
                },
              },
            },
          },
        },
      },
    },
    paths,
  }
}
