/**
 * The role name and id a session shows in its assumed-role ARN, and a RoleSessionName made from
 * free text: one definition for STS (AssumeRole, GetSessionToken) and the admin API (console
 * sessions, `POST /api/admin/me/credentials`), so a session looks the same whoever minted it.
 * @module
 */
import { createHash } from 'node:crypto'
import type { KnownPrincipal } from './model.js'

const B32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567'

/** Role ids computed so far (a pure function of the seed; bounded, cleared when full). */
const roleIds = new Map<string, string>()
const ROLE_ID_CACHE_MAX = 4096

/** 'AROA' + 17 characters derived from a stable identity (AWS role ids are 21 characters). */
export function stableRoleId(seed: string): string {
  const hit = roleIds.get(seed)
  if (hit !== undefined) return hit
  const h = createHash('sha256').update(seed).digest()
  let out = 'AROA'
  for (let i = 0; i < 17; i++) out += B32[(h[i] ?? 0) & 31]
  if (roleIds.size >= ROLE_ID_CACHE_MAX) roleIds.clear()
  roleIds.set(seed, out)
  return out
}

/** The role name and id a session made by `caller` shows (chained sessions keep their role). */
export function roleFor(caller: KnownPrincipal): { roleName: string; roleId: string } {
  switch (caller.kind) {
    case 'account-root':
      return { roleName: 'root', roleId: stableRoleId(`root:${caller.accountId}`) }
    case 'user':
      return {
        roleName: caller.username,
        roleId: stableRoleId(`user:${caller.accountId}:${caller.userId}`),
      }
    case 'session':
      return { roleName: caller.roleName, roleId: caller.roleId }
  }
}

/** A name usable as RoleSessionName derived from free text (user names may be e-mails). */
export function sessionNameFrom(text: string): string {
  const s = text.replace(/[^\w+=,.@-]/g, '-').slice(0, 64)
  return s.length >= 2 ? s : `${s}--`.slice(0, 2)
}
