/**
 * The change feed is the only way IAM's caches learn of identity changes: a change made directly
 * through the IdentityStore port, behind the service's back (another node, an offline tool), is
 * seen by the service on the next request once the feed has applied it, exactly like one made
 * through the service; a second service sharing the store sees the first one's changes; and
 * updates are compare-and-set, so a change made behind the service's back is never overwritten
 * by a stale copy. Run over the memory stores and the SQLite ones.
 */
import { describe, expect, it } from 'vitest'
import { openDatabase } from '../backends/sqlite/db.js'
import { makeIam, sessionReq, type Fixture } from './fixtures.case.js'
import { StorageError } from '../storage/errors.js'
import type { MemoryIssueLimits } from '../backends/memory/shared-limits.js'

const BACKENDS = [
  ['memory', () => undefined],
  ['sqlite', () => openDatabase(':memory:')],
] as const

describe.each(BACKENDS)('identity changes behind the service (%s)', (_name, db) => {
  async function setup() {
    const f = await makeIam({ db: db() })
    const def = f.iam.byName('default')!
    const now = f.clock.now()
    const alice = await f.iam.createUser(
      { accountId: def.id, username: 'alice', password: 'alice-pass-1', role: 'Writer' },
      now,
    )
    const key = await f.iam.generateKey(alice.id, now)
    const cred = (await f.iam.resolve(key.accessKeyId))!
    const session = await f.iam.issue(sessionReq(cred.principal), now)
    return { ...f, def, alice, key, session, now }
  }
  /** Wait until the service's caches applied every change published so far. */
  const applied = (f: Fixture) => f.stores.changes.applied(f.stores.changes.head(), 1000)

  it('a key revoked through the store: resolve() refuses the key and its sessions', async () => {
    const f = await setup()
    expect(await f.iam.resolve(f.session.accessKeyId)).toBeDefined()
    await f.stores.store.replaceAccessKey(f.alice.id, undefined)
    expect(await applied(f)).toBe(true)
    expect(await f.iam.resolve(f.key.accessKeyId)).toBeUndefined()
    expect(await f.iam.resolve(f.session.accessKeyId)).toBeUndefined()
    expect(f.iam.getUser(f.alice.id)?.accessKeyId).toBeUndefined()
  })

  it('a user deactivated through the store: key, sessions and password login refused', async () => {
    const f = await setup()
    const row = (await f.stores.store.getUser(f.alice.id))!
    await f.stores.store.updateUser({ ...row, isActive: false }, row.version)
    await f.stores.store.revokeUserSessions(f.alice.id)
    expect(await applied(f)).toBe(true)
    expect(await f.iam.resolve(f.key.accessKeyId)).toBeUndefined()
    expect(await f.iam.resolve(f.session.accessKeyId)).toBeUndefined()
    await expect(
      f.iam.authenticatePassword(
        { username: 'alice', password: 'alice-pass-1', address: '10.0.0.1' },
        f.now,
      ),
    ).rejects.toMatchObject({ code: 'unauthorized' })
  })

  it('a master key reset through the store: the old secret and the sessions it made die', async () => {
    const f = await setup()
    const akid = f.generated.masterAccessKeyId!
    const root = (await f.iam.resolve(akid))!
    const rootSession = await f.iam.issue(sessionReq(root.principal), f.now)
    const a = (await f.stores.store.getAccount(f.def.id))!
    await f.stores.store.resetMasterSecret({ ...a, secretVersion: a.secretVersion + 1 }, a.version)
    expect(await applied(f)).toBe(true)
    expect((await f.iam.resolve(akid))?.secretVersion).toBe(`m${a.secretVersion + 1}`)
    expect(await f.iam.resolve(rootSession.accessKeyId)).toBeUndefined()
    // The user's session did not come from the master key.
    expect(await f.iam.resolve(f.session.accessKeyId)).toBeDefined()
  })

  it('a session revoked through the store is dead, and the sweep that deletes it frees its count', async () => {
    const f = await setup()
    const slots = () =>
      (f.stores.limits as unknown as MemoryIssueLimits).activeSessions(`user:${f.alice.id}`)
    expect(slots()).toBe(1)
    expect(await f.stores.store.revokeSession(f.session.accessKeyId)).toBe(true)
    expect(await applied(f)).toBe(true)
    expect(await f.iam.resolve(f.session.accessKeyId)).toBeUndefined()
    expect(await f.iam.getSession(f.session.accessKeyId, f.now)).toBeUndefined()
    expect(slots()).toBe(1)
    expect(await f.iam.sweepExpiredSessions(f.now)).toBe(1)
    expect(slots()).toBe(0)
  })

  it('a second service sharing the store sees the first one’s revocations and edits', async () => {
    const f = await setup()
    const node2 = await makeIam({ stores: f.stores, masterKey: f.masterKey })
    expect((await node2.iam.resolve(f.key.accessKeyId))?.secretKey).toBe(f.key.secretKey)
    expect(await node2.iam.resolve(f.session.accessKeyId)).toBeDefined()
    await f.iam.revoke(f.session.accessKeyId)
    await f.iam.updateUser(f.alice.id, { role: 'Reader' })
    expect(await node2.iam.resolve(f.session.accessKeyId)).toBeUndefined()
    expect(node2.iam.getUser(f.alice.id)?.role).toBe('Reader')
    await f.iam.revokeKey(f.alice.id)
    expect(await node2.iam.resolve(f.key.accessKeyId)).toBeUndefined()
    node2.iam.close()
  })

  it('updates are compare-and-set: a stale write fails, a service edit keeps a change made behind it', async () => {
    const f = await setup()
    const row = (await f.stores.store.getUser(f.alice.id))!
    await f.stores.store.updateUser({ ...row, email: 'behind@example.com' }, row.version)
    const stale = await f.stores.store
      .updateUser({ ...row, role: 'Reader' }, row.version)
      .catch((e: unknown) => e)
    expect(stale).toBeInstanceOf(StorageError)
    expect((stale as StorageError).kind).toBe('precondition')
    // The service reads the current row before patching it, so the email survives its edit.
    const v = await f.iam.updateUser(f.alice.id, { role: 'SuperUser' })
    expect(v).toMatchObject({ role: 'SuperUser', email: 'behind@example.com' })
  })

  it('two services editing one user concurrently lose neither edit (CAS retries the patch)', async () => {
    const f = await setup()
    const node2 = await makeIam({ stores: f.stores, masterKey: f.masterKey })
    await Promise.all([
      f.iam.updateUser(f.alice.id, { email: 'one@example.com' }),
      node2.iam.updateUser(f.alice.id, { isActive: false }),
      f.iam.updateUser(f.alice.id, { firstname: 'Alice' }),
      node2.iam.updateUser(f.alice.id, { role: 'Reader' }),
    ])
    for (const iam of [f.iam, node2.iam])
      expect(iam.getUser(f.alice.id)).toMatchObject({
        email: 'one@example.com',
        firstname: 'Alice',
        isActive: false,
        role: 'Reader',
      })
    expect(await f.iam.resolve(f.key.accessKeyId)).toBeUndefined()
    node2.iam.close()
  })

  it('without the feed nothing changes; a reload (what resync does) catches up', async () => {
    const f = await setup()
    // A service that missed a change (here: one made while it did not listen) is stale until a
    // resync reloads it: the caches have no other way to learn.
    f.iam.close()
    await f.stores.store.replaceAccessKey(f.alice.id, undefined)
    expect(await f.iam.resolve(f.key.accessKeyId)).toBeDefined() // stale: it did not listen
    await f.iam.directory.load()
    expect(await f.iam.resolve(f.key.accessKeyId)).toBeUndefined()
  })
})
