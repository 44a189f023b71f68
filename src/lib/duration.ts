/**
 * Durations as the contract writes them: plain seconds or `15m`, `12h`, `90d` (also `30s`).
 * @module
 */
const UNITS: Readonly<Record<string, number>> = { s: 1, m: 60, h: 3600, d: 86400 }

/** Seconds, or undefined when the text is not a positive whole duration. */
export function parseDuration(text: string): number | undefined {
  const m = /^(\d{1,10})([smhd]?)$/.exec(text.trim())
  if (m === null) return undefined
  const n = Number(m[1])
  const unit = UNITS[m[2] === '' || m[2] === undefined ? 's' : m[2]]
  if (unit === undefined) return undefined
  const s = n * unit
  return Number.isSafeInteger(s) && s > 0 ? s : undefined
}

const NAMES: readonly (readonly [number, string])[] = [
  [86400, 'day'],
  [3600, 'hour'],
  [60, 'minute'],
  [1, 'second'],
]

/** Seconds in words for messages: the largest unit that divides exactly (`7 days`, `90 minutes`). */
export function describeDuration(seconds: number): string {
  for (const [unit, name] of NAMES) {
    if (seconds % unit !== 0) continue
    const n = seconds / unit
    return `${n} ${name}${n === 1 ? '' : 's'}`
  }
  return `${seconds} seconds`
}
