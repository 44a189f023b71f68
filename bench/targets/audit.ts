/**
 * Target 12 (issue 14's closing note): the cost of the audit trail. A GET made with long-term
 * keys records nothing, so the measured request is a signed 4 KiB GET made with temporary
 * credentials (AssumeRole, a GetObject session policy), against two otherwise identical servers,
 * one with `--audit on` (one audit row per GET, queued and batched into SQLite) and one with
 * `--audit off`, both with the access log off, rounds interleaved. Reported: server CPU µs per
 * GET for each, and the throughput ratio. Informational: no pass/fail target. Then the read side:
 * the admin API's audit queries on a trail of a million events against ten thousand
 * (audit-query.ts).
 * @module
 */
import type { Settings } from '../env.js'
import type { ResultRow } from '../stats.js'
import { benchAuditQuery } from './audit-query.js'
import { benchOnOffGet } from './on-off-get.js'
import { mintSession } from './sts.js'

const POLICY = JSON.stringify({
  Version: '2012-10-17',
  Statement: [{ Effect: 'Allow', Action: 's3:GetObject', Resource: 'arn:aws:s3:::bench/*' }],
})

export async function benchAudit(settings: Settings): Promise<ResultRow[]> {
  const base = ['--log-level', 'info', '--access-log', 'off']
  const write = await benchOnOffGet(settings, {
    group: '12 audit',
    label: 'audit',
    name: 'GET 4 KiB with session credentials, audit on vs off (CPU µs/GET each)',
    cost: 'the audit row',
    onArgs: [...base, '--audit', 'on'],
    offArgs: [...base, '--audit', 'off'],
    creds: (pool, url) => mintSession(pool, url, POLICY, 3600),
  })
  return [...write, ...(await benchAuditQuery(settings))]
}
