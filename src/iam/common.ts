/**
 * What the IAM parts share: their dependencies (IamContext), the identity rules (name and
 * password formats, limits), the sealing labels, and the two steps every mutation takes.
 *
 * Why mutations look alike: a part never edits a cache. It reads the current row from the store
 * (not the possibly stale cached copy), patches it, writes it with compare-and-set on the row
 * version (retrying the patch on a fresh read when another writer got there first: a patch, not
 * a whole row, so nothing is lost), and then waits until the change feed has been applied
 * (`settle`): the store published the change, the directory and session caches applied it, so
 * the call returns only once the next request sees it ("refused on the very next request").
 * @module
 */
import { NotSettledError } from '../lib/unavailable.js'
import type { Clock, IdSource } from '../lib/clock.js'
import type { Logger } from '../lib/logger.js'
import type { ChangeFeed } from '../storage/change-feed.js'
import { StorageError } from '../storage/errors.js'
import type {
  AccountRow,
  IdentityStore,
  SessionFilter,
  SessionRow,
  UserRow,
} from '../storage/identity-store.js'
import type { SharedLimits } from '../storage/shared-limits.js'
import { MAX_PASSWORD_LENGTH } from './password.js'
import type { Directory } from './directory.js'
import { IamError } from './types.js'

export const USERNAME_RE = /^[\w+=,.@-]{1,64}$/
export const ACCOUNT_NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/
export const MIN_PASSWORD_LENGTH = 8
export const SESSION_KEY_RE = /^ASIA[A-Z0-9]{16}$/
export const TOKEN_PREFIX = 'LK1.'
export const MAX_ALLOWLIST = 100
/**
 * The longest role chain: a session made from a long-term key or a login is 1 deep, one made with
 * its credentials 2, and so on. AWS caps each chained link at one hour but not the length; here a
 * chain costs memory and checks per link, so AssumeRole from a session already this deep is
 * refused (STS AccessDenied). Eight leaves room for any real delegation (service → job → step).
 */
export const MAX_CHAIN_DEPTH = 8
/** Expired sessions keep resolving this long (callers answer ExpiredToken) before the sweep. */
export const EXPIRED_SESSION_GRACE_MS = 60 * 60_000
/** How long a mutation waits for every cache to apply its change before answering anyway. */
export const APPLY_TIMEOUT_MS = 10_000
/** Compare-and-set attempts before a mutation gives up with IamError('conflict'). */
const CAS_ATTEMPTS = 5

export { aadKey, aadMaster, aadPending, aadSession, aadTotp, canonicalIdOf } from './labels.js'

/** Everything the parts depend on; built once by the facade. */
export interface IamContext {
  readonly store: IdentityStore
  readonly changes: ChangeFeed
  readonly limits: SharedLimits
  readonly dir: Directory
  readonly sealKey: Buffer
  /** Derives new session secrets (crypto/session-secret.ts). */
  readonly sessionSecretKey: Buffer
  readonly tokenKey: Buffer
  readonly clock: Clock
  readonly ids: IdSource
  readonly log: Logger
  readonly scryptN: number
}

export function invalid(message: string): IamError {
  return new IamError('invalid', message)
}

export function rethrowConflict(message: string): (e: unknown) => never {
  return (e: unknown) => {
    if (e instanceof StorageError && e.kind === 'conflict') throw new IamError('conflict', message)
    throw e
  }
}

export function checkPassword(p: string): void {
  if (p.length < MIN_PASSWORD_LENGTH || p.length > MAX_PASSWORD_LENGTH) {
    throw invalid(`password must be ${MIN_PASSWORD_LENGTH}-${MAX_PASSWORD_LENGTH} characters`)
  }
}

export function checkProfile(p: {
  email?: string | null
  firstname?: string | null
  lastname?: string | null
}): void {
  if (typeof p.email === 'string' && (p.email.length > 254 || !/^[^\s@]+@[^\s@]+$/.test(p.email))) {
    throw invalid('email is not a valid address')
  }
  for (const f of ['firstname', 'lastname'] as const) {
    const v = p[f]
    if (typeof v === 'string' && (v.length > 64 || /[\u0000-\u001f]/.test(v)))
      throw invalid(`${f} must be at most 64 printable characters`)
  }
}

/** Wait until every subscriber applied every change published so far (see the module note). */
export async function settle(ctx: IamContext): Promise<void> {
  if (await ctx.changes.applied(ctx.changes.head(), APPLY_TIMEOUT_MS)) return
  ctx.log.warn({ timeoutMs: APPLY_TIMEOUT_MS }, 'identity change not applied everywhere in time')
  throw new NotSettledError('The change', APPLY_TIMEOUT_MS)
}

/**
 * Read, patch and compare-and-set a row, retrying on a concurrent change. `patch` returns
 * undefined for "nothing to change" (then nothing is written and undefined is returned).
 */
async function casLoop<R extends { readonly version: number }>(
  what: string,
  read: () => Promise<R | undefined>,
  write: (row: R, expected: number) => Promise<void>,
  patch: (cur: R) => R | undefined,
): Promise<{ readonly before: R; readonly after: R } | undefined> {
  for (let i = 0; i < CAS_ATTEMPTS; i++) {
    const cur = await read()
    if (cur === undefined) throw new IamError('not-found', `No such ${what}`)
    const next = patch(cur)
    if (next === undefined) return undefined
    try {
      await write(next, cur.version)
      return { before: cur, after: next }
    } catch (e) {
      if (e instanceof StorageError && e.kind === 'precondition') continue
      if (e instanceof StorageError && e.kind === 'not-found')
        throw new IamError('not-found', `No such ${what}`)
      throw e
    }
  }
  throw new IamError('conflict', `The ${what} was changed concurrently; try again`)
}

export function patchUser(
  ctx: IamContext,
  id: string,
  patch: (cur: UserRow) => UserRow | undefined,
): Promise<{ readonly before: UserRow; readonly after: UserRow } | undefined> {
  return casLoop(
    `user: ${id}`,
    () => ctx.store.getUser(id),
    (row, v) => ctx.store.updateUser(row, v),
    patch,
  )
}

export function patchAccount(
  ctx: IamContext,
  id: string,
  write: (row: AccountRow, expected: number) => Promise<void>,
  patch: (cur: AccountRow) => AccountRow | undefined,
): Promise<{ readonly before: AccountRow; readonly after: AccountRow } | undefined> {
  return casLoop(`customer: ${id}`, () => ctx.store.getAccount(id), write, patch)
}

/**
 * Revoke these sessions in the store (the feed tells the caches; the sweep deletes the rows); how
 * many were still unrevoked.
 */
export async function revokeRows(ctx: IamContext, rows: readonly SessionRow[]): Promise<number> {
  let n = 0
  for (const r of rows) if (await ctx.store.revokeSession(r.accessKeyId)) n++
  return n
}

/** Sessions read per page by revokeWhere: a parent may hold a million. */
const REVOKE_PAGE = 1000

/**
 * Revoke the live sessions matching `filter` that `pick` selects, reading them a page at a time
 * (never every session of an account at once). A revoked row leaves the active listing, so the
 * next page starts after the rows this one kept. Answers how many it revoked.
 */
export async function revokeWhere(
  ctx: IamContext,
  filter: SessionFilter,
  pick: (r: SessionRow) => boolean,
): Promise<number> {
  const now = ctx.clock.now()
  let offset = 0
  let revoked = 0
  for (;;) {
    const rows = await ctx.store.listActiveSessions(filter, now, { limit: REVOKE_PAGE, offset })
    const chosen = rows.filter(pick)
    revoked += await revokeRows(ctx, chosen)
    offset += rows.length - chosen.length
    if (rows.length < REVOKE_PAGE) return revoked
  }
}
