/**
 * The admin CLI's shared vocabulary: exit codes (the contract scripts rely on), the usage error,
 * and one small argv parser. Every subcommand declares the flags it takes, so a typo is a usage
 * error (exit 2) instead of a flag silently ignored; `--json` and `--insecure` are accepted
 * everywhere.
 * @module
 */

/** Exit codes of `latchkey admin …` (also in the help text and the README). */
export const EXIT = {
  ok: 0,
  /** The server refused: its error code and message are printed. */
  api: 1,
  /** Bad command line. */
  usage: 2,
  /** No token file, an expired or revoked token, or a token file with loose permissions. */
  notLoggedIn: 3,
  /** The server could not be reached (connection refused, DNS, TLS). */
  unreachable: 4,
} as const

export class UsageError extends Error {
  override readonly name = 'UsageError'
}

export interface Parsed {
  readonly positionals: readonly string[]
  readonly values: ReadonlyMap<string, string>
  readonly flags: ReadonlySet<string>
}

export interface FlagSpec {
  /** Flags that take a value (`--limit 10` or `--limit=10`). */
  readonly values?: readonly string[]
  /** Flags without a value. */
  readonly flags?: readonly string[]
  /** Positional arguments: how many at least and at most. */
  readonly min?: number
  readonly max?: number
}

const GLOBAL_FLAGS = ['--json', '--insecure']

/** Parse argv against `spec`; throws UsageError with one clear line. */
export function parseArgs(argv: readonly string[], spec: FlagSpec): Parsed {
  const valueFlags = new Set(spec.values ?? [])
  const boolFlags = new Set([...(spec.flags ?? []), ...GLOBAL_FLAGS])
  const positionals: string[] = []
  const values = new Map<string, string>()
  const flags = new Set<string>()
  let onlyPositionals = false
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? ''
    if (onlyPositionals || !arg.startsWith('--')) {
      positionals.push(arg)
      continue
    }
    if (arg === '--') {
      onlyPositionals = true
      continue
    }
    const eq = arg.indexOf('=')
    const name = eq > 0 ? arg.slice(0, eq) : arg
    if (boolFlags.has(name)) {
      if (eq > 0) throw new UsageError(`${name} takes no value`)
      flags.add(name)
      continue
    }
    if (!valueFlags.has(name)) throw new UsageError(`unknown argument ${arg}`)
    const value = eq > 0 ? arg.slice(eq + 1) : argv[++i]
    if (value === undefined || value === '') throw new UsageError(`${name} needs a value`)
    if (values.has(name)) throw new UsageError(`${name} given twice`)
    values.set(name, value)
  }
  const min = spec.min ?? 0
  const max = spec.max ?? min
  if (positionals.length < min)
    throw new UsageError(min === 1 ? 'missing argument' : `needs ${min} arguments`)
  if (positionals.length > max) throw new UsageError(`unexpected argument ${positionals[max]}`)
  return { positionals, values, flags }
}

/** A whole number flag within [min, max], or undefined when absent. */
export function intFlag(p: Parsed, name: string, min: number, max: number): number | undefined {
  const v = p.values.get(name)
  if (v === undefined) return undefined
  if (!/^\d{1,16}$/.test(v) || Number(v) < min || Number(v) > max)
    throw new UsageError(`${name} must be a whole number from ${min} to ${max}, got "${v}"`)
  return Number(v)
}

/** The n-th positional (parseArgs has checked the count). */
export const arg = (p: Parsed, n: number): string => p.positionals[n] ?? ''
