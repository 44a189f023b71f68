/**
 * Getting the secrets generated at first start (operator password, default master key) to the
 * operator, and only to the operator. stdout is the JSON-lines log stream (pino), which systemd,
 * docker and log shippers store and parse, so a banner there would both break the parsing and
 * put the secrets into the log store. Instead:
 * - stderr is a terminal (someone is watching): the banner goes there;
 * - otherwise (a service): the secrets go to DATA_DIR/first-start-secrets.txt, created 0600 and
 *   fsynced (file and directory) before the caller clears the pending marker, and one log line
 *   says where the file is, never what is in it. The file stays until the operator deletes it;
 *   every later start logs a warning while it is still there.
 * @module
 */
import { closeSync, existsSync, fchmodSync, fsyncSync, openSync, writeSync } from 'node:fs'
import { join } from 'node:path'
import type { Logger } from '../lib/logger.js'

export const FIRST_START_SECRETS_FILE = 'first-start-secrets.txt'

export interface ShowOptions {
  readonly secrets: Readonly<Record<string, string>>
  readonly dataDir: string
  /** process.stderr in production: `isTTY` decides terminal vs file. */
  readonly stderr: { readonly isTTY?: boolean; write(text: string): unknown }
  readonly log: Logger
  readonly now: Date
  /** The server's own URL: the banner says where the web console is and who signs in there. */
  readonly url?: string
}

/** The console's address for a person: a wildcard listener is reached as localhost. */
function consoleUrl(serverUrl: string): string {
  const u = new URL(serverUrl)
  if (u.hostname === '0.0.0.0' || u.hostname === '[::]') u.hostname = 'localhost'
  return `${u.origin}/`
}

/** Where the secrets went; throws when they could not be delivered (the caller keeps them pending). */
export function showFirstStartSecrets(o: ShowOptions): 'terminal' | { readonly file: string } {
  const lines = Object.entries(o.secrets).map(([k, v]) => `${k}: ${v}`)
  if (o.stderr.isTTY === true) {
    const banner = ['Generated at first start (shown once, store them now):']
    for (const l of lines) banner.push(`  ${l}`)
    if (o.url !== undefined && o.secrets['rootPassword'] !== undefined)
      banner.push(
        '',
        `Web console: open ${consoleUrl(o.url)} in a browser and sign in as ` +
          `${o.secrets['rootUser'] ?? 'root'} with the rootPassword above.`,
      )
    o.stderr.write(['', ...banner, '', ''].join('\n'))
    return 'terminal'
  }
  const file = join(o.dataDir, FIRST_START_SECRETS_FILE)
  const text = [
    `# Latchkey: secrets generated at first start (${o.now.toISOString()}).`,
    '# Store them (a password manager, your secret store), then delete this file.',
    ...lines,
    ...(o.url !== undefined && o.secrets['rootPassword'] !== undefined
      ? [`# Web console: ${consoleUrl(o.url)} (sign in as rootUser with rootPassword)`]
      : []),
    '',
  ].join('\n')
  const fd = openSync(file, 'w', 0o600)
  try {
    fchmodSync(fd, 0o600) // the mode of open() applies only when it creates the file
    writeSync(fd, text)
    fsyncSync(fd)
  } finally {
    closeSync(fd)
  }
  fsyncDir(o.dataDir)
  o.log.warn(
    { file },
    `first-start secrets (operator password, default master key) written to ${file} (mode 0600): store them, then delete the file`,
  )
  return { file }
}

/** At a start with nothing new to show: nag while an old secrets file is still lying around. */
export function warnIfSecretsFileLeft(dataDir: string, log: Logger): void {
  const file = join(dataDir, FIRST_START_SECRETS_FILE)
  if (existsSync(file))
    log.warn(
      { file },
      `${file} still holds the secrets generated at first start: store them, then delete the file`,
    )
}

function fsyncDir(dir: string): void {
  let fd: number | undefined
  try {
    fd = openSync(dir, 'r')
    fsyncSync(fd)
  } catch {
    // Some platforms cannot fsync a directory; the file itself is durable.
  } finally {
    if (fd !== undefined) closeSync(fd)
  }
}
