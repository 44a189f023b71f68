/**
 * A minimal SigV4 client for load tests: keep-alive `node:http` requests signed with node:crypto,
 * about ten microseconds of client CPU each, so a test on two shared cores can send thousands
 * per second (the SDK spends several times more per call). Only what the tests send: a path
 * without special characters, no query string, a small body.
 * @module
 */
import { createHash, createHmac } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { Agent, request } from 'node:http'

export interface RawCreds {
  readonly accessKeyId: string
  readonly secretAccessKey: string
  readonly sessionToken?: string
}

export interface RawAnswer {
  readonly status: number
  readonly body: string
}

const hmac = (key: Buffer | string, data: string): Buffer =>
  createHmac('sha256', key).update(data).digest()
const sha256 = (data: string): string => createHash('sha256').update(data).digest('hex')

export class RawClient {
  private readonly url: URL
  private readonly agent: Agent
  private keyCache = new Map<string, Buffer>()

  constructor(endpoint: string, sockets = 32) {
    this.url = new URL(endpoint)
    this.agent = new Agent({ keepAlive: true, maxSockets: sockets })
  }

  close(): void {
    this.agent.destroy()
  }

  private signingKey(secret: string, date: string, service: string): Buffer {
    const id = `${secret}\u0000${date}\u0000${service}`
    let k = this.keyCache.get(id)
    if (k === undefined) {
      k = hmac(hmac(hmac(hmac(`AWS4${secret}`, date), 'us-east-1'), service), 'aws4_request')
      this.keyCache.set(id, k)
    }
    return k
  }

  /** Send one signed request; resolves with the status and body. */
  send(
    creds: RawCreds,
    opts: {
      readonly method: 'GET' | 'POST'
      readonly path: string
      readonly service: 's3' | 'sts'
      readonly body?: string
      readonly contentType?: string
    },
  ): Promise<RawAnswer> {
    const body = opts.body ?? ''
    const amzDate = new Date().toISOString().replace(/[-:]|\.\d{3}/g, '')
    const date = amzDate.slice(0, 8)
    const host = this.url.host
    const payloadHash = sha256(body)
    const headers: Record<string, string> = {
      host,
      'x-amz-content-sha256': payloadHash,
      'x-amz-date': amzDate,
    }
    if (opts.contentType !== undefined) headers['content-type'] = opts.contentType
    if (creds.sessionToken !== undefined && creds.sessionToken !== '')
      headers['x-amz-security-token'] = creds.sessionToken
    const names = Object.keys(headers).sort()
    const canonical = [
      opts.method,
      opts.path,
      '',
      ...names.map((n) => `${n}:${headers[n]!}`),
      '',
      names.join(';'),
      payloadHash,
    ].join('\n')
    const scope = `${date}/us-east-1/${opts.service}/aws4_request`
    const toSign = `AWS4-HMAC-SHA256\n${amzDate}\n${scope}\n${sha256(canonical)}`
    const signature = createHmac(
      'sha256',
      this.signingKey(creds.secretAccessKey, date, opts.service),
    )
      .update(toSign)
      .digest('hex')
    headers['authorization'] =
      `AWS4-HMAC-SHA256 Credential=${creds.accessKeyId}/${scope}, SignedHeaders=${names.join(';')}, Signature=${signature}`
    headers['content-length'] = String(Buffer.byteLength(body))
    return new Promise((resolve, reject) => {
      const req = request(
        {
          host: this.url.hostname,
          port: this.url.port,
          method: opts.method,
          path: opts.path,
          headers,
          agent: this.agent,
        },
        (res) => {
          const chunks: Buffer[] = []
          res.on('data', (c: Buffer) => chunks.push(c))
          res.on('end', () =>
            resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }),
          )
          res.on('error', reject)
        },
      )
      req.on('error', reject)
      req.end(body)
    })
  }

  /** AssumeRole with `creds` (form body, as the SDK sends it). */
  assumeRole(creds: RawCreds, sessionName: string, durationSeconds = 900): Promise<RawAnswer> {
    return this.send(creds, {
      method: 'POST',
      path: '/',
      service: 'sts',
      contentType: 'application/x-www-form-urlencoded; charset=utf-8',
      body: `Action=AssumeRole&Version=2011-06-15&RoleArn=Required1&RoleSessionName=${sessionName}&DurationSeconds=${String(durationSeconds)}`,
    })
  }

  /** GET an object (path-style). */
  get(creds: RawCreds, bucket: string, key: string): Promise<RawAnswer> {
    return this.send(creds, { method: 'GET', path: `/${bucket}/${key}`, service: 's3' })
  }
}

/** The credentials of an AssumeRole answer's XML. */
export function credsOf(xml: string): RawCreds & { readonly expiration: string } {
  const pick = (tag: string): string => {
    const m = new RegExp(`<${tag}>([^<]*)</${tag}>`).exec(xml)
    if (!m?.[1]) throw new Error(`no ${tag} in ${xml.slice(0, 300)}`)
    return m[1]
  }
  return {
    accessKeyId: pick('AccessKeyId'),
    secretAccessKey: pick('SecretAccessKey'),
    sessionToken: pick('SessionToken'),
    expiration: pick('Expiration'),
  }
}

/** The <Code> of an error answer. */
export function codeOf(xml: string): string {
  return /<Code>([^<]*)<\/Code>/.exec(xml)?.[1] ?? ''
}

/**
 * A process's resident memory in bytes (Linux): `rss` in all, `anon` its own (heap, stacks),
 * `file` pages of mapped files (SQLite's mmap of the database: page cache the kernel can drop,
 * bounded by the mmap_size pragma).
 */
export function memoryOf(pid: number): { rss: number; anon: number; file: number } {
  const status = readFileSync(`/proc/${String(pid)}/status`, 'utf8')
  const kb = (name: string): number => {
    const m = new RegExp(`${name}:\\s+(\\d+) kB`).exec(status)
    if (!m?.[1]) throw new Error(`no ${name}`)
    return Number(m[1]) * 1024
  }
  return { rss: kb('VmRSS'), anon: kb('RssAnon'), file: kb('RssFile') + kb('RssShmem') }
}
