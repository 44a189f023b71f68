/**
 * The session cache: sessions are loaded on first use into a bounded LRU (decrypted secret,
 * compiled policy layers, the token's HMAC), and each entry's liveness is re-checked against the
 * directory on every use (parent user active with the same key, master secret version, parent
 * session not revoked).
 *
 * Why revocations arrive through the feed: the store revokes rows ('session-revoked', and
 * 'sessions-revoked' by user or origin key for the bulk revocations it makes atomically with a
 * key replacement, a deletion or a deactivation), and this cache marks its entries dead when the
 * feed says so, whoever revoked them (the issuance counters drop when the sweep deletes the
 * rows). A resync drops every entry (they reload from the store, which holds the revocations).
 * Role chaining: a chained row names the session whose layers precede its own; in memory a link
 * shares its parent's compiled layers.
 *
 * Why a bounded cache is enough for a million sessions: the store holds every session; this LRU
 * holds at most --session-cache-entries of them (about 1 KB each, measured), and a miss reads one
 * row by primary key. A revocation is refused on the next request on every node either way: a
 * cached entry is marked by the feed, and an evicted one is read again, revoked or gone.
 * @module
 */
import { assumedRoleArn, parentArn, type ParentRef } from '../auth/principal.js'
import { openSessionSecret } from '../crypto/session-secret.js'
import { Lru } from '../lib/lru.js'
import { parsePolicy, type CompiledPolicy } from '../policy/document.js'
import type { Change, ChangeFeed } from '../storage/change-feed.js'
import type { SessionRow } from '../storage/identity-store.js'
import { aadSession, type IamContext } from './common.js'
import type { Directory } from './directory.js'
import type {
  Layers,
  LivenessCheck,
  SessionPrincipal,
  SessionSource,
  StoredParent,
  StoredTagging,
} from './model.js'
import { decodeStoredLayers, policyLayers } from './session-layers.js'
import type { PrincipalPolicies, ResolvedCredential } from './types.js'

/**
 * What a cached session keeps of its row: the fields requests, liveness, revocation and the
 * admin listing read. Not the policies JSON (compiled into `layers`), the parent JSON (parsed
 * into `parent`, `checks`, `tagging`), the sealed secret or the token HMAC's hex: kept, they were
 * about 1.5 KB of strings per session that every request path ignored, and each survived two
 * scavenges before promotion (the GC share of an AssumeRole). The fields the principal already
 * has are getters over it, not copies (about 100 bytes less per session).
 */
export class SessionFacts {
  /** The session's principal (cred.principal): the fields below that it has are read from it. */
  private readonly p: SessionPrincipal
  readonly quotaKey: string
  readonly userId: string | undefined
  readonly originKeyId: string | undefined
  /** What made it (the admin listing's `source`), read from the row once. */
  readonly source: SessionSource

  constructor(p: SessionPrincipal, row: SessionRow, source: SessionSource) {
    this.p = p
    this.quotaKey = row.quotaKey
    this.userId = row.userId
    this.originKeyId = row.originKeyId
    this.source = source
  }

  get accessKeyId(): string {
    return this.p.accessKeyId
  }
  get accountId(): string {
    return this.p.accountId
  }
  get sessionName(): string {
    return this.p.sessionName
  }
  get issuedAt(): number {
    return this.p.issuedAt
  }
  get expiresAt(): number {
    return this.p.expiresAt
  }
}

export interface SessionEntry {
  readonly row: SessionFacts
  readonly parent: ParentRef
  readonly checks: readonly LivenessCheck[]
  /** The token's HMAC, hex (a string: a Buffer of its own costs about 220 bytes, this 80). */
  readonly tokenHmac?: string
  /**
   * The token bytes last proven against tokenHmac: a client sends the same token on every request,
   * so a constant-time compare with these replaces the HMAC on the hot path.
   */
  verifiedToken?: Buffer
  /** Session policy layers, oldest ancestor first; the session's rights are parent ∩ every layer. */
  readonly layers: Layers
  /** Every layer's policies in one list (explicit Denies, listings); never decide with it alone. */
  readonly flat: readonly CompiledPolicy[]
  /** Session tags and upload caps (StoredParent.tagging). */
  readonly tagging?: StoredTagging
  /** policiesFor's last answer, reused while the parent's identity policies are the same. */
  policies?: PrincipalPolicies
  readonly cred: ResolvedCredential
  revoked: boolean
}

function compileSessionPolicy(text: string, index: number): CompiledPolicy {
  return parsePolicy(text, {
    kind: 'session',
    name: index === 0 ? 'session-policy' : `session-policy-${index}`,
    source: 'session',
    releasable: true,
  })
}

/**
 * A session credential's `session` facts, which also lead back to the cache entry the credential
 * came from (`SessionCache.of`). A field, not a WeakMap: a WeakMap entry cost ~0.6 µs per issuance
 * to add, and every cached session's entry was one more ephemeron for each full GC to trace.
 */
class SessionLink {
  readonly expiresAt: number
  readonly requiresToken: boolean
  entry: SessionEntry | undefined

  constructor(expiresAt: number, requiresToken: boolean) {
    this.expiresAt = expiresAt
    this.requiresToken = requiresToken
    this.entry = undefined
  }
}

export class SessionCache {
  readonly lru: Lru<string, SessionEntry>
  /** Session policies recompiled from stored text, by position and text (sessions share them). */
  private readonly compiled = new Lru<string, CompiledPolicy>(512)

  private readonly ctx: IamContext
  private readonly dir: Directory

  constructor(ctx: IamContext, size: number) {
    this.ctx = ctx
    this.dir = ctx.dir
    this.lru = new Lru(size)
  }

  /** Apply the feed's session revocations from now on; returns unsubscribe. */
  follow(changes: ChangeFeed): () => void {
    return changes.subscribe({
      change: (c) => this.apply(c),
      resync: () => {
        for (const k of [...this.lru.keys()]) this.lru.delete(k)
      },
    })
  }

  private apply(c: Change): void {
    if (c.kind === 'session-revoked') {
      const e = this.lru.get(c.accessKeyId)
      if (e) e.revoked = true
      return
    }
    if (c.kind !== 'sessions-revoked') return
    const match =
      c.by === 'user'
        ? (r: SessionFacts) => r.userId === c.id
        : c.by === 'origin-key'
          ? (r: SessionFacts) => r.originKeyId === c.id
          : (r: SessionFacts) => r.accountId === c.id
    for (const e of this.lru.values()) if (match(e.row)) e.revoked = true
  }

  /** The entry a resolved credential came from (checkSessionToken). */
  of(cred: ResolvedCredential): SessionEntry | undefined {
    const link = cred.session
    return link instanceof SessionLink ? link.entry : undefined
  }

  /** The cached entry, or one loaded from the store (and cached). */
  async entry(accessKeyId: string): Promise<SessionEntry | undefined> {
    const hit = this.lru.get(accessKeyId)
    if (hit) return hit
    const row = await this.ctx.store.getSession(accessKeyId)
    if (!row) return undefined
    const e = await this.fromRow(row)
    if (e) this.lru.set(accessKeyId, e)
    return e
  }

  private compileStored(text: string, index: number): CompiledPolicy {
    const key = `${String(index)}\u0000${text}`
    let p = this.compiled.get(key)
    if (p === undefined) {
      p = compileSessionPolicy(text, index)
      this.compiled.set(key, p)
    }
    return p
  }

  /**
   * A cache entry from a stored row (decrypts the secret, recompiles its own layers). A chained
   * row's inherited layers are its parent session's, loaded first (at most MAX_CHAIN_DEPTH links)
   * and shared, not copied; when the parent is gone the session is refused (never widened).
   */
  async fromRow(row: SessionRow): Promise<SessionEntry | undefined> {
    const { ctx } = this
    if (!ctx.dir.account(row.accountId)) return undefined
    let stored: StoredParent
    let secret: string
    let own: Layers
    let after: string | undefined
    try {
      stored = JSON.parse(row.parent) as StoredParent
      const decoded = decodeStoredLayers(row.policies)
      after = decoded.after
      own =
        decoded.layers.length === 1
          ? policyLayers((decoded.layers[0] as string[]).map((t, i) => this.compileStored(t, i)))
          : decoded.layers.map((texts) => texts.map((t, i) => this.compileStored(t, i)))
      secret = openSessionSecret(
        { seal: ctx.sealKey, derive: ctx.sessionSecretKey },
        row.secret,
        aadSession(row.accessKeyId),
      )
    } catch (err) {
      ctx.log.error(
        { accessKeyId: row.accessKeyId, err: (err as Error).message },
        'unreadable session; refusing it',
      )
      return undefined
    }
    let layers = own
    if (after !== undefined) {
      const from = after
      // A reference may only name an ancestor the session's liveness already depends on.
      const isAncestor = stored.checks.some((c) => c.kind === 'session' && c.accessKeyId === from)
      const p = isAncestor ? await this.entry(from) : undefined
      if (!p) {
        ctx.log.warn(
          { accessKeyId: row.accessKeyId, parent: from },
          'chained session whose parent session is gone; refusing it',
        )
        return undefined
      }
      layers = own.length > 0 ? [...p.layers, ...own] : p.layers
    }
    return this.make(row, stored, layers, secret)
  }

  /** An entry from values in hand (issue builds the new session's without unsealing anything). */
  make(
    row: SessionRow,
    stored: StoredParent,
    layers: Layers,
    secret: string,
  ): SessionEntry | undefined {
    const account = this.ctx.dir.account(row.accountId)
    if (!account) return undefined
    const principal: SessionPrincipal = {
      kind: 'session',
      accountId: row.accountId,
      accountName: account.row.name,
      accessKeyId: row.accessKeyId,
      sessionName: row.sessionName,
      parent: stored.parent,
      expiresAt: row.expiresAt,
      roleName: row.roleName,
      roleId: row.roleId,
      issuedAt: row.issuedAt,
      ...(stored.asParent === true ? { asParent: true as const } : {}),
      ...viaOf(stored.checks),
      ...(stored.tagging !== undefined ? { tags: stored.tagging.tags } : {}),
      ...(stored.tagging?.caps !== undefined ? { caps: stored.tagging.caps } : {}),
      arn:
        stored.asParent === true
          ? parentArn(stored.parent)
          : assumedRoleArn(row.accountId, row.roleName, row.sessionName),
    }
    const link = new SessionLink(row.expiresAt, row.tokenHmac !== undefined)
    const cred: ResolvedCredential = {
      accessKeyId: row.accessKeyId,
      secretKey: secret,
      secretVersion: 's1',
      principal,
      session: link,
    }
    const facts = new SessionFacts(principal, row, stored.source ?? derivedSource(row))
    const e: SessionEntry = {
      row: facts,
      parent: stored.parent,
      checks: stored.checks,
      ...(row.tokenHmac !== undefined ? { tokenHmac: row.tokenHmac } : {}),
      ...(stored.tagging !== undefined ? { tagging: stored.tagging } : {}),
      layers,
      flat: layers.length === 1 ? (layers[0] as readonly CompiledPolicy[]) : layers.flat(),
      cred,
      revoked: row.revoked,
    }
    link.entry = e
    return e
  }

  /**
   * `alive` without awaiting: the answer when every check can be made from memory, undefined when
   * a parent session of a role chain has to be loaded first.
   */
  aliveFromMemory(e: SessionEntry, sessionsChecked = false): boolean | undefined {
    return this.checksHold(e.row.accountId, e.checks, sessionsChecked)
  }

  private checksHold(
    accountId: string,
    checks: readonly LivenessCheck[],
    sessionsChecked: boolean,
  ): boolean | undefined {
    const dir = this.dir
    if (!dir.account(accountId)) return false
    for (const c of checks) {
      switch (c.kind) {
        case 'root': {
          const a = dir.account(c.accountId)
          if (!a || a.row.secretVersion !== c.version) return false
          break
        }
        case 'user': {
          const u = dir.user(c.userId)
          if (!u || !u.row.isActive) return false
          if (c.accessKeyId !== undefined && u.key?.row.accessKeyId !== c.accessKeyId) return false
          if (c.role !== undefined && u.row.role !== c.role) return false
          break
        }
        case 'session': {
          if (sessionsChecked) break
          const p = this.lru.get(c.accessKeyId)
          if (p === undefined) return undefined
          if (p.revoked) return false
          break
        }
      }
    }
    return true
  }

  /** Whether the session may still be used: every parent it depends on is still as it was. */
  async alive(e: SessionEntry): Promise<boolean> {
    const live = this.aliveFromMemory(e)
    if (live !== undefined) return live
    for (const c of e.checks) {
      if (c.kind !== 'session') continue
      const p = await this.entry(c.accessKeyId)
      if (!p || p.revoked) return false
    }
    return this.aliveFromMemory(e, true) === true
  }

  /**
   * Whether a stored session not in the cache is alive, from its row alone (the admin listing):
   * nothing is unsealed or compiled and nothing is cached, so a page of a million sessions costs
   * a page of JSON parses. An unreadable row is not alive.
   */
  async rowAlive(row: SessionRow): Promise<StoredParent | undefined> {
    let stored: StoredParent
    try {
      stored = JSON.parse(row.parent) as StoredParent
    } catch {
      return undefined
    }
    const live = this.checksHold(row.accountId, stored.checks, false)
    if (live !== undefined) return live ? stored : undefined
    for (const c of stored.checks) {
      if (c.kind !== 'session') continue
      const p = await this.entry(c.accessKeyId)
      if (!p || p.revoked) return undefined
    }
    return this.checksHold(row.accountId, stored.checks, true) === true ? stored : undefined
  }

  /**
   * A session found dead by its liveness checks: mark it (derived from the directory, the same
   * answer every node computes) and revoke its row for good (the sweep then deletes it).
   */
  async kill(e: SessionEntry): Promise<void> {
    e.revoked = true
    try {
      await this.ctx.store.revokeSession(e.row.accessKeyId)
    } catch (err) {
      this.ctx.log.warn(
        { accessKeyId: e.row.accessKeyId, err: (err as Error).message },
        'could not persist session death',
      )
    }
  }
}

/**
 * The source of a row stored before sources were kept, derived from the row: a token means
 * AssumeRole, the root role an RSAssumeCustomerRole, anything else an RSLogin.
 */
export function derivedSource(row: SessionRow): SessionSource {
  if (row.tokenHmac !== undefined) return 'AssumeRole'
  return row.roleName === 'root' ? 'RSAssumeCustomerRole' : 'RSLogin'
}

/** The chained sessions between a session and its parent, oldest first (none: no field). */
function viaOf(checks: readonly LivenessCheck[]): { via?: readonly string[] } {
  const via: string[] = []
  for (const c of checks) if (c.kind === 'session') via.push(c.accessKeyId)
  return via.length > 0 ? { via } : {}
}
