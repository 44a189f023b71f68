/**
 * CIDR sets over node's net.BlockList (IPv4, IPv6 and IPv4-mapped IPv6 handled correctly): the
 * one parser behind account allow-lists (iam/allowlist.ts) and the trusted proxies of the wire
 * layer (http/client-address.ts).
 * @module
 */
import { BlockList, isIP } from 'node:net'

/** Canonical form of one CIDR (a bare address becomes /32 or /128); throws naming the problem. */
export function normalizeCidr(text: string): string {
  const s = text.trim()
  const slash = s.indexOf('/')
  const addr = slash < 0 ? s : s.slice(0, slash)
  const family = isIP(addr)
  if (family === 0) throw new Error(`not an IP address or CIDR: ${JSON.stringify(text)}`)
  const max = family === 4 ? 32 : 128
  const prefixText = slash < 0 ? String(max) : s.slice(slash + 1)
  if (!/^\d{1,3}$/.test(prefixText) || Number(prefixText) > max) {
    throw new Error(`bad prefix length in ${JSON.stringify(text)} (0-${max})`)
  }
  return `${addr.toLowerCase()}/${Number(prefixText)}`
}

/** `::ffff:1.2.3.4` (how a dual-stack socket reports IPv4 peers) → `1.2.3.4`. */
export function unmapIpv4(address: string): string {
  const m = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address)
  return m?.[1] ?? address
}

/** A set of CIDRs; `has(addr)` is false for anything that is not an IP address. */
export class CidrSet {
  readonly size: number
  private readonly list = new BlockList()

  constructor(cidrs: readonly string[]) {
    for (const c of cidrs) {
      const [addr = '', prefix = '0'] = normalizeCidr(c).split('/')
      this.list.addSubnet(addr, Number(prefix), isIP(addr) === 4 ? 'ipv4' : 'ipv6')
    }
    this.size = cidrs.length
  }

  has(address: string): boolean {
    const a = unmapIpv4(address.trim())
    const family = isIP(a)
    if (family === 0) return false
    return this.list.check(a, family === 4 ? 'ipv4' : 'ipv6')
  }
}
