/**
 * The STS surface's entry point for the dispatcher: every `POST /` with a form body and every
 * `GET /?Action=…` lands here with the body already read (≤ 64 KiB). Wires the real SigV4
 * authentication (service `sts`) and the IAM service into the flow in core.ts.
 * @module
 */
import { authenticate, type AuthDeps } from '../auth/authenticate.js'
import type { IamService } from '../iam/service.js'
import type { Clock } from '../lib/clock.js'
import type { Logger } from '../lib/logger.js'
import { createStsCore, type StsHandler } from './router.js'
import type { StsConfig, StsIam } from './deps.js'
import { stsIamFrom } from './iam-adapter.js'

export interface StsDeps {
  readonly iam: IamService | StsIam
  readonly auth: AuthDeps
  readonly clock: Clock
  readonly log: Logger
  readonly config: StsConfig
}

function isStsIam(iam: IamService | StsIam): iam is StsIam {
  return 'userDetails' in iam && 'masterAccessKeyId' in iam
}

export function createStsHandler(deps: StsDeps): StsHandler {
  return createStsCore({
    iam: isStsIam(deps.iam) ? deps.iam : stsIamFrom(deps.iam),
    authenticate: (raw, query, opts) => authenticate(raw, query, deps.auth, opts),
    clock: deps.clock,
    log: deps.log,
    config: deps.config,
  })
}
