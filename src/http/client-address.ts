/**
 * Which address a request comes from. By default the TCP peer's, and `X-Forwarded-For` is
 * ignored: any client can write that header, and the address decides allow-lists,
 * `aws:SourceIp`, the per-address login throttle and anonymous fair admission.
 *
 * Behind a load balancer every peer is the proxy, so one client's ten failed logins would lock
 * every client out. With `--trusted-proxies` the operator names the proxies; for a request whose
 * peer is one of them, the client is the rightmost `X-Forwarded-For` entry that is not itself a
 * trusted proxy (entries left of it were written by the client or by proxies we do not know, so
 * they are never believed). nginx's `$proxy_add_x_forwarded_for` and HAProxy's
 * `option forwardfor` append the peer they saw, which is what this reads.
 * @module
 */
import { isIP } from 'node:net'
import { unmapIpv4, type CidrSet } from '../lib/cidr.js'

/** At most this many X-Forwarded-For entries are looked at (from the right). */
const MAX_HOPS = 16

/** One entry of X-Forwarded-For as an address, or undefined when it is not one. */
function entryAddress(raw: string): string | undefined {
  let s = raw.trim()
  // "[2001:db8::1]:443" and "203.0.113.7:5000" (some proxies add the port)
  const bracket = /^\[([^\]]+)\](?::\d+)?$/.exec(s)
  if (bracket !== null) s = bracket[1] ?? ''
  else if (/^\d+\.\d+\.\d+\.\d+:\d+$/.test(s)) s = s.slice(0, s.lastIndexOf(':'))
  s = unmapIpv4(s)
  return isIP(s) === 0 ? undefined : s
}

export function clientAddress(
  peer: string,
  forwardedFor: string | undefined,
  trusted: CidrSet | undefined,
): string {
  if (trusted === undefined || forwardedFor === undefined || !trusted.has(peer)) return peer
  const hops = forwardedFor.split(',')
  let client = peer
  for (let i = hops.length - 1; i >= 0 && i >= hops.length - MAX_HOPS; i--) {
    const a = entryAddress(hops[i] ?? '')
    // A malformed entry ends the walk: what is left of it cannot be trusted either.
    if (a === undefined) return client
    client = a
    if (!trusted.has(a)) return a
  }
  return client
}
