/**
 * Tenancy: who may manage which account. The operator manages every account; a user of an
 * account manages that account, and a reseller's user also the customer accounts under it. The
 * admin API applies it today; the console and the IAM Query API will need the same rule, so it
 * lives here as pure functions over the views the IAM service exposes (no I/O, no HTTP). The
 * callers look the views up and map a refusal to their own error.
 * @module
 */
import type { AccountInfo } from './types.js'

/** Who is asking: the operator, or a user acting within its own account. */
export type Manager =
  | { readonly kind: 'operator' }
  | { readonly kind: 'user'; readonly account: Pick<AccountInfo, 'id' | 'type'> }

/**
 * The accounts a tenancy decision needs to know (the IAM service's account views): their ids
 * and who resells them.
 */
export type AccountTree = readonly Pick<AccountInfo, 'id' | 'resellerId'>[]

/**
 * The account ids `who` may see and change, in `accounts` order for the operator, and own
 * account first then its customers for a reseller.
 */
export function visibleAccountIds(who: Manager, accounts: AccountTree): readonly string[] {
  if (who.kind === 'operator') return accounts.map((a) => a.id)
  const own = who.account
  if (own.type !== 'reseller') return [own.id]
  return [own.id, ...accounts.filter((a) => a.resellerId === own.id).map((a) => a.id)]
}

/** Whether `who` may see and change account `accountId`. */
export function canManageAccount(who: Manager, accountId: string, accounts: AccountTree): boolean {
  return visibleAccountIds(who, accounts).includes(accountId)
}

/** A looked-up view `who` may act on, or why not (unknown, or in an account it does not manage). */
export type Visibility<T> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly reason: 'not-found' | 'other-account' }

/** An account (looked up by the caller; undefined when unknown) as `who` may see it. */
export function visibleAccount<A extends Pick<AccountInfo, 'id'>>(
  who: Manager,
  account: A | undefined,
  accounts: AccountTree,
): Visibility<A> {
  if (account === undefined) return { ok: false, reason: 'not-found' }
  if (!canManageAccount(who, account.id, accounts)) return { ok: false, reason: 'other-account' }
  return { ok: true, value: account }
}

/** A user (looked up by the caller; undefined when unknown) as `who` may see it. */
export function visibleUser<U extends { readonly accountId: string }>(
  who: Manager,
  user: U | undefined,
  accounts: AccountTree,
): Visibility<U> {
  if (user === undefined) return { ok: false, reason: 'not-found' }
  if (!canManageAccount(who, user.accountId, accounts))
    return { ok: false, reason: 'other-account' }
  return { ok: true, value: user }
}
