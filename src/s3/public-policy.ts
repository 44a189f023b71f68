/**
 * Whether a bucket policy is "public" in AWS's sense (Block Public Access, "The meaning of
 * public"): it has an Allow statement whose principal is a wildcard (`"*"`, `{"AWS": "*"}`, or
 * any NotPrincipal) that no condition pins to fixed values. A condition pins the statement when
 * it sets, with a positive operator and without wildcards, one of the keys AWS lists as fixing
 * who may use it (source address other than everywhere, source VPC/ARN/account, principal
 * account/ARN/org, user id). BlockPublicPolicy refuses such a policy; RestrictPublicBuckets
 * confines one to the bucket owner's account. The document was already validated by the engine.
 * @module
 */

const FIXING_KEYS: ReadonlySet<string> = new Set([
  'aws:sourceip',
  'aws:sourcevpc',
  'aws:sourcevpce',
  'aws:sourcearn',
  'aws:sourceaccount',
  'aws:sourceowner',
  'aws:principalaccount',
  'aws:principalarn',
  'aws:principalorgid',
  'aws:userid',
  's3:dataaccesspointarn',
  's3:dataaccesspointaccount',
])

type Json = string | number | boolean | null | Json[] | { [k: string]: Json }

function values(v: Json | undefined): Json[] {
  return v === undefined ? [] : Array.isArray(v) ? v : [v]
}

function wildcardPrincipal(p: Json | undefined): boolean {
  if (p === '*') return true
  if (p === null || typeof p !== 'object' || Array.isArray(p)) return false
  return values(p['AWS']).some((v) => v === '*')
}

/** True when some operator sets a fixing key to values without wildcards (nor 0.0.0.0/0, ::/0). */
function pinned(condition: Json | undefined): boolean {
  if (condition === null || typeof condition !== 'object' || Array.isArray(condition)) return false
  for (const [operator, block] of Object.entries(condition)) {
    const op = operator.toLowerCase()
    // Negated operators (StringNotEquals, NotIpAddress, …) and existence tests pin nothing.
    if (op.includes('not') || op.startsWith('null')) continue
    if (block === null || typeof block !== 'object' || Array.isArray(block)) continue
    for (const [key, v] of Object.entries(block)) {
      if (!FIXING_KEYS.has(key.toLowerCase())) continue
      const vs = values(v).map(String)
      if (vs.length === 0) continue
      if (vs.some((s) => s.includes('*') || s.includes('?'))) continue
      if (key.toLowerCase() === 'aws:sourceip' && vs.some((s) => /\/0$/.test(s))) continue
      return true
    }
  }
  return false
}

export function isPublicPolicy(text: string): boolean {
  let doc: Json
  try {
    doc = JSON.parse(text) as Json
  } catch {
    return false
  }
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) return false
  for (const st of values(doc['Statement'])) {
    if (st === null || typeof st !== 'object' || Array.isArray(st)) continue
    if (st['Effect'] !== 'Allow') continue
    const open = st['NotPrincipal'] !== undefined || wildcardPrincipal(st['Principal'])
    if (open && !pinned(st['Condition'])) return true
  }
  return false
}
