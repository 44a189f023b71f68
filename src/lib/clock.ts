/**
 * Time and randomness are injected (style.md §9): tests move the clock instead of sleeping.
 * @module
 */
import { randomBytes, randomInt } from 'node:crypto'
import { sharedRandomPool } from './random-pool.js'

export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number
}

export const systemClock: Clock = { now: () => Date.now() }

/** A clock tests can set and advance. */
export class ManualClock implements Clock {
  private t: number
  constructor(start = Date.UTC(2026, 0, 1)) {
    this.t = start
  }
  now(): number {
    return this.t
  }
  set(ms: number): void {
    this.t = ms
  }
  advance(ms: number): void {
    this.t += ms
  }
}

const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789'
const UPPER_NUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789'

/**
 * Uniform random string over an alphabet (at most 256 symbols), from the shared CSPRNG pool; bytes
 * at or above the largest multiple of the alphabet size are rejected so every symbol is equally
 * likely.
 */
export function randomString(length: number, alphabet: string = ALNUM): string {
  const n = alphabet.length
  if (n === 0 || n > 256) throw new RangeError('alphabet must have 1 to 256 symbols')
  const limit = 256 - (256 % n)
  let out = ''
  while (out.length < length) {
    const b = sharedRandomPool.byte()
    if (b < limit) out += alphabet[b % n]
  }
  return out
}

export interface IdSource {
  /** Request ids, upload ids, blob names: unique, URL-safe. */
  uid(): string
  /** `length` characters from [A-Za-z0-9]. */
  alnum(length: number): string
  /** `length` characters from [A-Z0-9] (AWS-style key ids). */
  upperAlnum(length: number): string
  /** A 12-digit account id. */
  accountId(): string
}

export const randomIds: IdSource = {
  uid: () => randomBytes(16).toString('hex'),
  alnum: (n) => randomString(n, ALNUM),
  upperAlnum: (n) => randomString(n, UPPER_NUM),
  accountId: () => String(randomInt(1, 10)) + randomString(11, '0123456789'),
}
