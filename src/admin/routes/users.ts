/**
 * Users of the accounts the caller manages: list, create, read, change, delete; their access key
 * (POST creates a new one and shows its secret once; DELETE revokes it), their inline policy and
 * their TOTP enrolment. Every route first finds the user among the caller's accounts
 * (visibleUser): 404 when unknown, 403 when another account's.
 * @module
 */
import type { Route } from '../call.js'
import { jsonBody, param, visibleAccountIds, visibleCustomer, visibleUser } from '../call.js'
import { parseJson, readBodyText } from '../body.js'
import { AdminError } from '../errors.js'
import { noContent, ok, paginate, userJson } from '../render.js'
import { createUserBody, parseBody, patchUserBody } from '../schemas.js'

export const listUsers: Route = async (d, c) => {
  const customer = c.query.get('customer')
  const ids =
    customer !== undefined && customer !== ''
      ? [visibleCustomer(d, c.actor, customer).id]
      : visibleAccountIds(d.iam, c.actor)
  return paginate(d.iam.listUsers(ids), c.query, userJson)
}

export const createUser: Route = async (d, c) => {
  const b = parseBody(createUserBody, await jsonBody(c.raw))
  const account =
    b.customer !== undefined
      ? visibleCustomer(d, c.actor, b.customer)
      : c.actor.kind === 'user'
        ? c.actor.account
        : visibleCustomer(d, c.actor, 'default')
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
}

export const getUser: Route = async (d, c) =>
  ok(200, userJson(visibleUser(d, c.actor, param(c, 0))))

export const patchUser: Route = async (d, c) => {
  const u = visibleUser(d, c.actor, param(c, 0))
  const b = parseBody(patchUserBody, await jsonBody(c.raw))
  const updated = await d.iam.updateUser(u.id, {
    ...(b.role !== undefined ? { role: b.role } : {}),
    ...(b.is_active !== undefined ? { isActive: b.is_active } : {}),
    ...(b.password !== undefined ? { password: b.password } : {}),
    ...(b.email !== undefined ? { email: b.email } : {}),
    ...(b.firstname !== undefined ? { firstname: b.firstname } : {}),
    ...(b.lastname !== undefined ? { lastname: b.lastname } : {}),
  })
  return ok(200, userJson(updated))
}

export const deleteUser: Route = async (d, c) => {
  const u = visibleUser(d, c.actor, param(c, 0))
  await d.iam.deleteUser(u.id)
  c.ctx.log.info({ userId: u.id }, 'admin: user deleted')
  return noContent()
}

export const createCredentials: Route = async (d, c) => {
  const u = visibleUser(d, c.actor, param(c, 0))
  const k = await d.iam.generateKey(u.id, c.now)
  c.ctx.log.info({ userId: u.id, accessKeyId: k.accessKeyId }, 'admin: credentials generated')
  return ok(201, { access_key: k.accessKeyId, secret_key: k.secretKey })
}

export const deleteCredentials: Route = async (d, c) => {
  const u = visibleUser(d, c.actor, param(c, 0))
  if (!(await d.iam.revokeKey(u.id)))
    throw new AdminError('NotFound', `User ${u.id} has no credentials`)
  c.ctx.log.info({ userId: u.id }, 'admin: credentials revoked')
  return noContent()
}

export const putPolicy: Route = async (d, c) => {
  const u = visibleUser(d, c.actor, param(c, 0))
  const text = await readBodyText(c.raw.body)
  parseJson(text)
  const policy = await d.iam.putUserPolicy(u.id, text)
  return ok(200, policy)
}

export const getPolicy: Route = async (d, c) => {
  const u = visibleUser(d, c.actor, param(c, 0))
  const text = d.iam.getUserPolicy(u.id)
  if (text === undefined) throw new AdminError('NotFound', `User ${u.id} has no policy`)
  return ok(200, JSON.parse(text) as unknown)
}

export const deletePolicy: Route = async (d, c) => {
  const u = visibleUser(d, c.actor, param(c, 0))
  if (!(await d.iam.deleteUserPolicy(u.id)))
    throw new AdminError('NotFound', `User ${u.id} has no policy`)
  return noContent()
}

export const enrollTotp: Route = async (d, c) => {
  const u = visibleUser(d, c.actor, param(c, 0))
  const t = await d.iam.enrollTotp(u.id)
  return ok(200, { secret: t.secret, otpauth_url: t.otpauthUrl })
}

export const deleteTotp: Route = async (d, c) => {
  const u = visibleUser(d, c.actor, param(c, 0))
  if (!(await d.iam.deleteTotp(u.id)))
    throw new AdminError('NotFound', `User ${u.id} has no TOTP enrolment`)
  return noContent()
}
