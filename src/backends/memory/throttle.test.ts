/**
 * FailureThrottle's reservation semantics: an attempt counts from the moment it is reserved, so
 * parallel attempts cannot outrun the limit; a failure stays counted for the window, a success
 * releases its reservation; reservations are all-or-none across keys; memory stays bounded.
 * @module
 */
import { describe, expect, it, vi } from 'vitest'
import { FailureThrottle, type LoginAttempt } from './throttle.js'

const WINDOW = 15 * 60_000
const T0 = Date.UTC(2026, 0, 1)

function throttle(limit = 3, maxKeys = 100): FailureThrottle {
  return new FailureThrottle({ limit, windowMs: WINDOW, maxKeys })
}

function reserved(r: LoginAttempt | number): LoginAttempt {
  if (typeof r === 'number') throw new Error(`refused, retry after ${r} s`)
  return r
}

describe('FailureThrottle reservations', () => {
  it('counts in-flight attempts: at most `limit` are reserved before any settles', () => {
    const t = throttle(3)
    const held = [0, 1, 2].map(() => reserved(t.reserve(['u:alice', 'a:1.1.1.1'], T0)))
    expect(held).toHaveLength(3)
    // The fourth is refused while the three are still being checked (retry in a second: they
    // settle within a hash), on either key.
    expect(t.reserve(['u:alice', 'a:2.2.2.2'], T0)).toBe(1)
    expect(t.reserve(['u:bob', 'a:1.1.1.1'], T0)).toBe(1)
    expect(typeof t.reserve(['u:bob', 'a:2.2.2.2'], T0)).toBe('object')
    // Once they fail, the key is locked for the window.
    for (const a of held) a.fail(T0)
    expect(t.reserve(['u:alice', 'a:3.3.3.3'], T0 + 1000)).toBe(WINDOW / 1000 - 1)
  })

  it('a success releases its reservation; a failure keeps counting for the window', () => {
    const t = throttle(3)
    const a = reserved(t.reserve(['u:alice'], T0))
    const b = reserved(t.reserve(['u:alice'], T0))
    const c = reserved(t.reserve(['u:alice'], T0))
    expect(t.retryAfter('u:alice', T0)).toBeGreaterThan(0)
    a.succeed()
    expect(t.retryAfter('u:alice', T0)).toBe(0)
    b.fail(T0 + 1000)
    c.fail(T0 + 2000)
    const d = reserved(t.reserve(['u:alice'], T0 + 3000))
    expect(t.reserve(['u:alice'], T0 + 3000)).toBe(1)
    d.fail(T0 + 3000)
    // Locked by failures alone now: until the oldest failure of the last three ages out.
    expect(t.retryAfter('u:alice', T0 + 4000)).toBe((T0 + 1000 + WINDOW - (T0 + 4000)) / 1000)
    expect(t.retryAfter('u:alice', T0 + 1000 + WINDOW)).toBe(0)
  })

  it('settling twice changes nothing', () => {
    const t = throttle(2)
    const a = reserved(t.reserve(['k'], T0))
    a.fail(T0)
    a.fail(T0)
    a.succeed()
    expect(t.retryAfter('k', T0)).toBe(0)
    reserved(t.reserve(['k'], T0)).fail(T0)
    expect(t.retryAfter('k', T0)).toBeGreaterThan(0)
  })

  it('reserves on every key or on none', () => {
    const t = throttle(2)
    reserved(t.reserve(['a:9.9.9.9'], T0)).fail(T0)
    reserved(t.reserve(['a:9.9.9.9'], T0)).fail(T0)
    // The address is locked: the user key must not be charged for the refused attempt.
    expect(typeof t.reserve(['u:carol', 'a:9.9.9.9'], T0)).toBe('number')
    expect(typeof t.reserve(['u:carol', 'a:9.9.9.9'], T0)).toBe('number')
    expect(t.retryAfter('u:carol', T0)).toBe(0)
    const x = reserved(t.reserve(['u:carol', 'a:1.1.1.1'], T0))
    const y = reserved(t.reserve(['u:carol', 'a:2.2.2.2'], T0))
    expect(typeof t.reserve(['u:carol', 'a:3.3.3.3'], T0)).toBe('number')
    x.succeed()
    y.succeed()
    expect(t.retryAfter('u:carol', T0)).toBe(0)
  })

  it("reset forgets a key's failures but not attempts still in flight", () => {
    const t = throttle(2)
    reserved(t.reserve(['u:dave'], T0)).fail(T0)
    const inFlight = reserved(t.reserve(['u:dave'], T0))
    t.reset('u:dave')
    reserved(t.reserve(['u:dave'], T0)).fail(T0)
    expect(typeof t.reserve(['u:dave'], T0)).toBe('number')
    inFlight.succeed()
    expect(t.retryAfter('u:dave', T0)).toBe(0)
  })

  it('an attempt never settled stops counting after the window', () => {
    const t = throttle(1)
    reserved(t.reserve(['u:erin'], T0))
    expect(typeof t.reserve(['u:erin'], T0 + WINDOW - 1)).toBe('number')
    expect(typeof t.reserve(['u:erin'], T0 + WINDOW)).toBe('object')
  })

  it('REGRESSION throttle-eviction-rescans: a full key table evicts without walking it from the start each time', () => {
    // Sign-ins sprayed over many usernames fill the table, then every new key evicts one: a fresh
    // keys() iterator per eviction walked every deleted entry since the Map's last rehash.
    const t = throttle(1, 1000)
    for (let i = 0; i < 1000; i++) reserved(t.reserve([`u:${String(i)}`], T0)).fail(T0)
    const keys = vi.spyOn(Map.prototype, 'keys')
    try {
      for (let i = 1000; i < 21_000; i++) reserved(t.reserve([`u:${String(i)}`], T0)).fail(T0)
      expect(keys.mock.calls.length).toBeLessThan(50)
    } finally {
      keys.mockRestore()
    }
    expect(t.retryAfter('u:0', T0)).toBe(0) // evicted
    expect(t.retryAfter('u:20999', T0)).toBeGreaterThan(0)
  })

  it('keeps at most maxKeys keys, evicting the least recently touched', () => {
    const t = throttle(1, 3)
    for (const k of ['k1', 'k2', 'k3', 'k4']) reserved(t.reserve([k], T0)).fail(T0)
    expect(t.retryAfter('k1', T0)).toBe(0) // evicted
    for (const k of ['k2', 'k3', 'k4']) expect(t.retryAfter(k, T0)).toBeGreaterThan(0)
  })
})
