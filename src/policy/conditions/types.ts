/**
 * The contract between the generic condition machinery (index.ts: set operators, IfExists,
 * missing keys, negation) and each operator family. A family only answers one question,
 * compiled once per condition: "does this one request value match any of the policy's values?"
 * @module
 */
import type { Ctx } from '../variables.js'

export type { Ctx }

/** Positive test of one request value against the policy's values. */
export type ValueTest = (value: string, ctx: Ctx) => boolean

export interface CompileInput {
  /** Policy values, already turned into strings (JSON numbers/booleans are accepted). */
  readonly values: readonly string[]
  /** Version 2012-10-17: `${...}` variables are substituted. */
  readonly variables: boolean
  /** Where in the document, for error messages: "Statement[1].Condition.StringLike". */
  readonly where: string
}

export interface CompiledValues {
  readonly test: ValueTest
  /** Variables used by the values; a missing one makes the whole condition false. */
  readonly vars: readonly string[]
}

export interface OperatorSpec {
  /** Operator name as AWS spells it, e.g. 'StringNotLike'. */
  readonly name: string
  /** Not-operators are the negation of their positive twin (and are true when the key is missing). */
  readonly negated: boolean
  /** Throws PolicyError naming the bad value. */
  compile(input: CompileInput): CompiledValues
}
