/**
 * Assembles a running Latchkey from a Config: stores (SQLite + files in the data dir), the IAM
 * service, the three surfaces, and the listener. No process globals: everything is built here
 * and passed down.
 * @module
 */
import { existsSync, mkdirSync } from 'node:fs'
import { join } from 'node:path'
import type { Config } from '../config/config.js'
import { systemClock, randomIds, type Clock, type IdSource } from '../lib/clock.js'
import type { Logger } from '../lib/logger.js'
import { openDatabase, type Database } from '../backends/sqlite/db.js'
import { prepareClose, walSyncerFor } from '../backends/sqlite/wal-sync.js'
import { SqliteMetadataStore } from '../backends/sqlite/metadata-store.js'
import { SqliteIdentityStore } from '../backends/sqlite/identity-store.js'
import { SqliteSharedLimits } from '../backends/sqlite/shared-limits.js'
import { MemoryChangeFeed } from '../backends/memory/change-feed.js'
import type { IdentityStore } from '../storage/identity-store.js'
import { FsBlobStore } from '../backends/fs/blob-store.js'
import { sweepOrphans } from '../storage/sweep.js'
import { IamService } from '../iam/service.js'
import { loadMasterKey, deriveKey } from '../crypto/index.js'
import { SigningKeyCache } from '../auth/sigv4/signing-key.js'
import { S3Pipeline, DEFAULT_LIMITS } from '../s3/pipeline.js'
import { bucketOfHost } from '../s3/addressing.js'
import { createStsHandler } from '../sts/handler.js'
import { createAdminHandler } from '../admin/handler.js'
import { simulate } from '../policy/simulate.js'
import { listen, type Listener } from '../http/listener.js'
import { loadTls } from '../http/tls.js'

export interface RunningApp {
  readonly url: string
  readonly listener: Listener
  /**
   * What was generated at first start and no start has shown yet (a start that failed after
   * generating it leaves it pending). Show it, then call firstStartSecretsShown().
   */
  readonly generated: Readonly<Record<string, string>>
  /** The generated secrets reached the operator: later starts do not show them again. */
  firstStartSecretsShown(): Promise<void>
  close(): Promise<void>
}

/** The SQLite database in the data dir. */
export const DATABASE_FILE = 'latchkey.db'

export async function startApp(
  config: Config,
  log: Logger,
  deps: { clock?: Clock; ids?: IdSource } = {},
): Promise<RunningApp> {
  const clock = deps.clock ?? systemClock
  const ids = deps.ids ?? randomIds
  mkdirSync(config.dataDir, { recursive: true, mode: 0o700 })
  const masterKey = loadMasterKey(config.dataDir, config.masterKey)
  const db = openDatabase(join(config.dataDir, DATABASE_FILE), {
    exclusive: true,
    asyncDurability: true,
  })
  const meta = new SqliteMetadataStore(db)
  const blobs = new FsBlobStore(join(config.dataDir, 'objects'))
  const swept = await sweepOrphans(meta, blobs, log)
  if (swept.removed > 0)
    log.info({ removed: swept.removed }, 'removed orphaned blobs from an interrupted run')
  const changes = new MemoryChangeFeed()
  const { iam, generated } = await IamService.open({
    store: SqliteIdentityStore.open(db, { changes }),
    changes,
    limits: SqliteSharedLimits.open(db, { now: clock.now() }),
    masterKey,
    clock,
    ids,
    log,
    bootstrap: {
      rootUser: config.rootUser,
      ...(config.rootPassword !== undefined ? { rootPassword: config.rootPassword } : {}),
      ...(config.rootAccessKey !== undefined ? { rootAccessKey: config.rootAccessKey } : {}),
      ...(config.rootSecretKey !== undefined ? { rootSecretKey: config.rootSecretKey } : {}),
      rootKeyOverride: config.rootKeyOverride,
      rootPasswordOverride: config.rootPasswordOverride,
    },
    maxSessionsPerParent: config.maxSessionsPerParent,
  })
  const keyCache = new SigningKeyCache()
  const s3 = new S3Pipeline({
    meta,
    blobs,
    iam,
    keyCache,
    ...(config.domain !== undefined ? { domain: config.domain } : {}),
    region: config.region,
    limits: DEFAULT_LIMITS,
    maxInFlight: config.maxInFlight,
    maxInFlightPerCaller: config.maxInFlightPerCaller,
    presignMaxAgeSeconds: config.presignMaxAge,
  })
  const sts = createStsHandler({
    iam,
    auth: { credentials: iam, keyCache, clock, presignMaxAgeSeconds: config.presignMaxAge },
    clock,
    log,
    config: {
      stsDefaultDuration: config.stsDefaultDuration,
      stsMaxDuration: config.stsMaxDuration,
    },
  })
  const admin = createAdminHandler({
    iam,
    clock,
    log,
    jwtKey: deriveKey(masterKey, 'admin-jwt'),
    simulate,
  })
  let ready = false
  const tls = config.tls !== undefined ? await loadTls(config.tls, config.dataDir) : undefined
  const domain = config.domain
  const listener = await listen({
    host: config.host,
    port: config.port,
    ...(tls !== undefined ? { tls } : {}),
    surfaces: {
      s3: (r, c) => s3.handle(r, c),
      sts,
      admin,
      isReady: () => ready,
      ...(domain !== undefined
        ? { isBucketHost: (h: string) => bucketOfHost(h, domain) !== undefined }
        : {}),
    },
    clock,
    log,
    idleTimeoutMs: config.requestIdleTimeout * 1000,
  })
  ready = true
  const sweepTimer = setInterval(() => {
    void iam
      .sweepExpiredSessions(clock.now())
      .catch((err: unknown) => log.warn({ err }, 'session sweep failed'))
  }, 60_000)
  sweepTimer.unref()
  return {
    url: listener.url,
    listener,
    generated: generated as Readonly<Record<string, string>>,
    firstStartSecretsShown: () => iam.firstStartSecretsShown(),
    close: async () => {
      clearInterval(sweepTimer)
      await listener.close()
      await meta.close()
      iam.close()
      // Closing checkpoints the WAL into the database file: make that checkpoint fsync.
      prepareClose(db)
      await walSyncerFor(db)?.close()
      db.close()
    },
  }
}

/**
 * The data dir's identity store for offline tools (`latchkey admin …`), which must not write
 * beside a running server. The server holds its database with an exclusive lock, so this fails
 * at once, with a line saying so, instead of waiting; while the tool runs, a server cannot start.
 */
export function openIdentityStoreOffline(dataDir: string): {
  store: IdentityStore
  close(): Promise<void>
} {
  const path = join(dataDir, DATABASE_FILE)
  if (!existsSync(path))
    throw new Error(`no Latchkey database in ${dataDir} (${DATABASE_FILE}): check --data-dir`)
  let db: Database | undefined
  try {
    // synchronous=FULL (no asyncDurability): each write is durable when its promise resolves.
    const opened = openDatabase(path, { exclusive: true, busyTimeoutMs: 0 })
    db = opened
    const store = SqliteIdentityStore.open(opened)
    return { store, close: async () => void opened.close() }
  } catch (e) {
    db?.close()
    throw lockedError(e, dataDir)
  }
}

/**
 * SQLITE_BUSY (also as the cause of a failed group commit) → the one line an operator needs;
 * anything else unchanged. `dataDir` is the data dir whose database was being opened or written.
 */
export function lockedError(e: unknown, dataDir: string): unknown {
  for (let c: unknown = e, depth = 0; c !== undefined && c !== null && depth < 4; depth++) {
    const code = (c as { code?: unknown }).code
    if (code === 'SQLITE_BUSY' || code === 'SQLITE_LOCKED')
      return new Error(
        `the database ${join(dataDir, DATABASE_FILE)} is locked: a Latchkey server is running on this data dir. Stop it first (this command works offline only)`,
      )
    c = (c as { cause?: unknown }).cause
  }
  return e
}
