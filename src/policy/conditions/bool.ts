/**
 * Bool: the request value ("true"/"false", any case) equals the policy's boolean. Policy values
 * may be JSON booleans or the strings "true"/"false"; anything else is a malformed policy.
 * @module
 */
import { PolicyError } from '../types.js'
import type { OperatorSpec } from './types.js'

export const BOOL_OPERATORS: readonly OperatorSpec[] = [
  {
    name: 'Bool',
    negated: false,
    compile: (input) => {
      const want = input.values.map((s) => {
        const l = s.toLowerCase()
        if (l !== 'true' && l !== 'false') {
          throw new PolicyError(`${input.where}: '${s}' is not a boolean (true or false)`)
        }
        return l
      })
      const t = want.includes('true')
      const f = want.includes('false')
      return {
        test: (v) => {
          if (v.length === 4) return t && v.toLowerCase() === 'true'
          if (v.length === 5) return f && v.toLowerCase() === 'false'
          return false
        },
        vars: [],
      }
    },
  },
]
