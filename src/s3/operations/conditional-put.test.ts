/**
 * Conditional writes are decided by the store in the write's own transaction: of two PutObject
 * requests racing with the same condition, both pass the early check (nothing has committed yet)
 * and upload their bodies, yet exactly one commits; the other gets the answer a lone conditional
 * write gets, and its body is deleted.
 * @module
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { toS3Error } from '../errors.js'
import {
  ACCOUNT,
  blobCount,
  bodyOf,
  bytes,
  header,
  makeEnv,
  run,
  type TestEnv,
} from '../object/fixtures.case.js'
import { getObject } from './get-object.js'
import { putObject } from './put-object.js'

let env: TestEnv
/** Writers held at the store until this many have arrived (0 = no hold). */
let barrier = 0
let held: (() => void)[] = []
beforeEach(async () => {
  env = await makeEnv()
  // Both racers reach the store before either commits (as in one group-commit batch): a check
  // made by reading before the write lets both through; only the store's own decision holds.
  const store = env.meta
  const commit = store.putObject.bind(store)
  store.putObject = async (o, c) => {
    if (barrier > 0) {
      await new Promise<void>((r) => {
        held.push(r)
        if (held.length === barrier) for (const go of held.splice(0)) go()
      })
    }
    return commit(o, c)
  }
})
afterEach(async () => {
  await env.close()
})

const put = (key: string, body: Buffer, headers: Record<string, string>) =>
  run(putObject, env, { method: 'PUT', key, body, headers })

async function race(key: string, headers: Record<string, string>) {
  const a = bytes(5000, 1)
  const b = bytes(5000, 2)
  barrier = 2
  held = []
  const settled = await Promise.allSettled([put(key, a, headers), put(key, b, headers)])
  const won = settled.flatMap((r, i) => (r.status === 'fulfilled' ? [i === 0 ? a : b] : []))
  const lost = settled.flatMap((r) =>
    r.status === 'rejected' ? [toS3Error(r.reason, ACCOUNT).code] : [],
  )
  barrier = 0
  return { won, lost }
}

describe('conditional PutObject under a race', () => {
  it('REGRESSION conditional-put-race: If-None-Match: * — exactly one of two concurrent creators wins', async () => {
    const { won, lost } = await race('new', { 'if-none-match': '*' })
    expect(won).toHaveLength(1)
    expect(lost).toEqual(['PreconditionFailed'])
    expect(await bodyOf(await run(getObject, env, { key: 'new' }))).toEqual(won[0])
    expect(await blobCount(env)).toBe(1) // the loser's uploaded body is gone
  })

  it('REGRESSION conditional-put-race: If-Match: <etag> — exactly one of two concurrent updaters of the same version wins', async () => {
    const first = await put('upd', bytes(10, 9), {})
    const { won, lost } = await race('upd', { 'if-match': header(first, 'etag') ?? '' })
    expect(won).toHaveLength(1)
    expect(lost).toEqual(['PreconditionFailed'])
    expect(await bodyOf(await run(getObject, env, { key: 'upd' }))).toEqual(won[0])
    expect(await blobCount(env)).toBe(1)
  })
})
