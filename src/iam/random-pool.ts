/**
 * Random bytes drawn from the CSPRNG in blocks. A synchronous `randomBytes(32)` per session token
 * costs a native call each (several µs here, a visible share of an AssumeRole); drawing 4 KiB at a
 * time and handing out each byte once is as random and far cheaper (Node's own randomInt and
 * randomUUID buffer their entropy the same way). Bytes handed out are zeroed in the pool.
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

  /** `n` fresh random bytes (n ≤ pool size) as base64url text. */
  base64url(n: number): string {
    if (n > this.buf.length) throw new RangeError('RandomPool: request larger than the pool')
    if (this.pos + n > this.buf.length) {
      randomFillSync(this.buf)
      this.pos = 0
    }
    const start = this.pos
    this.pos += n
    const out = this.buf.toString('base64url', start, this.pos)
    this.buf.fill(0, start, this.pos)
    return out
  }
}
