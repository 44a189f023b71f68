/**
 * No object literal in `src/` opens with a spread and then adds members: `{ ...a, b }`,
 * `{ ...a, ...b }`, `{ ...(c ? { x } : {}), y }`. On Node 20 (V8 11.3) every object such a
 * literal builds, once its spread copied a same-shaped source and a member then adds a property,
 * outlives two scavenges: it is promoted to the old generation and collected there later, however
 * briefly it was used. Two of them on the request path (the response headers and the
 * authenticated request) made a 4 KiB GET promote 1,126 bytes per request and cost 21 us of
 * server CPU (53.3 -> 32.6 us per GET in alternating rounds; a PUT 14.5 us, an AssumeRole 8.3 us).
 * A plain script shows it too: 2e7 of `{ ...src, k: i }` promote 1.85 GB and take 10.6 s; the same
 * through `Object.assign({}, src, { k: i })`, or with `k` first, promote nothing and take ~1 s.
 *
 * What to write instead: `Object.assign({}, a, { b })` (or `Object.assign(fresh, …)` when the
 * first object is built right there), or a literal whose first member is not a spread. A lone
 * spread (`{ ...a }`) is fine. Parsed with rolldown's parser (the one Vite builds the console
 * with), so strings, comments and templates never confuse the check.
 * @module
 */
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { parseAst } from 'rolldown/parseAst'
import { describe, expect, it } from 'vitest'

const ROOT = join(import.meta.dirname, '..', '..')

interface Node {
  readonly type: string
  readonly start: number
  readonly properties?: readonly Node[]
}

/** 1-based lines of the object literals in `source` that open with a spread and add members. */
export function spreadFirstLiterals(source: string): number[] {
  const ast = parseAst(source, { lang: 'ts' }) as unknown
  const lines: number[] = []
  const visit = (n: unknown): void => {
    if (n === null || typeof n !== 'object') return
    if (Array.isArray(n)) {
      for (const c of n) visit(c)
      return
    }
    const node = n as Node
    const props = node.properties
    if (
      node.type === 'ObjectExpression' &&
      props !== undefined &&
      props.length > 1 &&
      props[0]?.type === 'SpreadElement'
    )
      lines.push(source.slice(0, node.start).split('\n').length)
    for (const [k, v] of Object.entries(node)) if (k !== 'parent') visit(v)
  }
  visit(ast)
  return lines
}

function productFiles(dir: string): string[] {
  const out: string[] = []
  for (const e of readdirSync(join(ROOT, dir), { withFileTypes: true })) {
    const rel = join(dir, e.name)
    if (e.isDirectory()) out.push(...productFiles(rel))
    else if (rel.endsWith('.ts') && !rel.endsWith('.test.ts') && !rel.endsWith('.case.ts'))
      out.push(rel)
  }
  return out
}

describe('object literals that open with a spread', () => {
  it('are found, whatever follows the spread, and only those', () => {
    const src = [
      'const a = { ...x, b: 1 }', // 1
      'const b = { ...x, ...y }', // 2
      "const c = { ...(k ? { k } : {}), d: '{ ...z, e }' }", // 3
      'const d = { b: 1, ...x }', // fine
      'const e = { ...x }', // fine
      '// { ...x, y } in a comment', // fine
      'const f = `${JSON.stringify({ q: 1, ...x })}`', // fine
      'const g = f({ ...x, [k]: v })', // 8
      'const { ...rest } = x', // a rest pattern, fine
    ].join('\n')
    expect(spreadFirstLiterals(src)).toEqual([1, 2, 3, 8])
  })

  it('REGRESSION spread-first-promotes: none in src/ (each promoted every object it built)', () => {
    const found: string[] = []
    for (const file of productFiles('src'))
      for (const line of spreadFirstLiterals(readFileSync(join(ROOT, file), 'utf8')))
        found.push(`${file}:${String(line)}`)
    expect(found).toEqual([])
  })
})
