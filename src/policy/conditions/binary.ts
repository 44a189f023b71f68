/**
 * BinaryEquals: policy values are base64; the request value (base64) matches when its bytes
 * equal one of them. Bad base64 in a policy is a malformed policy.
 * @module
 */
import { PolicyError } from '../types.js'
import type { OperatorSpec } from './types.js'

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/

export const BINARY_OPERATORS: readonly OperatorSpec[] = [
  {
    name: 'BinaryEquals',
    negated: false,
    compile: (input) => {
      const bufs = input.values.map((s) => {
        if (!BASE64.test(s)) throw new PolicyError(`${input.where}: '${s}' is not base64`)
        return Buffer.from(s, 'base64')
      })
      return {
        test: (v) => {
          if (!BASE64.test(v)) return false
          const b = Buffer.from(v, 'base64')
          for (const p of bufs) if (p.equals(b)) return true
          return false
        },
        vars: [],
      }
    },
  },
]
