/**
 * Command-line arguments of `npm run bench` (kept apart from run.ts so tests can import it
 * without starting a run).
 * @module
 */

export const TARGET_NAMES = [
  'get4k',
  'put4k',
  'big',
  'list',
  'iam',
  'policy',
  'assume-role',
  'session-get',
  'postgres',
  'cluster',
  'access-log',
  'audit',
  'sts-rgw',
  'sessions-rss',
] as const
export type TargetName = (typeof TARGET_NAMES)[number]

export interface Args {
  readonly quick: boolean
  readonly only: readonly TargetName[] | undefined
  readonly list: boolean
}

function isTargetName(s: string): s is TargetName {
  return (TARGET_NAMES as readonly string[]).includes(s)
}

/** Parse argv; throws an Error with a one-line message on anything unknown. */
export function parseArgs(argv: readonly string[]): Args {
  let quick = false
  let list = false
  let only: TargetName[] | undefined
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] ?? ''
    if (a === '--quick') quick = true
    else if (a === '--list') list = true
    else if (a === '--only' || a.startsWith('--only=')) {
      const v = a === '--only' ? argv[++i] : a.slice('--only='.length)
      if (v === undefined || v === '' || v.startsWith('--')) {
        throw new Error('--only needs a target name')
      }
      for (const n of v
        .split(',')
        .map((x) => x.trim())
        .filter((x) => x !== '')) {
        if (!isTargetName(n)) {
          throw new Error(`unknown target "${n}" (targets: ${TARGET_NAMES.join(', ')})`)
        }
        only = [...(only ?? []), n]
      }
    } else {
      throw new Error(`unknown argument "${a}" (usage: [--quick] [--only name[,name]] [--list])`)
    }
  }
  return { quick, only, list }
}
