/**
 * The standing memory bound on STS, against a real server process: one Writer key floods
 * AssumeRole with ~2 KB session policies, then builds role chains with a ~2 KB policy at every
 * link, as deep as the server allows, over and over. Server RSS (VmRSS of the child process) and
 * the database (the SQLite file, checkpointed by a clean stop) must grow by no more than a bound
 * derived from what one session may cost. Before the fix a chained session stored every
 * ancestor's policies again and chains had no depth limit, so storage grew with the square of the
 * chain length (one key took a server from 111 MB to 1.16 GB RSS and its database to 891 MB).
 */
import { readFileSync, rmSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { AssumeRoleCommand, type STSClient } from '@aws-sdk/client-sts'
import { ListBucketsCommand } from '@aws-sdk/client-s3'
import { startServer, type TestServer } from './harness.js'
import { adminLogin, userWithKey } from './admin-client.js'

/** The documented role-chaining depth limit (iam/service.ts MAX_CHAIN_DEPTH). */
const MAX_DEPTH = 8
const FLAT = 2000
const CHAINS = 100
/** How deep each chain tries to go: far past the limit, so a missing limit shows as growth. */
const PROBE_DEPTH = 24
/** Sessions the server should let the flood make: warm-up, flat, and every chain to the limit. */
const EXPECTED_SESSIONS = 50 + FLAT + CHAINS * MAX_DEPTH
/**
 * What one stored session may cost at most: a ~2 KB policy, the sealed secret, token HMAC, the
 * parent and its liveness checks (up to 8 links), names, and five index entries (measured: about
 * 4.2 KB with SQLite's page overhead). Chained links store only their own policy.
 */
const DB_BYTES_PER_SESSION = 5 * 1024
/**
 * What one cached session may cost in memory: its own compiled policy (about 57 KB for a 2 KB
 * policy of ~80 resource patterns; a chained link shares its ancestors' compiled policies), its
 * row with the policy text, the credential and principal (about 5 KB).
 */
const RSS_BYTES_PER_SESSION = 80 * 1024
/**
 * Constant room: the compiled-policy caches (512 entries each in STS and IAM, up to ~58 MB of
 * these policies), heap headroom and garbage not yet collected; the database's page slack.
 */
const RSS_SLACK = 96 * 1024 * 1024
const DB_SLACK = 4 * 1024 * 1024
const RSS_BOUND = EXPECTED_SESSIONS * RSS_BYTES_PER_SESSION + RSS_SLACK
const DB_BOUND = EXPECTED_SESSIONS * DB_BYTES_PER_SESSION + DB_SLACK

interface Keys {
  readonly accessKeyId: string
  readonly secretAccessKey: string
  readonly sessionToken?: string
}

/** A session policy of about 2,000 characters, unique per tag (so nothing is shared). */
function policyOf(tag: string): string {
  const resources: string[] = []
  let last = ''
  for (let i = 0; ; i++) {
    resources.push(`arn:aws:s3:::flood/${tag}/p${i}/*`)
    const text = JSON.stringify({
      Version: '2012-10-17',
      Statement: [
        { Effect: 'Allow', Action: ['s3:GetObject', 's3:ListBucket'], Resource: resources },
      ],
    })
    if (text.length > 2000) return last
    last = text
  }
}

function rssBytes(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
  if (!m?.[1]) throw new Error('no VmRSS')
  return Number(m[1]) * 1024
}

function dbBytes(dataDir: string): number {
  let n = 0
  for (const f of ['latchkey.db', 'latchkey.db-wal']) {
    try {
      n += statSync(join(dataDir, f)).size
    } catch {
      // absent: nothing to count
    }
  }
  return n
}

/** Run `count` tasks, `width` at a time. */
async function pool(width: number, count: number, task: (i: number) => Promise<void>) {
  let next = 0
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next < count) await task(next++)
    }),
  )
}

async function assume(sts: STSClient, tag: string): Promise<Keys> {
  const out = await sts.send(
    new AssumeRoleCommand({
      RoleArn: 'Required1',
      RoleSessionName: `flood-${tag}`.slice(0, 64),
      Policy: policyOf(tag),
      DurationSeconds: 900,
    }),
  )
  const c = out.Credentials
  if (!c?.AccessKeyId || !c.SecretAccessKey) throw new Error('no credentials')
  return {
    accessKeyId: c.AccessKeyId,
    secretAccessKey: c.SecretAccessKey,
    ...(c.SessionToken ? { sessionToken: c.SessionToken } : {}),
  }
}

const MB = (n: number): string => `${(n / 1024 / 1024).toFixed(1)} MB`

let server: TestServer | undefined
let dataDir: string | undefined
afterAll(async () => {
  await server?.stop()
  if (dataDir !== undefined) rmSync(dataDir, { recursive: true, force: true })
})

describe('STS memory bound', () => {
  it('REGRESSION session-chain-amplification: AssumeRole and role-chaining floods from one key stay under a stated RSS and database bound', async () => {
    const args = ['--max-sessions-per-parent', '100000', '--sts-issue-burst', '100000']
    // Setup, then a clean stop: the database file alone, checkpointed, is the baseline.
    const setup = await startServer({ args, keepDataDir: true })
    dataDir = setup.dataDir
    const admin = await adminLogin(setup)
    const writer = await userWithKey(admin, 'flooder', 'Writer')
    await setup.stop()
    const dbBefore = dbBytes(dataDir)

    server = await startServer({ args, dataDir })
    const pid = server.proc.pid ?? 0
    const sts = server.sts(writer)
    // Warm up (JIT, caches, connections) before the RSS baseline.
    await pool(8, 50, (i) => assume(sts, `warm-${i}`).then(() => undefined))
    const rssBefore = rssBytes(pid)
    const started = Date.now()

    await pool(16, FLAT, (i) => assume(sts, `flat-${i}`).then(() => undefined))

    const refusedAt: number[] = []
    const refusals: string[] = []
    let chained = 0
    await pool(8, CHAINS, async (c) => {
      let keys: Keys = writer
      for (let depth = 1; depth <= PROBE_DEPTH; depth++) {
        try {
          keys = await assume(server!.sts(keys), `c${c}-d${depth}`)
          chained++
        } catch (e) {
          const err = e as { name: string; message: string }
          refusedAt.push(depth)
          refusals.push(`${err.name}: ${err.message}`)
          return
        }
      }
    })
    const seconds = (Date.now() - started) / 1000
    const rssAfter = rssBytes(pid)
    const sessions = 50 + FLAT + chained

    // Chained sessions die with any ancestor: revoke the middle of a chain of four. (A live
    // session is refused ListBuckets by its policy; a dead one is not known at all.)
    const answer = async (k: Keys): Promise<string> => {
      try {
        await server!.s3(k).send(new ListBucketsCommand({}))
        return 'OK'
      } catch (e) {
        return (e as Error).name
      }
    }
    const chain: Keys[] = [writer]
    for (let d = 1; d <= 4; d++) chain.push(await assume(server.sts(chain[d - 1]!), `rev-${d}`))
    expect(await answer(chain[4]!)).toBe('AccessDenied')
    const admin2 = await adminLogin(server)
    const revoked = await admin2.call('DELETE', `/api/admin/sessions/${chain[2]!.accessKeyId}`)
    expect(revoked.status).toBe(204)
    expect(await Promise.all(chain.slice(1).map(answer))).toEqual([
      'AccessDenied',
      'InvalidAccessKeyId',
      'InvalidAccessKeyId',
      'InvalidAccessKeyId',
    ])

    await server.stop()
    const dbAfter = dbBytes(dataDir)
    server = undefined

    console.log(
      `session flood: ${sessions} sessions (${FLAT} flat, ${chained} chained) in ${seconds.toFixed(1)} s; ` +
        `RSS ${MB(rssBefore)} → ${MB(rssAfter)} (+${MB(rssAfter - rssBefore)}, bound ${MB(RSS_BOUND)}); ` +
        `database ${MB(dbBefore)} → ${MB(dbAfter)} (+${MB(dbAfter - dbBefore)}, bound ${MB(DB_BOUND)})`,
    )
    // Every chain stopped one link past the limit, with AWS's AccessDenied naming the limit.
    expect(refusedAt).toEqual(Array.from({ length: CHAINS }, () => MAX_DEPTH + 1))
    for (const r of refusals)
      expect(r).toMatch(
        /^AccessDenied: User: arn:aws:sts::\d{12}:assumed-role\/flooder\/flood-c\d+-d8 is not authorized to perform: sts:AssumeRole because its role chain is already 8 sessions long, the limit \(8\)/,
      )
    expect(sessions).toBe(EXPECTED_SESSIONS)
    expect(rssAfter - rssBefore).toBeLessThan(RSS_BOUND)
    expect(dbAfter - dbBefore).toBeLessThan(DB_BOUND)
  }, 120_000)
})
