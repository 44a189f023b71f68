/** clientAddress: X-Forwarded-For is believed only from trusted proxies, and only from the right. */
import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { CidrSet } from '../lib/cidr.js'
import { clientAddress } from './client-address.js'

const proxies = new CidrSet(['10.0.0.0/8', '::1/128'])

describe('clientAddress', () => {
  it('is the TCP peer without trusted proxies, or when the peer is not one of them', () => {
    expect(clientAddress('127.0.0.1', '203.0.113.7', undefined)).toBe('127.0.0.1')
    expect(clientAddress('198.51.100.2', '203.0.113.7', proxies)).toBe('198.51.100.2')
    expect(clientAddress('10.1.2.3', undefined, proxies)).toBe('10.1.2.3')
  })

  it('takes the rightmost entry that is not a trusted proxy', () => {
    expect(clientAddress('10.1.2.3', '203.0.113.7', proxies)).toBe('203.0.113.7')
    // The client wrote "1.2.3.4" itself; the proxy appended what it saw.
    expect(clientAddress('10.1.2.3', '1.2.3.4, 203.0.113.7', proxies)).toBe('203.0.113.7')
    // Two trusted hops.
    expect(clientAddress('10.1.2.3', '203.0.113.7, 10.9.9.9', proxies)).toBe('203.0.113.7')
    expect(clientAddress('::ffff:10.1.2.3', '::ffff:203.0.113.7', proxies)).toBe('203.0.113.7')
    expect(clientAddress('::1', '[2001:db8::5]:4431', proxies)).toBe('2001:db8::5')
    expect(clientAddress('10.1.2.3', '203.0.113.7:5555', proxies)).toBe('203.0.113.7')
  })

  it('stops at a malformed entry, believing nothing left of it', () => {
    expect(clientAddress('10.1.2.3', '203.0.113.7, unknown', proxies)).toBe('10.1.2.3')
    expect(clientAddress('10.1.2.3', '203.0.113.7, garbage, 10.2.2.2', proxies)).toBe('10.2.2.2')
  })

  it('never answers an address a client put left of the first untrusted hop (property)', () => {
    const ipv4 = fc
      .tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255))
      .map((p) => p.join('.'))
    fc.assert(
      fc.property(
        fc.array(fc.oneof(ipv4, fc.string()), { maxLength: 6 }),
        ipv4.filter((a) => !proxies.has(a)),
        fc.array(fc.constantFrom('10.0.0.1', '10.20.30.40'), { maxLength: 3 }),
        (forged, seen, inner) => {
          const header = [...forged, seen, ...inner].join(', ')
          expect(clientAddress('10.1.2.3', header, proxies)).toBe(seen)
        },
      ),
    )
  })
})
