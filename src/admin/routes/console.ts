/**
 * The console's own routes: its cookie session (sign in, reload, sign out), the session's S3
 * credentials for the page to sign its S3 calls with, and self-service for whoever is signed in
 * (`me`: its profile, password, TOTP, and temporary credentials for itself). Every signed-in
 * caller may use them, a Reader included (access 'self'): they act on the caller only, so they
 * ask no policy; what the caller may do with what it gets is decided where it is used (S3 for
 * credentials, which can never exceed the caller's own rights).
 * @module
 */
import { parsePolicy, type CompiledPolicy } from '../../policy/document.js'
import { iamUserArn } from '../../policy/admin-authorize.js'
import { PolicyError } from '../../policy/types.js'
import { isoMillis } from '../../lib/time-format.js'
import type { Call, PublicRoute, Route } from '../call.js'
import { callJson, jsonBody, ownAccountArn } from '../call.js'
import {
  clearCookie,
  meOf,
  principalOf,
  sessionAnswer,
  signIn,
  type ConsoleSession,
} from '../console-session.js'
import type { AdminDeps } from '../deps.js'
import { AdminError } from '../errors.js'
import { OTP_REQUIRED } from '../../iam/logins.js'
import { roleFor, sessionNameFrom } from '../../iam/role-identity.js'
import { IamError } from '../../iam/types.js'
import { noContent, ok } from '../render.js'
import {
  loginBody,
  meCredentialsBody,
  mePasswordBody,
  meTotpBody,
  meTotpDeleteBody,
  parseBody,
} from '../schemas.js'

/** The caller's own ARN (a user) or its account (the operator: '*'): what self routes act on. */
function self(_d: AdminDeps, c: Call): string {
  return c.actor.kind === 'user'
    ? iamUserArn(c.actor.account.id, c.actor.user.username)
    : ownAccountArn(c)
}

function needConsole(c: Call): ConsoleSession {
  if (c.console === undefined)
    throw new AdminError('Unauthorized', 'No console session (sign in at /console/)')
  return c.console
}

export const signInRoute: PublicRoute = {
  access: 'public',
  run: async (d, raw, _ctx, now) => signIn(d, raw, parseBody(loginBody, await jsonBody(raw)), now),
}

export const getConsoleSession: Route = {
  access: 'self',
  action: 'iam:GetUser',
  resource: self,
  run: async (d, c) => ok(200, await sessionAnswer(d, c.actor, needConsole(c), c.raw, c.now)),
}

export const deleteConsoleSession: Route = {
  access: 'self',
  action: 'iam:RevokeSession',
  resource: self,
  run: async (d, c) => {
    const s = needConsole(c)
    await d.iam.revoke(s.accessKeyId)
    c.ctx.log.info({ accessKeyId: s.accessKeyId }, 'console: signed out')
    return {
      status: 204,
      headers: { 'cache-control': 'no-store', 'set-cookie': clearCookie(c.raw) },
    }
  },
}

export const getConsoleCredentials: Route = {
  access: 'self',
  action: 'iam:GetUser',
  resource: self,
  run: async (d, c) => {
    const s = needConsole(c)
    return ok(200, {
      access_key: s.accessKeyId,
      secret_key: s.secretKey,
      session_token: s.sessionToken,
      expires_at: isoMillis(s.expiresAt),
      region: d.console?.region ?? 'us-east-1',
    })
  },
}

export const getMe: Route = {
  access: 'self',
  action: 'iam:GetUser',
  resource: self,
  run: async (d, c) => {
    const me = await meOf(d, c.actor, c.raw, c.now)
    if (c.actor.kind === 'operator')
      return ok(
        200,
        Object.assign({}, me, {
          email: null,
          firstname: null,
          lastname: null,
          access_key: null,
          access_key_created_at: null,
          access_key_last_used_at: null,
          created_at: null,
        }),
      )
    const u = d.iam.getUser(c.actor.user.id) ?? c.actor.user
    return ok(
      200,
      Object.assign({}, me, {
        user_id: u.id,
        email: u.email ?? null,
        firstname: u.firstname ?? null,
        lastname: u.lastname ?? null,
        access_key: u.accessKeyId ?? null,
        access_key_created_at:
          u.accessKeyCreatedAt !== undefined ? isoMillis(u.accessKeyCreatedAt) : null,
        access_key_last_used_at: await keyLastUsed(d, u.accessKeyId),
        created_at: isoMillis(u.createdAt),
      }),
    )
  },
}

/** When the caller's own key was last used (ISO), null when never or when it has none. */
async function keyLastUsed(d: AdminDeps, key: string | undefined): Promise<string | null> {
  if (key === undefined) return null
  const at = (await d.iam.keysLastUsed()).get(key)
  return at !== undefined ? isoMillis(at) : null
}

/** Re-check the caller's own password (and code) before a sensitive self-service step. */
async function confirm(
  d: AdminDeps,
  c: Call,
  password: string,
  otp: string | undefined,
  passwordOnly = false,
): Promise<void> {
  try {
    await d.iam.confirmPassword(
      c.actor.kind === 'operator'
        ? { kind: 'operator' }
        : { kind: 'user', userId: c.actor.user.id },
      {
        password,
        address: c.raw.remoteAddress,
        ...(otp !== undefined && otp !== '' ? { otp } : {}),
        ...(passwordOnly ? { passwordOnly } : {}),
      },
      c.now,
    )
  } catch (e) {
    if (e instanceof IamError && e.code === 'invalid' && e.message === OTP_REQUIRED)
      throw new AdminError('OtpRequired', OTP_REQUIRED)
    throw e
  }
}

function userOnly(c: Call, what: string): string {
  if (c.actor.kind !== 'user')
    throw new AdminError(
      'ValidationError',
      `The operator has no ${what} here (its password: latchkey admin reset-root-password)`,
    )
  return c.actor.user.id
}

export const putMyPassword: Route = {
  access: 'self',
  action: 'iam:UpdateUser',
  resource: self,
  run: async (d, c) => {
    const b = parseBody(mePasswordBody, await callJson(c))
    const id = userOnly(c, 'password to change')
    // The code was given at sign-in; the current password is what a password change re-checks.
    await confirm(d, c, b.current_password, b.otp, true)
    // Its other sign-ins end (users.ts revokeSignIns); this console session stays.
    await d.iam.updateUser(
      id,
      { password: b.new_password },
      c.console !== undefined ? { keepSession: c.console.accessKeyId } : {},
    )
    return noContent()
  },
}

export const postMyTotp: Route = {
  access: 'self',
  action: 'iam:EnableMFADevice',
  resource: self,
  run: async (d, c) => {
    const b = parseBody(meTotpBody, await callJson(c))
    const id = userOnly(c, 'one-time codes')
    await confirm(d, c, b.password, b.otp)
    const t = await d.iam.enrollTotp(id)
    return ok(200, { secret: t.secret, otpauth_url: t.otpauthUrl })
  },
}

export const deleteMyTotp: Route = {
  access: 'self',
  action: 'iam:DeactivateMFADevice',
  resource: self,
  run: async (d, c) => {
    const b = parseBody(meTotpDeleteBody, await callJson(c))
    const id = userOnly(c, 'one-time codes')
    await confirm(d, c, b.password, b.otp)
    if (!(await d.iam.deleteTotp(id)))
      throw new AdminError('NotFound', 'You have no TOTP enrolment')
    return noContent()
  },
}

/** AWS's PackedPolicySize: the share of the packed session policy's room a policy uses. */
function packedPolicySize(text: string | undefined): number {
  if (text === undefined) return 0
  return Math.ceil((JSON.stringify(JSON.parse(text)).length / 2048) * 100)
}

export const postMyCredentials: Route = {
  access: 'self',
  action: 'iam:CreateAccessKey',
  resource: self,
  run: async (d, c) => {
    const b = parseBody(meCredentialsBody, await callJson(c))
    const max = d.console?.maxDurationSeconds ?? 43200
    const duration = b.duration_seconds ?? Math.min(3600, max)
    if (duration < 900 || duration > max)
      throw new AdminError(
        'ValidationError',
        `duration_seconds must be between 900 and ${String(max)} (the operator's --sts-max-duration)`,
      )
    let policies: CompiledPolicy[] = []
    if (b.policy !== undefined) {
      try {
        policies = [
          parsePolicy(b.policy, {
            kind: 'session',
            name: 'session-policy',
            source: 'session',
            maxLength: 2048,
          }),
        ]
      } catch (e) {
        if (e instanceof PolicyError)
          throw new AdminError('ValidationError', `policy: ${e.message}`)
        throw e
      }
    }
    const caller = principalOf(d, c.actor)
    const who = c.actor.kind === 'operator' ? c.actor.name : c.actor.user.username
    const issued = await d.iam.issue(
      {
        caller,
        sessionName: sessionNameFrom(b.name ?? `console-${who}`),
        durationSeconds: duration,
        ...(b.policy !== undefined ? { policyText: b.policy } : {}),
        policies,
        ...roleFor(caller),
        withToken: true,
        ...(b.tags !== undefined ? { tags: b.tags } : {}),
        source: 'console',
      },
      c.now,
    )
    c.ctx.log.info({ accessKeyId: issued.accessKeyId }, 'console: credentials minted')
    return ok(201, {
      access_key: issued.accessKeyId,
      secret_key: issued.secretAccessKey,
      session_token: issued.sessionToken,
      expires_at: isoMillis(issued.expiresAt),
      policy: b.policy ?? null,
      packed_policy_size: packedPolicySize(b.policy),
      max_duration_seconds: max,
    })
  },
}
