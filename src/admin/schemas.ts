/**
 * zod schemas for admin request bodies (shared with the console). Strict objects: an unknown
 * field is a ValidationError naming it, so typos never silently do nothing. Deeper rules
 * (password length, username charset, CIDR syntax) live in iam/ so every caller gets them.
 * @module
 */
import { z } from 'zod'
import { AdminError } from './errors.js'
import { ROLES } from '../policy/roles.js'

const role = z.enum(ROLES)
const text = (max: number) => z.string().max(max)

export const loginBody = z.strictObject({
  username: text(128).min(1),
  password: text(1024).min(1),
  otp: text(16).optional(),
  customer: text(64).min(1).optional(),
})

export const createUserBody = z.strictObject({
  username: text(64).min(1),
  password: text(1024),
  role,
  email: text(254).optional(),
  firstname: text(64).optional(),
  lastname: text(64).optional(),
  customer: text(64).min(1).optional(),
})

export const patchUserBody = z.strictObject({
  role: role.optional(),
  is_active: z.boolean().optional(),
  password: text(1024).optional(),
  email: text(254).nullable().optional(),
  firstname: text(64).nullable().optional(),
  lastname: text(64).nullable().optional(),
})

export const createCustomerBody = z.strictObject({
  name: text(64).min(1),
  type: z.enum(['customer', 'reseller']),
  reseller: text(64).min(1).optional(),
})

export const allowlistBody = z.strictObject({
  cidrs: z.array(text(64)).max(100),
})

/** PUT customers/:/sts-limits: null (or absent) = the server's default for that field. */
export const stsLimitsBody = z.strictObject({
  issue_rate: z.number().positive().max(1_000_000).nullable().optional(),
  issue_burst: z.number().int().min(1).max(2_147_483_647).nullable().optional(),
  max_active_sessions: z.number().int().min(1).max(2_147_483_647).nullable().optional(),
})

const contextValue = z.union([text(1024), z.array(text(1024)).max(100)])
export const simulateBody = z.strictObject({
  policies: z.array(z.unknown()).max(20),
  bucket_policy: z.unknown().optional(),
  session_policy: z.unknown().optional(),
  principal: text(2048).optional(),
  action: text(256).min(1),
  resource: text(2048).min(1),
  context: z.record(text(256), contextValue).optional(),
})

/** Validate `value` against `schema`, or a ValidationError naming the first problem's field. */
export function parseBody<T>(schema: z.ZodType<T>, value: unknown): T {
  const r = schema.safeParse(value)
  if (r.success) return r.data
  const issue = r.error.issues[0]
  const where = issue && issue.path.length > 0 ? `${issue.path.join('.')}: ` : ''
  throw new AdminError('ValidationError', `${where}${issue?.message ?? 'invalid body'}`)
}

export const mePasswordBody = z.strictObject({
  current_password: text(1024).min(1),
  new_password: text(1024).min(1),
  otp: text(16).optional(),
})

export const meTotpBody = z.strictObject({
  password: text(1024).min(1),
  otp: text(16).optional(),
})

export const meTotpDeleteBody = z.strictObject({
  password: text(1024).min(1),
  otp: text(16).min(1),
})

/** Temporary credentials for the caller itself (the console's credential builder). */
export const meCredentialsBody = z.strictObject({
  policy: text(2048).min(1).optional(),
  duration_seconds: z.number().int().optional(),
  name: z
    .string()
    .regex(/^[\w+=,.@-]{2,64}$/, 'name: 2-64 characters of letters, digits and +=,.@_-')
    .optional(),
  tags: z
    .record(text(128).min(1), text(256))
    .refine((t) => Object.keys(t).length <= 50, 'at most 50 tags')
    .optional(),
})

/** POST policy/validate: a policy's text and what kind of policy it is meant to be. */
export const validatePolicyBody = z.strictObject({
  policy: text(20480),
  kind: z.enum(['identity', 'bucket', 'session']),
})

export const revealBody = z.strictObject({
  password: text(1024).min(1),
  otp: text(16).optional(),
})
