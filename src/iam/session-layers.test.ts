/** The stored form of session policy layers (session-layers.ts): encode, decode, chains. @module */
import { describe, expect, it } from 'vitest'
import { parsePolicy } from '../policy/document.js'
import {
  decodeLayers,
  decodeStoredLayers,
  encodeChainedLayers,
  encodeLayers,
  policyLayers,
} from './session-layers.js'

describe('session policy layers (stored form)', () => {
  const P = (sid: string) =>
    parsePolicy(
      JSON.stringify({
        Version: '2012-10-17',
        Statement: [{ Sid: sid, Effect: 'Allow', Action: 's3:GetObject', Resource: '*' }],
      }),
      {
        kind: 'session',
        name: sid,
        source: 'session',
      },
    )
  const a = P('A')
  const b = P('B')
  const c = P('C')

  it('round-trips; zero or one layer keeps the first version’s flat list', () => {
    expect(encodeLayers([])).toBe('[]')
    expect(JSON.parse(encodeLayers([[a, b]]))).toEqual([a.text, b.text])
    expect(decodeLayers(encodeLayers([[a, b]]))).toEqual([[a.text, b.text]])
    expect(decodeLayers(encodeLayers([[a], [b, c]]))).toEqual([[a.text], [b.text, c.text]])
    expect(encodeLayers([[a], [b, c]])).toBe(JSON.stringify([[a.text], [b.text, c.text]]))
    expect(decodeLayers('[]')).toEqual([])
  })

  it('a one-policy layer (cached per compiled policy) encodes as the flat list, every time', () => {
    expect(encodeLayers([[a]])).toBe(JSON.stringify([a.text]))
    expect(encodeLayers([[a]])).toBe(JSON.stringify([a.text]))
    expect(encodeLayers([[b]])).toBe(JSON.stringify([b.text]))
    expect(encodeLayers([[a], [b]])).toBe(JSON.stringify([[a.text], [b.text]]))
    expect(encodeChainedLayers('ASIAX', [[a]])).toBe(
      `{"after":"ASIAX","layers":["${'x'}"]}`.replace('["x"]', JSON.stringify([a.text])),
    )
  })

  it('refuses malformed stored values and empty layers', () => {
    for (const bad of ['{}', '"x"', '[1]', '[["a"], "b"]', '[[]]', '[["a"], []]', 'nope'])
      expect(() => decodeLayers(bad)).toThrow()
    expect(() => encodeLayers([[a], []])).toThrow(/empty layer/)
  })

  it('a chained session stores its own layers and a reference to its parent', () => {
    const id = 'ASIAAAAAAAAAAAAAAAAA'
    expect(decodeStoredLayers(encodeChainedLayers(id, [[b, c]]))).toEqual({
      after: id,
      layers: [[b.text, c.text]],
    })
    expect(decodeStoredLayers(encodeChainedLayers(id, []))).toEqual({ after: id, layers: [] })
    expect(decodeStoredLayers(encodeLayers([[a], [b]]))).toEqual({ layers: [[a.text], [b.text]] })
    // Only the session's own policy text is stored, however deep the chain.
    expect(encodeChainedLayers(id, [[c]])).toBe(
      `{"after":"${id}","layers":${JSON.stringify([c.text])}}`,
    )
    // Readers that only know the array forms refuse it instead of reading it as one layer.
    expect(() => decodeLayers(encodeChainedLayers(id, [[c]]))).toThrow()
    for (const bad of [
      '{}',
      '{"after":"","layers":[]}',
      '{"after":1,"layers":[]}',
      `{"after":"${id}"}`,
      `{"after":"${id}","layers":[[]]}`,
      `{"after":"${id}","layers":[],"more":1}`,
      'null',
    ])
      expect(() => decodeStoredLayers(bad), bad).toThrow()
  })

  it('one policy’s layers are the same arrays for every session minted with it', () => {
    const once = policyLayers([a])
    expect(once).toEqual([[a]])
    expect(policyLayers([a])).toBe(once)
    expect(policyLayers([b])).not.toBe(once)
    expect(policyLayers([b])).toEqual([[b]])
    // Several policies (Policy plus PolicyArns): a layer of their own, a copy of the list.
    const list = [a, b]
    const two = policyLayers(list)
    expect(two).toEqual([[a, b]])
    expect(two[0]).not.toBe(list)
    expect(policyLayers([])).toEqual([])
  })
})
