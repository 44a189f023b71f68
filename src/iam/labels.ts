/**
 * Names derived from ids, shared by every IAM part and by the directory (a leaf module, so the
 * directory needs nothing else of the parts): the associated-data label that binds each sealed
 * secret to its row (a sealed value copied onto another row fails to open), and an account's
 * canonical id (S3's Owner ID).
 * @module
 */
import { sha256Hex } from '../crypto/hash.js'

export const aadMaster = (accountId: string) => `account-master:${accountId}`
export const aadKey = (accessKeyId: string) => `access-key:${accessKeyId}`
export const aadSession = (accessKeyId: string) => `session:${accessKeyId}`
export const aadTotp = (userId: string) => `totp:${userId}`
export const aadPending = (name: string) => `first-start:${name}`

export function canonicalIdOf(accountId: string): string {
  return sha256Hex(`latchkey-account:${accountId}`)
}
