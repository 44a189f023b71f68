/**
 * FsBlobStore: blobs as files under `root/blobs/<aa>/<bb>/<ref>`. A put streams into
 * `root/tmp/<ref>` (created exclusively), fsyncs it, renames it into place and fsyncs the
 * directory, so once `put` resolves the blob survives a crash or power loss; an interrupted put
 * leaves only a temp file, which the store removes when it opens (`FsBlobStore.open`, or lazily
 * before its first put): one process owns a data directory, so nothing else writes there then
 * (a directory shared by cluster nodes sweeps only stale temp files: `staleTempMs`).
 * Reads stream with a 1 MiB high-water mark: large GETs are bound by the socket, not by small
 * read() calls. `list()` walks every blob: for tests and diagnostics only, not part of the port.
 * @module
 */
import {
  createReadStream,
  createWriteStream,
  openSync,
  closeSync,
  fstatSync,
  constants as FS,
} from 'node:fs'
import { access, mkdir, open, readdir, rename, rm, stat, unlink } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { randomIds, type IdSource } from '../../lib/clock.js'
import type { BlobPutOptions, BlobPutResult, BlobStore } from '../../storage/blob-store.js'
import { StorageError } from '../../storage/errors.js'
import { blobSizeLimit } from '../../storage/blob-size.js'

const READ_HWM = 1024 * 1024

/** The whole of an open file as an inclusive byte range; undefined when it is empty. */
function wholeFile(fd: number): { start: number; end: number } | undefined {
  const size = fstatSync(fd).size
  return size > 0 ? { start: 0, end: size - 1 } : undefined
}
const WRITE_HWM = 1024 * 1024
const REF_RE = /^[A-Za-z0-9_-]{4,128}$/

/**
 * How a bundle (backends/sqlite, backends/postgres) gets its blob store: a directory for this
 * file store, or a store the caller opened (an upstream S3: app/backends.ts), which the bundle
 * does not close.
 */
export type BlobOption =
  | { readonly blobDir: string; readonly blobs?: never }
  | { readonly blobs: BlobStore; readonly blobDir?: never }

export interface FsBlobStoreOptions {
  readonly ids?: IdSource
  /**
   * The directory is shared by several processes (cluster nodes): at open, remove only temp
   * files last written more than this many ms ago (another node may be writing the others).
   * Unset: one process owns the directory and every temp file is a leftover.
   */
  readonly staleTempMs?: number
}

/** fsync a file or directory by path (directories need O_RDONLY). */
async function fsyncPath(path: string): Promise<void> {
  const fh = await open(path, FS.O_RDONLY)
  try {
    await fh.sync()
  } finally {
    await fh.close()
  }
}

export class FsBlobStore implements BlobStore {
  /**
   * `get` opens the blob as it is called (see BlobStore.readsHoldTheirBytes), which is enough in
   * one process. A directory shared by cluster nodes (`staleTempMs` set) is not: another node's
   * GET may have read the old record from the database and not yet opened the file when this
   * node's overwrite unlinks it, so there replaced blobs wait out the short retire grace. False
   * too while a backup holds deletions (`holdDeletes`): replaced blobs are then retired through
   * the ledger, not deleted, so a snapshot that still references one finds it.
   */
  get readsHoldTheirBytes(): boolean {
    return this.ownDir && this.holds === 0
  }
  private readonly ownDir: boolean
  private holds = 0
  private released: Promise<void> = Promise.resolve()
  private release: () => void = () => {}
  private readonly root: string
  private readonly ids: IdSource
  private readonly staleTempMs: number | undefined
  private readonly tmpDir: string
  private readonly blobDir: string
  private readonly knownDirs = new Map<string, Promise<void>>()
  private ready: Promise<void> | undefined

  /** Open the store: creates its directories and removes temp files of interrupted puts. */
  /** The root and its temp directory are there and writable (a lost mount, a full remount ro). */
  async probe(): Promise<string | undefined> {
    try {
      await access(this.root, FS.W_OK)
      await access(this.tmpDir, FS.W_OK)
      return undefined
    } catch (e) {
      return `blob directory ${this.root}: ${(e as { code?: string }).code ?? String(e)}`
    }
  }

  static async open(root: string, opts: FsBlobStoreOptions = {}): Promise<FsBlobStore> {
    const s = new FsBlobStore(root, opts)
    await s.init()
    return s
  }

  constructor(root: string, opts: FsBlobStoreOptions = {}) {
    this.root = root
    this.ids = opts.ids ?? randomIds
    this.staleTempMs = opts.staleTempMs
    this.ownDir = opts.staleTempMs === undefined
    this.tmpDir = join(root, 'tmp')
    this.blobDir = join(root, 'blobs')
  }

  /**
   * Create tmp/ and blobs/ once (and make their entries in root durable), and empty tmp/: what
   * is there is left from puts of an earlier run that never finished. Memoised, so every put of
   * this run waits for it and none of its temp files can be swept.
   */
  private init(): Promise<void> {
    this.ready ??= (async () => {
      const made = await mkdir(this.tmpDir, { recursive: true })
      await mkdir(this.blobDir, { recursive: true })
      await fsyncPath(this.root)
      // A freshly created data dir must itself survive a crash.
      if (made !== undefined && made !== this.tmpDir) await fsyncPath(dirname(this.root))
      const cutoff = this.staleTempMs !== undefined ? Date.now() - this.staleTempMs : undefined
      for (const name of await readdir(this.tmpDir)) {
        const path = join(this.tmpDir, name)
        if (cutoff !== undefined) {
          const st = await stat(path).catch(() => undefined)
          if (st === undefined || st.mtimeMs > cutoff) continue
        }
        await rm(path, { force: true, recursive: true })
      }
    })()
    return this.ready
  }

  newRef(): string {
    const ref = this.ids.uid()
    if (!REF_RE.test(ref)) throw new Error(`IdSource.uid() gave an unusable blob name: ${ref}`)
    return ref
  }

  private checkRef(ref: string): void {
    if (!REF_RE.test(ref)) throw new StorageError('not-found', 'malformed blob ref', { ref })
  }

  private dirOf(ref: string): { outer: string; inner: string } {
    const outer = join(this.blobDir, ref.slice(0, 2))
    return { outer, inner: join(outer, ref.slice(2, 4)) }
  }

  /** Where blob `ref` lives under the store's root (backups link or copy it from there). */
  pathOf(ref: string): string {
    return join(this.dirOf(ref).inner, ref)
  }

  /**
   * Ensure the fan-out directories exist. A directory made here has its parent fsynced before
   * any put that needs it proceeds (memoised per directory, so concurrent puts wait for it).
   */
  private async ensureDirs(ref: string): Promise<string> {
    const { outer, inner } = this.dirOf(ref)
    await this.ensureDir(outer, this.blobDir)
    await this.ensureDir(inner, outer)
    return inner
  }

  private ensureDir(dir: string, parent: string): Promise<void> {
    let p = this.knownDirs.get(dir)
    if (p === undefined) {
      p = (async () => {
        const made = await mkdir(dir, { recursive: true })
        if (made !== undefined) await fsyncPath(parent)
      })()
      p.catch(() => this.knownDirs.delete(dir))
      this.knownDirs.set(dir, p)
    }
    return p
  }

  async put(body: Readable, opts: BlobPutOptions = {}): Promise<BlobPutResult> {
    await this.init()
    const ref = opts.ref ?? this.newRef()
    if (!REF_RE.test(ref)) {
      body.destroy()
      throw new StorageError('not-found', 'malformed blob ref', { ref })
    }
    const tmp = join(this.tmpDir, ref)
    const max = opts.maxSize ?? Number.POSITIVE_INFINITY
    const counter = { n: 0 }
    const prefix = opts.prefix
    let created = false
    try {
      if (prefix !== undefined && prefix.length > max) {
        body.destroy()
        throw new StorageError('too-large', `body exceeds ${max} bytes`)
      }
      // 'wx': never clobber another writer's temp file; opened up front so that on failure we
      // know whether the file is ours to remove.
      const fh = await open(tmp, 'wx')
      created = true
      const limiter = blobSizeLimit(max, opts.size, counter, WRITE_HWM)
      if (prefix !== undefined && prefix.length > 0) limiter.write(prefix)
      // flush: true fsyncs the file before the stream reports 'finish'/'close'.
      const out = createWriteStream('', { fd: fh, flush: true, highWaterMark: WRITE_HWM })
      await pipeline(body, limiter, out)
      const dir = await this.ensureDirs(ref)
      await rename(tmp, join(dir, ref))
      await fsyncPath(dir)
      return { ref, size: counter.n }
    } catch (err) {
      // Only our own temp file: with 'wx' an EEXIST means it belongs to someone else.
      if (created) await rm(tmp, { force: true }).catch(() => undefined)
      if (!body.destroyed) body.destroy()
      throw err
    }
  }

  get(ref: string, range?: { readonly start: number; readonly end: number }): Readable {
    let fd: number
    try {
      this.checkRef(ref)
      // Open now, not lazily: a concurrent replace that unlinks the blob after this call can no
      // longer make the stream fail.
      fd = openSync(this.pathOf(ref), 'r')
    } catch (err) {
      const e =
        err instanceof StorageError
          ? err
          : new StorageError('not-found', `blob ${ref} is missing`, { ref }, { cause: err })
      return new Readable({
        read() {
          this.destroy(e)
        },
      })
    }
    try {
      // A stream that knows where the file ends reads a 200 KiB blob into a 200 KiB buffer; one
      // that does not allocates a whole READ_HWM (1 MiB) buffer and copies the bytes out of it
      // (server CPU per 200 KiB GET about 650 -> 575 us here). fstat costs about a microsecond.
      const span = range ?? wholeFile(fd)
      return createReadStream('', {
        fd,
        highWaterMark: READ_HWM,
        ...(span !== undefined ? { start: span.start, end: span.end } : {}),
      })
    } catch (err) {
      closeSync(fd)
      throw err
    }
  }

  /**
   * Hold every deletion until the returned function is called (a backup: backends/sqlite/backup.ts).
   * Meanwhile a replaced body is retired instead of deleted (readsHoldTheirBytes is false), and
   * a delete that comes anyway (the garbage collector's, an uncommitted body's) waits for the
   * release, so no blob a database snapshot taken during the hold references can vanish before
   * it is copied. Holds nest; the function releases one, once.
   */
  holdDeletes(): () => void {
    if (this.holds++ === 0) this.released = new Promise((resolve) => (this.release = resolve))
    let done = false
    return () => {
      if (done) return
      done = true
      if (--this.holds === 0) this.release()
    }
  }

  async delete(ref: string): Promise<void> {
    if (!REF_RE.test(ref)) return
    while (this.holds > 0) await this.released
    try {
      await unlink(this.pathOf(ref))
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
    }
  }

  /** Every blob present (tests and diagnostics; the garbage collector never scans). */
  async *list(): AsyncIterable<string> {
    await this.init()
    for (const outer of await readdir(this.blobDir)) {
      let inners: string[]
      try {
        inners = await readdir(join(this.blobDir, outer))
      } catch {
        continue
      }
      for (const inner of inners) {
        let names: string[]
        try {
          names = await readdir(join(this.blobDir, outer, inner))
        } catch {
          continue
        }
        for (const name of names) if (REF_RE.test(name)) yield name
      }
    }
  }
}
