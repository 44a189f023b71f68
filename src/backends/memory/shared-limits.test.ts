/** Runs the SharedLimits conformance suite against MemorySharedLimits. @module */
import { sharedLimitsConformance } from '../../../test/conformance/shared-limits.case.js'
import { MemorySharedLimits } from './shared-limits.js'

sharedLimitsConformance('memory', async () => ({
  limits: new MemorySharedLimits({
    throttle: { limit: 3, windowMs: 15 * 60_000, maxKeys: 1000 },
  }),
  close: async () => {},
}))
