/**
 * Target 12 (issue 14's closing note): the cost of the audit trail. A GET made with long-term
 * keys records nothing, so the measured request is a signed 4 KiB GET made with temporary
 * credentials (AssumeRole, a GetObject session policy), against two otherwise identical servers,
 * one with `--audit on` (one audit row per GET, queued and batched into SQLite) and one with
 * `--audit off`, both with the access log off, rounds interleaved. Reported: server CPU µs per
 * GET for each, and the throughput ratio. Informational: no pass/fail target.
 * @module
 */
import type { Pool } from 'undici'
import { sendText } from '../load.js'
import { signRequest, type Credentials } from '../sign.js'
import { ROOT_CREDS, type Settings } from '../env.js'
import type { ResultRow } from '../stats.js'
import { benchOnOffGet } from './on-off-get.js'

const POLICY = JSON.stringify({
  Version: '2012-10-17',
  Statement: [{ Effect: 'Allow', Action: 's3:GetObject', Resource: 'arn:aws:s3:::bench/*' }],
})

function tag(xml: string, name: string): string {
  const m = new RegExp(`<${name}>([^<]*)</${name}>`).exec(xml)
  if (m?.[1] === undefined) throw new Error(`AssumeRole answer lacks <${name}>`)
  return m[1]
}

/** Temporary credentials from `url`'s STS, minted with the root key. */
async function mint(pool: Pool, url: string): Promise<Credentials> {
  const body = new URLSearchParams({
    Action: 'AssumeRole',
    Version: '2011-06-15',
    RoleSessionName: 'bench-audit',
    DurationSeconds: '3600',
    Policy: POLICY,
  }).toString()
  const req = await signRequest({
    origin: url,
    creds: ROOT_CREDS,
    service: 'sts',
    method: 'POST',
    path: '/',
    headers: {
      'content-type': 'application/x-www-form-urlencoded; charset=utf-8',
      'content-length': String(Buffer.byteLength(body)),
    },
    body,
  })
  const { status, text } = await sendText(pool, req)
  if (status !== 200) throw new Error(`AssumeRole → ${String(status)} ${text.slice(0, 300)}`)
  return {
    accessKeyId: tag(text, 'AccessKeyId'),
    secretAccessKey: tag(text, 'SecretAccessKey'),
    sessionToken: tag(text, 'SessionToken'),
  }
}

export function benchAudit(settings: Settings): Promise<ResultRow[]> {
  const base = ['--log-level', 'info', '--access-log', 'off']
  return benchOnOffGet(settings, {
    group: '12 audit',
    label: 'audit',
    name: 'GET 4 KiB with session credentials, audit on vs off (CPU µs/GET each)',
    cost: 'the audit row',
    onArgs: [...base, '--audit', 'on'],
    offArgs: [...base, '--audit', 'off'],
    creds: mint,
  })
}
