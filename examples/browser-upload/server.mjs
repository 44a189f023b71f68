/**
 * App server for the 4EVERLAND-style browser upload recipe. It holds the account master key and
 * never gives it out: `POST /credentials` calls Latchkey's STS AssumeRole (exactly like 4EVERLAND's
 * own example) for a 1-hour session whose inline policy allows only s3:PutObject and
 * s3:AbortMultipartUpload under `uploads/<user>/`, with Latchkey's upload caps as session tags
 * (at most LATCHKEY_MAX_OBJECT_SIZE bytes per object, LATCHKEY_MAX_BYTES in total,
 * LATCHKEY_MAX_OBJECTS objects, and only LATCHKEY_CONTENT_TYPES when set), and returns those
 * temporary credentials to the page. It also serves the page (index.html, upload.mjs). node:http
 * only, no framework.
 *
 *   LATCHKEY_ENDPOINT=http://127.0.0.1:9000 AWS_ACCESS_KEY_ID=… AWS_SECRET_ACCESS_KEY=… \
 *     node examples/browser-upload/server.mjs
 *
 * Env: LATCHKEY_ENDPOINT (required), AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY (the master key,
 * required), LATCHKEY_BUCKET (default `browser-uploads`), LATCHKEY_PUBLIC_ENDPOINT (the endpoint as
 * the browser reaches it; default LATCHKEY_ENDPOINT), AWS_REGION (default us-east-1), HOST
 * (default 127.0.0.1), PORT (default 8080; 0 picks a free port), LATCHKEY_MAX_OBJECT_SIZE (default
 * 104857600 = 100 MiB), LATCHKEY_MAX_BYTES (default 1073741824 = 1 GiB), LATCHKEY_MAX_OBJECTS
 * (default 1000), LATCHKEY_CONTENT_TYPES (e.g. `image/*,application/pdf`; default: any type).
 *
 * `@aws-sdk/client-sts` is a dev dependency of Latchkey; a real app installs it itself
 * (`npm install @aws-sdk/client-sts`).
 * @module
 */
import { createServer } from 'node:http'
import { readFile } from 'node:fs/promises'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { STSClient, AssumeRoleCommand } from '@aws-sdk/client-sts'

const HERE = new URL('.', import.meta.url)
const STATIC = {
  '/': ['index.html', 'text/html; charset=utf-8'],
  '/index.html': ['index.html', 'text/html; charset=utf-8'],
  '/upload.mjs': ['upload.mjs', 'text/javascript; charset=utf-8'],
}
const USER_ID = /^[A-Za-z0-9_-]{1,40}$/
const MAX_BODY = 1024

/** The object prefix a user may write under. */
export function userPrefix(user) {
  return `uploads/${user}/`
}

/** The inline session policy: PutObject + AbortMultipartUpload under the user's prefix, nothing else. */
export function uploadPolicy(bucket, prefix) {
  return JSON.stringify({
    Version: '2012-10-17',
    Statement: [
      {
        Effect: 'Allow',
        Action: ['s3:PutObject', 's3:AbortMultipartUpload'],
        Resource: [`arn:aws:s3:::${bucket}/${prefix}*`],
      },
    ],
  })
}

/**
 * The upload caps as STS session tags (Latchkey's reserved `latchkey:*` keys, decimal values): the
 * standard `Tags` parameter of AssumeRole, so the unmodified SDK call carries them. Latchkey cuts
 * an upload that crosses one (EntityTooLarge for the size, AccessDenied naming the cap otherwise)
 * and stores nothing of it.
 */
export function uploadCapTags(caps) {
  const tags = [
    { Key: 'latchkey:max-object-size', Value: String(caps.maxObjectSize) },
    { Key: 'latchkey:max-bytes', Value: String(caps.maxBytes) },
    { Key: 'latchkey:max-objects', Value: String(caps.maxObjects) },
  ]
  if (caps.contentTypes) tags.push({ Key: 'latchkey:content-types', Value: caps.contentTypes })
  return tags
}

/** Read env into a config; throws one clear line for anything missing. */
export function configFromEnv(env) {
  const need = (name) => {
    const v = env[name]
    if (v === undefined || v === '') throw new Error(`${name} is required`)
    return v
  }
  const endpoint = need('LATCHKEY_ENDPOINT').replace(/\/+$/, '')
  return {
    endpoint,
    publicEndpoint: (env.LATCHKEY_PUBLIC_ENDPOINT || endpoint).replace(/\/+$/, ''),
    accessKeyId: need('AWS_ACCESS_KEY_ID'),
    secretAccessKey: need('AWS_SECRET_ACCESS_KEY'),
    bucket: env.LATCHKEY_BUCKET || 'browser-uploads',
    region: env.AWS_REGION || 'us-east-1',
    host: env.HOST || '127.0.0.1',
    port: Number(env.PORT ?? 8080),
    caps: {
      maxObjectSize: Number(env.LATCHKEY_MAX_OBJECT_SIZE || 100 * 1024 * 1024),
      maxBytes: Number(env.LATCHKEY_MAX_BYTES || 1024 * 1024 * 1024),
      maxObjects: Number(env.LATCHKEY_MAX_OBJECTS || 1000),
      ...(env.LATCHKEY_CONTENT_TYPES ? { contentTypes: env.LATCHKEY_CONTENT_TYPES } : {}),
    },
  }
}

function sendJson(res, status, body) {
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' })
  res.end(JSON.stringify(body))
}

async function readBody(req) {
  let size = 0
  const chunks = []
  for await (const chunk of req) {
    size += chunk.length
    if (size > MAX_BODY) throw Object.assign(new Error('request body too large'), { status: 413 })
    chunks.push(chunk)
  }
  return Buffer.concat(chunks).toString('utf8')
}

/**
 * The user this request is for. DEMO ONLY: the page says who it is. A real app takes the user id
 * from its own authenticated session (cookie, JWT), never from what the client claims.
 */
function userFrom(text) {
  let body
  try {
    body = JSON.parse(text)
  } catch {
    return undefined
  }
  const user = body?.user
  return typeof user === 'string' && USER_ID.test(user) ? user : undefined
}

/** Build the http.Server (not listening yet). */
export function createApp(config) {
  const sts = new STSClient({
    endpoint: config.endpoint,
    region: config.region,
    credentials: { accessKeyId: config.accessKeyId, secretAccessKey: config.secretAccessKey },
  })

  async function mintCredentials(user) {
    const prefix = userPrefix(user)
    const out = await sts.send(
      new AssumeRoleCommand({
        RoleSessionName: `upload-${user}`,
        DurationSeconds: 3600,
        Policy: uploadPolicy(config.bucket, prefix),
        Tags: uploadCapTags(config.caps),
      }),
    )
    const c = out.Credentials
    if (!c?.AccessKeyId || !c.SecretAccessKey || !c.SessionToken)
      throw new Error('STS answered without credentials')
    return {
      endpoint: config.publicEndpoint,
      region: config.region,
      bucket: config.bucket,
      prefix,
      accessKeyId: c.AccessKeyId,
      secretAccessKey: c.SecretAccessKey,
      sessionToken: c.SessionToken,
      expiration: c.Expiration?.toISOString(),
      caps: config.caps,
    }
  }

  async function handle(req, res) {
    const path = new URL(req.url ?? '/', 'http://x').pathname
    const file = STATIC[path]
    if (file !== undefined && (req.method === 'GET' || req.method === 'HEAD')) {
      const body = await readFile(fileURLToPath(new URL(file[0], HERE)))
      res.writeHead(200, { 'content-type': file[1], 'cache-control': 'no-cache' })
      return void res.end(req.method === 'HEAD' ? undefined : body)
    }
    if (path === '/credentials') {
      if (req.method !== 'POST') return sendJson(res, 405, { error: 'use POST' })
      const user = userFrom(await readBody(req))
      if (user === undefined)
        return sendJson(res, 400, { error: 'body must be {"user": "<1-40 of A-Za-z0-9_->"}' })
      try {
        return sendJson(res, 200, await mintCredentials(user))
      } catch (e) {
        // The STS error's code and message only: never the master key.
        const code = e?.name ?? 'Error'
        console.error(`AssumeRole failed: ${code}: ${e?.message ?? ''}`)
        return sendJson(res, 502, { error: `STS AssumeRole failed: ${code}` })
      }
    }
    sendJson(res, 404, { error: 'not found' })
  }

  return createServer((req, res) => {
    handle(req, res).catch((e) => {
      const status = e?.status ?? 500
      if (!res.headersSent)
        sendJson(res, status, { error: e?.status ? e.message : 'internal error' })
      else res.destroy()
    })
  })
}

function main() {
  let config
  try {
    config = configFromEnv(process.env)
  } catch (e) {
    console.error(`browser-upload example: ${e.message}`)
    process.exit(2)
  }
  const server = createApp(config)
  server.listen(config.port, config.host, () => {
    const { port } = server.address()
    console.log(
      `browser-upload example listening on http://${config.host}:${port} (bucket ${config.bucket})`,
    )
  })
  const stop = () => {
    server.close(() => process.exit(0))
    server.closeAllConnections()
  }
  process.on('SIGTERM', stop)
  process.on('SIGINT', stop)
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) main()
