/**
 * Sessions: issue (STS), revoke, list, look up and sweep temporary credentials.
 *
 * Why issuing is shaped like this: it is on a hot path (scripts mint a session per job, browsers
 * one per upload). The per-parent limit is a token taken from the parent's issuance bucket in
 * SharedLimits before the row is written (synchronously on one node, one row update on
 * PostgreSQL), with a high ceiling on the sessions it holds counted beside it (shared-limits.ts
 * says why a rate, not a count, is the abuse control); the row insert rides the store's group
 * commit (durable before the answer); and the new session's cache entry is built from the values
 * in hand (no unseal). The limits are the server's defaults unless the parent's account has an
 * override (admin API), kept here in memory and reloaded when the feed says the account changed.
 * Session tokens are random; only an HMAC under a key derived from the master key is stored. A session records the liveness checks it depends on (session-cache.ts),
 * and role chaining keeps each ancestor's session policies as a separate layer, stored by
 * reference and at most MAX_CHAIN_DEPTH deep, so what one key can make the server hold stays
 * linear in the number of sessions it may have. Session tags and upload caps are checked here, on
 * every issuance path (session-tags.ts), and kept in the row's `parent` JSON (StoredParent.tagging).
 *
 * Why the sweep is incremental: a million sessions expiring together must not stall requests, so
 * ended rows (expired past the grace, or revoked) go in batches of SWEEP_BATCH, each its own small
 * write, with the event loop free between them; each batch lowers the issuance counters by what it
 * deleted.
 * @module
 */
import { parentArn, principalArn, type ParentRef } from '../auth/principal.js'
import { hmacSha256Hex } from '../crypto/hash.js'
import { newSessionSecret } from '../crypto/session-secret.js'
import { ownString } from '../lib/own-string.js'
import { RandomPool } from '../lib/random-pool.js'
import type { ChangeFeed } from '../storage/change-feed.js'
import type { SessionFilter, SessionRow, StsLimitsRow } from '../storage/identity-store.js'
import type { IssueRule } from '../storage/shared-limits.js'
import type { UsageDelta } from '../storage/session-usage.js'
import type { UploadCaps } from '../policy/upload-caps.js'
import {
  aadSession,
  EXPIRED_SESSION_GRACE_MS,
  invalid,
  MAX_CHAIN_DEPTH,
  SESSION_KEY_RE,
  revokeWhere,
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
  SessionSource,
  StoredParent,
  StoredTagging,
} from './model.js'
import { SessionIds } from './session-ids.js'
import { sessionTagging } from './session-tags.js'
import { derivedSource, type SessionCache, type SessionEntry } from './session-cache.js'
import {
  decodeStoredLayers,
  encodeChainedLayers,
  encodeLayers,
  policyLayers,
} from './session-layers.js'
import { IamError, type IssuedSession, type SessionInfo, type SessionRequest } from './types.js'

/**
 * Rows deleted per sweep batch: a few milliseconds of one write (measured on SQLite with a
 * million sessions: about 8 ms for 200 rows and their eight index entries), then a pause of a
 * millisecond in which requests run.
 */
export const SWEEP_BATCH = 200

/** The server's issuance limits per parent (config: --sts-issue-rate, --sts-issue-burst, …). */
export const DEFAULT_ISSUE_RULE: IssueRule = { rate: 600, burst: 1200, maxActive: 1_000_000 }

/** An account's effective limits and whether they are its own (an override) or the defaults. */
export interface StsLimits {
  readonly issueRate: number
  readonly issueBurst: number
  readonly maxActiveSessions: number
  readonly overridden: boolean
}

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
  checks: readonly LivenessCheck[]
  quotaKey: string
  userId?: string
  originKeyId?: string
  layers: Layers
  /** Role chaining: the calling session, whose layers `layers` are. */
  layersFrom?: string
  maxExpiresAt: number
  /** Role chaining: the calling session's tags and caps (iam/session-tags.ts). */
  tagging?: StoredTagging
  /**
   * A shared context's (a master key's, kept per account state) parent records of its plain
   * sessions (its own parent and checks, no tags, not as the parent), by source, with their
   * JSON: the same for every such session it issues, so made once and shared by their entries.
   */
  readonly plain?: Map<SessionSource, PlainParent>
}

interface PlainParent {
  readonly stored: StoredParent
  readonly json: string
}

/** `origin`'s plain parent record for `source` (kept in IssuerContext.plain when it has one). */
function plainParent(origin: IssuerContext, source: SessionSource): PlainParent {
  let known = origin.plain?.get(source)
  if (known === undefined) {
    const stored: StoredParent = { parent: origin.parent, checks: origin.checks, source }
    known = { stored, json: JSON.stringify(stored) }
    origin.plain?.set(source, known)
  }
  return known
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

/** What makes a session, from what was asked (the admin listing's `source`). */
function sourceOf(req: SessionRequest): SessionSource {
  if (req.source !== undefined) return req.source
  if (req.asCaller === true) return 'GetSessionToken'
  if (!req.withToken) return req.actAs?.kind === 'account-root' ? 'RSAssumeCustomerRole' : 'RSLogin'
  return 'AssumeRole'
}

/** A row's source: stored since it was kept, else derived from the row as sourceOf would. */
export function storedSource(row: SessionRow): SessionSource {
  try {
    const s = (JSON.parse(row.parent) as StoredParent).source
    if (s !== undefined) return s
  } catch {
    // unreadable rows are refused before they are listed
  }
  return derivedSource(row)
}

/** Issuer contexts of master keys, by the account state they were made from (see issuerContext). */
const rootIssuers = new WeakMap<AccountState, IssuerContext>()

export class Sessions {
  private readonly random = new RandomPool()
  private readonly keyIds: SessionIds
  private readonly isLongTermKey = (id: string): boolean => this.ctx.dir.keyRef(id) !== undefined

  private readonly ctx: IamContext
  private readonly cache: SessionCache
  private readonly defaults: IssueRule
  /** Accounts' overrides (few: only accounts an operator gave limits of their own). */
  private readonly overrides = new Map<string, IssueRule>()

  constructor(ctx: IamContext, cache: SessionCache, defaults: IssueRule) {
    this.ctx = ctx
    this.cache = cache
    this.defaults = defaults
    this.keyIds = new SessionIds(ctx.ids)
  }

  private ruleOf(o: StsLimitsRow): IssueRule {
    return {
      rate: o.issueRate ?? this.defaults.rate,
      burst: o.issueBurst ?? this.defaults.burst,
      maxActive: o.maxActiveSessions ?? this.defaults.maxActive,
    }
  }

  /** Load every account's override (at open and on a resync). */
  async loadLimits(): Promise<void> {
    const rows = await this.ctx.store.listStsLimits()
    this.overrides.clear()
    for (const r of rows) this.overrides.set(r.accountId, this.ruleOf(r))
  }

  private async reloadLimits(accountId: string): Promise<void> {
    const r = await this.ctx.store.getStsLimits(accountId)
    if (r === undefined) this.overrides.delete(accountId)
    else this.overrides.set(accountId, this.ruleOf(r))
  }

  /** Follow overrides changed on any node (the store publishes {kind:'account'}); unsubscribe. */
  follow(changes: ChangeFeed): () => void {
    const warn = (err: unknown): void =>
      this.ctx.log.warn({ err: (err as Error).message }, 'could not reload STS limits')
    return changes.subscribe({
      change: (c) => {
        return c.kind === 'account' ? this.reloadLimits(c.id).catch(warn) : undefined
      },
      resync: () => {
        void this.loadLimits().catch(warn)
      },
    })
  }

  /** The issuance limits of the parents of `accountId`. */
  rule(accountId: string): IssueRule {
    return this.overrides.get(accountId) ?? this.defaults
  }

  /** An account's effective limits (admin API). */
  limits(accountId: string): StsLimits {
    const r = this.rule(accountId)
    return {
      issueRate: r.rate,
      issueBurst: r.burst,
      maxActiveSessions: r.maxActive,
      overridden: this.overrides.has(accountId),
    }
  }

  /** Set (or, all fields absent, remove) an account's override; every node follows. */
  async setLimits(
    accountId: string,
    o: { issueRate?: number; issueBurst?: number; maxActiveSessions?: number },
  ): Promise<StsLimits> {
    if (o.issueRate !== undefined && !(Number.isFinite(o.issueRate) && o.issueRate > 0))
      throw invalid('issue_rate must be a positive number')
    for (const [name, v] of [
      ['issue_burst', o.issueBurst],
      ['max_active_sessions', o.maxActiveSessions],
    ] as const)
      if (v !== undefined && !(Number.isSafeInteger(v) && v >= 1 && v <= 2_147_483_647))
        throw invalid(`${name} must be an integer from 1 to 2147483647`)
    await this.ctx.store.putStsLimits({ accountId, ...o })
    await this.reloadLimits(accountId)
    return this.limits(accountId)
  }

  async issue(req: SessionRequest, now: number): Promise<IssuedSession> {
    const { ctx, cache } = this
    if (!Number.isInteger(req.durationSeconds) || req.durationSeconds <= 0) {
      throw invalid('DurationSeconds must be a positive integer')
    }
    if (req.sessionName === '') throw invalid('RoleSessionName must not be empty')
    const issuer = this.issuerContext(req.caller, now)
    const origin = issuer instanceof Promise ? await issuer : issuer
    // Tags and caps are checked before an issuance token is taken (a bad tag changes nothing).
    const tagging = sessionTagging(req.tags ?? {}, req.transitiveTagKeys ?? [], origin.tagging)
    let accountId = req.caller.accountId
    let parent = origin.parent
    // The issuer's checks as they are (shared by its sessions, never changed), or a copy to extend.
    let checks = origin.checks
    if (req.actAs) {
      const more = [...checks]
      checks = more
      const target = ctx.dir.account(req.actAs.accountId)
      if (!target) throw new IamError('not-found', `No such customer: ${req.actAs.accountId}`)
      accountId = target.row.id
      if (req.actAs.kind === 'account-root') {
        more.push(...this.actAsRootChecks(req.caller, target))
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
        more.push({ kind: 'user', userId: u.row.id })
      }
    }
    const accessKeyId = this.keyIds.next(now, this.isLongTermKey)
    const expiresAt = Math.min(now + req.durationSeconds * 1000, origin.maxExpiresAt)
    const rule = this.rule(req.caller.accountId)
    const taken = ctx.limits.takeIssue(origin.quotaKey, rule, now)
    const verdict = taken instanceof Promise ? await taken : taken
    if (verdict !== true) {
      const who = parentArn(origin.parent)
      if (verdict.limit === 'rate')
        throw new IamError(
          'throttled',
          `Rate exceeded: the STS issuance rate for ${who} is ${String(rule.rate)} per second (burst ${String(rule.burst)})`,
          Math.max(1, Math.ceil(verdict.retryAfterMs / 1000)),
        )
      throw new IamError(
        'throttled',
        `Rate exceeded: ${who} holds ${String(verdict.active)} sessions, the limit (${String(rule.maxActive)}); revoke some or wait for them to expire`,
        60,
      )
    }
    let e: SessionEntry | undefined
    let secretAccessKey: string
    let sessionToken: string
    try {
      const made = newSessionSecret(ctx.sessionSecretKey, aadSession(accessKeyId))
      secretAccessKey = made.secret
      sessionToken = req.withToken ? TOKEN_PREFIX + this.random.base64url(32) : ''
      // Role chaining: the new policies become one more layer, intersected with the inherited
      // ones. In memory the inherited layers are the parent's own objects; the row stores only
      // the new layer and names the parent session (session-layers.ts).
      // Arrays the entry keeps are made at their exact length (slice, concat): a list built by
      // push or spread reserves room for 17 elements, about 130 bytes of nothing per session. One
      // policy's layers are shared by the sessions minted with it (policyLayers).
      const own: Layers = policyLayers(req.policies)
      const layers: Layers =
        own.length === 0
          ? origin.layers
          : origin.layers.length === 0
            ? own
            : origin.layers.concat(own)
      // What the cache entry keeps owns its characters: a form field's value is a view of the
      // whole request body (lib/own-string.ts), and tags (rare) are copied by a JSON round trip.
      const plain =
        parent === origin.parent &&
        checks === origin.checks &&
        req.asCaller !== true &&
        tagging === undefined
          ? plainParent(origin, sourceOf(req))
          : undefined
      const stored: StoredParent = plain?.stored ?? {
        parent,
        checks,
        ...(req.asCaller === true ? { asParent: true as const } : {}),
        source: sourceOf(req),
        ...(tagging !== undefined
          ? { tagging: JSON.parse(JSON.stringify(tagging)) as StoredTagging }
          : {}),
      }
      const row: SessionRow = {
        accessKeyId,
        accountId,
        quotaKey: origin.quotaKey,
        ...(origin.userId !== undefined ? { userId: origin.userId } : {}),
        ...(origin.originKeyId !== undefined ? { originKeyId: origin.originKeyId } : {}),
        parent: plain?.json ?? JSON.stringify(stored),
        secret: made.stored,
        ...(req.withToken ? { tokenHmac: hmacSha256Hex(ctx.tokenKey, sessionToken) } : {}),
        sessionName: ownString(req.sessionName),
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
      await ctx.limits.untakeIssue(origin.quotaKey)
      throw err
    }
    // A new session: no cache can hold a stale copy (its id is new: the store's primary key took
    // it), so the entry built in hand goes in as is.
    cache.lru.add(accessKeyId, e)
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

  /**
   * Who pays for, and what bounds, a session the caller asks for. Without awaiting for a key or a
   * user (from memory); a calling session may have to be loaded first.
   */
  issuerContext(caller: KnownPrincipal, now: number): IssuerContext | Promise<IssuerContext> {
    const { dir } = this.ctx
    switch (caller.kind) {
      case 'account-root': {
        const a = dir.account(caller.accountId)
        if (!a || a.row.masterAccessKeyId !== caller.accessKeyId)
          throw new IamError('unauthorized', 'Unknown caller')
        // One context per account state (a new state when the account changes): its sessions
        // share the parent, checks and quota key instead of keeping ~190 bytes of copies each.
        const known = rootIssuers.get(a)
        if (known !== undefined) return known
        const made: IssuerContext = {
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
          plain: new Map(),
        }
        rootIssuers.set(a, made)
        return made
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
      case 'session':
        return this.chainedIssuer(caller, now)
    }
  }

  /** Role chaining: the calling session's context, extended. */
  private async chainedIssuer(
    caller: Extract<KnownPrincipal, { kind: 'session' }>,
    now: number,
  ): Promise<IssuerContext> {
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

  /** Revoke one session; it is refused everywhere when this returns. False when unknown. */
  async revoke(accessKeyId: string): Promise<boolean> {
    const ok = await this.ctx.store.revokeSession(accessKeyId)
    await settle(this.ctx)
    return ok
  }

  /**
   * Revoke every live session matching `filter` (all of one parent: a user, or a long-term key),
   * page by page, then wait once for every node to apply them; how many were revoked.
   */
  async revokeAll(filter: SessionFilter): Promise<number> {
    const n = await revokeWhere(this.ctx, filter, () => true)
    await settle(this.ctx)
    return n
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
      source: e.row.source,
      ...(e.tagging !== undefined ? { tags: e.tagging.tags } : {}),
      ...(caps !== undefined
        ? {
            caps: Object.assign({}, caps, {
              bytesUsed: used?.bytes ?? 0,
              objectsUsed: used?.objects ?? 0,
            }),
          }
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

  /**
   * One page of the live sessions matching `filter`, oldest first, and how many match: the store
   * reads only the page (index order) and counts the rest, never loading every session. A row
   * whose parent died since (its liveness check fails) is left out of the page.
   */
  async list(
    filter: SessionFilter,
    now: number,
    page: { readonly limit: number; readonly offset: number },
  ): Promise<{ readonly items: readonly SessionInfo[]; readonly total: number }> {
    const [rows, total] = await Promise.all([
      this.ctx.store.listActiveSessions(filter, now, page),
      this.ctx.store.countActiveSessions(filter, now),
    ])
    // Cached sessions answer from their entry; the others from the row alone (no unseal, no
    // cache fill: a listing must not evict the sessions requests are using).
    const items: { info: SessionInfo; capped?: { key: string; caps: UploadCaps } }[] = []
    for (const row of rows) {
      const e = this.cache.lru.get(row.accessKeyId)
      if (e) {
        if (e.revoked || !(await this.cache.alive(e))) continue
        const caps = e.tagging?.caps
        items.push({ info: this.info(e), ...(caps ? { capped: { key: usageKey(e), caps } } : {}) })
        continue
      }
      const stored = await this.cache.rowAlive(row)
      if (stored === undefined) continue
      let hasPolicy = false
      try {
        const d = decodeStoredLayers(row.policies)
        hasPolicy = d.layers.length > 0 || d.after !== undefined
      } catch {
        continue
      }
      const tagging = stored.tagging
      const caps = tagging?.caps
      const head = stored.checks.find((c) => c.kind === 'session')
      items.push({
        info: {
          accessKeyId: row.accessKeyId,
          accountId: row.accountId,
          parent: stored.parent,
          sessionName: row.sessionName,
          source: storedSource(row),
          issuedAt: row.issuedAt,
          expiresAt: row.expiresAt,
          hasPolicy,
          ...(tagging !== undefined ? { tags: tagging.tags } : {}),
        },
        ...(caps
          ? { capped: { key: head?.kind === 'session' ? head.accessKeyId : row.accessKeyId, caps } }
          : {}),
      })
    }
    const keys = [...new Set(items.flatMap((i) => (i.capped ? [i.capped.key] : [])))]
    const usage = keys.length > 0 ? await this.ctx.limits.usageOf(keys) : undefined
    return {
      items: items.map(({ info, capped }) => {
        if (!capped) return info
        const used = usage?.get(capped.key)
        return Object.assign({}, info, {
          caps: Object.assign({}, capped.caps, {
            bytesUsed: used?.bytes ?? 0,
            objectsUsed: used?.objects ?? 0,
          }),
        })
      }),
      total,
    }
  }

  /**
   * Delete sessions expired more than the grace period ago, and revoked ones, in batches of
   * SWEEP_BATCH with the event loop free between them; the number deleted. Every node may sweep at
   * once: each row is deleted, and its count lowered, by one of them.
   */
  async sweep(now: number): Promise<number> {
    const before = now - EXPIRED_SESSION_GRACE_MS
    let n = 0
    for (;;) {
      const ended = await this.ctx.store.deleteEndedSessions(before, SWEEP_BATCH)
      await this.ctx.limits.sessionsEnded(ended.byQuota)
      for (const id of ended.accessKeyIds) this.cache.lru.delete(id)
      n += ended.deleted
      if (ended.deleted < SWEEP_BATCH) break
      await new Promise<void>((resolve) => setTimeout(resolve, 1))
    }
    await this.ctx.limits.sweep(now)
    return n
  }
}
