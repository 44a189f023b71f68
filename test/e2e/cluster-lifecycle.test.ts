/**
 * Lifecycle on two real nodes sharing one PostgreSQL database (one-second lifecycle days, for
 * testing only): both nodes run the worker, the ledger's election lets one pass run at a time
 * (the passes each node logs never overlap), every due object is expired exactly once (the
 * expired counts of both nodes add up to the number of objects), and one outside the rule stays.
 * Skipped, saying so, when no PostgreSQL is installed.
 * @module
 */
import { afterAll, describe, expect, it } from 'vitest'
import {
  CreateBucketCommand,
  ListObjectsV2Command,
  PutBucketLifecycleConfigurationCommand,
  PutObjectCommand,
} from '@aws-sdk/client-s3'
import { startPostgres, type TestPostgres } from '../support/postgres.js'
import { startCluster, type TestCluster } from '../support/cluster.js'
import type { TestServer } from './harness.js'

const SKIP = 'no PostgreSQL installed (initdb/pg_ctl not found, LATCHKEY_TEST_DATABASE_URL unset)'
const pg: TestPostgres | undefined = await startPostgres()
let cluster: TestCluster | undefined
afterAll(async () => {
  await cluster?.stop()
  await pg?.stop()
})

interface PassLine {
  readonly startedAt: number
  readonly endedAt: number
  readonly expired: number
}

function passes(node: TestServer): PassLine[] {
  const out: PassLine[] = []
  for (const line of node.output) {
    if (!line.includes('"lifecycle pass"')) continue
    const j = JSON.parse(line) as PassLine
    out.push({ startedAt: j.startedAt, endedAt: j.endedAt, expired: j.expired })
  }
  return out
}

describe.skipIf(pg === undefined)(
  `lifecycle on two nodes on one PostgreSQL${pg === undefined ? ` (${SKIP})` : ''}`,
  () => {
    it('one pass at a time across the nodes, each due object expired once', async () => {
      cluster = await startCluster(
        await pg!.createDatabase(),
        2,
        { env: { LATCHKEY_LOG_LEVEL: 'debug' } },
        () => ({ args: ['--lifecycle-day-seconds', '1'] }),
      )
      const [a, b] = cluster.nodes as [TestServer, TestServer]
      const s3 = a.s3()
      await s3.send(new CreateBucketCommand({ Bucket: 'lc-cluster' }))
      const N = 300
      // Objects first, then the rule: the first pass that sees it has all N due at once.
      for (let i = 0; i < N; i += 50)
        await Promise.all(
          Array.from({ length: 50 }, (_, j) =>
            s3.send(
              new PutObjectCommand({
                Bucket: 'lc-cluster',
                Key: `tmp/${String(i + j).padStart(4, '0')}`,
                Body: 'x',
              }),
            ),
          ),
        )
      await s3.send(new PutObjectCommand({ Bucket: 'lc-cluster', Key: 'keep', Body: 'x' }))
      await b.s3().send(
        new PutBucketLifecycleConfigurationCommand({
          Bucket: 'lc-cluster',
          LifecycleConfiguration: {
            Rules: [
              { ID: 'tmp', Status: 'Enabled', Filter: { Prefix: 'tmp/' }, Expiration: { Days: 1 } },
            ],
          },
        }),
      )
      const until = Date.now() + 20_000
      for (;;) {
        const left = await b.s3().send(new ListObjectsV2Command({ Bucket: 'lc-cluster' }))
        const keys = (left.Contents ?? []).map((o) => o.Key)
        if (keys.length === 1) {
          expect(keys).toEqual(['keep'])
          break
        }
        if (Date.now() > until) throw new Error(`${keys.length - 1} objects still there`)
        await new Promise((r) => setTimeout(r, 200))
      }
      // Let both nodes log a few more passes, then compare.
      await new Promise((r) => setTimeout(r, 1500))
      const pa = passes(a)
      const pb = passes(b)
      expect(pa.length + pb.length).toBeGreaterThan(4)
      // Both nodes take part (each leads when the other is idle), never at the same time.
      for (const x of pa)
        for (const y of pb) expect(x.endedAt <= y.startedAt || y.endedAt <= x.startedAt).toBe(true)
      const expired = [...pa, ...pb].reduce((n, p) => n + p.expired, 0)
      expect(expired).toBe(N)
    }, 90_000)
  },
)
