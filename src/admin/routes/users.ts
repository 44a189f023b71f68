/**
 * Users of the accounts the caller manages: list, create, read, change, delete; their access key
 * (POST creates a new one and shows its secret once; DELETE revokes it), their inline policy and
 * their TOTP enrolment. Every route on one user acts on that user's ARN, found among the caller's
 * accounts (theUser / visibleUser): 404 when unknown, 403 when another account's.
 * @module
 */
import { ADMIN_ROUTE_ACTIONS as A, iamUserArn } from '../../policy/admin-authorize.js'
import type { AccountView, UserView } from '../../iam/service.js'
import type { Call, Route } from '../call.js'
import { callJson, param, queriedCustomer, theUser, visibleAccountIds } from '../call.js'
import { visibleCustomer, visibleUser } from '../call.js'
import type { AdminDeps } from '../deps.js'
import { parseJson } from '../body.js'
import { AdminError } from '../errors.js'
import { noContent, ok, paginate, userJson } from '../render.js'
import { createUserBody, parseBody, patchUserBody } from '../schemas.js'

export const listUsers: Route = {
  action: A['GET users'],
  resource: queriedCustomer,
  run: async (d, c) => {
    const customer = c.query.get('customer')
    const ids =
      customer !== undefined && customer !== ''
        ? [visibleCustomer(d, c.actor, customer).id]
        : visibleAccountIds(d.iam, c.actor)
    const q = (c.query.get('q') ?? '').trim().toLowerCase()
    if (q.length > 256) throw new AdminError('ValidationError', 'q must be at most 256 characters')
    const users = d.iam.listUsers(ids)
    const lastUsed = await d.iam.keysLastUsed()
    return paginate(q === '' ? users : users.filter((u) => matches(u, q)), c.query, (u) =>
      userJson(u, lastUsed),
    )
  },
}

/** `?q=`: a case-insensitive substring of the user name, e-mail, names or id. */
function matches(u: UserView, q: string): boolean {
  for (const v of [u.username, u.email, u.firstname, u.lastname, u.id])
    if (v !== undefined && v.toLowerCase().includes(q)) return true
  const full = `${u.firstname ?? ''} ${u.lastname ?? ''}`.toLowerCase()
  return full.includes(q)
}

/** The new user's body and the account it goes into (the caller's, or `customer`). */
async function newUser(d: AdminDeps, c: Call) {
  const b = parseBody(createUserBody, await callJson(c))
  const account: AccountView =
    b.customer !== undefined
      ? visibleCustomer(d, c.actor, b.customer)
      : c.actor.kind === 'user'
        ? c.actor.account
        : visibleCustomer(d, c.actor, 'default')
  return { b, account }
}

export const createUser: Route = {
  action: A['POST users'],
  resource: async (d, c) => {
    const { b, account } = await newUser(d, c)
    return iamUserArn(account.id, b.username)
  },
  run: async (d, c) => {
    const { b, account } = await newUser(d, c)
    const u = await d.iam.createUser(
      {
        accountId: account.id,
        username: b.username,
        password: b.password,
        role: b.role,
        ...(b.email !== undefined ? { email: b.email } : {}),
        ...(b.firstname !== undefined ? { firstname: b.firstname } : {}),
        ...(b.lastname !== undefined ? { lastname: b.lastname } : {}),
      },
      c.now,
    )
    c.ctx.log.info({ userId: u.id, accountId: u.accountId }, 'admin: user created')
    return ok(201, userJson(u))
  },
}

export const getUser: Route = {
  action: A['GET users/:'],
  resource: theUser,
  run: async (d, c) =>
    ok(200, userJson(visibleUser(d, c.actor, param(c, 0)), await d.iam.keysLastUsed())),
}

export const patchUser: Route = {
  action: A['PATCH users/:'],
  resource: theUser,
  run: async (d, c) => {
    const u = visibleUser(d, c.actor, param(c, 0))
    const b = parseBody(patchUserBody, await callJson(c))
    const updated = await d.iam.updateUser(
      u.id,
      Object.assign(
        {},
        b.role !== undefined ? { role: b.role } : {},
        b.is_active !== undefined ? { isActive: b.is_active } : {},
        b.password !== undefined ? { password: b.password } : {},
        b.email !== undefined ? { email: b.email } : {},
        b.firstname !== undefined ? { firstname: b.firstname } : {},
        b.lastname !== undefined ? { lastname: b.lastname } : {},
      ),
    )
    return ok(200, userJson(updated))
  },
}

export const deleteUser: Route = {
  action: A['DELETE users/:'],
  resource: theUser,
  run: async (d, c) => {
    const u = visibleUser(d, c.actor, param(c, 0))
    await d.iam.deleteUser(u.id)
    c.ctx.log.info({ userId: u.id }, 'admin: user deleted')
    return noContent()
  },
}

export const createCredentials: Route = {
  action: A['POST users/:/credentials'],
  resource: theUser,
  run: async (d, c) => {
    const u = visibleUser(d, c.actor, param(c, 0))
    const k = await d.iam.generateKey(u.id, c.now)
    c.ctx.log.info({ userId: u.id, accessKeyId: k.accessKeyId }, 'admin: credentials generated')
    return ok(201, { access_key: k.accessKeyId, secret_key: k.secretKey })
  },
}

export const deleteCredentials: Route = {
  action: A['DELETE users/:/credentials'],
  resource: theUser,
  run: async (d, c) => {
    const u = visibleUser(d, c.actor, param(c, 0))
    if (!(await d.iam.revokeKey(u.id)))
      throw new AdminError('NotFound', `User ${u.id} has no credentials`)
    c.ctx.log.info({ userId: u.id }, 'admin: credentials revoked')
    return noContent()
  },
}

export const putPolicy: Route = {
  action: A['PUT users/:/policy'],
  resource: theUser,
  run: async (d, c) => {
    const u = visibleUser(d, c.actor, param(c, 0))
    const text = await c.text()
    parseJson(text)
    const policy = await d.iam.putUserPolicy(u.id, text)
    return ok(200, policy)
  },
}

export const getPolicy: Route = {
  action: A['GET users/:/policy'],
  resource: theUser,
  run: async (d, c) => {
    const u = visibleUser(d, c.actor, param(c, 0))
    const text = d.iam.getUserPolicy(u.id)
    if (text === undefined) throw new AdminError('NotFound', `User ${u.id} has no policy`)
    return ok(200, JSON.parse(text) as unknown)
  },
}

export const deletePolicy: Route = {
  action: A['DELETE users/:/policy'],
  resource: theUser,
  run: async (d, c) => {
    const u = visibleUser(d, c.actor, param(c, 0))
    if (!(await d.iam.deleteUserPolicy(u.id)))
      throw new AdminError('NotFound', `User ${u.id} has no policy`)
    return noContent()
  },
}

export const enrollTotp: Route = {
  action: A['POST users/:/totp'],
  resource: theUser,
  run: async (d, c) => {
    const u = visibleUser(d, c.actor, param(c, 0))
    const t = await d.iam.enrollTotp(u.id)
    return ok(200, { secret: t.secret, otpauth_url: t.otpauthUrl })
  },
}

export const deleteTotp: Route = {
  action: A['DELETE users/:/totp'],
  resource: theUser,
  run: async (d, c) => {
    const u = visibleUser(d, c.actor, param(c, 0))
    if (!(await d.iam.deleteTotp(u.id)))
      throw new AdminError('NotFound', `User ${u.id} has no TOTP enrolment`)
    return noContent()
  },
}
