import { readdirSync, readFileSync } from 'node:fs'
import { dirname, join, relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'

const SRC = resolve(dirname(fileURLToPath(import.meta.url)), '..')

function sources(dir: string): string[] {
  const out: string[] = []
  for (const e of readdirSync(join(SRC, dir), { withFileTypes: true })) {
    const rel = join(dir, e.name)
    if (e.isDirectory()) out.push(...sources(rel))
    else if (e.name.endsWith('.ts') && !e.name.endsWith('.test.ts') && !e.name.endsWith('.case.ts'))
      out.push(rel)
  }
  return out
}

/** The src/ folders a file imports (relative imports only). */
function importedFolders(file: string): string[] {
  const text = readFileSync(join(SRC, file), 'utf8')
  const out: string[] = []
  for (const m of text.matchAll(/from '(\.{1,2}\/[^']+)'/g)) {
    const target = relative(SRC, resolve(dirname(join(SRC, file)), m[1] as string))
    out.push(target.split('/')[0] as string)
  }
  return out
}

// Auth speaks its own errors and owns its ports: no surface's wire language (s3/, sts/), no
// identity domain (iam/). checksum.ts is leaving auth/ for s3/integrity/ on another branch.
describe('layering', () => {
  it('src/auth imports no surface and not the identity domain', () => {
    const bad: string[] = []
    for (const f of sources('auth'))
      if (!f.endsWith('checksum.ts'))
        for (const folder of importedFolders(f))
          if (['s3', 'sts', 'iam', 'admin', 'app', 'backends', 'storage'].includes(folder))
            bad.push(`${f} → ${folder}/`)
    expect(bad).toEqual([])
  })

  it('src/sts imports nothing of S3', () => {
    const bad = sources('sts').filter((f) => importedFolders(f).includes('s3'))
    expect(bad).toEqual([])
  })
})
