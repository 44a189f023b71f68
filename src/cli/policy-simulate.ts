/**
 * `latchkey policy simulate`: for people writing policies. Reads the documents from files,
 * runs the same simulator as POST /api/admin/policy/simulate and prints the decision, the
 * reason and the matched statements. Exit code 0 allow, 1 deny, 2 usage or malformed policy
 * (one clear line).
 * @module
 */
import { readFile } from 'node:fs/promises'
import { systemClock, type Clock } from '../lib/clock.js'
import { simulate, type SimulateInput } from '../policy/simulate.js'
import { PolicyError } from '../policy/types.js'

export const POLICY_SIMULATE_USAGE = `usage: latchkey policy simulate --policy FILE [--policy FILE …] [--bucket-policy FILE]
       [--session-policy FILE] [--principal ARN] --action ACTION --resource ARN
       [--context key=value …] [--cross-account] [--json]`

interface Args {
  policies: string[]
  bucketPolicy?: string
  sessionPolicy?: string
  principal?: string
  action?: string
  resource?: string
  context: Record<string, string[]>
  json: boolean
  crossAccount: boolean
  help: boolean
}

class UsageError extends Error {}

function parseArgs(argv: readonly string[]): Args {
  const a: Args = { policies: [], context: {}, json: false, crossAccount: false, help: false }
  let i = 0
  if (argv[0] === 'policy') i++
  if (argv[i] === 'simulate') i++
  const value = (flag: string): string => {
    const v = argv[++i]
    if (v === undefined || v.startsWith('--')) throw new UsageError(`${flag} needs a value`)
    return v
  }
  for (; i < argv.length; i++) {
    const raw = argv[i] as string
    const eq = raw.startsWith('--') ? raw.indexOf('=') : -1
    // --flag=value form
    const flag = eq > 0 ? raw.slice(0, eq) : raw
    const take = eq > 0 ? (): string => raw.slice(eq + 1) : (): string => value(flag)
    switch (flag) {
      case '--policy':
        a.policies.push(take())
        break
      case '--bucket-policy':
        a.bucketPolicy = take()
        break
      case '--session-policy':
        a.sessionPolicy = take()
        break
      case '--principal':
        a.principal = take()
        break
      case '--action':
        a.action = take()
        break
      case '--resource':
        a.resource = take()
        break
      case '--context': {
        const kv = take()
        const at = kv.indexOf('=')
        if (at <= 0) throw new UsageError(`--context needs key=value, got '${kv}'`)
        const k = kv.slice(0, at)
        ;(a.context[k] ??= []).push(kv.slice(at + 1))
        break
      }
      case '--json':
        a.json = true
        break
      case '--cross-account':
        a.crossAccount = true
        break
      case '--help':
      case '-h':
        a.help = true
        break
      default:
        throw new UsageError(`unknown argument '${raw}'`)
    }
  }
  return a
}

async function readDoc(file: string): Promise<string> {
  try {
    return await readFile(file, 'utf8')
  } catch (e) {
    throw new UsageError(
      `cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
    )
  }
}

/** Run the command; returns the exit code. `out` gets one line per call. */
export async function runPolicySimulate(
  argv: string[],
  out: (line: string) => void,
  clock: Clock = systemClock,
): Promise<number> {
  try {
    const a = parseArgs(argv)
    if (a.help) {
      out(POLICY_SIMULATE_USAGE)
      return 0
    }
    if (a.action === undefined) throw new UsageError('--action is required')
    if (a.resource === undefined) throw new UsageError('--resource is required')
    if (a.policies.length === 0 && a.bucketPolicy === undefined) {
      throw new UsageError('give at least one --policy or --bucket-policy')
    }
    const docs = await Promise.all(a.policies.map(readDoc))
    const context: Record<string, string | string[]> = {}
    for (const [k, v] of Object.entries(a.context))
      context[k] = v.length === 1 ? (v[0] as string) : v
    const input: SimulateInput = {
      policies: docs,
      policy_names: a.policies,
      ...(a.bucketPolicy !== undefined ? { bucket_policy: await readDoc(a.bucketPolicy) } : {}),
      ...(a.sessionPolicy !== undefined ? { session_policy: await readDoc(a.sessionPolicy) } : {}),
      ...(a.principal !== undefined ? { principal: a.principal } : {}),
      ...(a.crossAccount ? { sameAccount: false } : {}),
      action: a.action,
      resource: a.resource,
      context,
    }
    const r = simulate(input, clock.now())
    if (a.json) out(JSON.stringify(r))
    else {
      out(`decision: ${r.decision}`)
      out(`reason:   ${r.reason}`)
      if (r.matched.length === 0) out('matched:  (none)')
      else for (const m of r.matched) out(`matched:  ${m.effect.padEnd(5)} ${m.policy} ${m.sid}`)
    }
    return r.decision === 'allow' ? 0 : 1
  } catch (e) {
    if (e instanceof UsageError) {
      out(`error: ${e.message} (see latchkey policy simulate --help)`)
      return 2
    }
    if (e instanceof PolicyError) {
      out(`error: malformed policy: ${e.message}`)
      return 2
    }
    throw e
  }
}
