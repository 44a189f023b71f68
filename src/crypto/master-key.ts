/**
 * The master encryption key: from LATCHKEY_MASTER_KEY (base64 of 32 bytes) or a key file in the
 * data dir created once with mode 0600. Everything secret at rest is sealed under keys derived
 * from it, so losing it loses the secrets; a bad value stops start-up with one clear line.
 * @module
 */
import { randomBytes } from 'node:crypto'
import {
  chmodSync,
  mkdirSync,
  openSync,
  readFileSync,
  writeSync,
  closeSync,
  fsyncSync,
  statSync,
} from 'node:fs'
import { join } from 'node:path'

export const MASTER_KEY_FILE = 'master.key'

/** Parse a base64 (or base64url) 32-byte key; throws one clear line naming `what` otherwise. */
export function parseMasterKey(value: string, what: string): Buffer {
  const v = value.trim()
  if (!/^[A-Za-z0-9+/_-]+={0,2}$/.test(v)) throw new Error(`${what}: not base64`)
  const key = Buffer.from(v.replace(/-/g, '+').replace(/_/g, '/'), 'base64')
  if (key.length !== 32)
    throw new Error(`${what}: must be 32 bytes of base64 (got ${key.length} bytes)`)
  return key
}

/**
 * The master key: `envValue` when given (LATCHKEY_MASTER_KEY), else `<dataDir>/master.key`,
 * created with mode 0600 (and fsynced) when absent.
 */
export function loadMasterKey(dataDir: string, envValue?: string): Buffer {
  if (envValue !== undefined && envValue !== '')
    return parseMasterKey(envValue, 'LATCHKEY_MASTER_KEY')
  const file = join(dataDir, MASTER_KEY_FILE)
  let text: string | undefined
  try {
    text = readFileSync(file, 'utf8')
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') {
      throw new Error(`master key file ${file}: ${(e as Error).message}`)
    }
  }
  if (text !== undefined) {
    const mode = statSync(file).mode & 0o777
    if ((mode & 0o077) !== 0) chmodSync(file, 0o600)
    return parseMasterKey(text, `master key file ${file}`)
  }
  mkdirSync(dataDir, { recursive: true })
  const key = randomBytes(32)
  let fd: number
  try {
    fd = openSync(file, 'wx', 0o600)
  } catch (e) {
    // Another process created it first: use theirs.
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return loadMasterKey(dataDir)
    throw new Error(`master key file ${file}: ${(e as Error).message}`)
  }
  try {
    writeSync(fd, key.toString('base64') + '\n')
    fsyncSync(fd)
  } finally {
    closeSync(fd)
  }
  return key
}
