/**
 * How a session's policy layers are stored in `SessionRow.policies`.
 *
 * A session made by role chaining keeps each ancestor's session policies as a separate *layer*;
 * its rights are the parent's identity rights ∩ every layer (policy/combine.ts). Within a layer
 * (inline Policy + PolicyArns of one AssumeRole) allows are unioned, as AWS does.
 *
 * Format (JSON): zero or one layer is stored as the flat array of policy texts the first version
 * wrote (`["{…}", "{…}"]`, `[]` = none), so rows stay readable both ways; two or more layers are
 * an array of non-empty arrays (`[["{…}"], ["{…}", "{…}"]]`). Anything else is refused (the
 * service then refuses the session rather than guess its rights).
 *
 * A chained session stores its chain by reference: `{"after":"ASIA…","layers":[…]}` says its
 * layers are those of the session `after` (itself possibly a reference) followed by its own
 * (`layers`, in the array forms above). Each row then holds only its own policies, so a chain
 * costs storage linear in its length, not quadratic (copying every ancestor's policies into
 * every link let one key fill memory and disk). Rows written before this form hold their whole
 * chain inline and still read the same. The object form is deliberately one an older reader
 * refuses: it must never read a chained row as only its own layer, which would be wider.
 *
 * Encoding escapes each policy text once while its compiled policy is in use (a small LRU), since
 * AssumeRole sends the same ~1 KB policy over and over and the issue path should not re-escape it
 * every time; a one-policy layer's whole form is kept too (one string per recent policy).
 * @module
 */
import { Lru } from '../lib/lru.js'
import type { CompiledPolicy } from '../policy/document.js'
import type { Layers } from './model.js'

/**
 * Encoded forms of recent policies, by compiled policy: a small LRU, not a WeakMap. A WeakMap
 * entry lives as long as its policy, and a session's compiled policy lives as long as the cached
 * session: with a policy of each user's own (the upload flow) every cached session kept two
 * strings it never needed again (~300 bytes) and two ephemerons for each full GC to trace.
 */
const ENCODED_MAX = 64
const quoted = new Lru<CompiledPolicy, string>(ENCODED_MAX)
const single = new Lru<CompiledPolicy, string>(ENCODED_MAX)

/** JSON string literal of the policy's text, computed once while the policy is in use. */
function quotedText(p: CompiledPolicy): string {
  let q = quoted.get(p)
  if (q === undefined) {
    q = JSON.stringify(p.text)
    quoted.set(p, q)
  }
  return q
}

function layerJson(layer: readonly CompiledPolicy[]): string {
  if (layer.length === 1) {
    // The usual AssumeRole: the same string each time, not a new 1 KB concatenation per call, so
    // the store's lookup of the text (sqlite/session-texts.ts) finds its hash already computed
    // and compares by identity instead of flattening, hashing and comparing a copy.
    const p = layer[0] as CompiledPolicy
    let s = single.get(p)
    if (s === undefined) {
      s = `[${JSON.stringify(p.text)}]`
      single.set(p, s)
    }
    return s
  }
  let out = '['
  for (let i = 0; i < layer.length; i++)
    out += (i > 0 ? ',' : '') + quotedText(layer[i] as CompiledPolicy)
  return out + ']'
}

/**
 * Layers of one compiled policy, `[[p]]`, the same arrays for every session minted with that
 * policy while it is among the recent ones (a small LRU, as above): the layers are never changed
 * after they are made, and sharing them takes two arrays off each cached session (heap snapshots
 * over ~20,000 sessions: 1,025 → 900 bytes per session).
 */
const oneLayers = new Lru<CompiledPolicy, Layers>(ENCODED_MAX)

/** A session's own layers for the policies of one AssumeRole (none, one or several). */
export function policyLayers(policies: readonly CompiledPolicy[]): Layers {
  if (policies.length === 0) return []
  if (policies.length > 1) return [policies.slice()]
  const p = policies[0] as CompiledPolicy
  let l = oneLayers.get(p)
  if (l === undefined) {
    l = [[p]]
    oneLayers.set(p, l)
  }
  return l
}

/** The stored form of a session's layers (see the module doc for the format). */
export function encodeLayers(layers: readonly (readonly CompiledPolicy[])[]): string {
  // An empty layer would allow nothing, but could not be told apart from "no layer" once stored.
  if (layers.some((l) => l.length === 0)) throw new Error('session policies: empty layer')
  if (layers.length === 0) return '[]'
  if (layers.length === 1) return layerJson(layers[0] as readonly CompiledPolicy[])
  return '[' + layers.map(layerJson).join(',') + ']'
}

function isStringArray(v: unknown): v is string[] {
  return Array.isArray(v) && v.every((x) => typeof x === 'string')
}

/** Policy texts per layer from the stored form; throws on anything malformed. */
export function decodeLayers(json: string): string[][] {
  return layersOf(JSON.parse(json) as unknown)
}

function layersOf(v: unknown): string[][] {
  if (!Array.isArray(v)) throw new Error('session policies: not an array')
  if (isStringArray(v)) return v.length === 0 ? [] : [v]
  if (v.every((l) => isStringArray(l) && l.length > 0)) return v as string[][]
  throw new Error('session policies: neither a list of policies nor a list of non-empty layers')
}

/** The stored form of a chained session: the parent session's layers first, then `own`. */
export function encodeChainedLayers(
  after: string,
  own: readonly (readonly CompiledPolicy[])[],
): string {
  return `{"after":${JSON.stringify(after)},"layers":${encodeLayers(own)}}`
}

/** A stored session's layers: its own, and the session whose layers precede them, if any. */
export interface StoredLayers {
  readonly after?: string
  readonly layers: string[][]
}

/** Either stored form (plain layers or a chain reference); throws on anything malformed. */
export function decodeStoredLayers(json: string): StoredLayers {
  const v = JSON.parse(json) as unknown
  if (Array.isArray(v)) return { layers: layersOf(v) }
  if (v === null || typeof v !== 'object')
    throw new Error('session policies: neither layers nor a chain reference')
  const { after, layers, ...rest } = v as Record<string, unknown>
  if (typeof after !== 'string' || after === '' || Object.keys(rest).length > 0)
    throw new Error('session policies: malformed chain reference')
  return { after, layers: layersOf(layers) }
}
