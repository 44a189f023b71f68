/**
 * A new session's tags and upload caps, from what it asked for and what its caller passes on
 * (every issuance path comes through here: STS AssumeRole, the console's credential builder).
 *
 * Role chaining follows AWS's transitive rules, kept simple: a chained session inherits the
 * calling session's transitive tags (and they stay transitive further down the chain); passing a
 * tag with the same key as an inherited one is refused, as AWS refuses it. The upload caps
 * (policy/upload-caps.ts) are different: they are always inherited, whatever TransitiveTagKeys
 * says, and a chained session may name them again only to tighten them (min of numbers,
 * intersection of content types). The effective caps also show as the session's `latchkey:*`
 * tags, so aws:PrincipalTag/latchkey:max-bytes is what is enforced.
 * @module
 */
import {
  RESERVED_TAG_PREFIX,
  TagError,
  capTags,
  hasCaps,
  parseSessionTags,
  tightenCaps,
} from '../policy/upload-caps.js'
import type { StoredTagging } from './model.js'
import { IamError } from './types.js'

function isEmpty(o: Readonly<Record<string, string>>): boolean {
  for (const _ in o) return false
  return true
}

function isReserved(key: string): boolean {
  return key.toLowerCase().startsWith(RESERVED_TAG_PREFIX)
}

/** The tagging a new session stores (undefined: no tags, no caps). Throws IamError('invalid'). */
export function sessionTagging(
  asked: Readonly<Record<string, string>>,
  transitiveKeys: readonly string[],
  inherited: StoredTagging | undefined,
): StoredTagging | undefined {
  // The usual issuance: no tags asked for, none inherited, nothing to build.
  if (inherited === undefined && transitiveKeys.length === 0 && isEmpty(asked)) return undefined
  try {
    const askedCaps = parseSessionTags(asked)
    const askedLower = new Map(Object.keys(asked).map((k) => [k.toLowerCase(), k]))
    if (transitiveKeys.length > 50)
      throw new TagError('At most 50 TransitiveTagKeys may be passed.')
    for (const k of transitiveKeys)
      if (!askedLower.has(k.toLowerCase()))
        throw new TagError(`The key '${k}' in TransitiveTagKeys is not in the session tags.`)
    const tags: Record<string, string> = {}
    const transitive: string[] = []
    // Inherited transitive tags first: they cannot be overridden.
    const inheritedLower = new Set<string>()
    for (const k of inherited?.transitive ?? []) {
      const v = inherited?.tags[k]
      if (v === undefined || isReserved(k)) continue
      tags[k] = v
      transitive.push(k)
      inheritedLower.add(k.toLowerCase())
    }
    for (const [k, v] of Object.entries(asked)) {
      if (isReserved(k)) continue
      if (inheritedLower.has(k.toLowerCase()))
        throw new TagError(
          `Session tag '${k}' has the same key as a transitive tag inherited from the calling session; it cannot be overridden.`,
        )
      tags[k] = v
    }
    for (const k of transitiveKeys) {
      const key = askedLower.get(k.toLowerCase()) ?? k
      if (!isReserved(key) && !transitive.includes(key)) transitive.push(key)
    }
    const caps = tightenCaps(inherited?.caps, askedCaps)
    Object.assign(tags, capTags(caps))
    if (Object.keys(tags).length === 0) return undefined
    return {
      tags,
      ...(transitive.length > 0 ? { transitive } : {}),
      ...(hasCaps(caps) ? { caps } : {}),
    }
  } catch (e) {
    if (e instanceof TagError) throw new IamError('invalid', e.message)
    throw e
  }
}
