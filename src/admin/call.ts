/**
 * One authenticated admin call, what a route is, and the helpers every route shares: its path
 * parameters, its JSON body, the targets it may act on and the IAM resource ARNs they are.
 * Tenancy decides (iam/tenancy.ts); this file only looks the target up and maps a refusal to the
 * admin API's answer: 404 when unknown, 403 when another account's.
 * @module
 */
import type { RawRequest, RequestContext } from '../http/raw-request.js'
import type { HttpResponse } from '../http/http-response.js'
import type { AccountView, UserView } from '../iam/service.js'
import * as tenancy from '../iam/tenancy.js'
import type { IamAction } from '../policy/actions.js'
import { iamAccountArn, iamUserArn } from '../policy/admin-authorize.js'
import { parseJson, readBodyText } from './body.js'
import type { Actor, AdminDeps, AdminIam, ConsoleSession } from './deps.js'
import { AdminError } from './errors.js'

export interface Call {
  readonly raw: RawRequest
  readonly ctx: RequestContext
  readonly params: readonly string[]
  readonly query: ReadonlyMap<string, string>
  readonly actor: Actor
  readonly now: number
  /** The request body as text, read at most once (the resource step and the route share it). */
  readonly text: () => Promise<string>
  /** The console session, when the caller came with the console's cookie (not a Bearer token). */
  readonly console?: ConsoleSession
}

/**
 * One admin route: the iam:* action it asks for (policy/admin-authorize.ts ADMIN_ROUTE_ACTIONS),
 * the IAM resource it acts on, and what it does. The router resolves the resource and asks the
 * policy engine (authorization.ts) before `run`; resolving looks the target up, so an unknown
 * target is 404 and another tenant's 403 before any policy is consulted, as before.
 */
export interface Route {
  readonly action: IamAction
  readonly resource: (d: AdminDeps, c: Call) => string | Promise<string>
  readonly run: (d: AdminDeps, c: Call) => Promise<HttpResponse>
  /**
   * 'self': any signed-in caller acting on itself (the console's session and `me` routes; a
   * Reader included), so neither the admin-access gate nor the policy engine is asked — the
   * route itself touches only the caller. Absent: an admin route, decided as above.
   */
  readonly access?: 'self'
}

/** A route answered before anyone is signed in (the console's sign-in, the OpenAPI document). */
export interface PublicRoute {
  readonly access: 'public'
  readonly run: (
    d: AdminDeps,
    raw: RawRequest,
    ctx: RequestContext,
    now: number,
  ) => Promise<HttpResponse>
}

export function isPublic(r: Route | PublicRoute): r is PublicRoute {
  return r.access === 'public'
}

/** Read a body once, however many times it is asked for. */
export function onceText(raw: RawRequest): () => Promise<string> {
  let text: Promise<string> | undefined
  return () => (text ??= readBodyText(raw.body))
}

export function param(c: Call, i: number): string {
  return c.params[i] ?? ''
}

export async function jsonBody(raw: RawRequest): Promise<unknown> {
  return parseJson(await readBodyText(raw.body))
}

/** The call's body as JSON (ValidationError when it is not). */
export async function callJson(c: Call): Promise<unknown> {
  return parseJson(await c.text())
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

/** The caller's own account (the operator has none: '*'). */
export function ownAccountArn(c: Call): string {
  return c.actor.kind === 'user' ? iamAccountArn(c.actor.account.id) : '*'
}

/** Resource of the routes on `users/:id…`: that user (404/403 as visibleUser). */
export function theUser(d: AdminDeps, c: Call): string {
  const u = visibleUser(d, c.actor, param(c, 0))
  return iamUserArn(u.accountId, u.username)
}

/** Resource of the routes on `customers/:name…`: that account (404/403 as visibleCustomer). */
export function theCustomer(d: AdminDeps, c: Call): string {
  return iamAccountArn(visibleCustomer(d, c.actor, param(c, 0)).id)
}

/** Resource of the listings filtered by `?customer=`: that account, else the caller's own. */
export function queriedCustomer(d: AdminDeps, c: Call): string {
  const customer = c.query.get('customer')
  return customer !== undefined && customer !== ''
    ? iamAccountArn(visibleCustomer(d, c.actor, customer).id)
    : ownAccountArn(c)
}
