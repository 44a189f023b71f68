import { expect, it } from 'vitest'
import { benchPolicyEval } from './policy.js'

it('benchPolicyEval measures 100 statements next to an HMAC', () => {
  const r = benchPolicyEval(200, 3)
  expect(r.statements).toBe(100)
  expect(r.nsPerEval).toBeGreaterThan(0)
  expect(r.nsPerHmac).toBeGreaterThan(0)
  expect(r.nsPerEvalAllCandidates).toBeGreaterThan(0)
})
