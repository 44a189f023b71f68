/**
 * AccessDenied text in AWS's current form (S3 2024–25): who was denied what, on which
 * resource, and which kind of policy is why. Never includes policy contents. Anonymous
 * callers get the plain "Access Denied".
 * @module
 */
import type { Decision, PolicySource } from './types.js'

const POLICY_TYPE: Readonly<Record<PolicySource, string>> = {
  identity: 'identity-based',
  resource: 'resource-based',
  session: 'session',
}

export function accessDeniedMessage(
  principalArn: string,
  action: string,
  resource: string,
  d: Decision,
): string {
  if (d.effect === 'allow' || principalArn === '*' || principalArn === '') return 'Access Denied'
  const head = `User: ${principalArn} is not authorized to perform: ${action} on resource: "${resource}"`
  if (d.explicit) {
    const type = POLICY_TYPE[d.source]
    return `${head} with an explicit deny in ${type.startsWith('i') ? 'an' : 'a'} ${type} policy`
  }
  const type =
    d.reason === 'session-policy-no-allow'
      ? 'session'
      : d.reason === 'no-resource-allow'
        ? 'resource-based'
        : 'identity-based'
  return `${head} because no ${type} policy allows the ${action} action`
}
