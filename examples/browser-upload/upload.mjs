/**
 * Browser side of the 4EVERLAND-style upload recipe: fetch a 1-hour, prefix-scoped credential from
 * the app server, then PUT the file straight to Latchkey, signed with SigV4 (header auth,
 * x-amz-security-token, UNSIGNED-PAYLOAD) using WebCrypto. A tiny self-contained signer instead of
 * the AWS SDK, so the page needs no bundler and no CDN. The bytes never pass through the app server.
 *
 * WebCrypto (`crypto.subtle`) exists only in secure contexts: https pages, or http on localhost /
 * 127.0.0.1. The signer also runs in Node 20+ (globalThis.crypto), which is how it is tested.
 * @module
 */

const enc = new TextEncoder()

/** Lower-case hex of bytes. */
function hex(buf) {
  return [...new Uint8Array(buf)].map((b) => b.toString(16).padStart(2, '0')).join('')
}

async function sha256Hex(text) {
  return hex(await crypto.subtle.digest('SHA-256', enc.encode(text)))
}

async function hmac(key, text) {
  const raw = typeof key === 'string' ? enc.encode(key) : key
  const k = await crypto.subtle.importKey('raw', raw, { name: 'HMAC', hash: 'SHA-256' }, false, [
    'sign',
  ])
  return crypto.subtle.sign('HMAC', k, enc.encode(text))
}

/** AWS URI encoding: every byte but A-Z a-z 0-9 - . _ ~ is %XX (encodeURIComponent leaves !'()*). */
export function awsEncode(segment) {
  const pct = (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase()
  return encodeURIComponent(segment).replace(/[!'()*]/g, pct)
}

/** `/bucket/a/b c.txt` → `/bucket/a/b%20c.txt`: each segment encoded once (S3 never double-encodes). */
export function objectPath(bucket, key) {
  return '/' + [bucket, ...key.split('/')].map(awsEncode).join('/')
}

/** `20240102T030405Z` from a Date. */
export function amzDate(date) {
  return date
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}/, '')
}

/**
 * Sign a request with SigV4 header auth. `creds` = {accessKeyId, secretAccessKey, sessionToken?}.
 * Returns the headers to send (the browser adds Host itself; it is signed with the value it will send).
 */
export async function signRequest(o) {
  const { method, url, creds, region, service = 's3', date = new Date(), headers = {} } = o
  const u = new URL(url)
  const time = amzDate(date)
  const day = time.slice(0, 8)
  const payloadHash = 'UNSIGNED-PAYLOAD'
  const toSign = {
    host: u.host,
    'x-amz-content-sha256': payloadHash,
    'x-amz-date': time,
    ...(creds.sessionToken ? { 'x-amz-security-token': creds.sessionToken } : {}),
  }
  for (const [k, v] of Object.entries(headers)) toSign[k.toLowerCase()] = String(v)
  const names = Object.keys(toSign).sort()
  const canonicalHeaders = names
    .map((n) => `${n}:${toSign[n].trim().replace(/\s+/g, ' ')}\n`)
    .join('')
  const signedHeaders = names.join(';')
  const query = [...u.searchParams]
    .map(([k, v]) => [awsEncode(k), awsEncode(v)])
    .sort(([a, x], [b, y]) => (a < b ? -1 : a > b ? 1 : x < y ? -1 : x > y ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`)
    .join('&')
  const canonicalRequest = [
    method,
    u.pathname,
    query,
    canonicalHeaders,
    signedHeaders,
    payloadHash,
  ].join('\n')
  const scope = `${day}/${region}/${service}/aws4_request`
  const stringToSign = ['AWS4-HMAC-SHA256', time, scope, await sha256Hex(canonicalRequest)].join(
    '\n',
  )
  let key = await hmac('AWS4' + creds.secretAccessKey, day)
  for (const part of [region, service, 'aws4_request']) key = await hmac(key, part)
  const signature = hex(await hmac(key, stringToSign))
  const out = { ...toSign }
  delete out.host // a forbidden header in fetch; the browser sends the same value
  out.authorization =
    `AWS4-HMAC-SHA256 Credential=${creds.accessKeyId}/${scope}, ` +
    `SignedHeaders=${signedHeaders}, Signature=${signature}`
  return out
}

/** PUT a Blob/File to `endpoint/bucket/key`. Resolves {ok, status, etag, code, message}. */
export async function putObject({ endpoint, bucket, key, body, contentType, creds, region }) {
  const url = endpoint.replace(/\/+$/, '') + objectPath(bucket, key)
  const headers = await signRequest({ method: 'PUT', url, creds, region })
  if (contentType) headers['content-type'] = contentType // sent, not signed (allowed by SigV4)
  const res = await fetch(url, { method: 'PUT', headers, body })
  if (res.ok) return { ok: true, status: res.status, etag: res.headers.get('etag'), key }
  // S3 errors are XML <Error><Code/><Message/>; readable cross-origin because Latchkey adds CORS
  // headers to error responses too.
  const text = await res.text()
  const pick = (tag) => new RegExp(`<${tag}>([^<]*)</${tag}>`).exec(text)?.[1] ?? ''
  return { ok: false, status: res.status, code: pick('Code'), message: pick('Message'), key }
}

// ---- page wiring (only in a browser) ----

let cached

/** The app server's /credentials answer, reused until 5 minutes before it expires. */
async function credentials(user) {
  if (cached && cached.user === user && Date.parse(cached.expiration) - Date.now() > 5 * 60_000)
    return cached
  const res = await fetch('/credentials', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ user }),
  })
  const json = await res.json()
  if (!res.ok) throw new Error(json.error ?? `credentials: HTTP ${res.status}`)
  cached = { ...json, user }
  return cached
}

function wirePage() {
  const $ = (id) => document.getElementById(id)
  const show = (id, text) => {
    $(id).textContent = text
  }
  async function upload(outside) {
    const file = $('file').files[0]
    const resultId = outside ? 'outside-result' : 'etag'
    if (!file) return show('status', 'Choose a file first.')
    show(resultId, '…')
    try {
      const c = await credentials($('user').value.trim())
      // Inside: uploads/<user>/<name>. Outside: the bucket root, which the session policy does not allow.
      const key = outside ? `${file.name}` : `${c.prefix}${file.name}`
      show('status', `PUT ${c.endpoint}/${c.bucket}/${key} (session expires ${c.expiration})`)
      const r = await putObject({
        endpoint: c.endpoint,
        bucket: c.bucket,
        key,
        body: file,
        contentType: file.type || 'application/octet-stream',
        creds: c,
        region: c.region,
      })
      $('key').textContent = r.key
      const noEtag = '(no ETag exposed: add ExposeHeader ETag to the CORS rule)'
      show(resultId, r.ok ? (r.etag ?? noEtag) : `${r.status} ${r.code}: ${r.message}`)
    } catch (e) {
      // A CORS refusal surfaces here as a TypeError ("Failed to fetch"), with no status to read.
      show(resultId, `error: ${e instanceof Error ? e.message : String(e)}`)
    }
  }
  $('upload').addEventListener('click', () => void upload(false))
  $('outside').addEventListener('click', () => void upload(true))
  show('status', 'ready')
}

if (typeof document !== 'undefined') wirePage()
