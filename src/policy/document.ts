/**
 * Parse, validate and compile an IAM policy document once (identity, bucket or session policy).
 * Every problem becomes a PolicyError whose message names the field (the S3/STS/admin edges
 * map it to MalformedPolicy / MalformedPolicyDocument). The result is immutable: wildcard
 * matchers and condition closures are built here, and statements are pre-filtered per action
 * (cached) so a request only looks at the statements that can apply to its action.
 * @module
 */
import { compilePattern, type Matcher } from './arn.js'
import { compileCondition, type ConditionTest } from './conditions/index.js'
import {
  PolicyError,
  type ConditionContext,
  type PolicyKind,
  type PolicySource,
  type StatementRef,
} from './types.js'

export type PolicyVersion = '2012-10-17' | '2008-10-17'

/** Bucket-policy Principal / NotPrincipal, compiled to set lookups. */
export interface PrincipalSpec {
  /** `"*"` or `{"AWS": "*"}`: everyone, anonymous included. */
  readonly any: boolean
  /** 12-digit account ids (from `"123456789012"` or `arn:aws:iam::123456789012:root`). */
  readonly accounts: ReadonlySet<string>
  /** Exact user, role and assumed-role ARNs. */
  readonly arns: ReadonlySet<string>
  /** `arn:aws:sts::ACCOUNT:assumed-role/NAME/` for each role ARN: sessions of that role. */
  readonly rolePrefixes: readonly string[]
}

export interface CompiledStatement {
  readonly index: number
  readonly ref: StatementRef
  readonly effect: 'Allow' | 'Deny'
  /** Action/NotAction test on the lower-cased action. */
  readonly matchesAction: (actionLc: string) => boolean
  /** Resource/NotResource test (case-sensitive; variables resolved from the context). */
  readonly matchesResource: Matcher
  /** Present in resource-based policies only. */
  readonly principal?: PrincipalSpec
  readonly notPrincipal: boolean
  readonly conditions: readonly ConditionTest[]
  /** The Resource/NotResource patterns as written (for bucket-policy resource checks). */
  readonly resources: readonly string[]
  readonly notResource: boolean
}

const CACHE_LIMIT = 512
const S3_ARN = 'arn:aws:s3:::'
const WILD_OR_VARIABLE = /[*?$]/

/**
 * The buckets a statement's resources lie in, when every Resource names its bucket literally
 * (`arn:aws:s3:::B` or `arn:aws:s3:::B/…`, no wildcard or variable before the first `/`): such a
 * statement can match only resources of those buckets. undefined when it could match any
 * (NotResource, `*`, wildcards or variables in the bucket part, other services).
 */
function bucketsOf(st: CompiledStatement): readonly string[] | undefined {
  if (st.notResource || st.resources.length === 0) return undefined
  // An array, not a Set: a policy is kept per session, and most statements name one bucket.
  const out: string[] = []
  for (const r of st.resources) {
    if (!r.startsWith(S3_ARN)) return undefined
    const slash = r.indexOf('/', S3_ARN.length)
    const bucket = r.slice(S3_ARN.length, slash < 0 ? r.length : slash)
    if (bucket === '' || WILD_OR_VARIABLE.test(bucket)) return undefined
    if (!out.includes(bucket)) out.push(bucket)
  }
  // A copy of the exact size: an array grown by push keeps room for 16 more entries.
  return out.slice()
}

/** The bucket of an S3 resource ARN as matched against bucketsOf ('' when not an S3 ARN). */
function bucketOfResource(resource: string): string {
  if (!resource.startsWith(S3_ARN)) return ''
  const slash = resource.indexOf('/', S3_ARN.length)
  return slash < 0 ? resource.slice(S3_ARN.length) : resource.slice(S3_ARN.length, slash)
}

/** One action's statements, and the subsets that can apply to a resource in a given bucket. */
interface ActionIndex {
  readonly all: readonly CompiledStatement[]
  /** Statements not tied to named buckets: the candidates for a bucket the policy never names. */
  readonly anyBucket: readonly CompiledStatement[]
  /** Per named bucket: its statements plus `anyBucket`, in document order. */
  readonly byBucket: ReadonlyMap<string, readonly CompiledStatement[]>
}

/** What a policy compiles to beyond its text: the statements and their per-action index. */
class Body {
  readonly statements: readonly CompiledStatement[]
  readonly buckets: readonly (readonly string[] | undefined)[]
  /** Made on the first lookup: a policy minted with a session may never be used. */
  byAction: Map<string, ActionIndex> | undefined

  constructor(statements: readonly CompiledStatement[]) {
    this.statements = Object.freeze(statements)
    this.buckets = statements.map(bucketsOf)
    this.byAction = undefined
  }
}

/**
 * Heap the releasable policies' statements may take at once (see `ParseOptions.releasable`), as
 * estimated from their text (`heldBytes`): the most recently compiled or used ones keep theirs.
 * A one-statement policy's statements take about 1 KB, a 945-character policy's 6-7 KB, so 16 MiB
 * keeps ~15,000 of the one and ~2,400 of the other. A server whose sessions use more distinct
 * policies than that at once rebuilds one on a session's first request after it was let go (3 µs
 * for one statement, ~25 µs for 1 KB): rebuilding costs about as much per character as holding
 * saves, so the bound is in bytes, whatever the policies' sizes.
 */
export const HELD_BYTES_DEFAULT = 16 * 1024 * 1024

/** The estimated heap of a policy's compiled statements: ~7 bytes per character of its text. */
export function heldBytes(text: string): number {
  return 256 + 7 * text.length
}

export class CompiledPolicy {
  readonly name: string
  readonly source: PolicySource
  readonly kind: PolicyKind
  readonly version: PolicyVersion | undefined
  /** Normalized JSON (compact, fields in a fixed order). */
  readonly text: string
  /** undefined while released: rebuilt from `text` on the next use. */
  #body: Body | undefined

  /** The releasable policies holding their statements now, oldest first from `#head`. */
  static #kept: (CompiledPolicy | undefined)[] = []
  static #head = 0
  /** heldBytes of the policies from `#head` on, and what they may take. */
  static #bytes = 0
  static #budget = HELD_BYTES_DEFAULT

  constructor(init: {
    name: string
    source: PolicySource
    kind: PolicyKind
    version: PolicyVersion | undefined
    statements: readonly CompiledStatement[]
    text: string
    releasable?: boolean
  }) {
    this.name = init.name
    this.source = init.source
    this.kind = init.kind
    this.version = init.version
    this.text = init.text
    this.#body = new Body(init.statements)
    if (init.releasable === true) CompiledPolicy.#keep(this)
  }

  /** The statements in document order. */
  get statements(): readonly CompiledStatement[] {
    return (this.#body ?? this.#rebuild()).statements
  }

  /** True while the statements are held (tests; see `ParseOptions.releasable`). */
  get held(): boolean {
    return this.#body !== undefined
  }

  /**
   * Let the releasable policies hold at most `bytes` of statements (estimated) from now on;
   * returns the previous bound (tests use a small one).
   */
  static holdAtMost(bytes: number): number {
    const was = CompiledPolicy.#budget
    CompiledPolicy.#budget = bytes
    CompiledPolicy.#trim()
    return was
  }

  /**
   * A releasable policy joins the newest end; the oldest let theirs go while the total is over
   * the bound. Oldest out, not least recently used: a policy in use joins again when it is
   * rebuilt, so a hot one costs one rebuild per bound's worth of other policies compiled, and a
   * lookup stays a field read.
   */
  static #keep(p: CompiledPolicy): void {
    CompiledPolicy.#kept.push(p)
    CompiledPolicy.#bytes += heldBytes(p.text)
    CompiledPolicy.#trim()
  }

  static #trim(): void {
    const kept = CompiledPolicy.#kept
    // The newest always keeps its statements: it is about to be used.
    while (
      CompiledPolicy.#bytes > CompiledPolicy.#budget &&
      CompiledPolicy.#head < kept.length - 1
    ) {
      const old = kept[CompiledPolicy.#head] as CompiledPolicy
      kept[CompiledPolicy.#head++] = undefined
      old.#body = undefined
      CompiledPolicy.#bytes -= heldBytes(old.text)
    }
    // Drop the released slots once they are half the list (amortized: each slot moves once).
    const head = CompiledPolicy.#head
    if (head > 1024 && head * 2 > kept.length) {
      CompiledPolicy.#kept = kept.slice(head)
      CompiledPolicy.#head = 0
    }
  }

  /** The statements again, from the normalized text (valid: it was compiled from it before). */
  #rebuild(): Body {
    const variables = this.version === '2012-10-17'
    const o = { kind: this.kind, name: this.name, source: this.source, variables }
    const doc = JSON.parse(this.text) as { Statement: unknown[] }
    const body = new Body(doc.Statement.map((s, i) => compileStatement(s, i, o).st))
    this.#body = body
    CompiledPolicy.#keep(this)
    return body
  }

  /**
   * The statements whose Action/NotAction covers `action` (any case), cached per action string
   * as given, so the hot path neither lower-cases nor scans statements for other actions. With
   * `resource`, only those that can match it: statements whose resources all lie in other named
   * buckets are left out (a large policy is mostly grants on other buckets and prefixes).
   */
  statementsFor(action: string, resource?: string): readonly CompiledStatement[] {
    const body = this.#body ?? this.#rebuild()
    const ix = body.byAction?.get(action) ?? indexAction(body, action)
    if (resource === undefined || ix.byBucket.size === 0) return ix.all
    return ix.byBucket.get(bucketOfResource(resource)) ?? ix.anyBucket
  }
}

function indexAction(body: Body, action: string): ActionIndex {
  const lc = action.toLowerCase()
  const all: CompiledStatement[] = []
  const anyBucket: CompiledStatement[] = []
  const named = new Set<string>()
  const buckets: (readonly string[] | undefined)[] = []
  body.statements.forEach((st, i) => {
    if (!st.matchesAction(lc)) return
    const b = body.buckets[i]
    all.push(st)
    buckets.push(b)
    if (b === undefined) anyBucket.push(st)
    else for (const name of b) named.add(name)
  })
  const byBucket = new Map<string, readonly CompiledStatement[]>()
  for (const name of named) {
    byBucket.set(
      name,
      Object.freeze(all.filter((_, j) => buckets[j] === undefined || buckets[j]?.includes(name))),
    )
  }
  const ix: ActionIndex = {
    all: Object.freeze(all),
    anyBucket: Object.freeze(anyBucket),
    byBucket,
  }
  const byAction = (body.byAction ??= new Map<string, ActionIndex>())
  if (byAction.size < CACHE_LIMIT) byAction.set(action, ix)
  return ix
}

export interface ParseOptions {
  readonly kind: PolicyKind
  readonly name: string
  /** Defaults to the kind ('identity' → 'identity', 'resource' → 'resource', 'session' → 'session'). */
  readonly source?: PolicySource
  /** Maximum document length in characters (STS session policies: 2048). */
  readonly maxLength?: number
  /**
   * The compiled statements may be let go while the policy is idle and rebuilt from `text` when
   * it is next used (session policies: one is kept with every cached session, and in the upload
   * flow each is a user's own). The releasable policies hold at most HELD_BYTES_DEFAULT of
   * statements at once, so the heap a cached session costs is its policy's text, not its
   * compiled form.
   */
  readonly releasable?: boolean
}

const TOP_FIELDS = new Set(['Version', 'Id', 'Statement'])
const STATEMENT_FIELDS = new Set([
  'Sid',
  'Effect',
  'Principal',
  'NotPrincipal',
  'Action',
  'NotAction',
  'Resource',
  'NotResource',
  'Condition',
])
const ACTION = /^[A-Za-z0-9-]+:[A-Za-z0-9*?_-]+$/
const RESOURCE = /^arn:[^:]*:[^:]*:[^:]*:[^:]*:/
const ACCOUNT = /^\d{12}$/
const ROOT_ARN = /^arn:aws:iam::(\d{12}):root$/
const USER_ARN = /^arn:aws:iam::\d{12}:user\/[\w+=,.@/-]+$/
const ROLE_ARN = /^arn:aws:iam::(\d{12}):role\/(?:[\w+=,.@-]+\/)*([\w+=,.@-]+)$/
const SESSION_ARN = /^arn:aws:sts::\d{12}:assumed-role\/[\w+=,.@-]+\/[\w+=,.@-]+$/

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

function fail(msg: string): never {
  throw new PolicyError(msg)
}

/** A string or a non-empty array of strings. */
function stringList(v: unknown, where: string): string[] {
  if (typeof v === 'string') return [v]
  if (Array.isArray(v)) {
    if (v.length === 0) fail(`${where} must not be empty`)
    return v.map((x, i) => (typeof x === 'string' ? x : fail(`${where}[${i}] must be a string`)))
  }
  return fail(`${where} must be a string or an array of strings`)
}

/** Condition values: strings, numbers and booleans (AWS accepts all three), one or a list. */
function conditionValues(v: unknown, where: string): string[] {
  const one = (x: unknown, w: string): string => {
    if (typeof x === 'string') return x
    if (typeof x === 'number' && Number.isFinite(x)) return String(x)
    if (typeof x === 'boolean') return x ? 'true' : 'false'
    return fail(`${w} must be a string, number or boolean`)
  }
  if (Array.isArray(v)) {
    if (v.length === 0) fail(`${where} must not be empty`)
    return v.map((x, i) => one(x, `${where}[${i}]`))
  }
  return [one(v, where)]
}

/**
 * Action tests by their action list: the same few lists ("s3:GetObject", "s3:PutObject", "s3:*")
 * recur in every policy, and a session keeps its compiled policy for as long as it is cached, so
 * statements share one test per list instead of holding a Set and a closure each. Bounded; a
 * list is only cached once every action in it has been validated.
 */
const actionTests = new Map<string, (a: string) => boolean>()
const ACTION_TESTS_MAX = 1024

function compileActions(list: readonly string[], where: string): (a: string) => boolean {
  const key = list.join('\n')
  const hit = actionTests.get(key)
  if (hit !== undefined) return hit
  const ms: Matcher[] = []
  const exact: string[] = []
  for (const a of list) {
    if (a !== '*' && !ACTION.test(a)) fail(`${where} '${a}' must look like service:ActionName`)
    if (!a.includes('*') && !a.includes('?')) exact.push(a.toLowerCase())
    else ms.push(compilePattern(a, { wildcards: true, lowerCase: true, variables: false }).match)
  }
  const test = actionTest(new Set(exact), ms)
  if (actionTests.size >= ACTION_TESTS_MAX) actionTests.clear()
  actionTests.set(key, test)
  return test
}

function actionTest(exact: ReadonlySet<string>, ms: readonly Matcher[]): (a: string) => boolean {
  if (ms.length === 0 && exact.size === 1) {
    const [only] = exact
    return (action) => action === only
  }
  return (action) => {
    if (exact.has(action)) return true
    for (const m of ms) if (m(action, EMPTY)) return true
    return false
  }
}

const EMPTY: ConditionContext = new Map<string, readonly string[]>()
const NO_CONDITIONS: readonly ConditionTest[] = Object.freeze([])

function compileResources(list: readonly string[], where: string, variables: boolean): Matcher {
  const ms: Matcher[] = []
  for (const r of list) {
    if (r !== '*' && !RESOURCE.test(r)) fail(`${where} '${r}' must be an ARN or *`)
    ms.push(compilePattern(r, { wildcards: true, variables }).match)
  }
  if (ms.length === 1) return ms[0] as Matcher
  return anyOf(ms.slice())
}

/** The union of resource matchers (given an exact-size array: it is kept with the policy). */
function anyOf(ms: readonly Matcher[]): Matcher {
  return (v, ctx) => {
    for (const m of ms) if (m(v, ctx)) return true
    return false
  }
}

function compilePrincipal(v: unknown, where: string): { spec: PrincipalSpec; json: unknown } {
  const accounts = new Set<string>()
  const arns = new Set<string>()
  const rolePrefixes: string[] = []
  let any = false
  if (v === '*') return { spec: { any: true, accounts, arns, rolePrefixes }, json: '*' }
  if (!isObject(v))
    fail(`${where} must be "*" or an object such as {"AWS": "arn:aws:iam::123456789012:user/name"}`)
  const keys = Object.keys(v)
  if (keys.length === 0) fail(`${where} must not be empty`)
  const json: Record<string, string[]> = {}
  for (const k of keys) {
    const vals = stringList(v[k], `${where}.${k}`)
    json[k] = vals
    if (k === 'AWS') {
      for (const p of vals) {
        let m: RegExpExecArray | null
        if (p === '*') any = true
        else if (ACCOUNT.test(p)) accounts.add(p)
        else if ((m = ROOT_ARN.exec(p))) accounts.add(m[1] as string)
        else if ((m = ROLE_ARN.exec(p))) {
          arns.add(p)
          rolePrefixes.push(`arn:aws:sts::${m[1] as string}:assumed-role/${m[2] as string}/`)
        } else if (USER_ARN.test(p) || SESSION_ARN.test(p)) arns.add(p)
        else fail(`Invalid principal in policy: ${where}.AWS '${p}'`)
      }
    } else if (k === 'CanonicalUser' || k === 'Service' || k === 'Federated') {
      // accepted for compatibility with policies written for AWS; no Latchkey caller is one
    } else fail(`${where}: unknown principal type '${k}'`)
  }
  return { spec: { any, accounts, arns, rolePrefixes }, json }
}

interface Built {
  readonly st: CompiledStatement
  readonly json: Record<string, unknown>
}

function compileStatement(
  raw: unknown,
  index: number,
  o: { kind: PolicyKind; name: string; source: PolicySource; variables: boolean },
): Built {
  const where = `Statement[${index}]`
  if (!isObject(raw)) fail(`${where} must be an object`)
  for (const k of Object.keys(raw))
    if (!STATEMENT_FIELDS.has(k)) fail(`${where}: unknown field '${k}'`)
  const json: Record<string, unknown> = {}
  const sidRaw = raw['Sid']
  if (sidRaw !== undefined && typeof sidRaw !== 'string') fail(`${where}.Sid must be a string`)
  if (sidRaw !== undefined) json['Sid'] = sidRaw
  const effect = raw['Effect']
  if (effect === undefined) fail(`${where}: Missing required field Effect`)
  if (effect !== 'Allow' && effect !== 'Deny') fail(`${where}.Effect must be Allow or Deny`)
  json['Effect'] = effect

  // Principal / NotPrincipal
  const hasP = raw['Principal'] !== undefined
  const hasNP = raw['NotPrincipal'] !== undefined
  let principal: PrincipalSpec | undefined
  if (o.kind !== 'resource') {
    if (hasP || hasNP) fail(`${where}: Principal is not allowed in identity/session policies`)
  } else {
    if (hasP && hasNP) fail(`${where} must not have both Principal and NotPrincipal`)
    if (!hasP && !hasNP) fail(`${where}: Resource-based policy must have a Principal`)
    const field = hasP ? 'Principal' : 'NotPrincipal'
    const c = compilePrincipal(raw[field], `${where}.${field}`)
    principal = c.spec
    json[field] = c.json
  }

  // Action / NotAction
  const hasA = raw['Action'] !== undefined
  const hasNA = raw['NotAction'] !== undefined
  if (hasA && hasNA) fail(`${where} must not have both Action and NotAction`)
  if (!hasA && !hasNA) fail(`${where}: Missing required field Action`)
  const aField = hasA ? 'Action' : 'NotAction'
  const actions = stringList(raw[aField], `${where}.${aField}`)
  json[aField] = actions
  const actTest = compileActions(actions, `${where}.${aField}`)
  const matchesAction = hasA ? actTest : (a: string) => !actTest(a)

  // Resource / NotResource
  const hasR = raw['Resource'] !== undefined
  const hasNR = raw['NotResource'] !== undefined
  if (hasR && hasNR) fail(`${where} must not have both Resource and NotResource`)
  if (!hasR && !hasNR) fail(`${where}: Missing required field Resource`)
  const rField = hasR ? 'Resource' : 'NotResource'
  const resources = stringList(raw[rField], `${where}.${rField}`)
  json[rField] = resources
  const resTest = compileResources(resources, `${where}.${rField}`, o.variables)
  const matchesResource: Matcher = hasR ? resTest : (v, ctx) => !resTest(v, ctx)

  // Condition
  const conditions: ConditionTest[] = []
  const condRaw = raw['Condition']
  if (condRaw !== undefined) {
    if (!isObject(condRaw)) fail(`${where}.Condition must be an object`)
    const condJson: Record<string, Record<string, string[]>> = {}
    for (const op of Object.keys(condRaw)) {
      const block = condRaw[op]
      const w = `${where}.Condition.${op}`
      if (!isObject(block)) fail(`${w} must be an object of condition keys`)
      const keys = Object.keys(block)
      if (keys.length === 0) fail(`${w} must not be empty`)
      const blockJson: Record<string, string[]> = {}
      for (const key of keys) {
        const values = conditionValues(block[key], `${w}.${key}`)
        blockJson[key] = values
        conditions.push(compileCondition(op, key, values, o.variables, `${where}.Condition`))
      }
      condJson[op] = blockJson
    }
    json['Condition'] = condJson
  }

  const ref: StatementRef = Object.freeze({
    policy: o.name,
    source: o.source,
    sid: sidRaw !== undefined && sidRaw !== '' ? sidRaw : `#${index}`,
    effect,
  })
  // Plain literals (no spread): the object keeps its fields in place, without a separate
  // property array (a compiled policy is kept per session). No conditions: one shared empty list.
  const conds = conditions.length === 0 ? NO_CONDITIONS : Object.freeze(conditions)
  const st: CompiledStatement = Object.freeze(
    principal !== undefined
      ? {
          index,
          ref,
          effect,
          matchesAction,
          matchesResource,
          principal,
          notPrincipal: hasNP,
          conditions: conds,
          resources: Object.freeze(resources),
          notResource: hasNR,
        }
      : {
          index,
          ref,
          effect,
          matchesAction,
          matchesResource,
          notPrincipal: hasNP,
          conditions: conds,
          resources: Object.freeze(resources),
          notResource: hasNR,
        },
  )
  return { st, json }
}

function defaultSource(kind: PolicyKind): PolicySource {
  return kind
}

/**
 * Parse and compile a policy document (a JSON string or an already-parsed value).
 * Throws PolicyError, and only PolicyError, naming what is wrong.
 */
export function parsePolicy(json: string | unknown, opts: ParseOptions): CompiledPolicy {
  let doc: unknown = json
  if (typeof json === 'string') {
    if (opts.maxLength !== undefined && json.length > opts.maxLength) {
      fail(`Policy document length ${json.length} exceeds the limit of ${opts.maxLength}`)
    }
    if (json.trim() === '') fail('Policy document is empty')
    try {
      doc = JSON.parse(json)
    } catch (e) {
      fail(`Policy document is not valid JSON: ${(e as Error).message}`)
    }
  } else if (opts.maxLength !== undefined) {
    let text: string | undefined
    try {
      text = JSON.stringify(json)
    } catch {
      fail('Policy document is not valid JSON')
    }
    if (text !== undefined && text.length > opts.maxLength) {
      fail(`Policy document length ${text.length} exceeds the limit of ${opts.maxLength}`)
    }
  }
  if (!isObject(doc)) fail('Policy document must be a JSON object')
  for (const k of Object.keys(doc))
    if (!TOP_FIELDS.has(k)) fail(`Unknown field '${k}' in policy document`)
  const versionRaw = doc['Version']
  if (versionRaw !== undefined && versionRaw !== '2012-10-17' && versionRaw !== '2008-10-17') {
    fail(`Version ${JSON.stringify(versionRaw)} is not supported: use 2012-10-17 (or 2008-10-17)`)
  }
  const version = versionRaw as PolicyVersion | undefined
  const id = doc['Id']
  if (id !== undefined && typeof id !== 'string') fail('Id must be a string')
  const stRaw = doc['Statement']
  if (stRaw === undefined) fail('Missing required field Statement')
  const list: unknown[] = Array.isArray(stRaw) ? stRaw : [stRaw]
  if (list.length === 0) fail('Statement must not be empty')
  const source = opts.source ?? defaultSource(opts.kind)
  // AWS: variables only in 2012-10-17; a missing Version means 2008-10-17
  const variables = version === '2012-10-17'
  const built = list.map((s, i) =>
    compileStatement(s, i, { kind: opts.kind, name: opts.name, source, variables }),
  )
  const sids = new Set<string>()
  for (const b of built) {
    const sid = b.json['Sid']
    if (typeof sid === 'string' && sid !== '') {
      if (sids.has(sid)) fail(`Statement IDs (Sid) must be unique: '${sid}' appears more than once`)
      sids.add(sid)
    }
  }
  const norm: Record<string, unknown> = {}
  if (version !== undefined) norm['Version'] = version
  if (id !== undefined) norm['Id'] = id
  norm['Statement'] = built.map((b) => b.json)
  return new CompiledPolicy({
    name: opts.name,
    source,
    kind: opts.kind,
    version,
    statements: built.map((b) => b.st),
    text: JSON.stringify(norm),
    releasable: opts.releasable === true,
  })
}

/**
 * S3 PutBucketPolicy check: every Resource must name this bucket or objects in it
 * (AWS answers MalformedPolicy "Policy has invalid resource").
 */
export function checkBucketPolicyResources(p: CompiledPolicy, bucket: string): void {
  const base = `arn:aws:s3:::${bucket}`
  for (const st of p.statements) {
    for (const r of st.resources) {
      if (
        r !== base &&
        !r.startsWith(`${base}/`) &&
        r !== '*' &&
        !(base.startsWith(r.replace(/\*$/, '')) && r.endsWith('*'))
      ) {
        fail(
          `Policy has invalid resource: Statement[${st.index}] '${r}' is not in bucket ${bucket}`,
        )
      }
    }
  }
}
