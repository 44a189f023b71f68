/**
 * Session tags and upload caps through the IAM issue path (every issuance path: STS and the admin
 * API's credential builder): validated here, stored inside the row's `parent` JSON, read back
 * after a restart, on the session principal, inherited by chained sessions, and listed with usage.
 */
import { randomBytes } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { openDatabase } from '../backends/sqlite/db.js'
import { makeIam, sessionReq } from './fixtures.case.js'
import { IamError } from './types.js'

const ROOT = {
  rootAccessKey: 'ROOTKEY1',
  rootSecretKey: 'root-secret-1',
  rootPassword: 'pw-1234567',
}

const PAGE = { limit: 1000, offset: 0 }

describe('IAM issue: session tags and upload caps', () => {
  it('refuses a bad cap as invalid (nothing issued); stores tags and caps; they survive a restart', async () => {
    const db = openDatabase(':memory:')
    const masterKey = randomBytes(32)
    const f = await makeIam({ db, masterKey, bootstrap: ROOT })
    const root = (await f.iam.resolve('ROOTKEY1'))!.principal
    const before = (await f.iam.list({}, f.clock.now(), PAGE)).items
    const bad = f.iam.issue(
      sessionReq(root, { tags: { 'latchkey:max-bytes': 'lots' } }),
      f.clock.now(),
    )
    await expect(bad).rejects.toBeInstanceOf(IamError)
    await expect(bad).rejects.toThrow(/latchkey:max-bytes/)
    expect((await f.iam.list({}, f.clock.now(), PAGE)).items).toHaveLength(before.length)

    const s = await f.iam.issue(
      sessionReq(root, {
        tags: { team: 'web', 'latchkey:max-objects': '3', 'latchkey:content-types': 'image/*' },
        transitiveTagKeys: ['team'],
      }),
      f.clock.now(),
    )
    expect(s.principal.tags).toEqual({
      team: 'web',
      'latchkey:max-objects': '3',
      'latchkey:content-types': 'image/*',
    })
    expect(s.principal.caps).toEqual({ maxObjects: 3, contentTypes: ['image/*'] })
    // Inside the parent JSON, no column of its own (read through the store: a long parent JSON is
    // stored once, by reference, in the SQLite store's texts table).
    const row = (await f.stores.store.getSession(s.accessKeyId))!
    expect(JSON.parse(row.parent).tagging.caps).toEqual({
      maxObjects: 3,
      contentTypes: ['image/*'],
    })

    // A chained session inherits team (transitive) and the caps; it tightens max-objects.
    const chained = await f.iam.issue(
      sessionReq(s.principal, { tags: { 'latchkey:max-objects': '10', job: '1' } }),
      f.clock.now(),
    )
    expect(chained.principal.caps).toEqual({ maxObjects: 3, contentTypes: ['image/*'] })
    expect(chained.principal.tags?.['team']).toBe('web')

    // Usage shows in the listing (counted for the chain's first session).
    await f.stores.limits.reserveUsage(s.accessKeyId, { bytes: 70, objects: 1 }, {}, s.expiresAt)
    const listed = (await f.iam.list({}, f.clock.now(), PAGE)).items
    expect(listed.find((x) => x.accessKeyId === chained.accessKeyId)?.caps).toEqual({
      maxObjects: 3,
      contentTypes: ['image/*'],
      bytesUsed: 70,
      objectsUsed: 1,
    })

    // A restart over the same database reads the tagging back from the row.
    const again = await makeIam({ db, masterKey, bootstrap: ROOT })
    const cred = await again.iam.resolve(chained.accessKeyId)
    const p = cred?.principal
    expect(p?.kind === 'session' ? p.caps : undefined).toEqual({
      maxObjects: 3,
      contentTypes: ['image/*'],
    })
    expect(p?.kind === 'session' ? p.tags?.['job'] : undefined).toBe('1')
  })
})
