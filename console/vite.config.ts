/**
 * Vite build of the web console: served by Latchkey at /console/ from dist/console/. Hashed
 * assets only, no inline scripts or styles (the server's CSP is `script-src 'self'; style-src
 * 'self'`), no module-preload polyfill (it would be one more script), JSX through Preact.
 */
import { defineConfig } from 'vite'
import { fileURLToPath } from 'node:url'

const here = fileURLToPath(new URL('.', import.meta.url))

export default defineConfig({
  root: here,
  base: '/console/',
  publicDir: false,
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  build: {
    outDir: fileURLToPath(new URL('../dist/console', import.meta.url)),
    emptyOutDir: true,
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
    sourcemap: false,
    target: 'es2022',
    reportCompressedSize: true,
  },
})
