/**
 * S3BlobStore: blobs as objects `PREFIX<ref>` in one bucket of an upstream S3 (AWS, Ceph RGW,
 * MinIO, Garage, or another Latchkey), for cluster nodes that share no file system. The same
 * contract as the file store: a blob is written once under a fresh name and never modified, and
 * garbage is the BlobLedger's business (an intent is recorded before `put`, so an object a crashed
 * node left upstream is found and deleted by the collector; nothing here scans the bucket).
 *
 * Writing. A body is never held in memory. S3 needs the length before the first byte (a plain
 * PUT), so:
 * - when the caller knows it (`size`: Content-Length, or x-amz-decoded-content-length of an
 *   aws-chunked PutObject/UploadPart, or a copy source's size) the body streams straight into one
 *   PUT with that Content-Length, through a counter that fails the PUT (aborting the upstream
 *   request, so nothing is stored) if the body runs past `maxSize` or ends short of or beyond
 *   `size`;
 * - otherwise (POST form uploads, Transfer-Encoding: chunked) it is spooled to a file in the
 *   node's own data dir (`spoolDir`, emptied when the store opens) and PUT from there.
 *   Why not a multipart upload with bounded part buffers instead: S3 parts are at least 5 MiB, so
 *   every concurrent upload would pin 5+ MiB of RAM (or more for throughput), a crash would leave
 *   incomplete multipart uploads that only a bucket lifecycle rule cleans up (the ledger names
 *   objects, not upload ids), and it costs three round trips even for a 200 KiB body. A spool
 *   costs disk bandwidth on the rarer unknown-length path only, and keeps one atomic PUT.
 * A PUT is atomic upstream: a failed or aborted one leaves no object. When a PUT fails after it
 * may have reached the upstream (a timeout), a best-effort DELETE follows, and since the failure
 * is 'unavailable' the caller keeps the blob's ledger intent (storage/object-bodies.ts), so the
 * collector deletes whatever did land after the orphan grace period. The caller checks digests
 * on the stream and commits metadata only after `put` resolves, so a rejected body is never
 * acknowledged.
 *
 * Reading. `get` returns a stream at once and sends the GET (with a Range header for ranges) on
 * the first read; any upstream failure arrives as the stream's error, never as an exception.
 * Reads fetch lazily, so `readsHoldTheirBytes` is false: replaced blobs wait out the retire grace.
 *
 * Failures. NoSuchKey is 'not-found'; everything else the upstream does wrong (connection refused,
 * timeouts, 5xx, throttling, even a 403 from a misconfigured key) is StorageError 'unavailable',
 * which clients see as 503 ServiceUnavailable, never 500. Timeouts: 5 s to connect; socket
 * silence longer than the server's request idle timeout (app/backends.ts; 60 s at least), since
 * a GET paused by a slow client, or a PUT fed by one, idles its upstream socket just as long. Retries: the SDK's standard mode (3 attempts) for GET and DELETE; the SDK never replays
 * a streaming PUT, so a streamed one gets one attempt and a spooled one is retried here from its
 * file.
 * Checksums: the SDK's default aws-chunked CRC trailers are off (`WHEN_REQUIRED`); Ceph RGW 16
 * does not take them.
 * @module
 */
import { createReadStream, createWriteStream } from 'node:fs'
import { mkdir, open, readdir, rm } from 'node:fs/promises'
import { Agent as HttpAgent } from 'node:http'
import { Agent as HttpsAgent } from 'node:https'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadBucketCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  type S3ClientConfig,
} from '@aws-sdk/client-s3'
import { randomIds, type IdSource } from '../../lib/clock.js'
import { observeErrors } from '../../lib/streams.js'
import type { BlobPutResult, BlobPutOptions, BlobStore } from '../../storage/blob-store.js'
import { StorageError } from '../../storage/errors.js'
import { blobSizeLimit } from '../../storage/blob-size.js'

const REF_RE = /^[A-Za-z0-9_-]{4,128}$/
const CHUNK = 1024 * 1024
const CONNECT_TIMEOUT_MS = 5_000
const SOCKET_TIMEOUT_MS = 60_000
const MAX_ATTEMPTS = 3
function quiet(): void {}
const SILENT = { trace: quiet, debug: quiet, info: quiet, warn: quiet, error: quiet }

export interface S3BlobStoreOptions {
  readonly bucket: string
  /** Key prefix inside the bucket ('' or ending in '/'). */
  readonly prefix?: string
  /** Upstream endpoint (default: AWS's for the region). */
  readonly endpoint?: string
  readonly region?: string
  /** Static credentials; without them, the SDK's default provider chain (AWS_* env, profiles…). */
  readonly accessKeyId?: string
  readonly secretAccessKey?: string
  readonly forcePathStyle?: boolean
  /** A directory of this node's own: bodies of unknown length are spooled here before the PUT. */
  readonly spoolDir: string
  readonly ids?: IdSource
  readonly connectTimeoutMs?: number
  /**
   * Longest socket silence upstream (default 60 s). A streamed PUT is as slow as its client, so
   * this must exceed the server's request idle timeout.
   */
  readonly socketTimeoutMs?: number
  /** Upstream connections at most (default 256); a copy holds two, a GET or PUT one. */
  readonly maxSockets?: number
}

/** Anything the SDK throws → StorageError: 'not-found' for a missing key, else 'unavailable'. */
export function upstreamError(err: unknown, ref?: string): StorageError {
  if (err instanceof StorageError) return err
  const e = err as { name?: unknown; $metadata?: { httpStatusCode?: unknown } } | undefined
  const name = typeof e?.name === 'string' ? e.name : 'Error'
  const status = e?.$metadata?.httpStatusCode
  const detail: Record<string, string> = ref !== undefined ? { ref } : {}
  if (name === 'NoSuchKey' || name === 'NotFound' || status === 404)
    return new StorageError('not-found', `blob ${ref ?? ''} is missing`, detail, { cause: err })
  const msg = err instanceof Error ? err.message : String(err)
  return new StorageError(
    'unavailable',
    `upstream S3 failed: ${name}${typeof status === 'number' ? ` (${status})` : ''}: ${msg}`,
    detail,
    { cause: err },
  )
}

export class S3BlobStore implements BlobStore {
  /** Reads fetch lazily (see BlobStore.readsHoldTheirBytes). */
  readonly readsHoldTheirBytes: boolean = false
  readonly bucket: string
  readonly prefix: string
  private readonly client: S3Client
  private readonly spoolDir: string
  private readonly ids: IdSource
  private ready: Promise<void> | undefined

  /** Open the store: creates the spool directory and empties it (leftovers of a crash). */
  static async open(opts: S3BlobStoreOptions): Promise<S3BlobStore> {
    const s = new S3BlobStore(opts)
    await s.init()
    return s
  }

  constructor(opts: S3BlobStoreOptions) {
    this.bucket = opts.bucket
    this.prefix = opts.prefix ?? ''
    this.spoolDir = opts.spoolDir
    this.ids = opts.ids ?? randomIds
    const agent = { keepAlive: true, maxSockets: opts.maxSockets ?? 256 }
    const config: S3ClientConfig = {
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      // Streaming bodies are never retried by the SDK (it cannot replay them).
      maxAttempts: MAX_ATTEMPTS,
      retryMode: 'standard',
      // Without a logger the SDK writes a console warning for every failed streaming PUT; the
      // failure itself reaches the caller as StorageError.
      logger: SILENT,
      // The SDK builds its Node HTTP handler from these (no direct @smithy dependency).
      requestHandler: {
        connectionTimeout: opts.connectTimeoutMs ?? CONNECT_TIMEOUT_MS,
        socketTimeout: opts.socketTimeoutMs ?? SOCKET_TIMEOUT_MS,
        httpAgent: new HttpAgent(agent),
        httpsAgent: new HttpsAgent(agent),
      },
      // The endpoint's own settings, when given (after the fixed ones: a literal that opens with
      // a spread makes Node 20 promote every object it builds).
      ...(opts.endpoint !== undefined ? { endpoint: opts.endpoint } : {}),
      ...(opts.region !== undefined ? { region: opts.region } : {}),
      ...(opts.accessKeyId !== undefined && opts.secretAccessKey !== undefined
        ? {
            credentials: {
              accessKeyId: opts.accessKeyId,
              secretAccessKey: opts.secretAccessKey,
            },
          }
        : {}),
      ...(opts.forcePathStyle !== undefined ? { forcePathStyle: opts.forcePathStyle } : {}),
    }
    this.client = new S3Client(config)
  }

  private init(): Promise<void> {
    this.ready ??= (async () => {
      await mkdir(this.spoolDir, { recursive: true })
      for (const name of await readdir(this.spoolDir))
        await rm(join(this.spoolDir, name), { force: true, recursive: true })
    })()
    return this.ready
  }

  private key(ref: string): string {
    return this.prefix + ref
  }

  newRef(): string {
    const ref = this.ids.uid()
    if (!REF_RE.test(ref)) throw new Error(`IdSource.uid() gave an unusable blob name: ${ref}`)
    return ref
  }

  async put(body: Readable, opts: BlobPutOptions = {}): Promise<BlobPutResult> {
    const ref = opts.ref ?? this.newRef()
    const max = opts.maxSize ?? Number.POSITIVE_INFINITY
    const prefix = opts.prefix
    try {
      if (!REF_RE.test(ref)) throw new StorageError('not-found', 'malformed blob ref', { ref })
      if (prefix !== undefined && prefix.length > max)
        throw new StorageError('too-large', `body exceeds ${max} bytes`)
      if (opts.size !== undefined && opts.size > max)
        throw new StorageError('too-large', `body exceeds ${max} bytes`)
    } catch (err) {
      body.destroy()
      throw err
    }
    return opts.size !== undefined
      ? this.putStreaming(body, ref, max, opts.size, prefix)
      : this.putSpooled(body, ref, max, prefix)
  }

  /** Body of known length: one PUT, the bytes flowing through as they arrive. */
  private async putStreaming(
    body: Readable,
    ref: string,
    max: number,
    size: number,
    prefix: Buffer | undefined,
  ): Promise<BlobPutResult> {
    const counter = { n: 0 }
    const counted = blobSizeLimit(max, size, counter, CHUNK)
    if (prefix !== undefined && prefix.length > 0) counted.write(prefix)
    const abort = new AbortController()
    let first: unknown
    let sent = false
    const pump = pipeline(body, counted).catch((err: unknown) => {
      first ??= err
      abort.abort()
    })
    const send = this.client
      .send(
        new PutObjectCommand({
          Bucket: this.bucket,
          Key: this.key(ref),
          Body: size === 0 ? Buffer.alloc(0) : counted,
          ContentLength: size,
        }),
        { abortSignal: abort.signal },
      )
      .then(
        () => {
          sent = true
        },
        (err: unknown) => {
          first ??= upstreamError(err, ref)
          if (!counted.destroyed) counted.destroy()
          if (!body.destroyed) body.destroy()
        },
      )
    await Promise.all([pump, send])
    if (first === undefined && !sent) first = new Error('upstream PUT did not finish')
    if (first !== undefined) {
      await this.forget(ref)
      throw first
    }
    return { ref, size: counter.n }
  }

  /** Body of unknown length: spool it to a file of our own, then PUT the file. */
  private async putSpooled(
    body: Readable,
    ref: string,
    max: number,
    prefix: Buffer | undefined,
  ): Promise<BlobPutResult> {
    await this.init()
    const path = join(this.spoolDir, ref)
    let created = false
    try {
      const fh = await open(path, 'wx', 0o600)
      created = true
      const counter = { n: 0 }
      const counted = blobSizeLimit(max, undefined, counter, CHUNK)
      if (prefix !== undefined && prefix.length > 0) counted.write(prefix)
      await pipeline(body, counted, createWriteStream('', { fd: fh, highWaterMark: CHUNK }))
      const size = counter.n
      for (let attempt = 1; ; attempt++) {
        try {
          await this.client.send(
            new PutObjectCommand({
              Bucket: this.bucket,
              Key: this.key(ref),
              Body: size === 0 ? Buffer.alloc(0) : createReadStream(path, { highWaterMark: CHUNK }),
              ContentLength: size,
            }),
          )
          break
        } catch (err) {
          const e = upstreamError(err, ref)
          if (attempt >= MAX_ATTEMPTS || !retryable(err)) {
            await this.forget(ref)
            throw e
          }
        }
      }
      return { ref, size }
    } catch (err) {
      if (!body.destroyed) body.destroy()
      throw err
    } finally {
      if (created) await rm(path, { force: true }).catch(() => undefined)
    }
  }

  /** After a failed PUT that may have landed upstream anyway: best effort, errors ignored. */
  private async forget(ref: string): Promise<void> {
    await this.client
      .send(new DeleteObjectCommand({ Bucket: this.bucket, Key: this.key(ref) }))
      .catch(() => undefined)
  }

  get(ref: string, range?: { readonly start: number; readonly end: number }): Readable {
    const abort = new AbortController()
    let source: Readable | undefined
    let started = false
    const client = this.client
    const input = {
      Bucket: this.bucket,
      Key: this.key(ref),
      ...(range !== undefined ? { Range: `bytes=${range.start}-${range.end}` } : {}),
    }
    const out = new Readable({
      highWaterMark: CHUNK,
      read() {
        if (started) {
          source?.resume()
          return
        }
        started = true
        if (!REF_RE.test(ref)) {
          this.destroy(new StorageError('not-found', 'malformed blob ref', { ref }))
          return
        }
        client.send(new GetObjectCommand(input), { abortSignal: abort.signal }).then(
          (res) => {
            const b = res.Body as Readable | undefined
            if (out.destroyed) {
              b?.destroy()
              return
            }
            if (b === undefined) {
              out.push(null)
              return
            }
            source = b
            b.on('data', (c: Buffer) => {
              if (!out.push(c)) b.pause()
            })
            b.once('end', () => out.push(null))
            b.once('error', (e) => out.destroy(upstreamError(e, ref)))
            b.once('aborted', () => out.destroy(upstreamError(new Error('aborted'), ref)))
          },
          (err: unknown) => out.destroy(upstreamError(err, ref)),
        )
      },
      destroy(err, cb) {
        abort.abort()
        source?.destroy()
        cb(err)
      },
    })
    // Observed, not lost: whoever reads the stream (pipeline, an iterator) gets the error from
    // its destroyed state; with no listener at all a failure between two stages would crash.
    return observeErrors(out)
  }

  async delete(ref: string): Promise<void> {
    if (!REF_RE.test(ref)) return
    try {
      await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: this.key(ref) }))
    } catch (err) {
      const e = upstreamError(err, ref)
      if (e.kind !== 'not-found') throw e
    }
  }

  /**
   * Whether the bucket answers (HeadBucket): undefined when it does, else the reason. For a
   * warning at start; a node still starts, and serves what needs no blob store, while its
   * upstream is down.
   */
  async probe(): Promise<string | undefined> {
    try {
      await this.client.send(new HeadBucketCommand({ Bucket: this.bucket }))
      return undefined
    } catch (err) {
      const e = upstreamError(err)
      return e.kind === 'not-found' ? `bucket ${this.bucket} not found (404)` : e.message
    }
  }

  /** Every blob present (tests and diagnostics; the garbage collector never scans). */
  async *list(): AsyncIterable<string> {
    let token: string | undefined
    do {
      let res
      try {
        res = await this.client.send(
          new ListObjectsV2Command({
            Bucket: this.bucket,
            Prefix: this.prefix,
            ...(token !== undefined ? { ContinuationToken: token } : {}),
          }),
        )
      } catch (err) {
        throw upstreamError(err)
      }
      for (const o of res.Contents ?? []) {
        const name = (o.Key ?? '').slice(this.prefix.length)
        if (REF_RE.test(name)) yield name
      }
      token = res.IsTruncated === true ? res.NextContinuationToken : undefined
    } while (token !== undefined)
  }

  /** Spool files present (tests: a failed put leaves none). */
  async spoolCount(): Promise<number> {
    try {
      return (await readdir(this.spoolDir)).length
    } catch {
      return 0
    }
  }

  /** Close the clients' sockets. */
  close(): void {
    this.client.destroy()
  }
}

/** Worth another try from the spool file: network trouble, 5xx, throttling. */
function retryable(err: unknown): boolean {
  const e = err as { name?: unknown; $metadata?: { httpStatusCode?: unknown } } | undefined
  const status = e?.$metadata?.httpStatusCode
  if (typeof status === 'number') return status >= 500 || status === 429
  return true
}
