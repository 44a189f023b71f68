/**
 * One operation shape for the whole S3 surface (style.md §7): the router picks an Operation,
 * the pipeline authenticates, asks `authorize` what the request needs (pure, no I/O), lets the
 * policy engine decide, and only then calls `handle`.
 * @module
 */
import type { Readable } from 'node:stream'
import type { Principal } from '../auth/principal.js'
import type { RawRequest, RequestContext, QueryMap } from '../http/raw-request.js'
import type { MetadataStore, BucketRecord } from '../storage/metadata-store.js'
import type { BlobLedger } from '../storage/blob-ledger.js'
import type { BlobStore } from '../storage/blob-store.js'
import type { SessionUsage } from '../storage/session-usage.js'
import type { IdSource } from '../lib/clock.js'
import type { LifecycleObject } from './lifecycle.js'
import type { BucketAccessConfig, OwnerInfo } from './acl.js'

export interface S3Request {
  readonly raw: RawRequest
  readonly ctx: RequestContext
  /** Decoded query parameters. */
  readonly query: QueryMap
  /** Bucket from path or Host (virtual-hosted style); undefined for service-level requests. */
  readonly bucket?: string
  /** Decoded object key ('' never: absent means bucket-level). */
  readonly key?: string
  readonly principal: Principal
  /**
   * The payload with transport encoding removed: aws-chunked decoded, chunk signatures and the
   * signed payload hash verified while streaming (the stream errors with an AuthError on mismatch;
   * s3/errors.ts bodyStreamError maps it).
   */
  readonly body: Readable
  /** Decoded payload length when known (Content-Length or x-amz-decoded-content-length). */
  readonly contentLength?: number
  /** Trailing headers of aws-chunked bodies (lower-cased); complete only once `body` has ended. */
  readonly trailers: ReadonlyMap<string, string>
  /** The bucket record, loaded by the pipeline for every bucket-level or object-level request. */
  readonly bucketRecord?: BucketRecord
  /** Lower-cased header lookup. */
  header(name: string): string | undefined
}

export interface S3Response {
  readonly status: number
  readonly headers?: Readonly<Record<string, string | readonly string[]>>
  /** XML string, a buffer, or a stream. HEAD responses never send a body. */
  readonly body?: string | Buffer | Readable
}

/** What a request needs to be allowed: one IAM action on one resource ARN, with condition keys. */
export interface AccessRequirement {
  readonly action: string
  /** 'arn:aws:s3:::bucket', 'arn:aws:s3:::bucket/key' or '*' (ListBuckets, CreateBucket use the bucket ARN). */
  readonly resource: string
  /** Operation-specific condition keys (s3:prefix, s3:x-amz-metadata-directive, …). Names as AWS spells them. */
  readonly context?: Readonly<Record<string, string | readonly string[]>>
}

export interface Authorizer {
  /**
   * Decide one extra requirement for the current request (DeleteObjects per key, CopyObject's
   * source, UploadPartCopy's source). Throws S3Error AccessDenied with AWS's message on deny;
   * `bucketOwner` is the account owning the bucket the resource is in.
   */
  require(req: S3Request, need: AccessRequirement, bucket: BucketRecord): Promise<void>
  /** Same, but returns false instead of throwing (DeleteObjects reports per-key errors). */
  allows(req: S3Request, need: AccessRequirement, bucket: BucketRecord): Promise<boolean>
}

/** The owner shown in listings and ACLs (defined beside the ACL code, which renders it too). */
export type { OwnerInfo } from './acl.js'

/** Everything an operation may use; no process globals. */
export interface S3Env {
  readonly meta: MetadataStore
  readonly blobs: BlobStore
  /** Where blob writes record intents and retirements for the garbage collector. */
  readonly ledger: BlobLedger
  readonly authz: Authorizer
  /** Owner (canonical id + display name) of an account, consistent across ListBuckets, listings, ACLs. */
  owner(accountId: string): OwnerInfo
  /** A bucket's ACL, Object Ownership and public access block (cached; the feed invalidates). */
  accessConfig(bucket: string): Promise<BucketAccessConfig>
  /** The account id of a canonical user id (ACL grantees); undefined when none has it. */
  accountOfCanonicalId(canonicalId: string): string | undefined
  /** --aws-bucket-defaults: new buckets get BucketOwnerEnforced and a full public access block. */
  readonly awsBucketDefaults: boolean
  readonly limits: S3Limits
  /**
   * Upload-cap counters of sessions (the shared-limits port; object/upload-caps.ts). Absent in
   * fixtures: a session with a byte or object cap is then refused rather than counted nowhere.
   */
  readonly usage?: SessionUsage
  /** The server's region: new buckets' region when CreateBucket names none. */
  readonly region: string
  /**
   * The operator pinned the region (--region): CreateBucket accepts only it. Unpinned, a bucket
   * takes the region its LocationConstraint names (the SDKs send their configured region).
   */
  readonly regionPinned?: boolean
  /** Where new ids (upload ids) come from: injected, so tests can make them predictable. */
  readonly ids: IdSource
  /**
   * Browser POST uploads authenticate from form fields: resolve the credential named by
   * x-amz-credential, check x-amz-security-token, verify x-amz-signature over the policy, and
   * return the principal (anonymous when the form carries no signature fields). Throws AuthError
   * (auth/post-form.ts).
   */
  authenticatePostForm(fields: ReadonlyMap<string, string>, req: S3Request): Promise<Principal>
  /**
   * The `x-amz-expiration` header of an object answer (GET, HEAD, PUT) when a lifecycle rule of
   * `bucket` expires `o`; empty when none does. Absent where lifecycle plays no part (fixtures).
   * The headers themselves when the bucket's rules are cached, a promise when they must be read.
   */
  readonly expiration?: (
    bucket: string,
    o: LifecycleObject,
  ) => Readonly<Record<string, string>> | Promise<Readonly<Record<string, string>>>
}

export interface S3Limits {
  /** Objects at most this size are kept inline in the metadata store. */
  readonly inlineMax: number
  readonly maxObjectSize: number // 5 GiB single PUT
  readonly minPartSize: number // 5 MiB
  readonly maxPartSize: number // 5 GiB
  readonly maxParts: number // 10000
}

/** What an operation acts on; the pipeline loads the bucket for 'bucket' and 'object'. */
export type OperationTarget = 'service' | 'bucket' | 'new-bucket' | 'object'

interface OperationCommon {
  readonly name: string
  readonly target: OperationTarget
  /** The answer, or a promise of it: an operation that had nothing to wait for may answer at once. */
  handle(req: S3Request, env: S3Env): S3Response | Promise<S3Response>
}

/** An operation the pipeline authorizes: what the request needs (pure, no I/O). */
export interface Operation extends OperationCommon {
  authorize(req: S3Request): readonly AccessRequirement[]
}

/**
 * An operation that authenticates or authorizes itself (browser POST upload: the principal comes
 * from the form; DeleteObjects: per key, reported per key). Saying 'self' is explicit: the
 * pipeline skips its decision step only for these, never for an empty list.
 */
export interface SelfAuthorizingOperation extends OperationCommon {
  authorize(req: S3Request): 'self'
}

/** What the router hands the pipeline. */
export type AnyOperation = Operation | SelfAuthorizingOperation
