/**
 * MetadataStore: buckets, objects, multipart uploads and bucket sub-resources. SQLite today,
 * PostgreSQL later; async everywhere so either fits. All mutating calls are atomic: they either
 * commit fully or not at all, and resolve only after the commit is durable.
 * A store given a ChangeFeed publishes what each committing write changed: `bucket` changes
 * (created, deleted, policy, cors, lifecycle, acl, public-access-block, ownership) and `object` changes (any write or removal of a record), which
 * is how every cache of bucket configuration or object records learns of them.
 * Keys and bucket names are compared as UTF-8 bytes (S3 listing order).
 * @module
 */
import { StorageError } from './errors.js'

export type ChecksumAlgorithm = 'CRC32' | 'CRC32C' | 'CRC64NVME' | 'SHA1' | 'SHA256'

/** Where an object's or part's bytes live. */
export type BodyRef =
  | { readonly kind: 'inline'; readonly bytes: Buffer }
  | { readonly kind: 'blob'; readonly ref: string; readonly size: number }
  /** A completed multipart object: its parts' blobs, in order. */
  | {
      readonly kind: 'parts'
      readonly parts: readonly { readonly ref: BodyRef; readonly size: number }[]
    }

export interface StoredChecksum {
  readonly algorithm: ChecksumAlgorithm
  /** base64 of the big-endian digest; composite multipart values carry the "-N" suffix. */
  readonly value: string
  readonly type: 'FULL_OBJECT' | 'COMPOSITE'
}

/** An ACL permission, as S3 spells it. */
export type AclPermission = 'FULL_CONTROL' | 'READ' | 'WRITE' | 'READ_ACP' | 'WRITE_ACP'

/**
 * One ACL grant: to an account (by its Latchkey account id; shown as its canonical id) or to a
 * group (its S3 URI, e.g. AllUsers). Exactly one of `account` and `group` is set.
 */
export interface StoredGrant {
  readonly account?: string
  readonly group?: string
  readonly permission: AclPermission
}

/** An object's or bucket's ACL: its grants, in order (the owner is the resource's owner). */
export interface StoredAcl {
  readonly grants: readonly StoredGrant[]
}

export interface BucketRecord {
  readonly name: string
  readonly accountId: string
  /** ms since epoch */
  readonly createdAt: number
  readonly region: string
}

/** System headers kept with an object and replayed on GET/HEAD. */
export interface ObjectHeaders {
  readonly contentType?: string
  readonly contentEncoding?: string
  readonly contentDisposition?: string
  readonly contentLanguage?: string
  readonly cacheControl?: string
  readonly expires?: string
}

export interface ObjectRecord {
  readonly bucket: string
  readonly key: string
  readonly size: number
  /** Without quotes: 32 hex chars, or "<hex>-<parts>" for multipart. */
  readonly etag: string
  /** ms since epoch */
  readonly lastModified: number
  readonly headers: ObjectHeaders
  /** x-amz-meta-* without the prefix, names lower-cased. */
  readonly userMetadata: Readonly<Record<string, string>>
  readonly checksum?: StoredChecksum
  readonly tags: Readonly<Record<string, string>>
  readonly body: BodyRef
  /** For multipart objects: the part sizes (GetObject partNumber, ETag -N). */
  readonly partSizes?: readonly number[]
  /**
   * For multipart objects whose upload had a checksum algorithm: each part's checksum (base64,
   * the algorithm of `checksum`), in order (GetObjectAttributes' ObjectParts).
   */
  readonly partChecksums?: readonly string[]
  /**
   * For multipart objects: the upload that completed them. A CompleteMultipartUpload retried
   * after it succeeded finds its upload gone and this id on the key, and answers as before
   * (AWS documents completion as safe to retry); an overwrite of the key ends that.
   */
  readonly uploadId?: string
  readonly ownerAccountId: string
  /** The object's ACL; absent = private (the owner's FULL_CONTROL). */
  readonly acl?: StoredAcl
}

/** A listing entry: the record without its body. */
export type ObjectSummary = Omit<ObjectRecord, 'body'>

export interface ListObjectsQuery {
  readonly prefix: string
  readonly delimiter?: string
  /** Exclusive lower bound (marker / start-after / decoded continuation token). */
  readonly after?: string
  /** 0..1000 */
  readonly maxKeys: number
}

export interface ListObjectsPage {
  /** Keys and common prefixes merged in key order, at most maxKeys in total. */
  readonly objects: readonly ObjectSummary[]
  readonly commonPrefixes: readonly string[]
  readonly isTruncated: boolean
  /** The last key or common prefix returned (the next page starts after it). */
  readonly lastReturned?: string
}

export interface UploadRecord {
  readonly uploadId: string
  readonly bucket: string
  readonly key: string
  readonly initiatedAt: number
  readonly headers: ObjectHeaders
  readonly userMetadata: Readonly<Record<string, string>>
  readonly tags: Readonly<Record<string, string>>
  readonly checksumAlgorithm?: ChecksumAlgorithm
  readonly checksumType?: 'FULL_OBJECT' | 'COMPOSITE'
  readonly ownerAccountId: string
  /** Who initiated it (principal ARN), for ListMultipartUploads' Initiator. */
  readonly initiator: string
  /** The ACL the completed object gets (CreateMultipartUpload's x-amz-acl / x-amz-grant-*). */
  readonly acl?: StoredAcl
}

export interface PartRecord {
  readonly partNumber: number
  readonly size: number
  /** Without quotes, 32 hex. */
  readonly etag: string
  readonly lastModified: number
  readonly checksum?: StoredChecksum
  readonly body: BodyRef
}

export interface ListUploadsQuery {
  readonly prefix: string
  readonly delimiter?: string
  readonly keyMarker?: string
  readonly uploadIdMarker?: string
  readonly maxUploads: number
}

export interface ListUploadsPage {
  readonly uploads: readonly UploadRecord[]
  readonly commonPrefixes: readonly string[]
  readonly isTruncated: boolean
  readonly nextKeyMarker?: string
  readonly nextUploadIdMarker?: string
}

/**
 * Documents kept per bucket. `acl` (StoredAcl as JSON), `public-access-block` and `ownership`
 * decide access like `policy` does, so every node caches them and learns of changes by the feed;
 * `lifecycle` holds the bucket's lifecycle rules (s3/lifecycle.ts).
 */
export type BucketSubresource =
  'policy' | 'cors' | 'tagging' | 'lifecycle' | 'acl' | 'public-access-block' | 'ownership'

/** One stored sub-resource document, as `listBucketSubresources` pages them. */
export interface BucketSubresourceEntry {
  readonly bucket: string
  readonly value: string
}

/**
 * The condition of a delete that must remove only the very object the caller looked at (the
 * lifecycle worker expiring what its rule matched): the record's ETag and LastModified, both
 * compared in the delete's own transaction, so an object overwritten meanwhile (even with the
 * same bytes, hence the same ETag) stays. A key holding another object throws
 * StorageError('precondition') with detail.condition 'If-Match' and nothing is removed; an
 * absent key removes nothing and returns undefined, as an unconditional delete does.
 */
export interface DeleteConditions {
  /** Unquoted ETag the current object must have. */
  readonly ifMatch: string
  /** LastModified (ms) the current object must have. */
  readonly ifLastModified: number
}

/** The refusal a conditional delete throws for the key's current object, or undefined to go on. */
export function deleteConditionFailure(
  c: DeleteConditions | undefined,
  current: { readonly etag: string; readonly lastModified: number } | undefined,
): StorageError | undefined {
  if (c === undefined || current === undefined) return undefined
  if (current.etag === c.ifMatch && current.lastModified === c.ifLastModified) return undefined
  return new StorageError('precondition', 'the key holds another object than the one named', {
    condition: 'If-Match',
    current: 'present',
  })
}

/**
 * If-Match / If-None-Match of a write, decided by the store in the same transaction as the write
 * (so two racing conditional writers cannot both win). A failed condition throws
 * StorageError('precondition') with detail.condition ('If-None-Match' | 'If-Match') and
 * detail.current ('present' | 'absent'); nothing is written. If-None-Match is checked first.
 */
export interface WriteConditions {
  /** The key must hold an object whose ETag (unquoted) is one of these; '*' matches any object. */
  readonly ifMatch?: readonly string[]
  /** '*': the key must hold no object. */
  readonly ifNoneMatch?: '*'
}

/**
 * The one reading of WriteConditions every backend applies inside its write transaction: the
 * refusal to throw for the key's current ETag (undefined = no object), or undefined to go ahead.
 */
export function preconditionFailure(
  c: WriteConditions,
  currentEtag: string | undefined,
): StorageError | undefined {
  const current = currentEtag === undefined ? 'absent' : 'present'
  if (c.ifNoneMatch !== undefined && currentEtag !== undefined)
    return new StorageError('precondition', 'the key already holds an object', {
      condition: 'If-None-Match',
      current,
    })
  if (
    c.ifMatch !== undefined &&
    (currentEtag === undefined || !c.ifMatch.some((t) => t === '*' || t === currentEtag))
  )
    return new StorageError('precondition', 'the key holds no object with a matching ETag', {
      condition: 'If-Match',
      current,
    })
  return undefined
}

/** How a read may be answered. */
export interface ReadOptions {
  /**
   * Ask the store itself, past any cache in front of it: the answer reflects every write
   * committed, on any node, before the call. For decisions a stale record must not make (the
   * early check of a conditional write: another node's write reaches this node's cache a moment
   * after it is acknowledged). Stores without a cache are always fresh.
   */
  readonly fresh?: boolean
}

export interface MetadataStore {
  // Buckets. createBucket throws StorageError('bucket-exists', { ownerAccountId }).
  createBucket(b: BucketRecord): Promise<void>
  getBucket(name: string): Promise<BucketRecord | undefined>
  /**
   * The bucket's record when a cache holds the answer: the record, null when it is known not to
   * exist, undefined when it must be read (getBucket). Stores without a cache leave it out. The
   * request path asks this first, so a cached bucket costs no await.
   */
  knownBucket?(name: string): BucketRecord | null | undefined
  /**
   * Deletes an empty bucket: one without objects. Incomplete multipart uploads do not keep it
   * (AWS deletes them with the bucket): they and their parts go in the same transaction, and
   * the parts' bodies are returned for the caller to retire. Throws 'bucket-not-found' or
   * 'bucket-not-empty' (objects present).
   */
  deleteBucket(name: string): Promise<readonly BodyRef[]>
  listBuckets(accountId: string): Promise<readonly BucketRecord[]>
  /** Stored documents are the caller's validated serialisation; null deletes. */
  setBucketSubresource(bucket: string, kind: BucketSubresource, value: string | null): Promise<void>
  getBucketSubresource(bucket: string, kind: BucketSubresource): Promise<string | undefined>
  /**
   * The buckets that hold a `kind` document, with it, in bucket-name order (UTF-8 bytes), after
   * bucket `after`, at most `limit`: how a background worker finds the buckets it has work in
   * without walking every bucket. Cost O(page).
   */
  listBucketSubresources(
    kind: BucketSubresource,
    after: string | undefined,
    limit: number,
  ): Promise<readonly BucketSubresourceEntry[]>

  // Objects. putObject replaces atomically (last writer wins, unless `conditions` refuse) and
  // returns what it replaced so the caller can delete its blobs. Throws 'bucket-not-found',
  // 'precondition'.
  putObject(o: ObjectRecord, conditions?: WriteConditions): Promise<{ readonly replaced?: BodyRef }>
  getObject(bucket: string, key: string, opts?: ReadOptions): Promise<ObjectRecord | undefined>
  /**
   * The object's record when a cache holds it (as getObject would answer it), undefined when it
   * must be read (getObject). Stores without a cache leave it out; the GET path asks it first.
   */
  knownObject?(bucket: string, key: string): ObjectRecord | undefined
  /**
   * Returns the removed body (to delete its blobs), undefined when absent. With `conditions`,
   * removes only the object they name (DeleteConditions); throws 'precondition' otherwise.
   */
  deleteObject(
    bucket: string,
    key: string,
    conditions?: DeleteConditions,
  ): Promise<BodyRef | undefined>
  /** Replace tags of an existing object; throws 'key-not-found'. */
  setObjectTags(bucket: string, key: string, tags: Readonly<Record<string, string>>): Promise<void>
  /** Replace the ACL of an existing object; throws 'key-not-found'. */
  setObjectAcl(bucket: string, key: string, acl: StoredAcl): Promise<void>
  /** One page; cost O(page) regardless of bucket size, even with a delimiter. */
  listObjects(bucket: string, q: ListObjectsQuery): Promise<ListObjectsPage>

  // Multipart.
  createUpload(u: UploadRecord): Promise<void>
  getUpload(bucket: string, key: string, uploadId: string): Promise<UploadRecord | undefined>
  /** Returns a replaced part's body (same part number uploaded again). Throws 'upload-not-found'. */
  putPart(uploadId: string, p: PartRecord): Promise<{ readonly replaced?: BodyRef }>
  getPart(uploadId: string, partNumber: number): Promise<PartRecord | undefined>
  /** Parts with partNumber > after, ascending, at most max. */
  listParts(uploadId: string, after: number, max: number): Promise<readonly PartRecord[]>
  listUploads(bucket: string, q: ListUploadsQuery): Promise<ListUploadsPage>
  /**
   * In one transaction: remove the upload and its parts and put `o` (whose body references the
   * chosen parts' bodies). Returns the replaced object's body and the bodies of parts that were
   * uploaded but not used, for the caller to delete. Throws 'upload-not-found', 'conflict' (a
   * used part changed meanwhile), 'precondition' (`conditions` refused; the upload stays).
   */
  completeUpload(
    uploadId: string,
    o: ObjectRecord,
    usedParts: readonly number[],
    conditions?: WriteConditions,
  ): Promise<{ readonly replaced?: BodyRef; readonly unused: readonly BodyRef[] }>
  /** Removes the upload; returns its parts' bodies. Throws 'upload-not-found'. */
  abortUpload(uploadId: string): Promise<readonly BodyRef[]>

  close(): Promise<void>
  /**
   * Whether any object or part references blob `ref` (the garbage collector asks before deleting
   * an orphan intent's blob). A point question; it may be slow, orphans are rare.
   */
  isBlobReferenced(ref: string): Promise<boolean>
}
