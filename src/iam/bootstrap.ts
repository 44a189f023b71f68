/**
 * First start and LATCHKEY_ROOT_*: create the `default` account and the operator, generating
 * what the environment does not give; on later starts the environment only seeds (see
 * BootstrapOptions), and the offline operator-password reset.
 *
 * Generated secrets are also kept, sealed, as pending (iam_pending_secrets), written before the
 * rows they belong to, and returned by every start until firstStartSecretsShown(): a start that
 * dies after generating them (port taken, killed) must not lock the operator out, so delivery is
 * at-least-once. A pending secret nobody has seen yet is not "stored" from the operator's point
 * of view: a configured value simply takes its place. Before returning, pending values are
 * checked against the rows, so a crash between two writes can never show a secret that does
 * not work. Runs inside open(), before anything else can call the service.
 * @module
 */
import { seal, timingSafeEqualStr, unseal } from '../crypto/seal.js'
import type { IdentityStore } from '../storage/identity-store.js'
import type { Accounts } from './accounts.js'
import {
  aadPending,
  MIN_PASSWORD_LENGTH,
  SESSION_KEY_RE,
  settle,
  USERNAME_RE,
  type IamContext,
} from './common.js'
import type { BootstrapOptions, BootstrapResult } from './model.js'
import { DEFAULT_SCRYPT_N, hashPassword, MAX_PASSWORD_LENGTH, verifyPassword } from './password.js'

/** The first-start secrets kept pending until shown. */
const PENDING_NAMES = ['rootPassword', 'masterAccessKeyId', 'masterSecretKey'] as const
type PendingName = (typeof PENDING_NAMES)[number]
type Pending = Map<PendingName, string>

export async function bootstrap(
  ctx: IamContext,
  accounts: Accounts,
  b: BootstrapOptions,
): Promise<BootstrapResult> {
  const { dir, log } = ctx
  const now = ctx.clock.now()
  if (b.rootAccessKey !== undefined) validateRootAccessKey(b.rootAccessKey)
  if (b.rootSecretKey !== undefined) validateRootSecret(b.rootSecretKey)
  const rootUser = b.rootUser ?? dir.operator?.username ?? 'root'
  if (!USERNAME_RE.test(rootUser))
    throw new Error(`LATCHKEY_ROOT_USER: must match ${USERNAME_RE.source}`)
  if (
    b.rootPassword !== undefined &&
    (b.rootPassword.length < MIN_PASSWORD_LENGTH || b.rootPassword.length > MAX_PASSWORD_LENGTH)
  ) {
    throw new Error(
      `LATCHKEY_ROOT_PASSWORD: must be ${MIN_PASSWORD_LENGTH}-${MAX_PASSWORD_LENGTH} characters`,
    )
  }
  const pending = await loadPending(ctx)

  const defaultId = dir.accountIdByName('default')
  if (defaultId === undefined) {
    const akid = b.rootAccessKey ?? dir.newLongTermKeyId(ctx.ids)
    const secret = b.rootSecretKey ?? ctx.ids.alnum(40)
    const generated = b.rootAccessKey === undefined || b.rootSecretKey === undefined
    await putPending(ctx, pending, {
      masterAccessKeyId: generated ? akid : undefined,
      masterSecretKey: b.rootSecretKey === undefined ? secret : undefined,
    })
    await accounts.insert({ name: 'default', type: 'customer' }, now, akid, secret)
  } else {
    // The environment only seeds: a key reset through the admin API (say, because it leaked)
    // must not come back at the next restart because the old value is still in a unit file.
    const a = dir.account(defaultId)
    if (a && (b.rootAccessKey !== undefined || b.rootSecretKey !== undefined)) {
      const akid = b.rootAccessKey ?? a.row.masterAccessKeyId
      const secret = b.rootSecretKey ?? a.secret
      const same =
        timingSafeEqualStr(akid, a.row.masterAccessKeyId) && timingSafeEqualStr(secret, a.secret)
      const unseen = pending.has('masterSecretKey')
      if (!same && (b.rootKeyOverride === true || unseen)) {
        await accounts.setMasterKey(a.row.id, akid, secret)
        await putPending(ctx, pending, { masterAccessKeyId: undefined, masterSecretKey: undefined })
        if (b.rootKeyOverride === true)
          log.warn(
            {},
            'LATCHKEY_ROOT_KEY_OVERRIDE: the default account master key was replaced by LATCHKEY_ROOT_ACCESS_KEY/LATCHKEY_ROOT_SECRET_KEY; unset the override',
          )
      } else if (!same) {
        log.warn(
          {},
          'LATCHKEY_ROOT_ACCESS_KEY/LATCHKEY_ROOT_SECRET_KEY differ from the stored master key of the default account (reset since they were set?): keeping the stored key. Remove them from the environment, or set LATCHKEY_ROOT_KEY_OVERRIDE=1 for one start to replace the stored key',
        )
      }
    }
  }

  const op = dir.operator
  if (op === undefined) {
    const password = b.rootPassword ?? ctx.ids.alnum(24)
    await putPending(ctx, pending, {
      rootPassword: b.rootPassword === undefined ? password : undefined,
    })
    await ctx.store.putOperator({
      username: rootUser,
      passwordHash: await hashPassword(password, ctx.scryptN),
    })
  } else {
    let next = op
    if (next.username !== rootUser) next = Object.assign({}, next, { username: rootUser })
    // As for the master key: the environment does not undo a password changed since.
    let dropPendingPassword = false
    if (
      b.rootPassword !== undefined &&
      !(await verifyPassword(b.rootPassword, next.passwordHash))
    ) {
      const unseen = pending.has('rootPassword')
      if (b.rootPasswordOverride === true || unseen) {
        next = Object.assign({}, next, {
          passwordHash: await hashPassword(b.rootPassword, ctx.scryptN),
        })
        dropPendingPassword = true
        if (b.rootPasswordOverride === true)
          log.warn(
            {},
            'LATCHKEY_ROOT_PASSWORD_OVERRIDE: the operator password was replaced by LATCHKEY_ROOT_PASSWORD; unset the override',
          )
      } else {
        log.warn(
          {},
          'LATCHKEY_ROOT_PASSWORD differs from the stored operator password (changed since it was set?): keeping the stored one. Remove it from the environment, or set LATCHKEY_ROOT_PASSWORD_OVERRIDE=1 for one start to apply it',
        )
      }
    }
    if (next !== op) await ctx.store.putOperator(next)
    if (dropPendingPassword) await putPending(ctx, pending, { rootPassword: undefined })
  }
  await settle(ctx)
  return pendingThatWorks(ctx, pending)
}

/** The pending first-start secrets, unsealed. */
async function loadPending(ctx: IamContext): Promise<Pending> {
  const out: Pending = new Map()
  for (const r of await ctx.store.listPendingSecrets()) {
    if (!(PENDING_NAMES as readonly string[]).includes(r.name)) continue
    try {
      out.set(r.name as PendingName, unseal(ctx.sealKey, r.secret, aadPending(r.name)))
    } catch (e) {
      throw new Error(
        `cannot decrypt stored secrets (${(e as Error).message}): is LATCHKEY_MASTER_KEY / master.key the one this data dir was created with?`,
      )
    }
  }
  return out
}

/** Store (a string) or forget (undefined) pending secrets, in the store and in `pending`. */
async function putPending(
  ctx: IamContext,
  pending: Pending,
  values: Partial<Record<PendingName, string | undefined>>,
): Promise<void> {
  const put: { name: string; secret: string }[] = []
  const drop: string[] = []
  for (const name of PENDING_NAMES) {
    if (!Object.hasOwn(values, name)) continue
    const v = values[name]
    if (v !== undefined) {
      put.push({ name, secret: seal(ctx.sealKey, v, aadPending(name)) })
      pending.set(name, v)
    } else if (pending.has(name)) {
      drop.push(name)
      pending.delete(name)
    }
  }
  await ctx.store.putPendingSecrets(put)
  if (drop.length > 0) await ctx.store.deletePendingSecrets(drop)
}

/** What to show: the pending secrets that match the stored rows (stale ones are forgotten). */
async function pendingThatWorks(ctx: IamContext, pending: Pending): Promise<BootstrapResult> {
  const a = ctx.dir.account(ctx.dir.accountIdByName('default') ?? '')
  const op = ctx.dir.operator
  const akid = pending.get('masterAccessKeyId')
  const secret = pending.get('masterSecretKey')
  const password = pending.get('rootPassword')
  const stale: Partial<Record<PendingName, undefined>> = {}
  // The key id and the secret are shown as a pair or not at all.
  if (
    (akid !== undefined && a?.row.masterAccessKeyId !== akid) ||
    (secret !== undefined && (a === undefined || !timingSafeEqualStr(secret, a.secret)))
  ) {
    stale.masterAccessKeyId = undefined
    stale.masterSecretKey = undefined
  }
  if (
    password !== undefined &&
    (op === undefined || !(await verifyPassword(password, op.passwordHash)))
  )
    stale.rootPassword = undefined
  if (Object.keys(stale).length > 0) await putPending(ctx, pending, stale)
  const rootPassword = pending.get('rootPassword')
  const masterAccessKeyId = pending.get('masterAccessKeyId')
  const masterSecretKey = pending.get('masterSecretKey')
  return Object.assign(
    {},
    rootPassword !== undefined && op !== undefined ? { rootUser: op.username, rootPassword } : {},
    masterAccessKeyId !== undefined ? { masterAccessKeyId } : {},
    masterSecretKey !== undefined ? { masterSecretKey } : {},
  )
}

/**
 * Offline recovery (`latchkey admin reset-root-password`, server stopped): set the operator
 * password and forget a pending first-start one, which no longer works. Needs no master key:
 * it writes only a password hash. Throws an Error with one clear line.
 */
export async function resetOperatorPassword(
  store: IdentityStore,
  password: string,
  scryptN: number = DEFAULT_SCRYPT_N,
): Promise<{ username: string }> {
  if (password.length < MIN_PASSWORD_LENGTH || password.length > MAX_PASSWORD_LENGTH)
    throw new Error(`the password must be ${MIN_PASSWORD_LENGTH}-${MAX_PASSWORD_LENGTH} characters`)
  const operator = await store.getOperator()
  if (operator === undefined)
    throw new Error('this data dir has no operator yet: start the server once first')
  await store.putOperator(
    Object.assign({}, operator, { passwordHash: await hashPassword(password, scryptN) }),
  )
  await store.deletePendingSecrets(['rootPassword'])
  return { username: operator.username }
}

function validateRootAccessKey(k: string): void {
  if (!/^[A-Za-z0-9_.+=-]{3,128}$/.test(k) || SESSION_KEY_RE.test(k)) {
    throw new Error(
      'LATCHKEY_ROOT_ACCESS_KEY: must be 3-128 characters of [A-Za-z0-9_.+=-] (not an ASIA… session id)',
    )
  }
}

function validateRootSecret(s: string): void {
  if (!/^[\x21-\x7e]{8,128}$/.test(s)) {
    throw new Error(
      'LATCHKEY_ROOT_SECRET_KEY: must be 8-128 printable ASCII characters without spaces',
    )
  }
}
