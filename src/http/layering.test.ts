/**
 * The wire layer sits at the bottom: src/http imports only src/lib (and node or packages), and
 * src/lib imports nothing of src/ but itself. A surface import here would let S3, STS or admin
 * rules leak into code every surface shares.
 */
import { readdirSync, readFileSync } from 'node:fs'
import { dirname, join, relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'

const SRC = resolve(dirname(fileURLToPath(import.meta.url)), '..')

/** Relative imports (static, re-exports and dynamic) of every non-test .ts file in `dir`. */
function importsOf(dir: string): { file: string; target: string }[] {
  const out: { file: string; target: string }[] = []
  for (const name of readdirSync(join(SRC, dir), { recursive: true }) as string[]) {
    if (!name.endsWith('.ts') || name.endsWith('.test.ts')) continue
    const file = join(SRC, dir, name)
    const text = readFileSync(file, 'utf8')
    for (const m of text.matchAll(/(?:from|import)\s*\(?\s*'(\.{1,2}\/[^']+)'/g)) {
      const spec = m[1] as string
      out.push({
        file: relative(SRC, file),
        target: relative(SRC, resolve(dirname(file), spec)),
      })
    }
  }
  return out
}

describe('layering of the bottom floors', () => {
  it('src/http imports only src/http and src/lib', () => {
    const bad = importsOf('http').filter(
      (i) => !i.target.startsWith('http/') && !i.target.startsWith('lib/'),
    )
    expect(bad).toEqual([])
  })
  it('src/lib imports only src/lib', () => {
    expect(importsOf('lib').filter((i) => !i.target.startsWith('lib/'))).toEqual([])
  })
  it('the check reads the imports (it is not vacuous)', () => {
    const http = importsOf('http')
    expect(http.some((i) => i.target === 'lib/clock.js')).toBe(true)
  })
})
