/**
 * A MetadataStore that hands every call to another one: the base of decorators that change a few
 * calls (the record caches in backends/cached, the settled bucket writes in s3/). Plain methods,
 * not a Proxy: the hot path's object reads and writes go through it. A decorator that changes
 * what getBucket or getObject answer changes knownBucket or knownObject alike.
 * @module
 */
import type {
  BodyRef,
  BucketRecord,
  BucketSubresource,
  BucketSubresourceEntry,
  DeleteConditions,
  ListObjectsPage,
  ListObjectsQuery,
  ListUploadsPage,
  ListUploadsQuery,
  MetadataStore,
  ObjectRecord,
  PartRecord,
  ReadOptions,
  StoredAcl,
  UploadRecord,
  WriteConditions,
} from './metadata-store.js'

export class MetadataStoreDecorator implements MetadataStore {
  protected readonly inner: MetadataStore

  constructor(inner: MetadataStore) {
    this.inner = inner
  }

  createBucket(b: BucketRecord): Promise<void> {
    return this.inner.createBucket(b)
  }
  getBucket(name: string): Promise<BucketRecord | undefined> {
    return this.inner.getBucket(name)
  }
  knownBucket(name: string): BucketRecord | null | undefined {
    return this.inner.knownBucket?.(name)
  }
  deleteBucket(name: string): Promise<readonly BodyRef[]> {
    return this.inner.deleteBucket(name)
  }
  listBuckets(accountId: string): Promise<readonly BucketRecord[]> {
    return this.inner.listBuckets(accountId)
  }
  setBucketSubresource(
    bucket: string,
    kind: BucketSubresource,
    value: string | null,
  ): Promise<void> {
    return this.inner.setBucketSubresource(bucket, kind, value)
  }
  getBucketSubresource(bucket: string, kind: BucketSubresource): Promise<string | undefined> {
    return this.inner.getBucketSubresource(bucket, kind)
  }
  listBucketSubresources(
    kind: BucketSubresource,
    after: string | undefined,
    limit: number,
  ): Promise<readonly BucketSubresourceEntry[]> {
    return this.inner.listBucketSubresources(kind, after, limit)
  }
  putObject(
    o: ObjectRecord,
    conditions?: WriteConditions,
  ): Promise<{ readonly replaced?: BodyRef }> {
    return this.inner.putObject(o, conditions)
  }
  getObject(bucket: string, key: string, opts?: ReadOptions): Promise<ObjectRecord | undefined> {
    return this.inner.getObject(bucket, key, opts)
  }
  knownObject(bucket: string, key: string): ObjectRecord | undefined {
    return this.inner.knownObject?.(bucket, key)
  }
  deleteObject(
    bucket: string,
    key: string,
    conditions?: DeleteConditions,
  ): Promise<BodyRef | undefined> {
    return this.inner.deleteObject(bucket, key, conditions)
  }
  setObjectTags(
    bucket: string,
    key: string,
    tags: Readonly<Record<string, string>>,
  ): Promise<void> {
    return this.inner.setObjectTags(bucket, key, tags)
  }
  setObjectAcl(bucket: string, key: string, acl: StoredAcl): Promise<void> {
    return this.inner.setObjectAcl(bucket, key, acl)
  }
  listObjects(bucket: string, q: ListObjectsQuery): Promise<ListObjectsPage> {
    return this.inner.listObjects(bucket, q)
  }
  createUpload(u: UploadRecord): Promise<void> {
    return this.inner.createUpload(u)
  }
  getUpload(bucket: string, key: string, uploadId: string): Promise<UploadRecord | undefined> {
    return this.inner.getUpload(bucket, key, uploadId)
  }
  putPart(uploadId: string, p: PartRecord): Promise<{ readonly replaced?: BodyRef }> {
    return this.inner.putPart(uploadId, p)
  }
  getPart(uploadId: string, partNumber: number): Promise<PartRecord | undefined> {
    return this.inner.getPart(uploadId, partNumber)
  }
  listParts(uploadId: string, after: number, max: number): Promise<readonly PartRecord[]> {
    return this.inner.listParts(uploadId, after, max)
  }
  listUploads(bucket: string, q: ListUploadsQuery): Promise<ListUploadsPage> {
    return this.inner.listUploads(bucket, q)
  }
  completeUpload(
    uploadId: string,
    o: ObjectRecord,
    usedParts: readonly number[],
    conditions?: WriteConditions,
  ): Promise<{ readonly replaced?: BodyRef; readonly unused: readonly BodyRef[] }> {
    return this.inner.completeUpload(uploadId, o, usedParts, conditions)
  }
  abortUpload(uploadId: string): Promise<readonly BodyRef[]> {
    return this.inner.abortUpload(uploadId)
  }
  isBlobReferenced(ref: string): Promise<boolean> {
    return this.inner.isBlobReferenced(ref)
  }
  close(): Promise<void> {
    return this.inner.close()
  }
}
