/**
 * Assembles a running Latchkey from a Config: the Stores bundle (app/backends.ts picks the
 * engine), the IAM service, the three surfaces, and the listener. No process globals: everything is built here
 * and passed down.
 * @module
 */
import { CidrSet } from '../lib/cidr.js'
import { mkdirSync } from 'node:fs'
import { isPostgresUrl, type Config } from '../config/config.js'
import { systemClock, randomIds, type Clock, type IdSource } from '../lib/clock.js'
import type { Logger } from '../lib/logger.js'
import { openStores } from './backends.js'
import { startBlobCollector } from '../storage/gc.js'
import { startLifecycleWorker } from '../s3/lifecycle-worker.js'
import { IamService } from '../iam/service.js'
import { IamError } from '../iam/types.js'
import { loadMasterKey, deriveKey } from '../crypto/index.js'
import { SigningKeyCache } from '../auth/sigv4/signing-key.js'
import { S3Pipeline, DEFAULT_LIMITS } from '../s3/pipeline.js'
import { bucketOfHost } from '../s3/addressing.js'
import { createStsHandler } from '../sts/index.js'
import { createAdminHandler } from '../admin/handler.js'
import { createConsoleHandler, DEFAULT_CONSOLE_DIR } from '../console-server/serve.js'
import { simulate } from '../policy/simulate.js'
import { listen, type Listener } from '../http/listener.js'
import { createRouter } from './dispatch.js'
import { loadTls } from '../http/tls.js'
import type { Stores } from '../storage/stores.js'
import { Metrics, bearerGuard, listenMetrics } from './metrics.js'
import { FsBlobStore } from '../backends/fs/blob-store.js'
import type { SqliteStores } from '../backends/sqlite/index.js'
import { takeBackup } from '../backends/sqlite/backup.js'
import { packageVersion } from '../backup/manifest.js'
import { masterKeyFingerprint } from '../backup/manifest.js'
import type { AdminDeps } from '../admin/deps.js'
import { AuditRecorder, startAuditRetention } from './audit.js'

export interface RunningApp {
  readonly url: string
  readonly listener: Listener
  /** The --metrics-address listener's URL, when one was asked for. */
  readonly metricsUrl?: string
  /**
   * The stores the app runs on. Every cache above them learns of a change only through
   * `stores.changes`, so a write made here (by a tool, another node, a test) is seen by the very
   * next request exactly like one made through the API.
   */
  readonly stores: Stores
  /**
   * What was generated at first start and no start has shown yet (a start that failed after
   * generating it leaves it pending). Show it, then call firstStartSecretsShown().
   */
  readonly generated: Readonly<Record<string, string>>
  /** The generated secrets reached the operator: later starts do not show them again. */
  firstStartSecretsShown(): Promise<void>
  close(): Promise<void>
}

// The offline tools' entry points live with the backend choice; re-exported for the CLI.
export { DATABASE_FILE, openIdentityStoreOffline, lockedError } from './backends.js'

/**
 * IamService.open, retried when it meets a conflict: nodes of a cluster starting together on an
 * empty database race to seed the default account and root; the loser's next attempt finds what
 * the winner stored (bootstrap resumes from whatever exists).
 */
async function openIam(
  o: Parameters<typeof IamService.open>[0],
): ReturnType<typeof IamService.open> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await IamService.open(o)
    } catch (e) {
      if (!(e instanceof IamError && e.code === 'conflict') || attempt >= 5) throw e
      await new Promise((resolve) => setTimeout(resolve, 50 * attempt))
    }
  }
}

/** How long `/ready` waits for the stores before it calls them not ready. */
const READY_TIMEOUT_MS = 2000

/** The stores' probe, bounded: a database that hangs is as unready as one that refuses. */
async function readiness(stores: Stores): Promise<string | undefined> {
  let timer: NodeJS.Timeout | undefined
  const late = new Promise<string>((resolve) => {
    timer = setTimeout(
      () => resolve(`the database or blob store did not answer within ${READY_TIMEOUT_MS} ms`),
      READY_TIMEOUT_MS,
    )
    timer.unref()
  })
  try {
    return await Promise.race([stores.ready(), late])
  } finally {
    clearTimeout(timer)
  }
}

/** What POST /api/admin/backup does on this node: a backup, or why there is none. */
export function backupOf(
  stores: Stores,
  config: Config,
  clock: Clock,
  masterKey: Buffer,
): NonNullable<AdminDeps['backup']> {
  const url = config.databaseUrl
  const db = (stores as Partial<SqliteStores>).db
  if ((url !== undefined && isPostgresUrl(url)) || db === undefined)
    return {
      unsupported:
        'latchkey backup is for SQLite mode. With PostgreSQL, back up the database (pg_dump) and the blob store with their own tools: see docs/deploy.md, "Backup and restore"',
    }
  const blobs = stores.blobs
  if (!(blobs instanceof FsBlobStore))
    return {
      unsupported:
        'the object bodies live in an upstream S3 bucket (--blob-store s3://): back that bucket up with its own tools; see docs/deploy.md, "Backup and restore"',
    }
  return () =>
    takeBackup({
      db,
      blobs,
      dataDir: config.dataDir,
      latchkeyVersion: packageVersion(),
      masterKeyFingerprint: masterKeyFingerprint(masterKey),
      now: () => clock.now(),
    })
}

export async function startApp(
  config: Config,
  log: Logger,
  deps: {
    clock?: Clock
    ids?: IdSource
    /** Where access-log lines go (default `log`): an unredacted logger, see pino-logger.ts. */
    accessLogger?: Logger
  } = {},
): Promise<RunningApp> {
  const clock = deps.clock ?? systemClock
  const ids = deps.ids ?? randomIds
  mkdirSync(config.dataDir, { recursive: true, mode: 0o700 })
  const masterKey = loadMasterKey(config.dataDir, config.masterKey)
  let storesRef: Stores | undefined
  const metrics = new Metrics({
    activeSessions: async () =>
      // The issuance counters' sum: counting a million rows would stall SQLite's one thread.
      storesRef === undefined ? 0 : await storesRef.limits.heldSessions(),
  })
  const stores = await openStores(config, clock.now(), log, (b) => metrics.storageTimings(b))
  storesRef = stores
  let metricsListener: Awaited<ReturnType<typeof listenMetrics>> | undefined
  // Whatever fails from here on must release the stores: a PostgreSQL pool, its LISTEN client
  // and the feed's timers would otherwise keep a process that could not start alive.
  try {
    const { metadata: meta, blobs, ledger } = stores
    // The audit trail: every surface records into one batching writer (app/audit.ts).
    const audit = config.audit ? new AuditRecorder(stores.audit, { log }) : undefined
    const requestAudit = config.auditRequests ? audit : undefined
    const { iam, generated } = await openIam({
      store: stores.identity,
      ...(audit !== undefined ? { audit } : {}),
      changes: stores.changes,
      limits: stores.limits,
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
      stsIssueRate: config.stsIssueRate,
      stsIssueBurst: config.stsIssueBurst,
      sessionCacheSize: config.sessionCacheEntries,
    })
    const keyCache = new SigningKeyCache()
    const s3 = new S3Pipeline({
      meta,
      blobs,
      changes: stores.changes,
      ledger,
      iam,
      keyCache,
      ...(config.domain !== undefined ? { domain: config.domain } : {}),
      region: config.region,
      regionPinned: config.regionPinned,
      ids,
      limits: DEFAULT_LIMITS,
      usage: stores.limits,
      maxInFlight: config.maxInFlight,
      maxInFlightPerCaller: config.maxInFlightPerCaller,
      presignMaxAgeSeconds: config.presignMaxAge,
      lifecycleDayMs: config.lifecycleDaySeconds * 1000,
      awsBucketDefaults: config.awsBucketDefaults,
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
      ...(audit !== undefined ? { audit } : {}),
    })
    const admin = createAdminHandler({
      iam,
      clock,
      log,
      jwtKey: deriveKey(masterKey, 'admin-jwt'),
      simulate,
      backup: backupOf(stores, config, clock, masterKey),
      console: { region: config.region, maxDurationSeconds: config.stsMaxDuration },
      ...(audit !== undefined ? { auditSink: audit } : {}),
      audit: {
        // Whatever is still queued is written first: a query sees every event recorded before it.
        query: async (f, page) => {
          await audit?.flush()
          return stores.audit.query(f, page)
        },
      },
    })
    let ready = false
    const tls = config.tls !== undefined ? await loadTls(config.tls, config.dataDir) : undefined
    const domain = config.domain
    const listener = await listen({
      host: config.host,
      port: config.port,
      ...(tls !== undefined ? { tls } : {}),
      router: createRouter({
        s3: (r, c) => s3.handle(r, c),
        sts,
        admin,
        isReady: () => ready,
        isCurrent: () => stores.changes.current,
        readiness: () => readiness(stores),
        metrics: bearerGuard(config.metricsToken, metrics),
        // LATCHKEY_CONSOLE_DIR: another build of the console (tests, console development).
        console: createConsoleHandler(process.env['LATCHKEY_CONSOLE_DIR'] ?? DEFAULT_CONSOLE_DIR),
        ...(domain !== undefined
          ? { isBucketHost: (h: string) => bucketOfHost(h, domain) !== undefined }
          : {}),
      }),
      clock,
      log,
      accessLog: config.accessLog,
      ...(deps.accessLogger !== undefined ? { accessLogger: deps.accessLogger } : {}),
      onRequestDone: (e, access) => {
        metrics.observe(e)
        // A user's long-term key was used (recorded at most once a minute, written in batches).
        const p = access.principal
        if (p?.kind === 'user' && p.accessKeyId !== undefined && p.accessKeyId !== '')
          iam.noteKeyUsed(p.accessKeyId, clock.now())
        // Requests made with temporary credentials: one audit event each (queued, never awaited),
        // unless the operator turned those off (--audit-requests off).
        if (requestAudit !== undefined && access.session !== undefined)
          requestAudit.recordSessionRequest(e, access, clock.now())
      },
      idleTimeoutMs: config.requestIdleTimeout * 1000,
      ...(config.trustedProxies.length > 0
        ? { trustedProxies: new CidrSet(config.trustedProxies) }
        : {}),
    })
    if (config.metricsAddress !== undefined) {
      try {
        metricsListener = await listenMetrics(
          config.metricsAddress.host,
          config.metricsAddress.port,
          metrics,
        )
      } catch (e) {
        await listener.close(0)
        throw e
      }
    }
    ready = true
    // Ended sessions go in small batches (iam/sessions.ts sweep); one sweep at a time.
    let sweeping = false
    const sweepTimer = setInterval(() => {
      if (sweeping) return
      sweeping = true
      const started = Date.now()
      void iam
        .sweepExpiredSessions(clock.now())
        .then((n) => {
          if (n > 0) log.info({ deleted: n, ms: Date.now() - started }, 'ended sessions swept')
        })
        .catch((err: unknown) => log.warn({ err }, 'session sweep failed'))
        .finally(() => {
          sweeping = false
        })
    }, config.sessionSweepInterval * 1000)
    sweepTimer.unref()
    const stopCollector = startBlobCollector({
      ledger,
      blobs,
      metadata: meta,
      now: () => clock.now(),
      log,
    })
    // Lifecycle rules, applied on the node the ledger elects (one pass at a time per store).
    const stopLifecycle = startLifecycleWorker({
      meta,
      blobs,
      ledger,
      log,
      now: () => clock.now(),
      dayMs: config.lifecycleDaySeconds * 1000,
    })
    const stopAuditRetention = startAuditRetention({
      audit: stores.audit,
      ledger,
      retentionMs: config.auditRetentionMs,
      now: () => clock.now(),
      log,
    })
    return {
      url: listener.url,
      listener,
      ...(metricsListener !== undefined ? { metricsUrl: metricsListener.url } : {}),
      stores,
      generated: generated as Readonly<Record<string, string>>,
      firstStartSecretsShown: () => iam.firstStartSecretsShown(),
      close: async () => {
        clearInterval(sweepTimer)
        await listener.close()
        await metricsListener?.close()
        await stopLifecycle()
        await stopCollector()
        await stopAuditRetention()
        await audit?.flush()
        await iam.keyUsage.flush()
        iam.close()
        await stores.close()
      },
    }
  } catch (e) {
    await stores.close().catch(() => {})
    throw e
  }
}
