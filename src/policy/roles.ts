/**
 * The user roles, spelled once. A role names the preset identity policy a user gets
 * (`presets.ts`); the admin schema, the identity store's CHECK and the principal type all read
 * this list, so adding a role is one edit here plus its preset.
 * @module
 */
export const ROLES = ['Reader', 'Writer', 'SuperUser'] as const

export type RoleName = (typeof ROLES)[number]

export function isRoleName(s: string): s is RoleName {
  return (ROLES as readonly string[]).includes(s)
}
