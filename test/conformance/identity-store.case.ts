/**
 * The IdentityStore contract, run against every implementation (memory and SQLite here; a
 * PostgreSQL store only has to pass it too): rows round-trip, uniqueness is a conflict, updates
 * are compare-and-set on row versions, multi-row changes (delete a user, replace a key, reset a
 * master secret) revoke the sessions they must, and every write that changes cached state
 * publishes the change on the feed the store was opened with, after the write is visible.
 */
import { describe, expect, it } from 'vitest'
import type { Change, ChangeFeed } from '../../src/storage/change-feed.js'
import { StorageError } from '../../src/storage/errors.js'
import type {
  AccountRow,
  IdentityStore,
  SessionRow,
  UserRow,
} from '../../src/storage/identity-store.js'

export interface IdentityStoreHarness {
  readonly store: IdentityStore
  /** The feed the store publishes on. */
  readonly changes: ChangeFeed
  close(): Promise<void>
}

const account = (id: string, over: Partial<AccountRow> = {}): AccountRow => ({
  id,
  name: `acct-${id}`,
  type: 'customer',
  createdAt: 1000,
  allowlist: [],
  masterAccessKeyId: `S4AK${id}`,
  masterSecret: 'sealed-master',
  secretVersion: 1,
  version: 0,
  ...over,
})

const user = (id: string, accountId: string, over: Partial<UserRow> = {}): UserRow => ({
  id,
  accountId,
  username: `user-${id}`,
  passwordHash: 'hash',
  role: 'Writer',
  isActive: true,
  createdAt: 2000,
  version: 0,
  ...over,
})

const session = (id: string, over: Partial<SessionRow> = {}): SessionRow => ({
  accessKeyId: id,
  accountId: '111111111111',
  quotaKey: 'user:u1',
  userId: 'u1',
  originKeyId: 'S4AKkey1',
  parent: '{}',
  secret: 'sealed-session',
  tokenHmac: 'ab',
  sessionName: 's',
  policies: '[]',
  roleName: 'r',
  roleId: 'AROA',
  issuedAt: 10,
  expiresAt: 5000,
  revoked: false,
  ...over,
})

async function storageError(p: Promise<unknown>): Promise<StorageError> {
  try {
    await p
  } catch (e) {
    if (e instanceof StorageError) return e
    throw e
  }
  throw new Error('expected a StorageError')
}

export function identityStoreConformance(
  name: string,
  open: () => Promise<IdentityStoreHarness>,
): void {
  describe(`IdentityStore conformance: ${name}`, () => {
    /** Run `fn` with a store, recording every published change and what getUser saw then. */
    async function withStore(
      fn: (s: IdentityStore, seen: Change[]) => Promise<void>,
    ): Promise<void> {
      const h = await open()
      const seen: Change[] = []
      h.changes.subscribe({ change: (c) => void seen.push(c), resync() {} })
      try {
        await fn(h.store, seen)
      } finally {
        await h.close()
      }
    }

    it('accounts: insert, read, conflict on a duplicate name or master key, CAS updates', async () => {
      await withStore(async (s, seen) => {
        await s.insertAccount(account('111111111111', { version: 7 }))
        expect(await s.getAccount('111111111111')).toEqual(account('111111111111'))
        expect(seen).toEqual([{ kind: 'account', id: '111111111111' }])
        const dupName = account('222222222222', { name: 'acct-111111111111' })
        expect((await storageError(s.insertAccount(dupName))).kind).toBe('conflict')
        const dupKey = account('222222222222', { masterAccessKeyId: 'S4AK111111111111' })
        expect((await storageError(s.insertAccount(dupKey))).kind).toBe('conflict')

        const a = (await s.getAccount('111111111111'))!
        await s.updateAccount({ ...a, allowlist: ['10.0.0.0/8'] }, a.version)
        const b = (await s.getAccount('111111111111'))!
        expect(b.allowlist).toEqual(['10.0.0.0/8'])
        expect(b.version).toBe(a.version + 1)
        // A writer that read the old version loses: nothing changes.
        const stale = await storageError(s.updateAccount({ ...a, allowlist: [] }, a.version))
        expect(stale.kind).toBe('precondition')
        expect((await s.getAccount('111111111111'))!.allowlist).toEqual(['10.0.0.0/8'])
        const gone = await storageError(s.updateAccount(account('999999999999'), 0))
        expect(gone.kind).toBe('not-found')
        expect((await s.loadAll()).accounts.map((r) => r.id)).toEqual(['111111111111'])
      })
    })

    it('master secret reset: CAS, revokes the old master key sessions, publishes both', async () => {
      await withStore(async (s, seen) => {
        const a = account('111111111111')
        await s.insertAccount(a)
        await s.insertSession(session('ASIAROOT', { originKeyId: a.masterAccessKeyId }))
        await s.insertSession(session('ASIAOTHER', { originKeyId: 'S4AKelse' }))
        seen.length = 0
        await s.resetMasterSecret({ ...a, masterSecret: 'sealed-2', secretVersion: 2 }, 0)
        expect((await s.getSession('ASIAROOT'))!.revoked).toBe(true)
        expect((await s.getSession('ASIAOTHER'))!.revoked).toBe(false)
        expect(await s.getAccount(a.id)).toMatchObject({ secretVersion: 2, version: 1 })
        expect(seen).toEqual([
          { kind: 'account', id: a.id },
          { kind: 'sessions-revoked', by: 'origin-key', id: a.masterAccessKeyId },
        ])
        const stale = await storageError(s.resetMasterSecret({ ...a, secretVersion: 3 }, 0))
        expect(stale.kind).toBe('precondition')
        expect((await s.getAccount(a.id))!.secretVersion).toBe(2)
      })
    })

    it('users: insert, case-insensitive uniqueness, CAS update, touch, delete', async () => {
      await withStore(async (s, seen) => {
        await s.insertAccount(account('111111111111'))
        await s.insertUser(user('u1', '111111111111', { username: 'Alice', email: 'a@b.c' }))
        const dup = user('u2', '111111111111', { username: 'alice' })
        expect((await storageError(s.insertUser(dup))).kind).toBe('conflict')
        const u = (await s.getUser('u1'))!
        expect(u).toEqual(user('u1', '111111111111', { username: 'Alice', email: 'a@b.c' }))

        await s.touchUser('u1', 9999)
        const touched = (await s.getUser('u1'))!
        expect(touched.lastAccess).toBe(9999)
        expect(touched.version).toBe(u.version) // a login never conflicts with an edit

        const { email: _e, ...noEmail } = u
        void _e
        await s.updateUser({ ...noEmail, isActive: false }, u.version)
        const v = (await s.getUser('u1'))!
        expect(v).toMatchObject({ isActive: false, version: u.version + 1, lastAccess: 9999 })
        expect(v.email).toBeUndefined()
        const stale = await storageError(s.updateUser({ ...u, role: 'Reader' }, u.version))
        expect(stale.kind).toBe('precondition')
        expect((await s.getUser('u1'))!.role).toBe('Writer')

        await s.insertSession(session('ASIAU1', { userId: 'u1' }))
        seen.length = 0
        await s.deleteUser('u1')
        expect(await s.getUser('u1')).toBeUndefined()
        expect((await s.getSession('ASIAU1'))!.revoked).toBe(true)
        expect(seen).toEqual([
          { kind: 'user', id: 'u1' },
          { kind: 'sessions-revoked', by: 'user', id: 'u1' },
        ])
        expect((await storageError(s.deleteUser('u1'))).kind).toBe('not-found')
        expect((await storageError(s.updateUser(v, v.version))).kind).toBe('not-found')
      })
    })

    it('access keys: replace revokes the previous key sessions; none removes the key', async () => {
      await withStore(async (s, seen) => {
        await s.insertAccount(account('111111111111'))
        await s.insertUser(user('u1', '111111111111'))
        const k1 = { accessKeyId: 'S4AKkey1', userId: 'u1', secret: 'sealed-k1', createdAt: 3 }
        await s.replaceAccessKey('u1', k1)
        expect(await s.getAccessKey('u1')).toEqual(k1)
        await s.insertSession(session('ASIAK1', { originKeyId: 'S4AKkey1' }))
        seen.length = 0
        const k2 = { ...k1, accessKeyId: 'S4AKkey2', secret: 'sealed-k2' }
        await s.replaceAccessKey('u1', k2)
        expect(await s.getAccessKey('u1')).toEqual(k2)
        expect((await s.getSession('ASIAK1'))!.revoked).toBe(true)
        expect(seen).toEqual([
          { kind: 'user', id: 'u1' },
          { kind: 'sessions-revoked', by: 'origin-key', id: 'S4AKkey1' },
        ])
        expect((await s.loadAll()).keys).toEqual([k2])
        await s.replaceAccessKey('u1', undefined)
        expect(await s.getAccessKey('u1')).toBeUndefined()
      })
    })

    it('access keys: last used moves forward only, unknown keys ignored, no feed event', async () => {
      await withStore(async (s, seen) => {
        await s.insertAccount(account('111111111111'))
        await s.insertUser(user('u1', '111111111111'))
        const k1 = { accessKeyId: 'S4AKused1', userId: 'u1', secret: 'sealed-k1', createdAt: 3 }
        await s.replaceAccessKey('u1', k1)
        expect(await s.accessKeysLastUsed()).toEqual(new Map())
        seen.length = 0
        await s.touchAccessKeys(
          new Map([
            ['S4AKused1', 5000],
            ['S4AKnone', 7000],
          ]),
        )
        expect(await s.accessKeysLastUsed()).toEqual(new Map([['S4AKused1', 5000]]))
        await s.touchAccessKeys(new Map([['S4AKused1', 4000]]))
        expect(await s.accessKeysLastUsed()).toEqual(new Map([['S4AKused1', 5000]]))
        await s.touchAccessKeys(new Map([['S4AKused1', 6000]]))
        expect(await s.accessKeysLastUsed()).toEqual(new Map([['S4AKused1', 6000]]))
        expect(seen).toEqual([])
        expect(await s.getAccessKey('u1')).toEqual(k1)
        // A new key starts never used.
        await s.replaceAccessKey('u1', { ...k1, accessKeyId: 'S4AKused2' })
        expect(await s.accessKeysLastUsed()).toEqual(new Map())
      })
    })

    it('sessions: insert, get, revoke, count, list, deleteExpired', async () => {
      await withStore(async (s, seen) => {
        await s.insertSession(session('ASIAA', { issuedAt: 2 }))
        await s.insertSession(session('ASIAB', { issuedAt: 1, accountId: '222222222222' }))
        await s.insertSession(session('ASIAC', { expiresAt: 100, userId: 'u9' }))
        expect((await storageError(s.insertSession(session('ASIAA')))).kind).toBe('conflict')
        expect(await s.getSession('ASIAA')).toEqual(session('ASIAA', { issuedAt: 2 }))
        expect(seen).toEqual([]) // nothing caches a session that did not exist
        expect(await s.countActiveSessions('user:u1', 50)).toBe(3)
        expect(await s.countActiveSessions('user:u1', 100)).toBe(2)
        const all = await s.listActiveSessions({}, 50)
        expect(all.map((r) => r.accessKeyId)).toEqual(['ASIAB', 'ASIAA', 'ASIAC'])
        const acct = await s.listActiveSessions({ accountId: '222222222222' }, 50)
        expect(acct.map((r) => r.accessKeyId)).toEqual(['ASIAB'])
        const byUser = await s.listActiveSessions({ userId: 'u9' }, 50)
        expect(byUser.map((r) => r.accessKeyId)).toEqual(['ASIAC'])

        expect(await s.revokeSession('ASIAA')).toBe(true)
        expect(await s.revokeSession('ASIANONE')).toBe(false)
        expect(seen).toEqual([{ kind: 'session-revoked', accessKeyId: 'ASIAA' }])
        expect((await s.getSession('ASIAA'))!.revoked).toBe(true)
        expect(await s.countActiveSessions('user:u1', 50)).toBe(2)

        expect(await s.revokeUserSessions('u9')).toBe(1)
        expect(seen.at(-1)).toEqual({ kind: 'sessions-revoked', by: 'user', id: 'u9' })
        expect(await s.deleteExpiredSessions(101)).toBe(1)
        expect(await s.getSession('ASIAC')).toBeUndefined()
        expect(await s.getSession('ASIAA')).toBeDefined()
      })
    })

    it('operator and pending first-start secrets', async () => {
      await withStore(async (s, seen) => {
        expect(await s.getOperator()).toBeUndefined()
        await s.putOperator({ username: 'root', passwordHash: 'h1' })
        await s.putOperator({ username: 'admin', passwordHash: 'h2' })
        expect(await s.getOperator()).toEqual({ username: 'admin', passwordHash: 'h2' })
        expect((await s.loadAll()).operator).toEqual({ username: 'admin', passwordHash: 'h2' })
        expect(seen).toEqual([{ kind: 'operator' }, { kind: 'operator' }])

        await s.putPendingSecrets([
          { name: 'rootPassword', secret: 'x' },
          { name: 'masterSecretKey', secret: 'y' },
        ])
        await s.putPendingSecrets([{ name: 'rootPassword', secret: 'z' }])
        expect(await s.listPendingSecrets()).toEqual([
          { name: 'masterSecretKey', secret: 'y' },
          { name: 'rootPassword', secret: 'z' },
        ])
        await s.deletePendingSecrets(['rootPassword'])
        expect((await s.listPendingSecrets()).map((r) => r.name)).toEqual(['masterSecretKey'])
        await s.deletePendingSecrets()
        expect(await s.listPendingSecrets()).toEqual([])
      })
    })

    it('a change is published after the write is visible to a reader', async () => {
      const h = await open()
      try {
        const read: (UserRow | undefined)[] = []
        h.changes.subscribe({
          change: async (c) => {
            if (c.kind === 'user') read.push(await h.store.getUser(c.id))
          },
          resync() {},
        })
        await h.store.insertAccount(account('111111111111'))
        await h.store.insertUser(user('u1', '111111111111'))
        const u = (await h.store.getUser('u1'))!
        await h.store.updateUser({ ...u, role: 'Reader' }, u.version)
        expect(await h.changes.applied(h.changes.head(), 1000)).toBe(true)
        expect(read.map((r) => r?.role)).toEqual(['Writer', 'Reader'])
      } finally {
        await h.close()
      }
    })
  })
}
