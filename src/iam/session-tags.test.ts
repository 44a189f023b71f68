import { describe, expect, it } from 'vitest'
import { sessionTagging } from './session-tags.js'
import { IamError } from './types.js'

describe('sessionTagging: tags and caps of a new session', () => {
  it('stores own tags, transitive keys and caps (caps shown as latchkey:* tags)', () => {
    expect(
      sessionTagging({ team: 'web', 'latchkey:max-bytes': '100' }, ['team'], undefined),
    ).toEqual({
      tags: { team: 'web', 'latchkey:max-bytes': '100' },
      transitive: ['team'],
      caps: { maxBytes: 100 },
    })
    expect(sessionTagging({}, [], undefined)).toBeUndefined()
  })

  it('a bad cap value is IamError invalid naming the tag', () => {
    const err = (() => {
      try {
        sessionTagging({ 'latchkey:max-objects': 'many' }, [], undefined)
      } catch (e) {
        return e
      }
      return undefined
    })()
    expect(err).toBeInstanceOf(IamError)
    expect((err as IamError).code).toBe('invalid')
    expect((err as IamError).message).toContain('latchkey:max-objects')
  })

  it('a transitive key must be one of the tags', () => {
    expect(() => sessionTagging({ a: '1' }, ['b'], undefined)).toThrow(/TransitiveTagKeys/)
  })

  it('role chaining: transitive tags are inherited, cannot be overridden; others are not', () => {
    const parent = sessionTagging({ team: 'web', stage: 'dev' }, ['team'], undefined)
    expect(sessionTagging({ job: '7' }, [], parent)).toEqual({
      tags: { team: 'web', job: '7' },
      transitive: ['team'],
    })
    expect(() => sessionTagging({ TEAM: 'ops' }, [], parent)).toThrow(/cannot be overridden/)
    // A non-transitive tag of the caller may be set again.
    expect(sessionTagging({ stage: 'prod' }, [], parent)?.tags).toEqual({
      team: 'web',
      stage: 'prod',
    })
  })

  it('role chaining: caps are always inherited and only tighten', () => {
    const parent = sessionTagging(
      { 'latchkey:max-bytes': '1000', 'latchkey:content-types': 'image/*' },
      [],
      undefined,
    )
    expect(sessionTagging({}, [], parent)?.caps).toEqual({
      maxBytes: 1000,
      contentTypes: ['image/*'],
    })
    const looser = sessionTagging(
      { 'latchkey:max-bytes': '999999', 'latchkey:content-types': 'image/png,text/plain' },
      [],
      parent,
    )
    expect(looser?.caps).toEqual({ maxBytes: 1000, contentTypes: ['image/png'] })
    expect(looser?.tags['latchkey:max-bytes']).toBe('1000')
    expect(sessionTagging({ 'latchkey:max-bytes': '10' }, [], parent)?.caps?.maxBytes).toBe(10)
    expect(() => sessionTagging({ 'latchkey:content-types': 'text/plain' }, [], parent)).toThrow(
      IamError,
    )
  })
})
