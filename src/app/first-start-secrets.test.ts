/**
 * Delivery of the first-start secrets: the terminal when stderr is one, else a 0600 file in the
 * data dir plus one log line naming it (never its content).
 */
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { Logger } from '../lib/logger.js'
import { silentLogger } from '../lib/logger.js'
import {
  FIRST_START_SECRETS_FILE,
  showFirstStartSecrets,
  warnIfSecretsFileLeft,
} from './first-start-secrets.js'

const SECRETS = {
  rootUser: 'root',
  rootPassword: 'Pw0123456789abcdefghijkl',
  masterAccessKeyId: 'S4AK0123456789abcdefghij',
  masterSecretKey: 'Sk0123456789abcdefghijklmnopqrstuvwxyzAB',
}

function capture(): { log: Logger; lines: { obj: object; msg: string }[] } {
  const lines: { obj: object; msg: string }[] = []
  const push = (obj: object, msg?: string): void => void lines.push({ obj, msg: msg ?? '' })
  const log: Logger = { ...silentLogger, info: push, warn: push, error: push, child: () => log }
  return { log, lines }
}

let dir: string
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'latchkey-fss-'))
})
afterEach(() => rmSync(dir, { recursive: true, force: true }))

describe('showFirstStartSecrets', () => {
  it('writes the banner to stderr when it is a terminal, and no file', () => {
    let written = ''
    const { log, lines } = capture()
    const r = showFirstStartSecrets({
      secrets: SECRETS,
      dataDir: dir,
      stderr: { isTTY: true, write: (t) => (written += t) },
      log,
      now: new Date(0),
      url: 'http://0.0.0.0:9000',
    })
    expect(r).toBe('terminal')
    expect(written).toContain('Web console: open http://localhost:9000/ in a browser')
    expect(written).toContain(`rootPassword: ${SECRETS.rootPassword}`)
    expect(written).toContain(`masterSecretKey: ${SECRETS.masterSecretKey}`)
    expect(lines).toEqual([])
    expect(() => statSync(join(dir, FIRST_START_SECRETS_FILE))).toThrow()
  })

  it('without a terminal writes a 0600 file (even over an older, looser one) and logs where, not what', () => {
    const file = join(dir, FIRST_START_SECRETS_FILE)
    writeFileSync(file, 'old')
    chmodSync(file, 0o644)
    let written = ''
    const { log, lines } = capture()
    const r = showFirstStartSecrets({
      secrets: SECRETS,
      dataDir: dir,
      stderr: { isTTY: false, write: (t) => (written += t) },
      log,
      now: new Date(0),
    })
    expect(r).toEqual({ file })
    expect(written).toBe('')
    expect(statSync(file).mode & 0o777).toBe(0o600)
    const text = readFileSync(file, 'utf8')
    for (const [k, v] of Object.entries(SECRETS)) expect(text).toContain(`${k}: ${v}`)
    expect(text.includes('old')).toBe(false)
    expect(lines).toHaveLength(1)
    const logged = JSON.stringify(lines)
    expect(logged).toContain(file)
    for (const v of Object.values(SECRETS).slice(1)) expect(logged.includes(v)).toBe(false)
  })

  it('throws when the file cannot be written (the caller keeps the secrets pending)', () => {
    expect(() =>
      showFirstStartSecrets({
        secrets: SECRETS,
        dataDir: join(dir, 'missing'),
        stderr: { write: () => true },
        log: silentLogger,
        now: new Date(0),
      }),
    ).toThrow()
  })
})

describe('warnIfSecretsFileLeft', () => {
  it('warns while the file is there, silent once deleted', () => {
    const { log, lines } = capture()
    warnIfSecretsFileLeft(dir, log)
    expect(lines).toHaveLength(0)
    writeFileSync(join(dir, FIRST_START_SECRETS_FILE), 'x')
    warnIfSecretsFileLeft(dir, log)
    expect(lines).toHaveLength(1)
    expect(lines[0]?.msg).toMatch(/still holds the secrets/)
  })
})
