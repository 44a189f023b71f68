/**
 * Condition blocks: `"Condition": {"[ForAnyValue:|ForAllValues:]Operator[IfExists]": {key: value(s)}}`.
 * This file owns the rules shared by all operator families (AWS "Condition operators" and
 * "Multivalued context keys"):
 *  - a missing key: false, except negated operators (true), …IfExists (true), ForAllValues (true);
 *  - several request values without a qualifier: positive operators need any value to match,
 *    negated ones need none to match;
 *  - ForAnyValue: some request value satisfies the operator (empty set → false);
 *  - ForAllValues: every request value satisfies it (empty set → true);
 *  - a variable missing from the context makes the condition false.
 * Everything is compiled to closures; the hot path does Map lookups and string compares.
 * @module
 */
import { PolicyError } from '../types.js'
import { ARN_OPERATORS } from './arn.js'
import { BINARY_OPERATORS } from './binary.js'
import { BOOL_OPERATORS } from './bool.js'
import { DATE_OPERATORS } from './date.js'
import { IP_OPERATORS } from './ip.js'
import { compileNull } from './null.js'
import { NUMERIC_OPERATORS } from './numeric.js'
import { STRING_OPERATORS } from './string.js'
import type { Ctx, OperatorSpec } from './types.js'

/** A compiled condition (one operator × one key). */
export type ConditionTest = (ctx: Ctx) => boolean

const OPERATORS: ReadonlyMap<string, OperatorSpec> = new Map(
  [
    ...STRING_OPERATORS,
    ...NUMERIC_OPERATORS,
    ...DATE_OPERATORS,
    ...BOOL_OPERATORS,
    ...BINARY_OPERATORS,
    ...IP_OPERATORS,
    ...ARN_OPERATORS,
  ].map((o) => [o.name.toLowerCase(), o]),
)

/** Every operator name the engine knows (without qualifiers/IfExists), for docs and tests. */
export const OPERATOR_NAMES: readonly string[] = [
  ...[...OPERATORS.values()].map((o) => o.name),
  'Null',
]

type SetQualifier = 'none' | 'any' | 'all'

interface ParsedOperator {
  readonly set: SetQualifier
  readonly ifExists: boolean
  /** lower-cased base name */
  readonly base: string
}

/** Split qualifiers off an operator name; names are matched case-insensitively. */
export function parseOperatorName(name: string): ParsedOperator {
  let rest = name.toLowerCase()
  let set: SetQualifier = 'none'
  if (rest.startsWith('foranyvalue:')) {
    set = 'any'
    rest = rest.slice('foranyvalue:'.length)
  } else if (rest.startsWith('forallvalues:')) {
    set = 'all'
    rest = rest.slice('forallvalues:'.length)
  }
  let ifExists = false
  if (rest.endsWith('ifexists') && rest !== 'ifexists') {
    ifExists = true
    rest = rest.slice(0, -'ifexists'.length)
  }
  return { set, ifExists, base: rest }
}

const KEY = /^[A-Za-z0-9_.-]+:[^\s]+$/

/**
 * Compile one operator/key/values triple. `values` are strings already (the document layer
 * turns JSON numbers and booleans into text). Throws PolicyError on any unknown operator, bad
 * key or bad value.
 */
export function compileCondition(
  operator: string,
  key: string,
  values: readonly string[],
  variables: boolean,
  where: string,
): ConditionTest {
  const op = parseOperatorName(operator)
  if (!KEY.test(key)) throw new PolicyError(`${where}: invalid condition key '${key}'`)
  if (values.length === 0) throw new PolicyError(`${where}: condition key '${key}' has no values`)
  const k = key.toLowerCase()
  if (op.base === 'null') {
    if (op.set !== 'none' || op.ifExists) {
      throw new PolicyError(`Unknown condition operator '${operator}' (Null takes no qualifiers)`)
    }
    const test = compileNull(values, where)
    return (ctx) => {
      const v = ctx.get(k)
      return test(v !== undefined && v.length > 0)
    }
  }
  const spec = OPERATORS.get(op.base)
  if (!spec) throw new PolicyError(`Unknown condition operator '${operator}'`)
  const { test, vars } = spec.compile({ values, variables, where: `${where}.${operator}` })
  const negated = spec.negated
  const { set, ifExists } = op
  const varsPresent =
    vars.length === 0
      ? undefined
      : (ctx: Ctx): boolean => {
          for (const v of vars) {
            const x = ctx.get(v)
            if (x === undefined || x.length === 0) return false
          }
          return true
        }
  const missing = ifExists || set === 'all' ? true : set === 'any' ? false : negated
  return (ctx) => {
    if (varsPresent !== undefined && !varsPresent(ctx)) return false
    const vals = ctx.get(k)
    if (vals === undefined || vals.length === 0) return missing
    if (set === 'all') {
      for (const v of vals) if (test(v, ctx) === negated) return false
      return true
    }
    if (set === 'any') {
      for (const v of vals) if (test(v, ctx) !== negated) return true
      return false
    }
    let any = false
    for (const v of vals) {
      if (test(v, ctx)) {
        any = true
        break
      }
    }
    return any !== negated
  }
}
