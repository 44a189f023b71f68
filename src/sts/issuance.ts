/**
 * Issuing a session from an STS action: the one place every STS-minted credential passes
 * (AssumeRole, GetSessionToken, RSLogin, RSAssumeCustomerRole), so the one place its issuance is
 * recorded in the audit trail. Recorded: the parent, the new session's access key id and ARN, the
 * SHA-256 of the session policy (never its text, never a secret or token), the duration, the
 * session tags' keys and the upload caps asked for, and the caller's address.
 * @module
 */
import { principalArn, sessionMadeFrom, sessionParentName } from '../auth/principal.js'
import type { IssuedSession, SessionRequest } from '../iam/types.js'
import type { AuditSink } from '../lib/audit-events.js'
import { RESERVED_TAG_PREFIX } from '../policy/upload-caps.js'
import type { ActionContext } from './actions/common.js'
import { sessionPolicySha256 } from './session-policy.js'

/** IAM issues the session (at the call's time); the issuance is recorded when the server audits. */
export function issueSession(c: ActionContext, req: SessionRequest): Promise<IssuedSession> {
  const issuing = c.deps.iam.issue(req, c.now)
  const audit = c.deps.audit
  if (audit === undefined) return issuing
  return issuing.then((issued) => {
    recordIssuance(audit, c, req, issued)
    return issued
  })
}

function isCapKey(k: string): boolean {
  return k.toLowerCase().startsWith(RESERVED_TAG_PREFIX)
}

function recordIssuance(
  audit: AuditSink,
  c: ActionContext,
  req: SessionRequest,
  issued: IssuedSession,
): void {
  const p = issued.principal
  const caller = req.caller
  // The detail built by adding its optional fields in place (same key order as before), not by
  // spreading conditional temporaries into a literal.
  const detail: Record<string, unknown> = {
    parent: sessionMadeFrom(p),
    caller:
      caller.kind === 'session'
        ? `session:${caller.accessKeyId}`
        : caller.kind === 'user'
          ? `user:${caller.username}`
          : `account-root:${caller.accessKeyId}`,
    // The session's own copy: req's is a view of the request body, which a queued audit event
    // would keep alive until its batch is written (~1.5 KB promoted per AssumeRole).
    sessionName: p.sessionName,
    durationSeconds: req.durationSeconds,
    expiresAt: issued.expiresAt,
  }
  if (req.policyText !== undefined) detail['policyHash'] = sessionPolicySha256(req.policyText)
  detail['policies'] = req.policies.length
  if (req.actAs !== undefined) detail['actAs'] = req.actAs.accountId
  // Session tags by key (upload caps are latchkey:* keys), and the caps as asked.
  const tags = req.tags
  if (tags !== undefined) {
    const keys = Object.keys(tags)
    detail['tagKeys'] = keys
    if (keys.some(isCapKey))
      detail['caps'] = Object.fromEntries(Object.entries(tags).filter(([k]) => isCapKey(k)))
  }
  audit.record({
    at: c.now,
    kind: 'issuance',
    action: `sts:${c.action}`,
    accountId: p.accountId,
    principal: sessionParentName(p),
    session: issued.accessKeyId,
    resource: principalArn(p),
    decision: 'allow',
    source: c.raw.remoteAddress,
    detail,
  })
}
