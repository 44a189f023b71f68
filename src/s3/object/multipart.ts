/**
 * Multipart helpers: upload lookup (wrong id, or an id of another key → NoSuchUpload), query
 * validation, the <CompleteMultipartUpload> document, and the multipart ETag
 * (md5 of the concatenated binary part MD5s, then "-<count>", as S3 computes it).
 * @module
 */
import { createHash } from 'node:crypto'
import type { PartRecord, UploadRecord } from '../../storage/metadata-store.js'
import { S3Error } from '../errors.js'
import type { S3Env, S3Request } from '../operation.js'
import { child, list, parseXml, text, type XmlValue } from '../xml.js'
import { CHECKSUM_ALGORITHMS, checksumElementName } from './ingest.js'
import type { ChecksumAlgorithm } from '../../storage/metadata-store.js'
import { normalizeEtag } from './conditional.js'

export function noSuchUpload(uploadId: string): S3Error {
  return new S3Error('NoSuchUpload', undefined, { UploadId: uploadId })
}

/** The upload named by ?uploadId for this bucket and key. */
export async function loadUpload(
  req: S3Request,
  env: S3Env,
  bucket: string,
  key: string,
): Promise<UploadRecord> {
  const uploadId = req.query.get('uploadId') ?? ''
  const u = uploadId === '' ? undefined : await env.meta.getUpload(bucket, key, uploadId)
  if (u === undefined) throw noSuchUpload(uploadId)
  return u
}

/** ?partNumber for UploadPart(Copy): 1..maxParts, else InvalidArgument. */
/** Every part of an upload, by part number (paged reads of 1000). */
export async function storedParts(env: S3Env, uploadId: string): Promise<Map<number, PartRecord>> {
  const out = new Map<number, PartRecord>()
  let after = 0
  for (;;) {
    const page = await env.meta.listParts(uploadId, after, 1000)
    for (const p of page) out.set(p.partNumber, p)
    const last = page[page.length - 1]
    if (page.length < 1000 || last === undefined) return out
    after = last.partNumber
  }
}

export function requirePartNumber(v: string | undefined, maxParts: number): number {
  const n = v !== undefined && /^\d{1,6}$/.test(v) ? Number(v) : NaN
  if (!Number.isInteger(n) || n < 1 || n > maxParts) {
    throw new S3Error(
      'InvalidArgument',
      `Part number must be an integer between 1 and ${maxParts}, inclusive`,
      {
        ArgumentName: 'partNumber',
        ArgumentValue: v ?? '',
      },
    )
  }
  return n
}

/** S3's multipart ETag: hex(md5(md5(part1) ‖ md5(part2) ‖ …)) + '-' + count. */
export function multipartEtag(partEtagsHex: readonly string[]): string {
  const h = createHash('md5')
  for (const e of partEtagsHex) h.update(Buffer.from(e, 'hex'))
  return `${h.digest('hex')}-${partEtagsHex.length}`
}

export interface CompletePart {
  readonly partNumber: number
  readonly etag: string
  /** Checksums the client listed for the part, by algorithm. */
  readonly checksums: Partial<Record<ChecksumAlgorithm, string>>
}

/**
 * Parse <CompleteMultipartUpload><Part><PartNumber/><ETag/>[<ChecksumCRC32/>…]</Part>…: at least one
 * part with a numeric PartNumber and an ETag (else MalformedXML); ascending, distinct part
 * numbers (else InvalidPartOrder).
 */
export function parseCompleteDocument(xml: string): CompletePart[] {
  const root = parseXml(xml)
  const cmu = root['CompleteMultipartUpload']
  if (cmu === undefined || typeof cmu === 'string' || Array.isArray(cmu))
    throw new S3Error('MalformedXML')
  const parts = list(child(cmu, 'Part')).map((p: XmlValue): CompletePart => {
    const num = text(child(p, 'PartNumber'))?.trim()
    const etag = text(child(p, 'ETag'))
    if (num === undefined || !/^\d{1,6}$/.test(num) || etag === undefined)
      throw new S3Error('MalformedXML')
    const checksums: Partial<Record<ChecksumAlgorithm, string>> = {}
    for (const alg of CHECKSUM_ALGORITHMS) {
      const v = text(child(p, checksumElementName(alg)))
      if (v !== undefined) checksums[alg] = v.trim()
    }
    return { partNumber: Number(num), etag: normalizeEtag(etag), checksums }
  })
  if (parts.length === 0) throw new S3Error('MalformedXML')
  for (let i = 1; i < parts.length; i++) {
    if ((parts[i]?.partNumber ?? 0) <= (parts[i - 1]?.partNumber ?? 0))
      throw new S3Error('InvalidPartOrder')
  }
  return parts
}
