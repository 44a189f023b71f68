/**
 * Sessions: issue (STS), revoke, list, look up and sweep temporary credentials.
 *
 * Why issuing is shaped like this: it is on a hot path (scripts mint a session per job). The
 * per-parent bound is a slot reserved in SharedLimits before the row is written (synchronously on
 * one node, so concurrent issues cannot both see room for one); the row insert rides the store's
 * group commit (durable before the answer); and the new session's cache entry is built from the
 * values in hand (no unseal). Session tokens are random; only an HMAC under a key derived from the
 * master key is stored. A session records the liveness checks it depends on (session-cache.ts),
 * and role chaining keeps each ancestor's session policies as a separate layer, stored by
 * reference and at most MAX_CHAIN_DEPTH deep, so what one key can make the server hold stays
 * linear in the number of sessions it may have. Session tags and upload caps are checked here, on
 * every issuance path (session-tags.ts), and kept in the row's `parent` JSON (StoredParent.tagging).
 * @module
 */
import { principalArn, type ParentRef } from '../auth/principal.js'
import { hmacSha256 } from '../crypto/hash.js'
import { seal } from '../crypto/seal.js'
import { RandomPool } from '../lib/random-pool.js'
import type { SessionRow } from '../storage/identity-store.js'
import type { SessionSlot } from '../storage/shared-limits.js'
import type { UsageDelta } from '../storage/session-usage.js'
import {
  aadSession,
  EXPIRED_SESSION_GRACE_MS,
  invalid,
  MAX_CHAIN_DEPTH,
  SESSION_KEY_RE,
  settle,
  TOKEN_PREFIX,
  type IamContext,
} from './common.js'
import type {
  AccountState,
  KnownPrincipal,
  Layers,
  LivenessCheck,
  SessionPrincipal,
  StoredParent,
  StoredTagging,
} from './model.js'
import { sessionTagging } from './session-tags.js'
import type { SessionCache, SessionEntry } from './session-cache.js'
import { encodeChainedLayers, encodeLayers } from './session-layers.js'
import { IamError, type IssuedSession, type SessionInfo, type SessionRequest } from './types.js'

/**
 * The upload-cap counter a session counts into: the first session of its role chain (the S3
 * writers use the same key, s3/object/upload-caps.ts).
 */
function usageKey(e: SessionEntry): string {
  for (const c of e.checks) if (c.kind === 'session') return c.accessKeyId
  return e.row.accessKeyId
}

/** Who pays for, and what bounds, a session the caller asks for. */
interface IssuerContext {
  parent: ParentRef
  checks: LivenessCheck[]
  quotaKey: string
  userId?: string
  originKeyId?: string
  layers: Layers
  /** Role chaining: the calling session, whose layers `layers` are. */
  layersFrom?: string
  maxExpiresAt: number
  /** Role chaining: the calling session's tags and caps (iam/session-tags.ts). */
  tagging?: StoredTagging
}

/**
 * How many sessions long a session's chain is (1 = made from a long-term key or a login): each
 * chained link adds its parent session to the checks it inherits.
 */
function chainDepth(checks: readonly LivenessCheck[]): number {
  let n = 1
  for (const c of checks) if (c.kind === 'session') n++
  return n
}

export class Sessions {
  private readonly random = new RandomPool()

  private readonly ctx: IamContext
  private readonly cache: SessionCache
  private readonly maxPerParent: number

  constructor(ctx: IamContext, cache: SessionCache, maxPerParent: number) {
    this.ctx = ctx
    this.cache = cache
    this.maxPerParent = maxPerParent
  }

  async issue(req: SessionRequest, now: number): Promise<IssuedSession> {
    const { ctx, cache } = this
    if (!Number.isInteger(req.durationSeconds) || req.durationSeconds <= 0) {
      throw invalid('DurationSeconds must be a positive integer')
    }
    if (req.sessionName === '') throw invalid('RoleSessionName must not be empty')
    const origin = await this.issuerContext(req.caller, now)
    // Tags and caps are checked before a slot is taken (a bad tag changes nothing).
    const tagging = sessionTagging(req.tags ?? {}, req.transitiveTagKeys ?? [], origin.tagging)
    let accountId = req.caller.accountId
    let parent = origin.parent
    const checks = [...origin.checks]
    if (req.actAs) {
      const target = ctx.dir.account(req.actAs.accountId)
      if (!target) throw new IamError('not-found', `No such customer: ${req.actAs.accountId}`)
      accountId = target.row.id
      if (req.actAs.kind === 'account-root') {
        checks.push(...this.actAsRootChecks(req.caller, target))
        parent = {
          kind: 'account-root',
          accountId: target.row.id,
          accessKeyId: target.row.masterAccessKeyId,
        }
      } else {
        const u = ctx.dir.user(req.actAs.userId)
        if (!u || u.row.accountId !== target.row.id)
          throw new IamError('not-found', `No such user: ${req.actAs.userId}`)
        parent = req.actAs
        checks.push({ kind: 'user', userId: u.row.id })
      }
    }
    let accessKeyId = 'ASIA' + ctx.ids.upperAlnum(16)
    while (ctx.dir.keyRef(accessKeyId) || cache.lru.get(accessKeyId)) {
      accessKeyId = 'ASIA' + ctx.ids.upperAlnum(16)
    }
    const expiresAt = Math.min(now + req.durationSeconds * 1000, origin.maxExpiresAt)
    const slot: SessionSlot = {
      slotId: accessKeyId,
      quotaKey: origin.quotaKey,
      expiresAt,
      ...(origin.userId !== undefined ? { userId: origin.userId } : {}),
      ...(origin.originKeyId !== undefined ? { originKeyId: origin.originKeyId } : {}),
    }
    const reserved = ctx.limits.reserveSlot(slot, this.maxPerParent, now)
    if (!(typeof reserved === 'boolean' ? reserved : await reserved)) {
      throw new IamError(
        'throttled',
        `Too many active sessions (limit ${this.maxPerParent}); revoke some or wait`,
        60,
      )
    }
    let e: SessionEntry | undefined
    let secretAccessKey: string
    let sessionToken: string
    try {
      secretAccessKey = ctx.ids.alnum(40)
      sessionToken = req.withToken ? TOKEN_PREFIX + this.random.base64url(32) : ''
      // Role chaining: the new policies become one more layer, intersected with the inherited
      // ones. In memory the inherited layers are the parent's own objects; the row stores only
      // the new layer and names the parent session (session-layers.ts).
      const own: Layers = req.policies.length > 0 ? [req.policies] : []
      const layers: Layers = own.length > 0 ? [...origin.layers, ...own] : origin.layers
      const stored: StoredParent = {
        parent,
        checks,
        ...(req.asCaller === true ? { asParent: true as const } : {}),
        ...(tagging !== undefined ? { tagging } : {}),
      }
      const row: SessionRow = {
        accessKeyId,
        accountId,
        quotaKey: origin.quotaKey,
        ...(origin.userId !== undefined ? { userId: origin.userId } : {}),
        ...(origin.originKeyId !== undefined ? { originKeyId: origin.originKeyId } : {}),
        parent: JSON.stringify(stored),
        secret: seal(ctx.sealKey, secretAccessKey, aadSession(accessKeyId)),
        ...(req.withToken
          ? { tokenHmac: hmacSha256(ctx.tokenKey, sessionToken).toString('hex') }
          : {}),
        sessionName: req.sessionName,
        policies:
          origin.layersFrom !== undefined && origin.layers.length > 0
            ? encodeChainedLayers(origin.layersFrom, own)
            : encodeLayers(own),
        roleName: req.roleName,
        roleId: req.roleId,
        issuedAt: now,
        expiresAt,
        revoked: false,
      }
      e = cache.make(row, stored, layers, secretAccessKey)
      if (!e) throw new Error('session could not be cached')
      await ctx.store.insertSession(row)
    } catch (err) {
      await ctx.limits.releaseSlot(accessKeyId)
      throw err
    }
    // A new session: no cache can hold a stale copy, so the entry built in hand goes in as is.
    cache.lru.set(accessKeyId, e)
    return {
      accessKeyId,
      secretAccessKey,
      sessionToken,
      expiresAt,
      principal: e.cred.principal as SessionPrincipal,
    }
  }

  /**
   * RSAssumeCustomerRole: what a session acting as a customer's root depends on beyond its
   * caller's own chain. It dies with the customer's master key (a reset ends every session acting
   * as that root, not only those the key itself minted) and with the right to act that minted it:
   * a user caller must keep the role it had (SuperUser: a demotion kills the session; updateUser
   * also revokes it for good, so a promotion back does not revive it). The minting key or user
   * dying is already covered by the caller's checks.
   */
  private actAsRootChecks(caller: KnownPrincipal, target: AccountState): LivenessCheck[] {
    const { dir } = this.ctx
    const own = dir.account(caller.accountId)
    const mayAct =
      caller.kind === 'account-root' || (caller.kind === 'user' && caller.role === 'SuperUser')
    if (!mayAct || own?.row.type !== 'reseller' || target.row.resellerId !== own.row.id)
      throw new IamError('forbidden', 'Only a reseller account may act for its customers')
    const checks: LivenessCheck[] = [
      { kind: 'root', accountId: target.row.id, version: target.row.secretVersion },
    ]
    if (caller.kind === 'user') {
      const u = dir.user(caller.userId)
      if (!u || u.row.role !== 'SuperUser') throw new IamError('unauthorized', 'Unknown caller')
      checks.push({ kind: 'user', userId: u.row.id, role: u.row.role })
    }
    return checks
  }

  /** Who pays for, and what bounds, a session the caller asks for. */
  async issuerContext(caller: KnownPrincipal, now: number): Promise<IssuerContext> {
    const { dir } = this.ctx
    switch (caller.kind) {
      case 'account-root': {
        const a = dir.account(caller.accountId)
        if (!a || a.row.masterAccessKeyId !== caller.accessKeyId)
          throw new IamError('unauthorized', 'Unknown caller')
        return {
          parent: {
            kind: 'account-root',
            accountId: a.row.id,
            accessKeyId: a.row.masterAccessKeyId,
          },
          checks: [{ kind: 'root', accountId: a.row.id, version: a.row.secretVersion }],
          quotaKey: `root:${a.row.id}`,
          originKeyId: a.row.masterAccessKeyId,
          layers: [],
          maxExpiresAt: Number.POSITIVE_INFINITY,
        }
      }
      case 'user': {
        const u = dir.user(caller.userId)
        if (!u || !u.row.isActive) throw new IamError('unauthorized', 'Unknown caller')
        const viaKey = caller.accessKeyId !== ''
        if (viaKey && u.key?.row.accessKeyId !== caller.accessKeyId)
          throw new IamError('unauthorized', 'Unknown caller')
        return {
          parent: {
            kind: 'user',
            accountId: u.row.accountId,
            userId: u.row.id,
            username: u.row.username,
            ...(viaKey ? { accessKeyId: caller.accessKeyId } : {}),
          },
          checks: [
            {
              kind: 'user',
              userId: u.row.id,
              ...(viaKey ? { accessKeyId: caller.accessKeyId } : {}),
            },
          ],
          quotaKey: `user:${u.row.id}`,
          userId: u.row.id,
          ...(viaKey ? { originKeyId: caller.accessKeyId } : {}),
          layers: [],
          maxExpiresAt: Number.POSITIVE_INFINITY,
        }
      }
      case 'session': {
        const e = await this.cache.entry(caller.accessKeyId)
        if (!e || e.revoked || !(await this.cache.alive(e)) || now >= e.row.expiresAt) {
          throw new IamError('unauthorized', 'Unknown or expired caller session')
        }
        const depth = chainDepth(e.checks)
        if (depth >= MAX_CHAIN_DEPTH) {
          throw new IamError(
            'forbidden',
            `User: ${principalArn(caller)} is not authorized to perform: sts:AssumeRole because its role chain is already ${depth} sessions long, the limit (${MAX_CHAIN_DEPTH}); assume from a session nearer the long-term key`,
          )
        }
        // Role chaining: the new session inherits every restriction and cannot outlive this one.
        return {
          parent: e.parent,
          checks: [...e.checks, { kind: 'session', accessKeyId: e.row.accessKeyId }],
          quotaKey: e.row.quotaKey,
          ...(e.row.userId !== undefined ? { userId: e.row.userId } : {}),
          ...(e.row.originKeyId !== undefined ? { originKeyId: e.row.originKeyId } : {}),
          layers: e.layers,
          layersFrom: e.row.accessKeyId,
          maxExpiresAt: e.row.expiresAt,
          ...(e.tagging !== undefined ? { tagging: e.tagging } : {}),
        }
      }
    }
  }

  /** Revoke one session; it is refused everywhere when this returns. False when unknown. */
  async revoke(accessKeyId: string): Promise<boolean> {
    const ok = await this.ctx.store.revokeSession(accessKeyId)
    await settle(this.ctx)
    return ok
  }

  private info(e: SessionEntry, usage?: ReadonlyMap<string, UsageDelta>): SessionInfo {
    const caps = e.tagging?.caps
    const used = caps !== undefined ? usage?.get(usageKey(e)) : undefined
    return {
      accessKeyId: e.row.accessKeyId,
      accountId: e.row.accountId,
      parent: e.parent,
      sessionName: e.row.sessionName,
      issuedAt: e.row.issuedAt,
      expiresAt: e.row.expiresAt,
      hasPolicy: e.layers.length > 0,
      ...(e.tagging !== undefined ? { tags: e.tagging.tags } : {}),
      ...(caps !== undefined
        ? { caps: { ...caps, bytesUsed: used?.bytes ?? 0, objectsUsed: used?.objects ?? 0 } }
        : {}),
    }
  }

  /** The usage counters of the capped sessions among `entries` (one read for all of them). */
  private async usageOf(
    entries: readonly SessionEntry[],
  ): Promise<ReadonlyMap<string, UsageDelta> | undefined> {
    const keys = [...new Set(entries.filter((e) => e.tagging?.caps).map(usageKey))]
    return keys.length === 0 ? undefined : await this.ctx.limits.usageOf(keys)
  }

  /** One live session's listing entry (admin revoke checks visibility with it). */
  async get(accessKeyId: string, now: number): Promise<SessionInfo | undefined> {
    if (!SESSION_KEY_RE.test(accessKeyId)) return undefined
    const e = await this.cache.entry(accessKeyId)
    if (!e || e.revoked || now >= e.row.expiresAt || !(await this.cache.alive(e))) return undefined
    return this.info(e, await this.usageOf([e]))
  }

  async list(
    filter: { readonly accountId?: string; readonly userId?: string },
    now: number,
  ): Promise<readonly SessionInfo[]> {
    const rows = await this.ctx.store.listActiveSessions(filter, now)
    const live: SessionEntry[] = []
    for (const row of rows) {
      const e = this.cache.lru.get(row.accessKeyId) ?? (await this.cache.fromRow(row))
      if (!e || e.revoked || !(await this.cache.alive(e))) continue
      live.push(e)
    }
    const usage = await this.usageOf(live)
    return live.map((e) => this.info(e, usage))
  }

  /** Delete sessions expired more than the grace period ago; the number deleted. */
  async sweep(now: number): Promise<number> {
    const before = now - EXPIRED_SESSION_GRACE_MS
    const n = await this.ctx.store.deleteExpiredSessions(before)
    for (const e of [...this.cache.lru.values()])
      if (e.row.expiresAt < before) this.cache.lru.delete(e.row.accessKeyId)
    await this.ctx.limits.sweep(now)
    return n
  }
}
