/**
 * IpAddress / NotIpAddress over IPv4 and IPv6 CIDR blocks (a bare address means /32 or /128).
 * An IPv4-mapped IPv6 request address (::ffff:a.b.c.d) is matched as IPv4. Parsing is hand
 * written so a request value is checked without allocating; the parsers are exported for the
 * account allow-list too.
 * @module
 */
import { PolicyError } from '../types.js'
import type { OperatorSpec } from './types.js'

export type Cidr =
  | { readonly v: 4; readonly addr: number; readonly mask: number }
  | { readonly v: 6; readonly words: Uint16Array; readonly prefix: number }

/** IPv4 dotted quad → unsigned 32-bit number, or -1. Leading zeros are refused (ambiguous). */
export function parseIPv4(s: string, from = 0, to = s.length): number {
  let out = 0
  let part = 0
  let digits = 0
  let dots = 0
  for (let i = from; i < to; i++) {
    const c = s.charCodeAt(i)
    if (c === 46) {
      if (digits === 0) return -1
      out = out * 256 + part
      part = 0
      digits = 0
      dots++
      if (dots > 3) return -1
    } else if (c >= 48 && c <= 57) {
      if (digits > 0 && part === 0) return -1
      part = part * 10 + (c - 48)
      digits++
      if (part > 255) return -1
    } else return -1
  }
  if (dots !== 3 || digits === 0) return -1
  return out * 256 + part
}

/** IPv6 text → 8 words written into `out`; false when malformed. Zone ids are refused. */
export function parseIPv6(s: string, out: Uint16Array): boolean {
  out.fill(0)
  const dbl = s.indexOf('::')
  if (dbl >= 0 && s.indexOf('::', dbl + 1) >= 0) return false
  const head = dbl >= 0 ? s.slice(0, dbl) : s
  const tail = dbl >= 0 ? s.slice(dbl + 2) : ''
  const hw: number[] = []
  const tw: number[] = []
  if (!words(head, hw, dbl < 0) || !words(tail, tw, true)) return false
  const total = hw.length + tw.length
  if (dbl < 0 ? total !== 8 : total > 7) return false
  for (let i = 0; i < hw.length; i++) out[i] = hw[i] as number
  for (let i = 0; i < tw.length; i++) out[8 - tw.length + i] = tw[i] as number
  return true
}

/** Parse colon-separated hex groups (the last may be an embedded IPv4) into `out`. */
function words(s: string, out: number[], allowV4Tail: boolean): boolean {
  if (s === '') return true
  const groups = s.split(':')
  for (let i = 0; i < groups.length; i++) {
    const g = groups[i] as string
    if (i === groups.length - 1 && allowV4Tail && g.includes('.')) {
      const v4 = parseIPv4(g)
      if (v4 < 0) return false
      out.push(v4 >>> 16, v4 & 0xffff)
      return true
    }
    if (!/^[0-9A-Fa-f]{1,4}$/.test(g)) return false
    out.push(parseInt(g, 16))
  }
  return true
}

/** Parse a CIDR block or a bare address; undefined when malformed. */
export function parseCidr(s: string): Cidr | undefined {
  const t = s.trim()
  const slash = t.indexOf('/')
  const ip = slash < 0 ? t : t.slice(0, slash)
  const bitsText = slash < 0 ? undefined : t.slice(slash + 1)
  if (bitsText !== undefined && !/^\d{1,3}$/.test(bitsText)) return undefined
  const v4 = parseIPv4(ip)
  if (v4 >= 0) {
    const bits = bitsText === undefined ? 32 : Number(bitsText)
    if (bits > 32) return undefined
    const mask = bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0
    return { v: 4, addr: (v4 & mask) >>> 0, mask }
  }
  const w = new Uint16Array(8)
  if (!ip.includes(':') || !parseIPv6(ip, w)) return undefined
  const prefix = bitsText === undefined ? 128 : Number(bitsText)
  if (prefix > 128) return undefined
  return { v: 6, words: w, prefix }
}

const scratch = new Uint16Array(8)

function isV4Mapped(w: Uint16Array): boolean {
  return w[0] === 0 && w[1] === 0 && w[2] === 0 && w[3] === 0 && w[4] === 0 && w[5] === 0xffff
}

function v6InCidr(w: Uint16Array, c: { words: Uint16Array; prefix: number }): boolean {
  let bits = c.prefix
  for (let i = 0; i < 8 && bits > 0; i++) {
    const take = bits >= 16 ? 16 : bits
    const mask = (0xffff << (16 - take)) & 0xffff
    if (((w[i] as number) & mask) !== ((c.words[i] as number) & mask)) return false
    bits -= take
  }
  return true
}

/** True when the address text lies in any of the blocks. Malformed addresses match nothing. */
export function ipInAny(addr: string, blocks: readonly Cidr[]): boolean {
  let v4 = addr.includes(':') ? -1 : parseIPv4(addr)
  let v6ok = false
  if (v4 < 0) {
    if (!parseIPv6(addr, scratch)) return false
    v6ok = true
    if (isV4Mapped(scratch)) v4 = (((scratch[6] as number) << 16) >>> 0) + (scratch[7] as number)
  }
  for (const b of blocks) {
    if (b.v === 4) {
      if (v4 >= 0 && (v4 & b.mask) >>> 0 === b.addr) return true
    } else if (v6ok && v6InCidr(scratch, b)) return true
  }
  return false
}

const compile: OperatorSpec['compile'] = (input) => {
  const blocks = input.values.map((s) => {
    const c = parseCidr(s)
    if (!c) throw new PolicyError(`${input.where}: '${s}' is not an IP address or CIDR block`)
    return c
  })
  return { test: (v) => ipInAny(v, blocks), vars: [] }
}

export const IP_OPERATORS: readonly OperatorSpec[] = [
  { name: 'IpAddress', negated: false, compile },
  { name: 'NotIpAddress', negated: true, compile },
]
