/**
 * Config: argv + env → one validated, immutable object. A bad flag or value throws ConfigError
 * whose message is the one line `latchkey` prints before exiting (contract §1).
 * @module
 */
import { normalizeCidr } from '../lib/cidr.js'
import { isAbsolute, join } from 'node:path'
import { parseDuration } from '../lib/duration.js'
import { parseAccessLogMode, type AccessLogMode } from '../http/access-log.js'

export interface Config {
  readonly host: string
  readonly port: number
  readonly dataDir: string
  readonly tls?:
    { readonly certFile: string; readonly keyFile: string } | { readonly selfSigned: true }
  readonly stsDefaultDuration: number
  readonly stsMaxDuration: number
  readonly databaseUrl?: string
  /**
   * Where object bodies live: a directory (`file:` URL; every node of a cluster shares it) or a
   * bucket of an upstream S3 (`s3://BUCKET[/PREFIX]` plus the LATCHKEY_BLOB_S3_* variables).
   */
  readonly blobStore: FileBlobStoreConfig | S3BlobStoreConfig
  /** Virtual-hosted-style base domain (bucket.<domain>); path-style always works. */
  readonly domain?: string
  readonly region: string
  /**
   * True when the operator chose the region (--region / LATCHKEY_REGION): CreateBucket then only
   * accepts that region. Unpinned, any location constraint a client's SDK sends is accepted.
   */
  readonly regionPinned: boolean
  readonly rootUser: string
  readonly rootPassword?: string
  readonly rootAccessKey?: string
  readonly rootSecretKey?: string
  readonly masterKey?: string
  /** LATCHKEY_ROOT_KEY_OVERRIDE: the configured root key replaces a different stored one. */
  readonly rootKeyOverride: boolean
  /** LATCHKEY_ROOT_PASSWORD_OVERRIDE: the configured password replaces a different stored one. */
  readonly rootPasswordOverride: boolean
  readonly logLevel: 'debug' | 'info' | 'warn' | 'error' | 'silent'
  /** Ceiling on STS sessions one parent holds (issued, not yet swept): a high safety bound. */
  readonly maxSessionsPerParent: number
  /** STS sessions issued per second per parent, sustained (token bucket refill). */
  readonly stsIssueRate: number
  /** STS sessions one parent may issue back to back (token bucket size). */
  readonly stsIssueBurst: number
  /** Sessions held in memory (LRU); the rest are read from the store when used. */
  readonly sessionCacheEntries: number
  /** Seconds between sweeps of expired and revoked sessions. */
  readonly sessionSweepInterval: number
  /** Seconds a request may take to send its headers, or let its body sit idle, before it is cut. */
  readonly requestIdleTimeout: number
  /** S3 requests handled at once before new ones get 503 SlowDown. */
  readonly maxInFlight: number
  /** The share of maxInFlight one caller (access key, or address when anonymous) may hold. */
  readonly maxInFlightPerCaller: number
  /** Longest presigned URL lifetime, seconds (SigV4 X-Amz-Expires, SigV2 Expires from now). */
  readonly presignMaxAge: number
  /** CIDRs of the proxies whose X-Forwarded-For names the client (http/client-address.ts). */
  readonly trustedProxies: readonly string[]
  /**
   * FOR TESTING ONLY: the length of a lifecycle "day" in seconds (86400 unless set), so tests
   * see lifecycle rules fire in seconds.
   */
  readonly lifecycleDaySeconds: number
  /**
   * --aws-bucket-defaults: new buckets start as AWS's do since April 2023 (ACLs disabled with
   * Object Ownership BucketOwnerEnforced, every public access block flag set).
   */
  readonly awsBucketDefaults: boolean
  /** `--access-log`: one `info` line per request, off, or one in N (http/access-log.ts). */
  readonly accessLog: AccessLogMode
  /** `--audit off`: no audit trail is recorded (default on; for measurement and tests). */
  readonly audit: boolean
  /**
   * `--audit-requests off`: the trail keeps issuances, admin changes and logins but not one event
   * per request made with temporary credentials (default on).
   */
  readonly auditRequests: boolean
  /** `--audit-retention`: audit events older than this (ms) are pruned (default 90 days). */
  readonly auditRetentionMs: number
  /** `--metrics-address`: a listener of its own for /metrics (no token asked there). */
  readonly metricsAddress?: { readonly host: string; readonly port: number }
  /** LATCHKEY_METRICS_TOKEN: /metrics on the main port answers only this Bearer token. */
  readonly metricsToken?: string
}

export interface FileBlobStoreConfig {
  readonly kind: 'file'
  readonly dir: string
}

export interface S3BlobStoreConfig {
  readonly kind: 's3'
  readonly bucket: string
  /** '' or ending in '/'. */
  readonly prefix: string
  /** Unset: AWS's endpoint for the region. */
  readonly endpoint?: string
  readonly region: string
  /** Unset: the SDK's default credential chain (AWS_ACCESS_KEY_ID…, profiles, instance roles). */
  readonly accessKeyId?: string
  readonly secretAccessKey?: string
  readonly forcePathStyle: boolean
}

export class ConfigError extends Error {
  override readonly name = 'ConfigError'
}

/** Every `serve` flag and the environment variable that sets it (`latchkey --help` lists them all). */
export const SERVE_FLAGS = {
  '--address': 'LATCHKEY_ADDRESS',
  '--data-dir': 'LATCHKEY_DATA_DIR',
  '--tls-cert': 'LATCHKEY_TLS_CERT',
  '--tls-key': 'LATCHKEY_TLS_KEY',
  '--tls-self-signed': 'LATCHKEY_TLS_SELF_SIGNED',
  '--sts-default-duration': 'LATCHKEY_STS_DEFAULT_DURATION',
  '--sts-max-duration': 'LATCHKEY_STS_MAX_DURATION',
  '--database': 'LATCHKEY_DATABASE_URL',
  '--blob-store': 'LATCHKEY_BLOB_STORE',
  '--domain': 'LATCHKEY_DOMAIN',
  '--region': 'LATCHKEY_REGION',
  '--log-level': 'LATCHKEY_LOG_LEVEL',
  '--max-sessions-per-parent': 'LATCHKEY_MAX_SESSIONS_PER_PARENT',
  '--sts-issue-rate': 'LATCHKEY_STS_ISSUE_RATE',
  '--sts-issue-burst': 'LATCHKEY_STS_ISSUE_BURST',
  '--session-cache-entries': 'LATCHKEY_SESSION_CACHE_ENTRIES',
  '--session-sweep-interval': 'LATCHKEY_SESSION_SWEEP_INTERVAL',
  '--request-idle-timeout': 'LATCHKEY_REQUEST_IDLE_TIMEOUT',
  '--max-inflight': 'LATCHKEY_MAX_INFLIGHT',
  '--max-inflight-per-caller': 'LATCHKEY_MAX_INFLIGHT_PER_CALLER',
  '--presign-max-age': 'LATCHKEY_PRESIGN_MAX_AGE',
  '--trusted-proxies': 'LATCHKEY_TRUSTED_PROXIES',
  '--lifecycle-day-seconds': 'LATCHKEY_LIFECYCLE_DAY_SECONDS',
  '--aws-bucket-defaults': 'LATCHKEY_AWS_BUCKET_DEFAULTS',
  '--access-log': 'LATCHKEY_ACCESS_LOG',
  '--audit': 'LATCHKEY_AUDIT',
  '--audit-requests': 'LATCHKEY_AUDIT_REQUESTS',
  '--audit-retention': 'LATCHKEY_AUDIT_RETENTION',
  '--metrics-address': 'LATCHKEY_METRICS_ADDRESS',
} as const
const FLAGS = SERVE_FLAGS

type Flag = keyof typeof FLAGS
const PRESIGN_MAX_AGE_LIMIT = 604800
const BOOLEAN_FLAGS: ReadonlySet<string> = new Set(['--tls-self-signed', '--aws-bucket-defaults'])

function isFlag(s: string): s is Flag {
  return Object.hasOwn(FLAGS, s)
}

/** Parse `serve` arguments and the environment. */
export function loadConfig(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
): Config {
  const given = new Map<Flag, string>()
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? ''
    const eq = arg.indexOf('=')
    const name = eq > 0 ? arg.slice(0, eq) : arg
    if (!isFlag(name)) throw new ConfigError(`unknown flag ${name} (see latchkey --help)`)
    if (BOOLEAN_FLAGS.has(name)) {
      given.set(name, eq > 0 ? arg.slice(eq + 1) : 'true')
      continue
    }
    const value = eq > 0 ? arg.slice(eq + 1) : argv[++i]
    if (value === undefined || value === '') throw new ConfigError(`flag ${name} needs a value`)
    given.set(name, value)
  }
  const get = (f: Flag): string | undefined => given.get(f) ?? nonEmpty(env[FLAGS[f]])

  const { host, port } = hostPort('--address', get('--address') ?? '0.0.0.0:9000')
  const metricsAddressText = get('--metrics-address')
  const metricsAddress =
    metricsAddressText !== undefined ? hostPort('--metrics-address', metricsAddressText) : undefined
  const accessLogText = get('--access-log') ?? 'on'
  const accessLog = parseAccessLogMode(accessLogText)
  if (accessLog === undefined)
    throw new ConfigError(
      `--access-log must be on, off or sample=N (N ≥ 1: one request in N), got "${accessLogText}"`,
    )
  const auditText = get('--audit') ?? 'on'
  if (auditText !== 'on' && auditText !== 'off')
    throw new ConfigError(`--audit must be on or off, got "${auditText}"`)
  const auditRequestsText = get('--audit-requests') ?? 'on'
  if (auditRequestsText !== 'on' && auditRequestsText !== 'off')
    throw new ConfigError(`--audit-requests must be on or off, got "${auditRequestsText}"`)
  const auditRetentionText = get('--audit-retention') ?? '90d'
  const auditRetentionSeconds = parseDuration(auditRetentionText)
  if (auditRetentionSeconds === undefined)
    throw new ConfigError(
      `--audit-retention must be a duration such as 90d, 12h, 30m or 3600s, got "${auditRetentionText}"`,
    )
  const metricsToken = nonEmpty(env['LATCHKEY_METRICS_TOKEN'])
  if (metricsToken !== undefined && !/^[\x21-\x7e]{16,256}$/.test(metricsToken))
    throw new ConfigError(
      'LATCHKEY_METRICS_TOKEN must be 16 to 256 printable characters without spaces',
    )

  const durationOf = (f: Flag, dflt: number): number => {
    const v = get(f)
    if (v === undefined) return dflt
    const s = parseDuration(v)
    if (s === undefined)
      throw new ConfigError(`${f} must be seconds or a duration like 15m, 12h, 90d, got "${v}"`)
    return s
  }
  const stsMaxDuration = durationOf('--sts-max-duration', 43200)
  const stsDefaultDuration = durationOf('--sts-default-duration', 3600)
  if (stsMaxDuration < 900)
    throw new ConfigError(`--sts-max-duration must be at least 900 seconds, got ${stsMaxDuration}`)
  if (stsDefaultDuration < 900 || stsDefaultDuration > stsMaxDuration)
    throw new ConfigError(
      `--sts-default-duration must be between 900 and --sts-max-duration (${stsMaxDuration}), got ${stsDefaultDuration}`,
    )

  // AWS caps presigned URLs at 7 days (X-Amz-Expires ≤ 604800); the flag may only shorten that.
  const trustedProxies = (get('--trusted-proxies') ?? '')
    .split(',')
    .map((c) => c.trim())
    .filter((c) => c !== '')
  for (const c of trustedProxies) {
    try {
      normalizeCidr(c)
    } catch (e) {
      throw new ConfigError(
        `--trusted-proxies must be a comma-separated list of addresses or CIDRs: ${(e as Error).message}`,
      )
    }
  }
  const presignMaxAge = durationOf('--presign-max-age', PRESIGN_MAX_AGE_LIMIT)
  if (presignMaxAge > PRESIGN_MAX_AGE_LIMIT)
    throw new ConfigError(
      `--presign-max-age must be at most 7d (${PRESIGN_MAX_AGE_LIMIT} seconds, AWS's limit for presigned URLs), got ${presignMaxAge}`,
    )

  const selfSigned = get('--tls-self-signed')
  if (selfSigned !== undefined && !['true', 'false', '1', '0'].includes(selfSigned))
    throw new ConfigError(`--tls-self-signed takes no value (or true/false), got "${selfSigned}"`)
  const cert = get('--tls-cert')
  const key = get('--tls-key')
  if ((cert === undefined) !== (key === undefined))
    throw new ConfigError('--tls-cert and --tls-key must be given together')
  const wantSelfSigned = selfSigned === 'true' || selfSigned === '1'
  const bucketDefaults = get('--aws-bucket-defaults')
  if (bucketDefaults !== undefined && !['true', 'false', '1', '0'].includes(bucketDefaults))
    throw new ConfigError(
      `--aws-bucket-defaults takes no value (or true/false), got "${bucketDefaults}"`,
    )
  const awsBucketDefaults = bucketDefaults === 'true' || bucketDefaults === '1'
  if (wantSelfSigned && cert !== undefined)
    throw new ConfigError('--tls-self-signed cannot be combined with --tls-cert/--tls-key')

  const database = get('--database')
  if (
    database !== undefined &&
    !(isPostgresUrl(database) && URL.canParse(database)) &&
    !database.startsWith('sqlite:')
  )
    throw new ConfigError(`--database must be a postgres:// URL, got "${database}"`)
  const dataDir = get('--data-dir') ?? './data'
  const blobStore = parseBlobStore(get('--blob-store'), dataDir, env)

  const logLevel = get('--log-level') ?? 'info'
  if (!['debug', 'info', 'warn', 'error', 'silent'].includes(logLevel))
    throw new ConfigError(
      `--log-level must be one of debug, info, warn, error, silent, got "${logLevel}"`,
    )

  const positiveInt = (f: Flag, dflt: number): number => {
    const text = get(f)
    if (text === undefined) return dflt
    const n = Number(text)
    if (!/^\d+$/.test(text) || !Number.isSafeInteger(n) || n < 1)
      throw new ConfigError(`${f} must be a positive integer, got "${text}"`)
    return n
  }
  // Issuance defaults sized like AWS's STS quota (600 AssumeRole requests per second per
  // account), with two seconds of burst; the held-session ceiling is only a safety bound.
  const maxSessionsPerParent = positiveInt('--max-sessions-per-parent', 1_000_000)
  const stsIssueBurst = positiveInt('--sts-issue-burst', 1200)
  const rateText = get('--sts-issue-rate')
  const stsIssueRate = rateText === undefined ? 600 : Number(rateText)
  if (
    rateText !== undefined &&
    (!/^\d+(\.\d+)?$/.test(rateText) || !(stsIssueRate > 0) || !Number.isFinite(stsIssueRate))
  )
    throw new ConfigError(`--sts-issue-rate must be a positive number, got "${rateText}"`)
  const sessionCacheEntries = positiveInt('--session-cache-entries', 100_000)
  const sessionSweepInterval = durationOf('--session-sweep-interval', 60)
  if (sessionSweepInterval < 1)
    throw new ConfigError(
      `--session-sweep-interval must be at least 1 second, got ${sessionSweepInterval}`,
    )
  const requestIdleTimeout = durationOf('--request-idle-timeout', 30)
  if (requestIdleTimeout < 1 || requestIdleTimeout > 3600)
    throw new ConfigError(
      `--request-idle-timeout must be between 1 second and 1h, got ${requestIdleTimeout}`,
    )
  const maxInFlight = positiveInt('--max-inflight', 1024)
  // For tests only: lifecycle rules count days of this many seconds.
  const lifecycleDaySeconds = positiveInt('--lifecycle-day-seconds', 86400)
  const maxInFlightPerCaller = positiveInt('--max-inflight-per-caller', Math.min(128, maxInFlight))
  if (maxInFlightPerCaller > maxInFlight)
    throw new ConfigError(
      `--max-inflight-per-caller must not exceed --max-inflight (${maxInFlight}), got ${maxInFlightPerCaller}`,
    )

  const rootAccessKey = nonEmpty(env['LATCHKEY_ROOT_ACCESS_KEY'])
  const rootSecretKey = nonEmpty(env['LATCHKEY_ROOT_SECRET_KEY'])
  if ((rootAccessKey === undefined) !== (rootSecretKey === undefined))
    throw new ConfigError(
      'LATCHKEY_ROOT_ACCESS_KEY and LATCHKEY_ROOT_SECRET_KEY must be set together',
    )
  if (rootAccessKey !== undefined && !/^[A-Za-z0-9]{16,128}$/.test(rootAccessKey))
    throw new ConfigError('LATCHKEY_ROOT_ACCESS_KEY must be 16 to 128 characters from [A-Za-z0-9]')
  if (rootSecretKey !== undefined && (rootSecretKey.length < 16 || rootSecretKey.length > 128))
    throw new ConfigError('LATCHKEY_ROOT_SECRET_KEY must be 16 to 128 characters long')
  const rootPassword = nonEmpty(env['LATCHKEY_ROOT_PASSWORD'])
  if (rootPassword !== undefined && rootPassword.length < 8)
    throw new ConfigError('LATCHKEY_ROOT_PASSWORD must be at least 8 characters long')

  const rootKeyOverride = booleanEnv(env, 'LATCHKEY_ROOT_KEY_OVERRIDE')
  const rootPasswordOverride = booleanEnv(env, 'LATCHKEY_ROOT_PASSWORD_OVERRIDE')
  if (rootKeyOverride && rootAccessKey === undefined)
    throw new ConfigError(
      'LATCHKEY_ROOT_KEY_OVERRIDE needs LATCHKEY_ROOT_ACCESS_KEY and LATCHKEY_ROOT_SECRET_KEY',
    )
  if (rootPasswordOverride && rootPassword === undefined)
    throw new ConfigError('LATCHKEY_ROOT_PASSWORD_OVERRIDE needs LATCHKEY_ROOT_PASSWORD')

  const pinnedRegion = get('--region')
  const region = pinnedRegion ?? 'us-east-1'
  if (!/^[a-z0-9-]{1,32}$/.test(region))
    throw new ConfigError(`--region must look like us-east-1, got "${region}"`)
  const domain = get('--domain')
  const masterKey = nonEmpty(env['LATCHKEY_MASTER_KEY'])
  if (database !== undefined && isPostgresUrl(database) && masterKey === undefined)
    throw new ConfigError(
      '--database postgres:// needs LATCHKEY_MASTER_KEY: every node of a cluster must use the same key',
    )
  if (domain !== undefined && !/^[a-z0-9.-]+(:\d+)?$/i.test(domain))
    throw new ConfigError(`--domain must be a host name, got "${domain}"`)

  return {
    host,
    port,
    dataDir,
    blobStore,
    ...(cert !== undefined && key !== undefined
      ? { tls: { certFile: cert, keyFile: key } }
      : wantSelfSigned
        ? { tls: { selfSigned: true as const } }
        : {}),
    stsDefaultDuration,
    stsMaxDuration,
    ...(database !== undefined ? { databaseUrl: database } : {}),
    ...(domain !== undefined ? { domain: domain.toLowerCase() } : {}),
    region,
    regionPinned: pinnedRegion !== undefined,
    rootUser: nonEmpty(env['LATCHKEY_ROOT_USER']) ?? 'root',
    ...(rootPassword !== undefined ? { rootPassword } : {}),
    ...(rootAccessKey !== undefined ? { rootAccessKey } : {}),
    ...(rootSecretKey !== undefined ? { rootSecretKey } : {}),
    ...(masterKey !== undefined ? { masterKey } : {}),
    rootKeyOverride,
    rootPasswordOverride,
    logLevel: logLevel as Config['logLevel'],
    maxSessionsPerParent,
    stsIssueRate,
    stsIssueBurst,
    sessionCacheEntries,
    sessionSweepInterval,
    requestIdleTimeout,
    maxInFlight,
    maxInFlightPerCaller,
    presignMaxAge,
    trustedProxies,
    lifecycleDaySeconds,
    awsBucketDefaults,
    accessLog,
    audit: auditText === 'on',
    auditRequests: auditRequestsText === 'on',
    auditRetentionMs: auditRetentionSeconds * 1000,
    ...(metricsAddress !== undefined ? { metricsAddress } : {}),
    ...(metricsToken !== undefined ? { metricsToken } : {}),
  }
}

/** `HOST:PORT` (an IPv6 host in brackets; an empty host is every interface). */
function hostPort(flag: string, address: string): { host: string; port: number } {
  const m = /^(.*):(\d{1,5})$/.exec(address)
  const port = m === null ? NaN : Number(m[2])
  if (m === null || !(port >= 0 && port <= 65535))
    throw new ConfigError(`${flag} must be HOST:PORT with a port from 0 to 65535, got "${address}"`)
  return { host: (m[1] ?? '').replace(/^\[(.*)\]$/, '$1') || '0.0.0.0', port }
}

/** Whether `--database` names a PostgreSQL database (the cluster stores). */
export function isPostgresUrl(url: string): boolean {
  return /^postgres(ql)?:\/\//.test(url)
}

/** `file:` (DATA_DIR/objects), `file:/abs/dir` or `s3://BUCKET[/PREFIX]`. */
export function parseBlobStore(
  value: string | undefined,
  dataDir: string,
  env: Readonly<Record<string, string | undefined>>,
): Config['blobStore'] {
  if (value === undefined || value === 'file:')
    return { kind: 'file', dir: join(dataDir, 'objects') }
  if (value.startsWith('s3://')) return parseS3BlobStore(value, env)
  if (value.startsWith('file:')) {
    const dir = value.slice('file:'.length).replace(/^\/\/(?=\/)/, '')
    if (isAbsolute(dir)) return { kind: 'file', dir }
  }
  throw new ConfigError(
    `--blob-store must be file:/absolute/dir or s3://BUCKET[/PREFIX], got "${value}"`,
  )
}

/**
 * `s3://BUCKET[/PREFIX]` and the LATCHKEY_BLOB_S3_* variables. The bucket follows S3's naming
 * rules; a prefix gets a trailing '/'. Region: LATCHKEY_BLOB_S3_REGION, else the AWS_REGION the
 * SDK would read, else us-east-1 (what S3-compatible servers accept).
 */
function parseS3BlobStore(
  value: string,
  env: Readonly<Record<string, string | undefined>>,
): S3BlobStoreConfig {
  const m = /^s3:\/\/([^/]*)(?:\/(.*))?$/.exec(value)
  const bucket = m?.[1] ?? ''
  let prefix = m?.[2] ?? ''
  if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket) || bucket.includes('..'))
    throw new ConfigError(
      `--blob-store s3://BUCKET[/PREFIX] needs a valid bucket name (3-63 characters: a-z 0-9 . -), got "${value}"`,
    )
  if (prefix !== '' && !prefix.endsWith('/')) prefix += '/'
  if (prefix.startsWith('/') || prefix.includes('//') || prefix.length > 512)
    throw new ConfigError(
      `--blob-store s3://BUCKET/PREFIX: the prefix must not start with / or hold //, got "${value}"`,
    )
  const endpoint = nonEmpty(env['LATCHKEY_BLOB_S3_ENDPOINT'])
  if (endpoint !== undefined && !/^https?:\/\/[^/]+/.test(endpoint))
    throw new ConfigError(
      `LATCHKEY_BLOB_S3_ENDPOINT must be an http:// or https:// URL, got "${endpoint}"`,
    )
  const region =
    nonEmpty(env['LATCHKEY_BLOB_S3_REGION']) ??
    nonEmpty(env['AWS_REGION']) ??
    nonEmpty(env['AWS_DEFAULT_REGION']) ??
    'us-east-1'
  if (!/^[A-Za-z0-9-]{1,64}$/.test(region))
    throw new ConfigError(`LATCHKEY_BLOB_S3_REGION must look like us-east-1, got "${region}"`)
  const accessKeyId = nonEmpty(env['LATCHKEY_BLOB_S3_ACCESS_KEY_ID'])
  const secretAccessKey = nonEmpty(env['LATCHKEY_BLOB_S3_SECRET_ACCESS_KEY'])
  if ((accessKeyId === undefined) !== (secretAccessKey === undefined))
    throw new ConfigError(
      'LATCHKEY_BLOB_S3_ACCESS_KEY_ID and LATCHKEY_BLOB_S3_SECRET_ACCESS_KEY must be set together',
    )
  return {
    kind: 's3',
    bucket,
    prefix,
    ...(endpoint !== undefined ? { endpoint } : {}),
    region,
    ...(accessKeyId !== undefined && secretAccessKey !== undefined
      ? { accessKeyId, secretAccessKey }
      : {}),
    forcePathStyle: booleanEnv(env, 'LATCHKEY_BLOB_S3_FORCE_PATH_STYLE'),
  }
}

/** An on/off environment variable: unset, '', 0, false → false; 1, true → true; else an error. */
function booleanEnv(env: Readonly<Record<string, string | undefined>>, name: string): boolean {
  const v = nonEmpty(env[name])
  if (v === undefined || v === '0' || v === 'false') return false
  if (v === '1' || v === 'true') return true
  throw new ConfigError(`${name} must be 1 or 0 (true or false), got "${v}"`)
}

function nonEmpty(v: string | undefined): string | undefined {
  return v === undefined || v === '' ? undefined : v
}
