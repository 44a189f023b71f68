/**
 * `latchkey sts assume-role`: get scoped temporary credentials from a Latchkey (or any STS)
 * endpoint in one line of a script, e.g.
 *   eval "$(latchkey sts assume-role --policy upload-only.json --duration 1h)"
 * Signs the AssumeRole form POST itself with SigV4 (service `sts`) using the project's own
 * canonicalization helpers (no SDK at runtime). Credentials come from AWS_ACCESS_KEY_ID /
 * AWS_SECRET_ACCESS_KEY (+ AWS_SESSION_TOKEN). Output: `export` lines (default) or the JSON the
 * AWS CLI's `credential_process` accepts. Exit codes: 0 ok, 1 refused by the server or network
 * failure, 2 usage error.
 * @module
 */
import { readFile } from 'node:fs/promises'
import { request as httpRequest } from 'node:http'
import { request as httpsRequest } from 'node:https'
import { XMLParser } from 'fast-xml-parser'
import { canonicalRequest } from '../auth/sigv4/canonical.js'
import { deriveSigningKey } from '../auth/sigv4/signing-key.js'
import {
  ALGORITHM,
  hmacSha256,
  scopeString,
  sha256Hex,
  stringToSign,
  type Scope,
} from '../auth/sigv4/string-to-sign.js'
import { parseDuration } from '../lib/duration.js'

export const STS_ASSUME_ROLE_USAGE =
  'usage: latchkey sts assume-role [--endpoint URL] [--policy FILE] [--duration 1h] [--session-name NAME] ' +
  '[--role-arn ARN] [--region R] [--format env|json] [--insecure]'

export interface AssumeRoleOptions {
  readonly endpoint: string
  readonly policyFile?: string
  readonly durationSeconds?: number
  readonly sessionName: string
  readonly roleArn?: string
  readonly region: string
  readonly format: 'env' | 'json'
  readonly insecure: boolean
}

class UsageError extends Error {}

const VALUE_FLAGS = new Set([
  '--endpoint',
  '--policy',
  '--duration',
  '--session-name',
  '--role-arn',
  '--region',
  '--format',
])

/** Parse argv (after `sts assume-role`); throws UsageError with one clear line. */
export function parseArgs(argv: readonly string[], env: NodeJS.ProcessEnv): AssumeRoleOptions {
  const given = new Map<string, string>()
  let insecure = false
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? ''
    if (arg === '--insecure') {
      insecure = true
      continue
    }
    const eq = arg.indexOf('=')
    const name = eq > 0 ? arg.slice(0, eq) : arg
    if (!VALUE_FLAGS.has(name)) throw new UsageError(`unknown argument ${arg}`)
    const value = eq > 0 ? arg.slice(eq + 1) : argv[++i]
    if (value === undefined || value === '') throw new UsageError(`${name} needs a value`)
    given.set(name, value)
  }
  const format = given.get('--format') ?? 'env'
  if (format !== 'env' && format !== 'json')
    throw new UsageError(`--format must be env or json, got "${format}"`)
  const d = given.get('--duration')
  const durationSeconds = d === undefined ? undefined : parseDuration(d)
  if (d !== undefined && durationSeconds === undefined)
    throw new UsageError(`--duration must be seconds or a duration like 15m, 12h, 90d, got "${d}"`)
  const endpoint = given.get('--endpoint') ?? env['LATCHKEY_ENDPOINT'] ?? 'http://localhost:9000'
  let url: URL
  try {
    url = new URL(endpoint)
  } catch {
    throw new UsageError(`--endpoint must be a URL, got "${endpoint}"`)
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new UsageError('--endpoint must be http:// or https://')
  const policyFile = given.get('--policy')
  const roleArn = given.get('--role-arn')
  return {
    endpoint,
    ...(policyFile !== undefined ? { policyFile } : {}),
    ...(durationSeconds !== undefined ? { durationSeconds } : {}),
    sessionName: given.get('--session-name') ?? 'latchkey-cli',
    ...(roleArn !== undefined ? { roleArn } : {}),
    region: given.get('--region') ?? env['AWS_REGION'] ?? env['AWS_DEFAULT_REGION'] ?? 'us-east-1',
    format,
    insecure,
  }
}

export interface SigningCredentials {
  readonly accessKeyId: string
  readonly secretAccessKey: string
  readonly sessionToken?: string
}

export interface SignedRequest {
  readonly url: URL
  readonly headers: Record<string, string>
  readonly body: string
}

function amzDateOf(ms: number): string {
  return new Date(ms)
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}/, '')
}

/** Build and SigV4-sign a form POST to the STS endpoint. Pure but for the time given. */
export function signStsPost(
  endpoint: string,
  form: Record<string, string>,
  creds: SigningCredentials,
  region: string,
  now: number,
): SignedRequest {
  const url = new URL(endpoint)
  const body = new URLSearchParams(form).toString()
  const amzDate = amzDateOf(now)
  const scope: Scope = { date: amzDate.slice(0, 8), region, service: 'sts' }
  const payloadHash = sha256Hex(body)
  const headers: Record<string, string> = {
    'content-type': 'application/x-www-form-urlencoded; charset=utf-8',
    host: url.host,
    'x-amz-date': amzDate,
  }
  if (creds.sessionToken !== undefined && creds.sessionToken !== '')
    headers['x-amz-security-token'] = creds.sessionToken
  const signedHeaders = Object.keys(headers).sort()
  const canonical = canonicalRequest({
    method: 'POST',
    rawPath: url.pathname === '' ? '/' : url.pathname,
    rawQuery: '',
    headers,
    signedHeaders,
    payloadHash,
    presigned: false,
    normalizePath: true,
  })
  const key = deriveSigningKey(creds.secretAccessKey, scope.date, scope.region, scope.service)
  const signature = hmacSha256(key, stringToSign(amzDate, scope, canonical)).toString('hex')
  headers['authorization'] =
    `${ALGORITHM} Credential=${creds.accessKeyId}/${scopeString(scope)}, SignedHeaders=${signedHeaders.join(';')}, Signature=${signature}`
  headers['content-length'] = String(Buffer.byteLength(body))
  return { url, headers, body }
}

function send(req: SignedRequest, insecure: boolean): Promise<{ status: number; text: string }> {
  const https = req.url.protocol === 'https:'
  const make = https ? httpsRequest : httpRequest
  return new Promise((resolve, reject) => {
    const r = make(
      req.url,
      { method: 'POST', headers: req.headers, ...(https ? { rejectUnauthorized: !insecure } : {}) },
      (res) => {
        const chunks: Buffer[] = []
        res.on('data', (c: Buffer) => chunks.push(c))
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }),
        )
        res.on('error', reject)
      },
    )
    r.setTimeout(30_000, () => r.destroy(new Error('timed out after 30 s')))
    r.on('error', reject)
    r.end(req.body)
  })
}

export interface Credentials {
  readonly AccessKeyId: string
  readonly SecretAccessKey: string
  readonly SessionToken: string
  readonly Expiration: string
}

const parser = new XMLParser({ parseTagValue: false })

/** Credentials from an AssumeRoleResponse, or the STS error as "Code: Message". */
export function parseAnswer(
  status: number,
  text: string,
): { ok: true; credentials: Credentials } | { ok: false; error: string } {
  let doc: Record<string, unknown>
  try {
    doc = parser.parse(text) as Record<string, unknown>
  } catch {
    return { ok: false, error: `HTTP ${status}: unreadable answer` }
  }
  const err = (doc['ErrorResponse'] as { Error?: { Code?: string; Message?: string } } | undefined)
    ?.Error
  if (err !== undefined || status !== 200)
    return {
      ok: false,
      error: `${err?.Code ?? `HTTP ${status}`}: ${err?.Message ?? 'request failed'}`,
    }
  const c = (
    doc['AssumeRoleResponse'] as
      { AssumeRoleResult?: { Credentials?: Record<string, unknown> } } | undefined
  )?.AssumeRoleResult?.Credentials
  const get = (k: string): string => (typeof c?.[k] === 'string' ? c[k] : '')
  if (c === undefined || get('AccessKeyId') === '')
    return { ok: false, error: 'the answer carries no credentials' }
  return {
    ok: true,
    credentials: {
      AccessKeyId: get('AccessKeyId'),
      SecretAccessKey: get('SecretAccessKey'),
      SessionToken: get('SessionToken'),
      Expiration: get('Expiration'),
    },
  }
}

function shellQuote(v: string): string {
  return /^[\w./+=:@-]*$/.test(v) ? v : `'${v.replace(/'/g, `'\\''`)}'`
}

export function formatCredentials(c: Credentials, format: 'env' | 'json'): string[] {
  if (format === 'json') return [JSON.stringify({ Version: 1, ...c }, null, 2)]
  return [
    `export AWS_ACCESS_KEY_ID=${shellQuote(c.AccessKeyId)}`,
    `export AWS_SECRET_ACCESS_KEY=${shellQuote(c.SecretAccessKey)}`,
    `export AWS_SESSION_TOKEN=${shellQuote(c.SessionToken)}`,
    `export AWS_CREDENTIAL_EXPIRATION=${shellQuote(c.Expiration)}`,
  ]
}

export async function runStsAssumeRole(
  argv: string[],
  env: NodeJS.ProcessEnv,
  out: (s: string) => void,
  err: (s: string) => void = (s) => process.stderr.write(`${s}\n`),
  now: () => number = Date.now,
): Promise<number> {
  let opts: AssumeRoleOptions
  try {
    opts = parseArgs(argv, env)
  } catch (e) {
    if (e instanceof UsageError) {
      err(`latchkey sts assume-role: ${e.message}`)
      err(STS_ASSUME_ROLE_USAGE)
      return 2
    }
    throw e
  }
  const accessKeyId = env['AWS_ACCESS_KEY_ID']
  const secretAccessKey = env['AWS_SECRET_ACCESS_KEY']
  if (
    accessKeyId === undefined ||
    accessKeyId === '' ||
    secretAccessKey === undefined ||
    secretAccessKey === ''
  ) {
    err(
      'latchkey sts assume-role: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN for session credentials)',
    )
    return 2
  }
  const form: Record<string, string> = {
    Action: 'AssumeRole',
    Version: '2011-06-15',
    RoleSessionName: opts.sessionName,
  }
  if (opts.roleArn !== undefined) form['RoleArn'] = opts.roleArn
  if (opts.durationSeconds !== undefined) form['DurationSeconds'] = String(opts.durationSeconds)
  if (opts.policyFile !== undefined) {
    try {
      form['Policy'] = await readFile(opts.policyFile, 'utf8')
    } catch (e) {
      err(
        `latchkey sts assume-role: cannot read --policy ${opts.policyFile}: ${(e as Error).message}`,
      )
      return 2
    }
  }
  const token = env['AWS_SESSION_TOKEN']
  const signed = signStsPost(
    opts.endpoint,
    form,
    {
      accessKeyId,
      secretAccessKey,
      ...(token !== undefined && token !== '' ? { sessionToken: token } : {}),
    },
    opts.region,
    now(),
  )
  let answer: { status: number; text: string }
  try {
    answer = await send(signed, opts.insecure)
  } catch (e) {
    err(`latchkey sts assume-role: ${opts.endpoint}: ${(e as Error).message}`)
    return 1
  }
  const parsed = parseAnswer(answer.status, answer.text)
  if (!parsed.ok) {
    err(`latchkey sts assume-role: ${parsed.error}`)
    return 1
  }
  for (const line of formatCredentials(parsed.credentials, opts.format)) out(line)
  return 0
}
