/**
 * A free loopback TCP port, for the servers the tests start themselves (PostgreSQL, RGW, nginx,
 * HAProxy, a second listener) — and, closed again at once, a port nothing listens on.
 * @module
 */
import { createServer } from 'node:net'

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer()
    s.once('error', reject)
    s.listen(0, '127.0.0.1', () => {
      const a = s.address()
      s.close(() => resolve(typeof a === 'object' && a !== null ? a.port : 0))
    })
  })
}
