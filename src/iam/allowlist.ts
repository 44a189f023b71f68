/**
 * Address allow-lists: CIDR parsing/validation and membership over node's net.BlockList (which
 * handles IPv4, IPv6 and IPv4-mapped IPv6 correctly). An empty list allows every address.
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

function unmap(address: string): string {
  const m = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address)
  return m?.[1] ?? address
}

/** A compiled allow-list; `allows(addr)` is true for every address when the list is empty. */
export class AddressAllowlist {
  private readonly list: BlockList | undefined

  constructor(cidrs: readonly string[]) {
    if (cidrs.length === 0) {
      this.list = undefined
      return
    }
    const bl = new BlockList()
    for (const c of cidrs) {
      const [addr = '', prefix = '0'] = normalizeCidr(c).split('/')
      bl.addSubnet(addr, Number(prefix), isIP(addr) === 4 ? 'ipv4' : 'ipv6')
    }
    this.list = bl
  }

  allows(address: string): boolean {
    if (!this.list) return true
    const a = unmap(address)
    const family = isIP(a)
    if (family === 0) return false
    return this.list.check(a, family === 4 ? 'ipv4' : 'ipv6')
  }
}
