/**
 * Pure arithmetic and formatting for the benchmark report: medians over noisy rounds, ratios
 * against a ceiling, PASS/FAIL against a target, and the plain-text table. Kept free of I/O so
 * the verdict logic is unit-tested (a bench that can't fail is worse than none).
 * @module
 */

export function median(xs: readonly number[]): number {
  if (xs.length === 0) return Number.NaN
  const s = [...xs].sort((a, b) => a - b)
  const mid = s.length >> 1
  return s.length % 2 === 1 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2
}

/** How a target compares ours with its ceiling. */
export type Comparison =
  /** ours / ceiling must be ≥ target (throughput: higher is better). */
  | { readonly kind: 'min-ratio'; readonly target: number }
  /** ours / ceiling must be ≤ target (time: lower is better). */
  | { readonly kind: 'max-ratio'; readonly target: number }
  /** Reported only, no verdict. */
  | { readonly kind: 'info' }

export type Verdict = 'PASS' | 'FAIL' | 'INFO' | 'ERROR'

export function verdict(ratio: number, cmp: Comparison): Verdict {
  if (cmp.kind === 'info') return 'INFO'
  if (!Number.isFinite(ratio)) return 'FAIL'
  const met = cmp.kind === 'min-ratio' ? ratio >= cmp.target : ratio <= cmp.target
  return met ? 'PASS' : 'FAIL'
}

export function targetLabel(cmp: Comparison): string {
  switch (cmp.kind) {
    case 'min-ratio':
      return `>= ${fmtNum(cmp.target)}x`
    case 'max-ratio':
      return `<= ${fmtNum(cmp.target)}x`
    case 'info':
      return '-'
  }
}

/** One line of the report. Values are medians over rounds. */
export interface ResultRow {
  readonly group: string
  readonly name: string
  readonly unit: string
  readonly ours: number
  readonly ceiling: number
  readonly ceilingName: string
  readonly comparison: Comparison
  /** Server CPU per operation (µs) for ours, and for the ceiling when measured. */
  readonly cpuUsPerOp?: number
  readonly ceilingCpuUsPerOp?: number
  /** Free-form extra facts (max RSS, rounds, errors). */
  readonly note?: string
  /** Set when the measurement could not be taken. */
  readonly error?: string
  /**
   * Same-server comparisons: the median of the per-round ratios of back-to-back measurements
   * (`pairedRatio`). When set, it is the ratio judged: pairing cancels the machine's drift between
   * rounds, which the ratio of the two medians does not.
   */
  readonly pairedRatio?: number
}

export interface ScoredRow extends ResultRow {
  readonly ratio: number
  readonly verdict: Verdict
}

export function score(row: ResultRow): ScoredRow {
  if (row.error !== undefined) return { ...row, ratio: Number.NaN, verdict: 'ERROR' }
  const ratio = row.pairedRatio ?? row.ours / row.ceiling
  return { ...row, ratio, verdict: verdict(ratio, row.comparison) }
}

/** Median of ours[i] / ceiling[i] over rounds measured back to back (NaN when none pair up). */
export function pairedRatio(ours: readonly number[], ceiling: readonly number[]): number {
  const n = Math.min(ours.length, ceiling.length)
  const ratios: number[] = []
  for (let i = 0; i < n; i++) ratios.push((ours[i] as number) / (ceiling[i] as number))
  return median(ratios)
}

export function fmtNum(x: number | undefined): string {
  if (x === undefined || Number.isNaN(x)) return '-'
  if (!Number.isFinite(x)) return String(x)
  const a = Math.abs(x)
  if (a >= 1000) return Math.round(x).toString()
  if (a >= 100) return x.toFixed(1)
  if (a >= 10) return x.toFixed(2)
  return x.toFixed(3)
}

/** Render rows as a fixed-width table (one header, one line per row, notes indented below). */
export function renderTable(rows: readonly ScoredRow[]): string {
  const head = [
    'target',
    'measurement',
    'ours',
    'ceiling',
    'unit',
    'ratio',
    'goal',
    'result',
    'cpu us/op (ceil)',
  ]
  const lines: string[][] = rows.map((r) => [
    r.group,
    r.name,
    fmtNum(r.ours),
    Number.isNaN(r.ceiling) ? '-' : `${fmtNum(r.ceiling)} ${r.ceilingName}`,
    r.unit,
    fmtNum(r.ratio),
    targetLabel(r.comparison),
    r.verdict,
    `${fmtNum(r.cpuUsPerOp)} (${fmtNum(r.ceilingCpuUsPerOp)})`,
  ])
  const widths = head.map((h, i) => Math.max(h.length, ...lines.map((l) => (l[i] ?? '').length)))
  const fmt = (cells: readonly string[]): string =>
    cells
      .map((c, i) => c.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd()
  const out = [fmt(head), widths.map((w) => '-'.repeat(w)).join('  ')]
  rows.forEach((r, i) => {
    out.push(fmt(lines[i] ?? []))
    if (r.error !== undefined) out.push(`    error: ${r.error}`)
    if (r.note !== undefined) out.push(`    ${r.note}`)
  })
  return out.join('\n')
}

/** The machine-readable summary: one JSON object on one line. */
export function summaryJson(
  rows: readonly ScoredRow[],
  extra: Record<string, unknown> = {},
): string {
  const round = (x: number | undefined): number | null =>
    x === undefined || !Number.isFinite(x) ? null : Math.round(x * 1000) / 1000
  const results = rows.map((r) => ({
    target: r.group,
    name: r.name,
    unit: r.unit,
    ours: round(r.ours),
    ceiling: round(r.ceiling),
    ceiling_name: r.ceilingName,
    ratio: round(r.ratio),
    goal: targetLabel(r.comparison),
    verdict: r.verdict,
    cpu_us_per_op: round(r.cpuUsPerOp),
    ceiling_cpu_us_per_op: round(r.ceilingCpuUsPerOp),
    ...(r.note !== undefined ? { note: r.note } : {}),
    ...(r.error !== undefined ? { error: r.error } : {}),
  }))
  const failed = rows.filter((r) => r.verdict === 'FAIL' || r.verdict === 'ERROR').length
  const passed = rows.filter((r) => r.verdict === 'PASS').length
  return JSON.stringify({ bench: 'latchkey', ...extra, passed, failed, results })
}
