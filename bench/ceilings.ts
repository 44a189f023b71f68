/**
 * `node dist/bench/ceilings.js <kind> <port> [dir | busy µs]`: runs one ceiling server in its own
 * process (so it gets its own CPU, like ours) and prints the same `listening` JSON line as
 * `latchkey serve`. SIGTERM stops it.
 * @module
 */
import { CEILING_KINDS, isCeilingKind, startCeiling } from './ceiling-servers.js'

async function main(argv: readonly string[]): Promise<void> {
  const [kind, portArg, extra] = argv
  const port = Number(portArg ?? '0')
  if (
    kind === undefined ||
    !isCeilingKind(kind) ||
    !Number.isInteger(port) ||
    port < 0 ||
    port > 65535
  ) {
    process.stderr.write(`usage: ceilings.js <${CEILING_KINDS.join('|')}> <port> [dir | busy µs]\n`)
    process.exit(2)
  }
  const busy = kind === 'get4k-busy' ? Number(extra ?? '0') : undefined
  if (busy !== undefined && !(busy >= 0 && busy <= 100_000)) {
    process.stderr.write('ceilings.js: get4k-busy needs microseconds (0..100000)\n')
    process.exit(2)
  }
  const { server, url } = await startCeiling({
    kind,
    port,
    ...(busy !== undefined ? { busyUs: busy } : extra !== undefined ? { dir: extra } : {}),
  })
  process.stdout.write(JSON.stringify({ level: 'info', msg: 'listening', url, kind }) + '\n')
  const stop = (): void => {
    server.close(() => process.exit(0))
    server.closeAllConnections()
  }
  process.on('SIGTERM', stop)
  process.on('SIGINT', stop)
}

main(process.argv.slice(2)).catch((e: unknown) => {
  process.stderr.write(`ceilings: ${e instanceof Error ? e.message : String(e)}\n`)
  process.exit(1)
})
