/**
 * `/ready` on a PostgreSQL node (issue 14, item 4): what a load balancer probes. It answers 503
 * with a reason while the database is stopped and 200 again once it is back, while `/health`
 * (the process is alive) stays 200 throughout. A PostgreSQL cluster of this file's own, since
 * the test stops it. And its /metrics names PostgreSQL's transaction times.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { randomBytes } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { startPostgres, type TestPostgres } from '../support/postgres.js'
import { CreateBucketCommand } from '@aws-sdk/client-s3'
import { startServer, type TestServer } from './harness.js'

const SKIP = 'no PostgreSQL cluster of our own (initdb/pg_ctl not found, or a given URL)'
const pgServer: TestPostgres | undefined = await startPostgres()
const canHalt = pgServer?.halt !== undefined
const METRICS_TOKEN = 'pg-metrics-token-0123456789'

async function probe(n: TestServer, path: string): Promise<{ status: number; json: any }> {
  const r = await fetch(`${n.endpoint}${path}`)
  return { status: r.status, json: await r.json() }
}

describe.skipIf(!canHalt)(`/ready follows the database${canHalt ? '' : ` (${SKIP})`}`, () => {
  let node: TestServer
  let blobDir: string

  beforeAll(async () => {
    const url = await pgServer!.createDatabase()
    blobDir = mkdtempSync(join(tmpdir(), 'lk-ready-blobs-'))
    node = await startServer({
      args: ['--database', url, '--blob-store', `file:${blobDir}`],
      env: {
        LATCHKEY_MASTER_KEY: randomBytes(32).toString('base64'),
        LATCHKEY_METRICS_TOKEN: METRICS_TOKEN,
      },
    })
  }, 60_000)

  afterAll(async () => {
    await node?.stop()
    await pgServer?.stop()
    if (blobDir !== undefined) rmSync(blobDir, { recursive: true, force: true })
  })

  it('503 with a reason while PostgreSQL is stopped, 200 when it is back; /health stays 200', async () => {
    expect(await probe(node, '/ready')).toEqual({ status: 200, json: { status: 'ready' } })
    pgServer!.halt!()
    try {
      await vi.waitFor(
        async () => {
          const r = await probe(node, '/ready')
          expect(r.status).toBe(503)
          expect(r.json.status).toBe('not-ready')
          expect(r.json.reason).toMatch(/database|change feed/)
        },
        { timeout: 15_000, interval: 100 },
      )
      expect(await probe(node, '/health')).toEqual({ status: 200, json: { status: 'ok' } })
    } finally {
      pgServer!.resume!()
    }
    await vi.waitFor(
      async () =>
        expect(await probe(node, '/ready')).toEqual({ status: 200, json: { status: 'ready' } }),
      { timeout: 30_000, interval: 100 },
    )
    expect((await probe(node, '/health')).status).toBe(200)
  }, 60_000)

  it('/metrics reports PostgreSQL transaction times', async () => {
    await node.s3().send(new CreateBucketCommand({ Bucket: 'pg-metrics' }))
    const r = await fetch(`${node.endpoint}/metrics`, {
      headers: { authorization: `Bearer ${METRICS_TOKEN}` },
    })
    expect(r.status).toBe(200)
    const m = /^latchkey_storage_commit_seconds_count\{backend="postgres"\} (\d+)$/m.exec(
      await r.text(),
    )
    expect(Number(m?.[1])).toBeGreaterThan(0)
  })
})
