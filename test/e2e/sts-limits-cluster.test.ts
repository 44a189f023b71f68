/**
 * The STS issuance limits hold for a cluster, not per node: two nodes on one PostgreSQL share
 * each parent's token bucket and its held-session count (one row, one UPDATE … RETURNING per
 * issue), and an account's override set through the admin API on one node is what the other
 * node enforces.
 */
import { afterAll, describe, expect, it } from 'vitest'
import { startPostgres, type TestPostgres } from '../support/postgres.js'
import { startCluster, type TestCluster } from '../support/cluster.js'
import { adminLogin } from './admin-client.js'
import { codeOf, RawClient } from '../support/raw-sigv4.js'

const pg: TestPostgres | undefined = await startPostgres()
let cluster: TestCluster | undefined
const clients: RawClient[] = []
afterAll(async () => {
  for (const c of clients) c.close()
  await cluster?.stop()
  await pg?.stop()
})

const messageOf = (xml: string): string => /<Message>([^<]*)<\/Message>/.exec(xml)?.[1] ?? ''

describe.skipIf(pg === undefined)('STS issuance limits across two nodes (PostgreSQL)', () => {
  it('one bucket and one held count per parent for the cluster; an override set on A binds B', async () => {
    cluster = await startCluster(await pg!.createDatabase(), 2, {
      env: { LATCHKEY_STS_ISSUE_RATE: '1', LATCHKEY_STS_ISSUE_BURST: '20' },
    })
    const [a, b] = cluster.nodes as [(typeof cluster.nodes)[0], (typeof cluster.nodes)[0]]
    const root = { accessKeyId: a.accessKeyId, secretAccessKey: a.secretAccessKey }
    const ca = new RawClient(a.endpoint, 16)
    const cb = new RawClient(b.endpoint, 16)
    clients.push(ca, cb)

    // 60 at once, alternating nodes: the burst of 20 is the cluster's, not each node's.
    const first = await Promise.all(
      Array.from({ length: 60 }, (_, i) =>
        (i % 2 === 0 ? ca : cb).assumeRole(root, `c-${String(i)}`).then((r) => ({ i, r })),
      ),
    )
    const won = first.filter((x) => x.r.status === 200)
    expect(won.length).toBeGreaterThanOrEqual(20)
    expect(won.length).toBeLessThanOrEqual(21) // a token may refill during the second it takes
    expect(won.some((x) => x.i % 2 === 0)).toBe(true)
    expect(won.some((x) => x.i % 2 === 1)).toBe(true)
    const refused = first.filter((x) => x.r.status !== 200)
    for (const x of refused) expect([x.r.status, codeOf(x.r.body)]).toEqual([400, 'Throttling'])
    expect(messageOf(refused[0]!.r.body)).toMatch(
      /^Rate exceeded: the STS issuance rate for arn:aws:iam::\d{12}:root is 1 per second \(burst 20\)$/,
    )

    // An override set through node A: 200/s, burst 100, at most 40 sessions held.
    const adminA = await adminLogin(a)
    const put = await adminA.call('PUT', '/api/admin/customers/default/sts-limits', {
      issue_rate: 200,
      issue_burst: 100,
      max_active_sessions: 40,
    })
    expect(put.status).toBe(200)
    expect(put.json).toEqual({
      issue_rate: 200,
      issue_burst: 100,
      max_active_sessions: 40,
      overridden: true,
    })
    const bad = await adminA.call('PUT', '/api/admin/customers/default/sts-limits', {
      issue_burst: 0,
    })
    expect(bad.status).toBe(400)
    // Node B follows (the feed); then the held ceiling binds across both nodes.
    const adminB = await adminLogin(b)
    for (let t = 0; t < 50; t++) {
      const got = await adminB.call('GET', '/api/admin/customers/default/sts-limits')
      if ((got.json as { max_active_sessions: number }).max_active_sessions === 40) break
      await new Promise((r) => setTimeout(r, 100))
    }
    await new Promise((r) => setTimeout(r, 600)) // the bucket refills at 200/s
    const second = await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        (i % 2 === 0 ? cb : ca).assumeRole(root, `d-${String(i)}`),
      ),
    )
    const ok2 = second.filter((r) => r.status === 200).length
    expect(won.length + ok2).toBe(40)
    const over = second.find((r) => r.status !== 200)!
    expect(messageOf(over.body)).toMatch(
      /^Rate exceeded: arn:aws:iam::\d{12}:root holds 40 sessions, the limit \(40\); revoke some or wait for them to expire$/,
    )
  }, 120_000)
})
