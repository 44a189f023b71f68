/**
 * Path-style (`/bucket/key`) vs virtual-hosted-style (`bucket.<domain>/key`) → {bucket, key}.
 * The key is percent-decoded from the raw path (S3 signs the raw path; we decode only here).
 * @module
 */
import { decodePlusLiteralStrict } from '../http/percent.js'
import { S3Error } from './errors.js'

export interface Target {
  readonly bucket?: string
  readonly key?: string
}

/** The bucket a virtual-hosted `Host` names (`bucket.<domain>`, ports ignored), if any. */
export function bucketOfHost(host: string, domain: string): string | undefined {
  const h = host.toLowerCase().replace(/:\d+$/, '')
  const d = domain.replace(/:\d+$/, '')
  return h.endsWith('.' + d) ? h.slice(0, -(d.length + 1)) : undefined
}

export function resolveTarget(
  rawPath: string,
  host: string | undefined,
  domain: string | undefined,
): Target {
  const bucketFromHost =
    domain !== undefined && host !== undefined ? bucketOfHost(host, domain) : undefined
  let path = rawPath
  if (bucketFromHost !== undefined) {
    const key = decodeKey(path.slice(1))
    return key === '' ? { bucket: bucketFromHost } : { bucket: bucketFromHost, key }
  }
  if (path === '/' || path === '') return {}
  path = path.slice(1)
  const slash = path.indexOf('/')
  const bucket = decodeKey(slash < 0 ? path : path.slice(0, slash))
  if (bucket === '') return {}
  const key = slash < 0 ? '' : decodeKey(path.slice(slash + 1))
  return key === '' ? { bucket } : { bucket, key }
}

function decodeKey(s: string): string {
  const decoded = decodePlusLiteralStrict(s)
  if (decoded === undefined) throw new S3Error('InvalidURI', 'Could not parse the specified URI.')
  return decoded
}
