/**
 * The layering rules of the spine (docs: shared/design/spine.md §1.4 and issue 9), checked on the
 * import graph of `src/`: every relative `import`/`export … from`/`import()` of a product file
 * (tests and `*.case.ts` fixtures may import anything), type-only imports included — a layer
 * that knows another's types depends on it. No linter with type information is needed: the rules
 * are about which folder may name which.
 * @module
 */
import { readdirSync, readFileSync } from 'node:fs'
import { dirname, join, normalize, relative } from 'node:path'

/** file (repo-relative, `src/…/x.ts`) → the repo-relative files it imports. */
export type ImportGraph = ReadonlyMap<string, readonly string[]>

const SPEC =
  /(?:^|[\s;])(?:import|export)\s[^'"]*?from\s*['"](\.{1,2}\/[^'"]+)['"]|import\(\s*['"](\.{1,2}\/[^'"]+)['"]\s*\)|^\s*import\s+['"](\.{1,2}\/[^'"]+)['"]/gm

export function isProductFile(file: string): boolean {
  return file.startsWith('src/') && !file.endsWith('.test.ts') && !file.endsWith('.case.ts')
}

export function importsOf(file: string, text: string): string[] {
  const out: string[] = []
  for (const m of text.matchAll(SPEC)) {
    const spec = m[1] ?? m[2] ?? m[3]
    if (spec === undefined) continue
    const target = normalize(join(dirname(file), spec)).replace(/\.js$/, '.ts')
    out.push(target)
  }
  return out
}

export function readGraph(root: string, dir = 'src'): Map<string, string[]> {
  const graph = new Map<string, string[]>()
  const walk = (d: string): void => {
    for (const e of readdirSync(join(root, d), { withFileTypes: true })) {
      const rel = join(d, e.name)
      if (e.isDirectory()) walk(rel)
      else if (rel.endsWith('.ts') && isProductFile(rel))
        graph.set(rel, importsOf(rel, readFileSync(join(root, rel), 'utf8')))
    }
  }
  walk(dir)
  return graph
}

export interface Rule {
  /** Why, in one line: the message names it when broken. */
  readonly why: string
  /** The importing files the rule is about (folder prefixes or exact files). */
  readonly from: readonly string[]
  /** Importers among `from` the rule does not bind. */
  readonly except?: readonly string[]
  /** Forbidden targets… */
  readonly deny?: readonly string[]
  /** …or: only these targets are allowed (prefixes), besides the importer's own folder. */
  readonly only?: readonly string[]
  /** Exceptions among the targets. */
  readonly allow?: readonly string[]
}

const under = (file: string, prefixes: readonly string[]): boolean =>
  prefixes.some((p) => file === p || file.startsWith(p.endsWith('.ts') ? p : `${p}/`))

/** Every broken rule as one line: `importer → target: why`. */
export function violations(graph: ImportGraph, rules: readonly Rule[]): string[] {
  const out: string[] = []
  for (const [file, targets] of graph) {
    for (const rule of rules) {
      if (!under(file, rule.from)) continue
      if (rule.except !== undefined && under(file, rule.except)) continue
      for (const t of targets) {
        if (rule.allow !== undefined && under(t, rule.allow)) continue
        const ownFolder = rule.from.find((p) => under(file, [p]) && under(t, [p])) !== undefined
        const bad =
          (rule.deny !== undefined && under(t, rule.deny)) ||
          (rule.only !== undefined && !ownFolder && !under(t, rule.only))
        if (bad) out.push(`${file} → ${t}: ${rule.why}`)
      }
    }
  }
  return out.sort()
}

/** Every import cycle, each once, as `a → b → … → a` (Tarjan's strongly connected components). */
export function cycles(graph: ImportGraph): string[] {
  let index = 0
  const idx = new Map<string, number>()
  const low = new Map<string, number>()
  const stack: string[] = []
  const on = new Set<string>()
  const out: string[] = []
  const visit = (v: string): void => {
    idx.set(v, index)
    low.set(v, index)
    index++
    stack.push(v)
    on.add(v)
    for (const w of graph.get(v) ?? []) {
      if (!graph.has(w)) continue
      if (!idx.has(w)) {
        visit(w)
        low.set(v, Math.min(low.get(v)!, low.get(w)!))
      } else if (on.has(w)) low.set(v, Math.min(low.get(v)!, idx.get(w)!))
    }
    if (low.get(v) === idx.get(v)) {
      const scc: string[] = []
      let w: string
      do {
        w = stack.pop()!
        on.delete(w)
        scc.push(w)
      } while (w !== v)
      const self = (graph.get(v) ?? []).includes(v)
      if (scc.length > 1 || self) out.push([...scc.reverse(), scc[0]].join(' → '))
    }
  }
  for (const v of graph.keys()) if (!idx.has(v)) visit(v)
  return out
}

export const relativeTo = (root: string, p: string): string => relative(root, p)
