/**
 * MemoryMetadataStore: the MetadataStore in plain maps, for fast unit tests and as the reference
 * the conformance suite holds every backend to. Each mutating call runs to completion before it
 * returns (one JavaScript turn is its transaction), so calls are atomic and ordered as issued,
 * which is what a group-committing backend promises too. Listing sorts a bucket's keys in UTF-8
 * byte order (S3 order) when it lists after a change, then walks them with the same
 * skip-past-a-common-prefix rule as SQLite; that is O(keys) per page, fine for tests.
 * Changes are published to the feed after each write, as every backend does.
 * @module
 */
import { StorageError } from '../../storage/errors.js'
import type { Change, ChangeFeed } from '../../storage/change-feed.js'
import {
  preconditionFailure,
  type BodyRef,
  type BucketRecord,
  type BucketSubresource,
  type BucketSubresourceEntry,
  type DeleteConditions,
  deleteConditionFailure,
  type ListObjectsPage,
  type ListObjectsQuery,
  type ListUploadsPage,
  type ListUploadsQuery,
  type MetadataStore,
  type ObjectRecord,
  type ObjectSummary,
  type PartRecord,
  type UploadRecord,
  type WriteConditions,
  type StoredAcl,
} from '../../storage/metadata-store.js'
import { compareKeys } from '../../lib/key-order.js'

interface BucketState {
  readonly record: BucketRecord
  readonly subresources: Map<BucketSubresource, string>
  readonly objects: Map<string, ObjectRecord>
  /** The object keys in S3 order; undefined after a key was added or removed. */
  sorted: string[] | undefined
}

interface UploadState {
  readonly record: UploadRecord
  readonly parts: Map<number, PartRecord>
}

function blobRefsOf(ref: BodyRef, out: string[]): void {
  if (ref.kind === 'blob') out.push(ref.ref)
  else if (ref.kind === 'parts') for (const p of ref.parts) blobRefsOf(p.ref, out)
}

function sameBody(a: BodyRef, b: BodyRef): boolean {
  if (a.kind === 'inline') return b.kind === 'inline' && a.bytes.equals(b.bytes)
  if (a.kind === 'blob') return b.kind === 'blob' && a.ref === b.ref && a.size === b.size
  return (
    b.kind === 'parts' &&
    a.parts.length === b.parts.length &&
    a.parts.every((p, i) => p.size === b.parts[i]?.size && sameBody(p.ref, b.parts[i].ref))
  )
}

function summaryOf(o: ObjectRecord): ObjectSummary {
  const { body: _body, ...summary } = o
  return summary
}

/** Run a write now; its throw becomes the returned promise's rejection. */
function settle<T>(fn: () => T): Promise<T> {
  try {
    return Promise.resolve(fn())
  } catch (e) {
    return Promise.reject(e as Error)
  }
}

export class MemoryMetadataStore implements MetadataStore {
  private readonly buckets = new Map<string, BucketState>()
  private readonly uploads = new Map<string, UploadState>()
  private readonly changes: ChangeFeed | undefined
  private closed = false

  constructor(opts: { readonly changes?: ChangeFeed } = {}) {
    this.changes = opts.changes
  }

  private publish(c: Change): void {
    this.changes?.publish([c])
  }

  private write<T>(fn: () => T): Promise<T> {
    if (this.closed) {
      return Promise.reject(new StorageError('unavailable', 'metadata store is closed'))
    }
    return settle(fn)
  }

  private bucket(name: string): BucketState {
    const b = this.buckets.get(name)
    if (b === undefined) {
      throw new StorageError('bucket-not-found', `bucket ${name} does not exist`, { bucket: name })
    }
    return b
  }

  private upload(uploadId: string): UploadState {
    const u = this.uploads.get(uploadId)
    if (u === undefined) {
      throw new StorageError('upload-not-found', `upload ${uploadId} does not exist`, { uploadId })
    }
    return u
  }

  private setObject(b: BucketState, o: ObjectRecord): BodyRef | undefined {
    const old = b.objects.get(o.key)
    if (old === undefined) b.sorted = undefined
    b.objects.set(o.key, o)
    this.publish({ kind: 'object', bucket: o.bucket, key: o.key })
    return old?.body
  }

  private checkConditions(b: BucketState, key: string, c: WriteConditions | undefined): void {
    if (c === undefined) return
    const failed = preconditionFailure(c, b.objects.get(key)?.etag)
    if (failed !== undefined) throw failed
  }

  // ----- buckets ------------------------------------------------------------------------------

  createBucket(r: BucketRecord): Promise<void> {
    return this.write(() => {
      const existing = this.buckets.get(r.name)
      if (existing !== undefined) {
        throw new StorageError('bucket-exists', `bucket ${r.name} already exists`, {
          bucket: r.name,
          ownerAccountId: existing.record.accountId,
        })
      }
      this.buckets.set(r.name, {
        record: { ...r },
        subresources: new Map(),
        objects: new Map(),
        sorted: [],
      })
      this.publish({ kind: 'bucket', bucket: r.name, part: 'created' })
    })
  }

  getBucket(name: string): Promise<BucketRecord | undefined> {
    return Promise.resolve(this.buckets.get(name)?.record)
  }

  deleteBucket(name: string): Promise<readonly BodyRef[]> {
    return this.write(() => {
      const b = this.bucket(name)
      if (b.objects.size > 0) {
        throw new StorageError('bucket-not-empty', `bucket ${name} is not empty`, { bucket: name })
      }
      const freed: BodyRef[] = []
      for (const [id, u] of this.uploads) {
        if (u.record.bucket !== name) continue
        for (const p of [...u.parts.values()].sort((x, y) => x.partNumber - y.partNumber))
          freed.push(p.body)
        this.uploads.delete(id)
      }
      this.buckets.delete(name)
      this.publish({ kind: 'bucket', bucket: name, part: 'deleted' })
      return freed
    })
  }

  listBuckets(accountId: string): Promise<readonly BucketRecord[]> {
    const mine = [...this.buckets.values()]
      .map((b) => b.record)
      .filter((r) => r.accountId === accountId)
      .sort((a, b) => compareKeys(a.name, b.name))
    return Promise.resolve(mine)
  }

  setBucketSubresource(
    bucket: string,
    kind: BucketSubresource,
    value: string | null,
  ): Promise<void> {
    return this.write(() => {
      const b = this.bucket(bucket)
      if (value === null) b.subresources.delete(kind)
      else b.subresources.set(kind, value)
      if (kind !== 'tagging') this.publish({ kind: 'bucket', bucket, part: kind })
    })
  }

  getBucketSubresource(bucket: string, kind: BucketSubresource): Promise<string | undefined> {
    return Promise.resolve(this.buckets.get(bucket)?.subresources.get(kind))
  }

  listBucketSubresources(
    kind: BucketSubresource,
    after: string | undefined,
    limit: number,
  ): Promise<readonly BucketSubresourceEntry[]> {
    const out: BucketSubresourceEntry[] = []
    for (const [bucket, b] of this.buckets) {
      const value = b.subresources.get(kind)
      if (value === undefined || (after !== undefined && compareKeys(bucket, after) <= 0)) continue
      out.push({ bucket, value })
    }
    return Promise.resolve(out.sort((x, y) => compareKeys(x.bucket, y.bucket)).slice(0, limit))
  }

  // ----- objects ------------------------------------------------------------------------------

  putObject(
    o: ObjectRecord,
    conditions?: WriteConditions,
  ): Promise<{ readonly replaced?: BodyRef }> {
    return this.write(() => {
      const b = this.bucket(o.bucket)
      this.checkConditions(b, o.key, conditions)
      const replaced = this.setObject(b, o)
      return replaced === undefined ? {} : { replaced }
    })
  }

  getObject(bucket: string, key: string): Promise<ObjectRecord | undefined> {
    return Promise.resolve(this.buckets.get(bucket)?.objects.get(key))
  }

  deleteObject(
    bucket: string,
    key: string,
    conditions?: DeleteConditions,
  ): Promise<BodyRef | undefined> {
    return this.write(() => {
      const b = this.bucket(bucket)
      const old = b.objects.get(key)
      const failed = deleteConditionFailure(conditions, old)
      if (failed !== undefined) throw failed
      if (old === undefined) return undefined
      b.objects.delete(key)
      b.sorted = undefined
      this.publish({ kind: 'object', bucket, key })
      return old.body
    })
  }

  setObjectTags(
    bucket: string,
    key: string,
    tags: Readonly<Record<string, string>>,
  ): Promise<void> {
    return this.write(() => {
      const b = this.bucket(bucket)
      const old = b.objects.get(key)
      if (old === undefined) {
        throw new StorageError('key-not-found', `key ${key} does not exist`, { bucket, key })
      }
      this.setObject(b, Object.assign({}, old, { tags: { ...tags } }))
    })
  }

  setObjectAcl(bucket: string, key: string, acl: StoredAcl): Promise<void> {
    return this.write(() => {
      const b = this.bucket(bucket)
      const old = b.objects.get(key)
      if (old === undefined) {
        throw new StorageError('key-not-found', `key ${key} does not exist`, { bucket, key })
      }
      this.setObject(b, Object.assign({}, old, { acl }))
    })
  }

  listObjects(bucket: string, q: ListObjectsQuery): Promise<ListObjectsPage> {
    const b = this.buckets.get(bucket)
    if (b === undefined) {
      return Promise.reject(
        new StorageError('bucket-not-found', `bucket ${bucket} does not exist`, { bucket }),
      )
    }
    const objects: ObjectSummary[] = []
    const commonPrefixes: string[] = []
    const maxKeys = Math.max(0, Math.floor(q.maxKeys))
    if (maxKeys === 0) return Promise.resolve({ objects, commonPrefixes, isTruncated: false })
    b.sorted ??= [...b.objects.keys()].sort(compareKeys)
    const { prefix, after } = q
    const delimiter = q.delimiter === '' ? undefined : q.delimiter
    const fromAfter = after !== undefined && compareKeys(after, prefix) >= 0 ? after : undefined
    let lastReturned: string | undefined
    let isTruncated = false
    let skipUnder: string | undefined
    for (const key of b.sorted) {
      if (!key.startsWith(prefix)) {
        if (compareKeys(key, prefix) > 0) break
        continue
      }
      if (fromAfter !== undefined && compareKeys(key, fromAfter) <= 0) continue
      if (skipUnder !== undefined && key.startsWith(skipUnder)) continue
      const at = delimiter === undefined ? -1 : key.indexOf(delimiter, prefix.length)
      const cp =
        at >= 0 && delimiter !== undefined ? key.slice(0, at + delimiter.length) : undefined
      if (cp !== undefined) {
        skipUnder = cp
        if (after !== undefined && compareKeys(cp, after) <= 0) continue
      }
      if (objects.length + commonPrefixes.length === maxKeys) {
        isTruncated = true
        break
      }
      if (cp !== undefined) {
        commonPrefixes.push(cp)
        lastReturned = cp
      } else {
        const o = b.objects.get(key)
        if (o !== undefined) objects.push(summaryOf(o))
        lastReturned = key
      }
    }
    return Promise.resolve({
      objects,
      commonPrefixes,
      isTruncated,
      ...(lastReturned !== undefined ? { lastReturned } : {}),
    })
  }

  // ----- multipart ----------------------------------------------------------------------------

  createUpload(u: UploadRecord): Promise<void> {
    return this.write(() => {
      this.bucket(u.bucket)
      if (this.uploads.has(u.uploadId)) {
        throw new StorageError('conflict', `upload ${u.uploadId} already exists`, {
          uploadId: u.uploadId,
        })
      }
      this.uploads.set(u.uploadId, { record: { ...u }, parts: new Map() })
    })
  }

  getUpload(bucket: string, key: string, uploadId: string): Promise<UploadRecord | undefined> {
    const u = this.uploads.get(uploadId)?.record
    return Promise.resolve(u !== undefined && u.bucket === bucket && u.key === key ? u : undefined)
  }

  putPart(uploadId: string, p: PartRecord): Promise<{ readonly replaced?: BodyRef }> {
    return this.write(() => {
      const u = this.upload(uploadId)
      const old = u.parts.get(p.partNumber)
      u.parts.set(p.partNumber, p)
      return old === undefined ? {} : { replaced: old.body }
    })
  }

  getPart(uploadId: string, partNumber: number): Promise<PartRecord | undefined> {
    return Promise.resolve(this.uploads.get(uploadId)?.parts.get(partNumber))
  }

  listParts(uploadId: string, after: number, max: number): Promise<readonly PartRecord[]> {
    const u = this.uploads.get(uploadId)
    if (u === undefined) {
      return Promise.reject(
        new StorageError('upload-not-found', `upload ${uploadId} does not exist`, { uploadId }),
      )
    }
    const parts = [...u.parts.values()]
      .filter((p) => p.partNumber > Math.floor(after))
      .sort((a, b) => a.partNumber - b.partNumber)
      .slice(0, Math.max(0, Math.floor(max)))
    return Promise.resolve(parts)
  }

  /** Same order and markers as SQLite's listUploads: (key, initiated, uploadId). */
  listUploads(bucket: string, q: ListUploadsQuery): Promise<ListUploadsPage> {
    if (!this.buckets.has(bucket)) {
      return Promise.reject(
        new StorageError('bucket-not-found', `bucket ${bucket} does not exist`, { bucket }),
      )
    }
    const max = Math.max(0, Math.floor(q.maxUploads))
    if (max === 0) return Promise.resolve({ uploads: [], commonPrefixes: [], isTruncated: false })
    const { prefix } = q
    const delimiter = q.delimiter === '' ? undefined : q.delimiter
    const km = q.keyMarker === '' ? undefined : q.keyMarker
    const byOrder = (a: UploadRecord, b: UploadRecord): number =>
      compareKeys(a.key, b.key) ||
      a.initiatedAt - b.initiatedAt ||
      (a.uploadId < b.uploadId ? -1 : a.uploadId > b.uploadId ? 1 : 0)
    const all = [...this.uploads.values()]
      .map((u) => u.record)
      .filter((u) => u.bucket === bucket && u.key.startsWith(prefix))
      .sort(byOrder)
    const rollsUp = (key: string): boolean =>
      delimiter !== undefined && key.indexOf(delimiter, prefix.length) >= 0
    type Entry = { key: string; upload?: UploadRecord }
    const entries: Entry[] = []

    // 1. The rest of the marker key's uploads.
    const uim = q.uploadIdMarker
    if (
      km !== undefined &&
      uim !== undefined &&
      uim !== '' &&
      km.startsWith(prefix) &&
      !rollsUp(km)
    ) {
      const m = this.uploads.get(uim)?.record
      const anchored = m !== undefined && m.bucket === bucket && m.key === km
      for (const u of all) {
        if (u.key !== km) continue
        const later = anchored
          ? u.initiatedAt > m.initiatedAt ||
            (u.initiatedAt === m.initiatedAt && u.uploadId > m.uploadId)
          : u.uploadId > uim
        if (later) entries.push({ key: u.key, upload: u })
      }
    }

    // 2. Keys after the marker, rolled up under the delimiter.
    const fromMarker = km !== undefined && compareKeys(km, prefix) >= 0 ? km : undefined
    let skipUnder: string | undefined
    for (const u of all) {
      if (fromMarker !== undefined && compareKeys(u.key, fromMarker) <= 0) continue
      if (skipUnder !== undefined && u.key.startsWith(skipUnder)) continue
      const at = delimiter === undefined ? -1 : u.key.indexOf(delimiter, prefix.length)
      if (at >= 0 && delimiter !== undefined) {
        const cp = u.key.slice(0, at + delimiter.length)
        skipUnder = cp
        if (km === undefined || compareKeys(cp, km) > 0) entries.push({ key: cp })
        continue
      }
      entries.push({ key: u.key, upload: u })
    }

    const page = entries.slice(0, max)
    const last = page[page.length - 1]
    return Promise.resolve({
      uploads: page.flatMap((e) => (e.upload !== undefined ? [e.upload] : [])),
      commonPrefixes: page.flatMap((e) => (e.upload === undefined ? [e.key] : [])),
      isTruncated: entries.length > max,
      ...(last !== undefined ? { nextKeyMarker: last.key } : {}),
      ...(last?.upload !== undefined ? { nextUploadIdMarker: last.upload.uploadId } : {}),
    })
  }

  completeUpload(
    uploadId: string,
    o: ObjectRecord,
    usedParts: readonly number[],
    conditions?: WriteConditions,
  ): Promise<{ readonly replaced?: BodyRef; readonly unused: readonly BodyRef[] }> {
    return this.write(() => {
      const u = this.upload(uploadId)
      if (u.record.bucket !== o.bucket || u.record.key !== o.key) {
        throw new StorageError('upload-not-found', `upload ${uploadId} is not for ${o.key}`, {
          uploadId,
        })
      }
      const b = this.bucket(o.bucket)
      this.checkConditions(b, o.key, conditions)
      // A part re-uploaded between the caller's read and this commit: refuse (as SQLite does).
      if (o.body.kind === 'parts' && o.body.parts.length === usedParts.length) {
        o.body.parts.forEach((bp, i) => {
          const current = u.parts.get(usedParts[i] ?? -1)
          if (current === undefined || !sameBody(current.body, bp.ref)) {
            throw new StorageError('conflict', `part ${usedParts[i]} changed during completion`, {
              uploadId,
            })
          }
        })
      }
      const used = new Set(usedParts)
      const unused = [...u.parts.values()]
        .sort((a, c) => a.partNumber - c.partNumber)
        .filter((p) => !used.has(p.partNumber))
        .map((p) => p.body)
      this.uploads.delete(uploadId)
      const replaced = this.setObject(b, o)
      return replaced === undefined ? { unused } : { replaced, unused }
    })
  }

  abortUpload(uploadId: string): Promise<readonly BodyRef[]> {
    return this.write(() => {
      const u = this.upload(uploadId)
      this.uploads.delete(uploadId)
      return [...u.parts.values()].sort((a, b) => a.partNumber - b.partNumber).map((p) => p.body)
    })
  }

  /** A scan (only the garbage collector asks, only for a crash's leftovers). */
  isBlobReferenced(ref: string): Promise<boolean> {
    const refs: string[] = []
    for (const b of this.buckets.values())
      for (const o of b.objects.values()) blobRefsOf(o.body, refs)
    for (const u of this.uploads.values())
      for (const p of u.parts.values()) blobRefsOf(p.body, refs)
    return Promise.resolve(refs.includes(ref))
  }

  close(): Promise<void> {
    this.closed = true
    return Promise.resolve()
  }
}
