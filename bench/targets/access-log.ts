/**
 * Target 11 (issue 14's closing note): the cost of the access log. The same signed 4 KiB GET
 * against two otherwise identical servers, one logging every request at `info` (`--access-log
 * on`, lines to a pipe as a service manager would read them) and one with `--access-log off`,
 * rounds interleaved (on, off, then off, on…). Reported: server CPU µs per GET for each, and the
 * throughput ratio (median of the per-round ratios). Informational: no pass/fail target.
 * @module
 */
import { ROOT_CREDS, type Settings } from '../env.js'
import type { ResultRow } from '../stats.js'
import { benchOnOffGet } from './on-off-get.js'

export function benchAccessLog(settings: Settings): Promise<ResultRow[]> {
  return benchOnOffGet(settings, {
    group: '11 access-log',
    label: 'access-log',
    name: 'GET 4 KiB, access log on vs off (CPU µs/GET each)',
    cost: 'the access log',
    onArgs: ['--log-level', 'info', '--access-log', 'on'],
    offArgs: ['--log-level', 'info', '--access-log', 'off'],
    creds: async () => ROOT_CREDS,
  })
}
