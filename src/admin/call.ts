/**
 * One authenticated admin call and the helpers every route shares: its path parameters, its JSON
 * body, and the targets it may act on. Tenancy decides (iam/tenancy.ts); this file only looks the
 * target up and maps a refusal to the admin API's answer: 404 when unknown, 403 when another
 * account's.
 * @module
 */
import type { RawRequest, RequestContext } from '../http/raw-request.js'
import type { HttpResponse } from '../http/http-response.js'
import type { AccountView, UserView } from '../iam/service.js'
import * as tenancy from '../iam/tenancy.js'
import { parseJson, readBodyText } from './body.js'
import type { Actor, AdminDeps, AdminIam } from './deps.js'
import { AdminError } from './errors.js'

export interface Call {
  readonly raw: RawRequest
  readonly ctx: RequestContext
  readonly params: readonly string[]
  readonly query: ReadonlyMap<string, string>
  readonly actor: Actor
  readonly now: number
}

export type Route = (d: AdminDeps, c: Call) => Promise<HttpResponse>

export function param(c: Call, i: number): string {
  return c.params[i] ?? ''
}

export async function jsonBody(raw: RawRequest): Promise<unknown> {
  return parseJson(await readBodyText(raw.body))
}

/** The account ids the actor may see and change. */
export function visibleAccountIds(
  iam: Pick<AdminIam, 'listAccounts'>,
  actor: Actor,
): readonly string[] {
  return tenancy.visibleAccountIds(actor, iam.listAccounts())
}

export function canSee(
  iam: Pick<AdminIam, 'listAccounts'>,
  actor: Actor,
  accountId: string,
): boolean {
  return tenancy.canManageAccount(actor, accountId, iam.listAccounts())
}

/** A customer by name that the actor may act on: 404 when unknown, 403 when another's. */
export function visibleCustomer(d: AdminDeps, actor: Actor, name: string): AccountView {
  const info = d.iam.byName(name)
  const a = info ? d.iam.getAccount(info.id) : undefined
  const v = tenancy.visibleAccount(actor, a, d.iam.listAccounts())
  if (v.ok) return v.value
  if (v.reason === 'not-found') throw new AdminError('NotFound', `No such customer: ${name}`)
  throw new AdminError('Forbidden', `Customer ${name} belongs to another account`)
}

/** A user by id that the actor may act on: 404 when unknown, 403 when in another account. */
export function visibleUser(d: AdminDeps, actor: Actor, id: string): UserView {
  const v = tenancy.visibleUser(actor, d.iam.getUser(id), d.iam.listAccounts())
  if (v.ok) return v.value
  if (v.reason === 'not-found') throw new AdminError('NotFound', `No such user: ${id}`)
  throw new AdminError('Forbidden', `User ${id} belongs to another account`)
}
