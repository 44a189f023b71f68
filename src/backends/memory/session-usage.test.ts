import { sessionUsageConformance } from '../../../test/conformance/session-usage.case.js'
import { MemorySharedLimits } from './shared-limits.js'

sessionUsageConformance('memory', async () => ({
  limits: new MemorySharedLimits(),
  close: async () => {},
}))
