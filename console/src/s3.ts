/**
 * S3 from the browser, same origin, signed with SigV4 (aws4fetch) using the console session's
 * own temporary credentials (GET /api/admin/console/credentials), held in this module's memory
 * only and refetched shortly before they expire or after a reload. Payloads are UNSIGNED-PAYLOAD
 * so large files are never hashed in JS. Uploads go through XMLHttpRequest for progress events;
 * files over 8 MiB use multipart upload (8 MiB parts) straight to S3, never via an app server.
 */
import { AwsClient, AwsV4Signer } from 'aws4fetch'
import { api } from './api.ts'

export interface Creds {
  access_key: string
  secret_key: string
  session_token: string
  expires_at: string
  region?: string
}

let creds: Creds | undefined
let pending: Promise<Creds> | undefined

export function forgetCredentials(): void {
  creds = undefined
  pending = undefined
}

async function credentials(): Promise<Creds> {
  if (creds !== undefined && Date.parse(creds.expires_at) - Date.now() > 60_000) return creds
  pending ??= api<Creds>('GET', '/console/credentials').then(
    (c) => {
      creds = c
      pending = undefined
      return c
    },
    (e: unknown) => {
      pending = undefined
      throw e
    },
  )
  return pending
}

/** The console session's own access key (to mark it in the Sessions list). */
export async function consoleAccessKey(): Promise<string | undefined> {
  try {
    return (await credentials()).access_key
  } catch {
    return undefined
  }
}

async function client(override?: Creds): Promise<AwsClient> {
  const c = override ?? (await credentials())
  return new AwsClient({
    accessKeyId: c.access_key,
    secretAccessKey: c.secret_key,
    sessionToken: c.session_token,
    service: 's3',
    region: c.region ?? 'us-east-1',
  })
}

/** Path-style URL on this origin: /bucket/key with each key segment percent-encoded. */
export function objectUrl(bucket: string, key = '', query: Record<string, string> = {}): string {
  const path =
    bucket === ''
      ? '/'
      : `/${encodeURIComponent(bucket)}${key === '' ? '' : '/' + key.split('/').map(encodeURIComponent).join('/')}`
  const u = new URL(path, location.origin)
  for (const [k, v] of Object.entries(query)) u.searchParams.set(k, v)
  return u.toString()
}

export class S3Error extends Error {
  readonly status: number
  readonly code: string
  constructor(status: number, code: string, message: string) {
    super(message)
    this.name = 'S3Error'
    this.status = status
    this.code = code
  }
}

function parseXml(text: string): Document {
  return new DOMParser().parseFromString(text, 'application/xml')
}

function s3Error(status: number, text: string): S3Error {
  if (text !== '') {
    const doc = parseXml(text)
    const code = doc.querySelector('Error > Code')?.textContent
    const msg = doc.querySelector('Error > Message')?.textContent
    if (code) return new S3Error(status, code, `${msg ?? code} (${code})`)
  }
  return new S3Error(status, `HTTP${status}`, `S3 answered ${status}`)
}

async function s3(
  method: string,
  url: string,
  init: { body?: string; headers?: Record<string, string> } = {},
): Promise<Response> {
  const c = await client()
  const res = await c.fetch(url, {
    method,
    headers: init.headers ?? {},
    ...(init.body !== undefined ? { body: init.body } : {}),
  })
  if (!res.ok) throw s3Error(res.status, await res.text())
  return res
}

const text = (el: Element, name: string): string =>
  el.getElementsByTagName(name)[0]?.textContent ?? ''

export interface Bucket {
  name: string
  created: string
}

export async function listBuckets(): Promise<Bucket[]> {
  const doc = parseXml(await (await s3('GET', objectUrl(''))).text())
  return [...doc.getElementsByTagName('Bucket')].map((b) => ({
    name: text(b, 'Name'),
    created: text(b, 'CreationDate'),
  }))
}

export async function createBucket(name: string): Promise<void> {
  await s3('PUT', objectUrl(name))
}

export async function deleteBucket(name: string): Promise<void> {
  await s3('DELETE', objectUrl(name))
}

export interface ObjectEntry {
  key: string
  size: number
  modified: string
  etag: string
}

export interface Listing {
  folders: string[]
  objects: ObjectEntry[]
  nextToken: string | undefined
}

export async function listObjects(
  bucket: string,
  prefix: string,
  token?: string,
): Promise<Listing> {
  const q: Record<string, string> = { 'list-type': '2', delimiter: '/', prefix, 'max-keys': '500' }
  if (token !== undefined) q['continuation-token'] = token
  const doc = parseXml(await (await s3('GET', objectUrl(bucket, '', q))).text())
  const folders = [...doc.getElementsByTagName('CommonPrefixes')].map((p) => text(p, 'Prefix'))
  const objects = [...doc.getElementsByTagName('Contents')].map((c) => ({
    key: text(c, 'Key'),
    size: Number(text(c, 'Size')),
    modified: text(c, 'LastModified'),
    etag: text(c, 'ETag'),
  }))
  const truncated = doc.getElementsByTagName('IsTruncated')[0]?.textContent === 'true'
  const next = doc.getElementsByTagName('NextContinuationToken')[0]?.textContent ?? undefined
  return { folders, objects, nextToken: truncated && next ? next : undefined }
}

export async function deleteObject(bucket: string, key: string): Promise<void> {
  await s3('DELETE', objectUrl(bucket, key))
}

export interface ObjectInfo {
  headers: [string, string][]
  tags: [string, string][]
}

export async function objectInfo(bucket: string, key: string): Promise<ObjectInfo> {
  const head = await s3('HEAD', objectUrl(bucket, key))
  const headers = [...head.headers.entries()].filter(
    ([k]) =>
      k.startsWith('x-amz-meta-') ||
      ['content-type', 'content-length', 'etag', 'last-modified', 'cache-control'].includes(k) ||
      k === 'x-amz-storage-class' ||
      k === 'content-disposition' ||
      k === 'content-encoding',
  )
  let tags: [string, string][] = []
  try {
    const doc = parseXml(await (await s3('GET', objectUrl(bucket, key, { tagging: '' }))).text())
    tags = [...doc.getElementsByTagName('Tag')].map((t) => [text(t, 'Key'), text(t, 'Value')])
  } catch {
    tags = []
  }
  return { headers, tags }
}

/** A presigned GET (15 minutes) for downloading through the browser's own download manager. */
export async function presignGet(bucket: string, key: string): Promise<string> {
  const c = await credentials()
  const u = new URL(objectUrl(bucket, key))
  u.searchParams.set('X-Amz-Expires', '900')
  u.searchParams.set(
    'response-content-disposition',
    // No space: URLSearchParams would write it as '+', which S3 reads literally (SigV4 mismatch).
    `attachment;filename*=UTF-8''${encodeURIComponent(key.split('/').pop() ?? 'download')}`,
  )
  const signer = new AwsV4Signer({
    url: u.toString(),
    method: 'GET',
    accessKeyId: c.access_key,
    secretAccessKey: c.secret_key,
    sessionToken: c.session_token,
    service: 's3',
    region: c.region ?? 'us-east-1',
    signQuery: true,
  })
  return (await signer.sign()).url.toString()
}

/** The bucket's policy or CORS document as text; '' when it has none. */
export async function getBucketSub(bucket: string, sub: 'policy' | 'cors'): Promise<string> {
  try {
    return await (await s3('GET', objectUrl(bucket, '', { [sub]: '' }))).text()
  } catch (e) {
    if (e instanceof S3Error && e.status === 404) return ''
    throw e
  }
}

export async function putBucketSub(bucket: string, sub: 'policy' | 'cors', body: string) {
  const headers: Record<string, string> = {}
  if (sub === 'cors') {
    // PutBucketCors requires an integrity header: SHA-256 from WebCrypto (no MD5 in browsers).
    headers['content-type'] = 'application/xml'
    const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(body))
    headers['x-amz-checksum-sha256'] = btoa(String.fromCharCode(...new Uint8Array(digest)))
  }
  await s3('PUT', objectUrl(bucket, '', { [sub]: '' }), { body, headers })
}

export async function deleteBucketSub(bucket: string, sub: 'policy' | 'cors') {
  await s3('DELETE', objectUrl(bucket, '', { [sub]: '' }))
}

// ---- CORS: the console edits JSON (as `aws s3api put-bucket-cors` takes); S3 speaks XML.

export interface CorsRule {
  AllowedOrigins: string[]
  AllowedMethods: string[]
  AllowedHeaders?: string[]
  ExposeHeaders?: string[]
  MaxAgeSeconds?: number
  ID?: string
}

export function corsXmlToJson(xml: string): string {
  if (xml.trim() === '') return ''
  const doc = parseXml(xml)
  const rules = [...doc.getElementsByTagName('CORSRule')].map((r) => {
    const all = (n: string) => [...r.getElementsByTagName(n)].map((e) => e.textContent ?? '')
    const rule: CorsRule = {
      AllowedOrigins: all('AllowedOrigin'),
      AllowedMethods: all('AllowedMethod'),
    }
    const h = all('AllowedHeader')
    if (h.length > 0) rule.AllowedHeaders = h
    const x = all('ExposeHeader')
    if (x.length > 0) rule.ExposeHeaders = x
    const m = text(r, 'MaxAgeSeconds')
    if (m !== '') rule.MaxAgeSeconds = Number(m)
    const id = text(r, 'ID')
    if (id !== '') rule.ID = id
    return rule
  })
  return JSON.stringify({ CORSRules: rules }, null, 2)
}

const esc = (s: string) =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;')

/** Problems with a parsed CORS JSON document (shape errors), or the XML to send. */
export function corsJsonToXml(value: unknown): { errors: string[]; xml: string } {
  const errors: string[] = []
  const rules = (value as { CORSRules?: unknown } | null)?.CORSRules
  if (!Array.isArray(rules) || rules.length === 0)
    return { errors: ['"CORSRules" must be a non-empty array of rules'], xml: '' }
  const strs = (v: unknown) => Array.isArray(v) && v.every((x) => typeof x === 'string')
  let xml = '<CORSConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/">'
  rules.forEach((r: Record<string, unknown>, i) => {
    if (!strs(r['AllowedOrigins']) || (r['AllowedOrigins'] as string[]).length === 0)
      errors.push(`CORSRules[${i}].AllowedOrigins must be a non-empty array of strings`)
    if (!strs(r['AllowedMethods']) || (r['AllowedMethods'] as string[]).length === 0)
      errors.push(`CORSRules[${i}].AllowedMethods must be a non-empty array of strings`)
    for (const m of (strs(r['AllowedMethods']) ? r['AllowedMethods'] : []) as string[])
      if (!['GET', 'PUT', 'POST', 'DELETE', 'HEAD'].includes(m))
        errors.push(`CORSRules[${i}].AllowedMethods: ${m} is not GET, PUT, POST, DELETE or HEAD`)
    for (const k of ['AllowedHeaders', 'ExposeHeaders'])
      if (r[k] !== undefined && !strs(r[k]))
        errors.push(`CORSRules[${i}].${k} must be an array of strings`)
    if (r['MaxAgeSeconds'] !== undefined && !Number.isInteger(r['MaxAgeSeconds']))
      errors.push(`CORSRules[${i}].MaxAgeSeconds must be an integer`)
    for (const k of Object.keys(r))
      if (
        ![
          'AllowedOrigins',
          'AllowedMethods',
          'AllowedHeaders',
          'ExposeHeaders',
          'MaxAgeSeconds',
          'ID',
        ].includes(k)
      )
        errors.push(`CORSRules[${i}]: unknown field ${k}`)
    if (errors.length > 0) return
    xml += '<CORSRule>'
    if (typeof r['ID'] === 'string') xml += `<ID>${esc(r['ID'])}</ID>`
    for (const o of r['AllowedOrigins'] as string[])
      xml += `<AllowedOrigin>${esc(o)}</AllowedOrigin>`
    for (const m of r['AllowedMethods'] as string[])
      xml += `<AllowedMethod>${esc(m)}</AllowedMethod>`
    for (const h of (r['AllowedHeaders'] ?? []) as string[])
      xml += `<AllowedHeader>${esc(h)}</AllowedHeader>`
    for (const h of (r['ExposeHeaders'] ?? []) as string[])
      xml += `<ExposeHeader>${esc(h)}</ExposeHeader>`
    if (r['MaxAgeSeconds'] !== undefined)
      xml += `<MaxAgeSeconds>${String(r['MaxAgeSeconds'])}</MaxAgeSeconds>`
    xml += '</CORSRule>'
  })
  xml += '</CORSConfiguration>'
  return { errors, xml }
}

// ---- Uploads

export const PART_SIZE = 8 * 1024 * 1024

/** Signed headers for one request, to copy onto an XMLHttpRequest (which reports progress). */
async function signedHeaders(
  method: string,
  url: string,
  extra: Record<string, string> = {},
  override?: Creds,
) {
  const c = override ?? (await credentials())
  const signer = new AwsV4Signer({
    url,
    method,
    headers: { ...extra, 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD' },
    accessKeyId: c.access_key,
    secretAccessKey: c.secret_key,
    sessionToken: c.session_token,
    service: 's3',
    region: c.region ?? 'us-east-1',
  })
  const signed = await signer.sign()
  return signed.headers
}

function xhrPut(
  url: string,
  headers: Headers,
  body: Blob,
  onProgress: (loaded: number) => void,
  signal?: AbortSignal,
): Promise<{ etag: string }> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted === true) {
      reject(new S3Error(0, 'Aborted', 'Upload cancelled'))
      return
    }
    const x = new XMLHttpRequest()
    x.open('PUT', url)
    headers.forEach((v, k) => {
      if (k !== 'host' && k !== 'content-length') x.setRequestHeader(k, v)
    })
    x.upload.onprogress = (e) => onProgress(e.loaded)
    x.onload = () => {
      if (x.status >= 200 && x.status < 300) resolve({ etag: x.getResponseHeader('etag') ?? '' })
      else reject(s3Error(x.status, x.responseText))
    }
    x.onerror = () => reject(new S3Error(0, 'NetworkError', 'The upload failed (network error)'))
    x.onabort = () => reject(new S3Error(0, 'Aborted', 'Upload cancelled'))
    signal?.addEventListener('abort', () => x.abort())
    x.send(body)
  })
}

/**
 * Upload one file to bucket/key with progress (bytes sent so far); multipart when larger than
 * PART_SIZE, aborting the multipart upload on failure so no parts linger.
 */
export async function uploadFile(
  bucket: string,
  key: string,
  file: Blob,
  onProgress: (sent: number) => void,
  signal?: AbortSignal,
  override?: Creds,
): Promise<void> {
  const type = file.type || 'application/octet-stream'
  if (file.size <= PART_SIZE) {
    const url = objectUrl(bucket, key)
    await xhrPut(
      url,
      await signedHeaders('PUT', url, { 'content-type': type }, override),
      file,
      onProgress,
      signal,
    )
    onProgress(file.size)
    return
  }
  const c = await client(override)
  const createRes = await c.fetch(objectUrl(bucket, key, { uploads: '' }), {
    method: 'POST',
    headers: { 'content-type': type },
  })
  if (!createRes.ok) throw s3Error(createRes.status, await createRes.text())
  const uploadId = text(parseXml(await createRes.text()).documentElement, 'UploadId')
  try {
    const etags: string[] = []
    let done = 0
    for (let n = 1, off = 0; off < file.size; n++, off += PART_SIZE) {
      const part = file.slice(off, Math.min(off + PART_SIZE, file.size))
      const url = objectUrl(bucket, key, { partNumber: String(n), uploadId })
      const base = done
      const r = await xhrPut(
        url,
        await signedHeaders('PUT', url, {}, override),
        part,
        (l) => onProgress(base + l),
        signal,
      )
      done += part.size
      etags.push(r.etag)
    }
    const body =
      '<CompleteMultipartUpload>' +
      etags
        .map((e, i) => `<Part><PartNumber>${i + 1}</PartNumber><ETag>${esc(e)}</ETag></Part>`)
        .join('') +
      '</CompleteMultipartUpload>'
    const fin = await (
      await client(override)
    ).fetch(objectUrl(bucket, key, { uploadId }), {
      method: 'POST',
      body,
      headers: { 'content-type': 'application/xml' },
    })
    const finText = await fin.text()
    // CompleteMultipartUpload may answer 200 with an <Error> body.
    if (!fin.ok || finText.includes('<Error>')) throw s3Error(fin.ok ? 500 : fin.status, finText)
    onProgress(file.size)
  } catch (e) {
    await (
      await client(override)
    )
      .fetch(objectUrl(bucket, key, { uploadId }), { method: 'DELETE' })
      .catch(() => undefined)
    throw e
  }
}
