/**
 * AssumeRole (docs.aws.amazon.com/STS/latest/APIReference/API_AssumeRole.html). Callable with a
 * master key, a user key or session credentials (role chaining, capped at one hour as AWS does).
 * There are no IAM roles yet: RoleArn absent or a placeholder makes the session act for the
 * caller; a well-formed role ARN is refused as AWS refuses an unknown role (never ignored).
 * Steps: 1 validate every parameter (AWS answers ValidationError before authorizing), 2 compile
 * the session policies, 3 size the packed policy, 4 authorize, 5 issue, 6 answer.
 * Role chaining with a new Policy/PolicyArns is allowed: IAM keeps the calling session's policies
 * and the new ones as separate layers that the policy engine intersects, so the chained session
 * gets at most parent ∩ every layer (never a widening, whatever the new policy says). A chain is
 * at most iam MAX_CHAIN_DEPTH (8) sessions long: IAM refuses one more link with AccessDenied, and
 * stores each link's own policies only (so the packed-size check of this call bounds what the new
 * row adds, however deep the chain).
 * Tags (Tags.member.N.Key/Value, TransitiveTagKeys) are checked here with AWS's limits, and again
 * by IAM with the chaining rules (iam/session-tags.ts); the reserved `latchkey:*` keys are the
 * session's upload caps (policy/upload-caps.ts), a bad value a ValidationError naming the tag.
 * GetSessionToken takes no tags, as on AWS.
 * @module
 */
import { principalArn } from '../../auth/principal.js'
import type { CompiledPolicy } from '../../policy/document.js'
import type { HttpResponse } from '../../http/http-response.js'
import type { KnownPrincipal } from '../deps.js'
import { StsError } from '../errors.js'
import { issueSession } from '../issuance.js'
import { assumeRoleXml, xmlResponse } from '../responses.js'
import {
  compileSessionPolicy,
  isCompiledSessionPolicy,
  resolveManagedPolicies,
} from '../session-policy.js'
import {
  ROLE_CHAINING_MAX,
  checkExternalId,
  checkMfa,
  checkPacked,
  checkPolicyText,
  checkSessionName,
  checkSourceIdentity,
  classifyRoleArn,
  packedPolicySize,
  parseDuration,
  parsePolicyArns,
  parseTags,
  parseTransitiveTagKeys,
  requireString,
  Violations,
} from '../validate.js'
import { checkNotDenied, roleFor, stsFacts, type ActionContext } from './common.js'

export interface AssumeRoleInput {
  readonly sessionName: string
  readonly role: ReturnType<typeof classifyRoleArn>
  readonly durationSeconds: number
  readonly policyText?: string
  readonly policies: readonly CompiledPolicy[]
  readonly policyArns: readonly string[]
  readonly packedPolicySize: number
  readonly tags: Readonly<Record<string, string>>
  readonly transitiveTagKeys: readonly string[]
  readonly externalId?: string
  readonly sourceIdentity?: string
}

/** Step 1-3: every parameter checked; throws StsError (ValidationError, MalformedPolicyDocument, PackedPolicyTooLarge). */
export function parseAssumeRole(
  c: Pick<ActionContext, 'params' | 'deps'>,
  chaining: boolean,
): AssumeRoleInput {
  const { params } = c
  const { stsDefaultDuration, stsMaxDuration } = c.deps.config
  // Every parameter is checked and every violated constraint reported at once, as AWS does; the
  // `?? …` fallbacks below are never used, throwIfAny() has thrown when a check failed.
  const v = new Violations()
  const sessionName =
    v.check(() => checkSessionName(requireString(params, 'RoleSessionName', 'roleSessionName'))) ??
    ''
  const role = v.check(() => classifyRoleArn(params.get('RoleArn'))) ?? { kind: 'none' as const }
  const requested = v.check(() =>
    parseDuration(
      params,
      900,
      stsMaxDuration,
      "the server's --sts-max-duration; its operator can raise it",
    ),
  )
  const rawPolicy = params.get('Policy')
  const policyText =
    rawPolicy === undefined
      ? undefined
      : isCompiledSessionPolicy(rawPolicy)
        ? rawPolicy
        : v.check(() => checkPolicyText(rawPolicy))
  const policyArns = v.check(() => parsePolicyArns(params)) ?? []
  const tags = v.check(() => parseTags(params)) ?? {}
  const transitiveTagKeys = parseTransitiveTagKeys(params)
  const ext = params.get('ExternalId')
  const externalId = ext !== undefined ? v.check(() => checkExternalId(ext)) : undefined
  const src = params.get('SourceIdentity')
  const sourceIdentity = src !== undefined ? v.check(() => checkSourceIdentity(src)) : undefined
  v.check(() => checkMfa(params))
  v.throwIfAny()
  if (chaining && requested !== undefined && requested > ROLE_CHAINING_MAX)
    throw new StsError(
      'ValidationError',
      `The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining (at most ${ROLE_CHAINING_MAX}).`,
    )
  const fallback = Math.min(stsDefaultDuration, stsMaxDuration)
  const durationSeconds = requested ?? (chaining ? Math.min(fallback, ROLE_CHAINING_MAX) : fallback)

  const policies: CompiledPolicy[] = []
  let compact: string | undefined
  if (policyText !== undefined) {
    const p = compileSessionPolicy(policyText)
    policies.push(p)
    compact = p.text
  }
  policies.push(...resolveManagedPolicies(policyArns))
  const packed = packedPolicySize(compact, policyArns, tags)
  checkPacked(packed)
  return {
    sessionName,
    role,
    durationSeconds,
    ...(policyText !== undefined ? { policyText } : {}),
    policies,
    policyArns,
    packedPolicySize: packed,
    tags,
    transitiveTagKeys,
    ...(externalId !== undefined ? { externalId } : {}),
    ...(sourceIdentity !== undefined ? { sourceIdentity } : {}),
  }
}

export async function assumeRole(c: ActionContext, caller: KnownPrincipal): Promise<HttpResponse> {
  const input = parseAssumeRole(c, caller.kind === 'session')
  // 4. Authorize: no role exists, so a real role ARN is refused as AWS refuses an unknown role.
  if (input.role.kind === 'role')
    throw new StsError(
      'AccessDenied',
      `User: ${principalArn(caller)} is not authorized to perform: sts:AssumeRole on resource: ${input.role.arn}`,
    )
  const extra: Record<string, string> = {
    'sts:durationseconds': String(input.durationSeconds),
    'sts:rolesessionname': input.sessionName,
  }
  if (input.externalId !== undefined) extra['sts:externalid'] = input.externalId
  if (input.sourceIdentity !== undefined) extra['sts:sourceidentity'] = input.sourceIdentity
  const denied = checkNotDenied(c, caller, stsFacts(c, caller, 'sts:AssumeRole', '*', extra))
  if (denied instanceof Promise) await denied
  // 5. Issue.
  const { roleName, roleId } = roleFor(caller)
  const issued = await issueSession(c, {
    caller,
    sessionName: input.sessionName,
    durationSeconds: input.durationSeconds,
    ...(input.policyText !== undefined ? { policyText: input.policyText } : {}),
    policies: input.policies,
    roleName,
    roleId,
    withToken: true,
    ...(input.sourceIdentity !== undefined ? { sourceIdentity: input.sourceIdentity } : {}),
    ...(Object.keys(input.tags).length > 0 ? { tags: input.tags } : {}),
    ...(input.transitiveTagKeys.length > 0 ? { transitiveTagKeys: input.transitiveTagKeys } : {}),
  })
  // 6. Answer.
  const body = assumeRoleXml(
    {
      credentials: {
        accessKeyId: issued.accessKeyId,
        secretAccessKey: issued.secretAccessKey,
        sessionToken: issued.sessionToken,
        expiresAt: issued.expiresAt,
      },
      arn: principalArn(issued.principal),
      assumedRoleId: `${issued.principal.roleId}:${issued.principal.sessionName}`,
      packedPolicySize: input.packedPolicySize,
      ...(input.sourceIdentity !== undefined ? { sourceIdentity: input.sourceIdentity } : {}),
    },
    c.requestId,
  )
  return xmlResponse(200, body, c.requestId)
}
