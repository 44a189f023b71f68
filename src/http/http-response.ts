/**
 * The response shape every surface handler returns; server/respond.ts writes it.
 * @module
 */
import type { Readable } from 'node:stream'

export interface HttpResponse {
  readonly status: number
  readonly headers?: Readonly<Record<string, string | readonly string[]>>
  /** HEAD responses never send a body. */
  readonly body?: string | Buffer | Readable
}

export function jsonResponse(
  status: number,
  value: unknown,
  headers: Record<string, string> = {},
): HttpResponse {
  return {
    status,
    headers: { 'content-type': 'application/json', ...headers },
    body: value === undefined ? '' : JSON.stringify(value),
  }
}
