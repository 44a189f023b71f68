#!/usr/bin/env node
// `npm start`: build the server when src/ is newer than dist/, the web console when console/ is
// newer than dist/console/, then run `latchkey serve` with the server's node flags and any extra
// arguments (`npm start -- --tls-self-signed`).
import { execFileSync, spawn } from 'node:child_process'
import { existsSync, statSync, readdirSync } from 'node:fs'
import { join, dirname } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const main = join(root, 'dist', 'main.js')

function newest(dir) {
  let t = 0
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name)
    t = Math.max(t, e.isDirectory() ? newest(p) : statSync(p).mtimeMs)
  }
  return t
}

if (!existsSync(main) || newest(join(root, 'src')) > statSync(main).mtimeMs) {
  execFileSync(
    process.execPath,
    [
      join(root, 'node_modules', 'typescript', 'bin', 'tsc'),
      '-p',
      join(root, 'tsconfig.build.json'),
    ],
    {
      stdio: 'inherit',
      cwd: root,
    },
  )
}
const consoleIndex = join(root, 'dist', 'console', 'index.html')
const consoleSrc = join(root, 'console')
if (
  existsSync(consoleSrc) &&
  (!existsSync(consoleIndex) || newest(consoleSrc) > statSync(consoleIndex).mtimeMs)
) {
  execFileSync(
    process.execPath,
    [
      join(root, 'node_modules', 'vite', 'bin', 'vite.js'),
      'build',
      '--config',
      join(consoleSrc, 'vite.config.ts'),
    ],
    { stdio: 'inherit', cwd: root },
  )
}
// The server's V8 flags (src/config/node-flags.ts), from the build just checked.
const { SERVER_NODE_FLAGS } = await import(
  pathToFileURL(join(root, 'dist', 'config', 'node-flags.js')).href
)
const child = spawn(
  process.execPath,
  [...SERVER_NODE_FLAGS, main, 'serve', ...process.argv.slice(2)],
  {
    stdio: 'inherit',
    cwd: process.cwd(),
  },
)
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => child.kill(sig))
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)))
