/**
 * Address allow-lists: membership in the account's CIDRs (lib/cidr.ts). An empty list allows
 * every address.
 * @module
 */
import { CidrSet, normalizeCidr } from '../lib/cidr.js'

export { normalizeCidr }

/** A compiled allow-list; `allows(addr)` is true for every address when the list is empty. */
export class AddressAllowlist {
  private readonly list: CidrSet | undefined

  constructor(cidrs: readonly string[]) {
    this.list = cidrs.length === 0 ? undefined : new CidrSet(cidrs)
  }

  allows(address: string): boolean {
    return this.list === undefined || this.list.has(address)
  }
}
