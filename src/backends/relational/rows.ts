/**
 * The row format the relational stores (SQLite, PostgreSQL) share for objects, uploads and parts:
 * the compact JSON of the `meta` columns, the body columns, and the mapping of a row back to a
 * record. One spelling, so a database written by one engine reads the same through the other
 * (`latchkey migrate` copies rows) and the blob ledger's triggers find refs alike. Integer
 * columns arrive as numbers from SQLite and as strings from PostgreSQL's BIGINT: `Number()` takes
 * both.
 * @module
 */
import type {
  BodyRef,
  ChecksumAlgorithm,
  ObjectHeaders,
  ObjectRecord,
  ObjectSummary,
  PartRecord,
  StoredAcl,
  StoredChecksum,
  UploadRecord,
} from '../../storage/metadata-store.js'
import { decodeRef, encodeRef, type EncodedRef } from './body-ref.js'

type Int = number | string

/** The `meta` column of an object row. */
export interface ObjectMeta {
  h: ObjectHeaders
  m: Record<string, string>
  c?: StoredChecksum
  p?: number[]
  /** Part checksums of a multipart object (ObjectRecord.partChecksums). */
  pc?: string[]
  /** The upload that completed a multipart object (ObjectRecord.uploadId). */
  u?: string
  /** The ACL (absent = private), kept in `meta` so no schema change was needed for it. */
  a?: StoredAcl
}

export function objectMetaOf(o: ObjectRecord): ObjectMeta {
  return {
    h: o.headers,
    m: { ...o.userMetadata },
    ...(o.checksum !== undefined ? { c: o.checksum } : {}),
    ...(o.partSizes !== undefined ? { p: [...o.partSizes] } : {}),
    ...(o.partChecksums !== undefined ? { pc: [...o.partChecksums] } : {}),
    ...(o.uploadId !== undefined ? { u: o.uploadId } : {}),
    ...(o.acl !== undefined ? { a: o.acl } : {}),
  }
}

/** The `meta` column of an upload row. */
export interface UploadMeta {
  h: ObjectHeaders
  m: Record<string, string>
  t: Record<string, string>
  ca?: ChecksumAlgorithm
  ct?: 'FULL_OBJECT' | 'COMPOSITE'
  a?: StoredAcl
}

export function uploadMetaOf(u: UploadRecord): UploadMeta {
  return {
    h: u.headers,
    m: { ...u.userMetadata },
    t: { ...u.tags },
    ...(u.checksumAlgorithm !== undefined ? { ca: u.checksumAlgorithm } : {}),
    ...(u.checksumType !== undefined ? { ct: u.checksumType } : {}),
    ...(u.acl !== undefined ? { a: u.acl } : {}),
  }
}

export interface BodyColumns {
  readonly body_kind: string
  /** JSON text (SQLite), or already parsed (PostgreSQL's JSONB). */
  readonly body_ref: string | EncodedRef | null
  readonly body: Buffer | null
}

export function bodyFromColumns(c: BodyColumns): BodyRef {
  if (c.body_kind === 'inline') return { kind: 'inline', bytes: c.body ?? Buffer.alloc(0) }
  if (c.body_ref === null) throw new Error(`object body of kind ${c.body_kind} has no ref`)
  return decodeRef(
    typeof c.body_ref === 'string' ? (JSON.parse(c.body_ref) as EncodedRef) : c.body_ref,
  )
}

/** The body_ref column's text for a body (null for inline bodies, which live in `body`). */
export function bodyRefText(ref: BodyRef): string | null {
  return ref.kind === 'inline' ? null : JSON.stringify(encodeRef(ref))
}

export function sameBody(a: BodyRef, b: BodyRef): boolean {
  return JSON.stringify(encodeRef(a)) === JSON.stringify(encodeRef(b))
}

export const SUMMARY_COLS = 'bucket, key, size, etag, last_modified, owner, meta, tags'

export interface ObjectRow {
  bucket: string
  key: string
  size: Int
  etag: string
  last_modified: Int
  owner: string
  meta: string
  tags: string
}

export function summaryFromRow(r: ObjectRow): ObjectSummary {
  const meta = JSON.parse(r.meta) as ObjectMeta
  return {
    bucket: r.bucket,
    key: r.key,
    size: Number(r.size),
    etag: r.etag,
    lastModified: Number(r.last_modified),
    headers: meta.h,
    userMetadata: meta.m,
    tags: JSON.parse(r.tags) as Record<string, string>,
    ownerAccountId: r.owner,
    ...(meta.c !== undefined ? { checksum: meta.c } : {}),
    ...(meta.p !== undefined ? { partSizes: meta.p } : {}),
    ...(meta.pc !== undefined ? { partChecksums: meta.pc } : {}),
    ...(meta.u !== undefined ? { uploadId: meta.u } : {}),
    ...(meta.a !== undefined ? { acl: meta.a } : {}),
  }
}

export interface UploadRow {
  upload_id: string
  bucket: string
  key: string
  initiated_at: Int
  owner: string
  initiator: string
  meta: string
}

export function uploadFromRow(r: UploadRow): UploadRecord {
  const meta = JSON.parse(r.meta) as UploadMeta
  return {
    uploadId: r.upload_id,
    bucket: r.bucket,
    key: r.key,
    initiatedAt: Number(r.initiated_at),
    headers: meta.h,
    userMetadata: meta.m,
    tags: meta.t,
    ownerAccountId: r.owner,
    initiator: r.initiator,
    ...(meta.ca !== undefined ? { checksumAlgorithm: meta.ca } : {}),
    ...(meta.ct !== undefined ? { checksumType: meta.ct } : {}),
    ...(meta.a !== undefined ? { acl: meta.a } : {}),
  }
}

export interface PartRow extends BodyColumns {
  part_number: number
  size: Int
  etag: string
  last_modified: Int
  checksum: string | null
}

export function partFromRow(r: PartRow): PartRecord {
  return {
    partNumber: r.part_number,
    size: Number(r.size),
    etag: r.etag,
    lastModified: Number(r.last_modified),
    body: bodyFromColumns(r),
    ...(r.checksum !== null ? { checksum: JSON.parse(r.checksum) as StoredChecksum } : {}),
  }
}
