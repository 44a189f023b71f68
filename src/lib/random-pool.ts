/**
 * Random bytes drawn from the CSPRNG in blocks. Each synchronous `randomBytes(n)` is a native call
 * costing about 3 µs here whatever n is, and minting one session needs several (key id, secret,
 * token, the sealing nonce); drawing 4 KiB at a time and handing out each byte once is as random
 * and far cheaper (Node's own randomInt and randomUUID buffer their entropy the same way). Bytes
 * handed out are zeroed in the pool, so none is ever given twice.
 * @module
 */
import { randomFillSync } from 'node:crypto'

export class RandomPool {
  private readonly buf: Buffer
  private pos: number

  constructor(size = 4096) {
    this.buf = Buffer.alloc(Math.max(64, size))
    this.pos = this.buf.length
  }

  /** Make sure `n` unused bytes are available from `pos`. */
  private reserve(n: number): number {
    if (n > this.buf.length) throw new RangeError('RandomPool: request larger than the pool')
    if (this.pos + n > this.buf.length) {
      randomFillSync(this.buf)
      this.pos = 0
    }
    const start = this.pos
    this.pos += n
    return start
  }

  /** `n` fresh random bytes (n ≤ pool size) as base64url text. */
  base64url(n: number): string {
    const start = this.reserve(n)
    const out = this.buf.toString('base64url', start, start + n)
    this.buf.fill(0, start, start + n)
    return out
  }

  /** `n` fresh random bytes (n ≤ pool size) in a new Buffer. */
  bytes(n: number): Buffer {
    const start = this.reserve(n)
    const out = Buffer.from(this.buf.subarray(start, start + n))
    this.buf.fill(0, start, start + n)
    return out
  }

  /** One fresh random byte. */
  byte(): number {
    const start = this.reserve(1)
    const b = this.buf[start] as number
    this.buf[start] = 0
    return b
  }
}

/** The process's shared pool (ids, secrets, nonces). */
export const sharedRandomPool = new RandomPool()
