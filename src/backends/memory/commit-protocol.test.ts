/**
 * storage/commit.ts and storage/gc.ts over the memory stores: what each failure point of the
 * durable-write protocol leaves behind (a failed check or commit discards the blob it wrote and
 * its intents, a ledger failure after the commit is logged and never fails the acknowledged
 * write), an inline write never touching the ledger, and the periodic collector.
 * @module
 */
import { Readable } from 'node:stream'
import { afterEach, describe, expect, it, vi } from 'vitest'
import type { Logger } from '../../lib/logger.js'
import { silentLogger } from '../../lib/logger.js'
import { WHOLE_BLOB_RETIRE_GRACE_MS, type BlobLedger } from '../../storage/blob-ledger.js'
import { commitRemoval, commitWrite, type CommitIo } from '../../storage/commit.js'
import { startBlobCollector } from '../../storage/gc.js'
import type { BodyRef } from '../../storage/metadata-store.js'
import { StorageError } from '../../storage/errors.js'
import { writeBody } from '../../storage/object-bodies.js'
import { MemoryBlobLedger } from './blob-ledger.js'
import { MemoryBlobStore } from './blob-store.js'

const T0 = 5_000
const LATE = Number.MAX_SAFE_INTEGER
const GRACE = { orphanGraceMs: 1000, retireGraceMs: 100 }

/** A store whose reads fetch lazily (an upstream S3): its replaced blobs wait out a grace. */
class LazyReadsBlobStore extends MemoryBlobStore {
  override readonly readsHoldTheirBytes: boolean = false
}

function setup(ledgerOverride?: BlobLedger, log: Logger = silentLogger, lazy = true) {
  const blobs = lazy ? new LazyReadsBlobStore() : new MemoryBlobStore()
  const ledger = new MemoryBlobLedger(GRACE)
  const io: CommitIo = { blobs, ledger: ledgerOverride ?? ledger, log, now: T0 }
  const write = (n: number) => () =>
    writeBody(Readable.from([Buffer.alloc(n, 1)]), {
      blobs,
      ledger: io.ledger,
      now: T0,
      inlineMax: 10,
      maxSize: 1 << 20,
    })
  const count = async (): Promise<number> => {
    let n = 0
    for await (const _ of blobs.list()) n++
    return n
  }
  return { blobs, ledger, io, write, count }
}

async function blobOf(blobs: MemoryBlobStore, ledger: BlobLedger): Promise<BodyRef> {
  return (
    await writeBody(Readable.from([Buffer.alloc(100)]), {
      blobs,
      ledger,
      now: 0,
      inlineMax: 10,
      maxSize: 1000,
    })
  ).body
}

const refOf = (b: BodyRef): string => (b.kind === 'blob' ? b.ref : '')

describe('commitWrite', () => {
  it('settles its blob and retires what the commit freed, at the request time', async () => {
    const { blobs, ledger, io, write } = setup()
    const old = await blobOf(blobs, ledger)
    const { written } = await commitWrite(io, {
      write: write(50),
      commit: () => Promise.resolve({ result: 'ok', freed: [old] }),
    })
    // A whole-object blob: its readers open it right after reading its record, so a minute.
    const soon = T0 + WHOLE_BLOB_RETIRE_GRACE_MS
    expect(await ledger.due(soon, 10)).toEqual({ orphans: [], retired: [] })
    expect(await ledger.due(soon + 1, 10)).toEqual({ orphans: [], retired: [refOf(old)] })
    // our blob is no longer an intent: the collector will never look at it
    expect((await ledger.due(LATE, 10)).orphans).toEqual([])
    expect(written.body.kind).toBe('blob')
  })

  it('a store whose reads hold their bytes gets a replaced whole blob deleted at once', async () => {
    const { blobs, ledger, io, write, count } = setup(undefined, silentLogger, false)
    const old = await blobOf(blobs, ledger)
    await commitWrite(io, {
      write: write(50),
      commit: () => Promise.resolve({ result: 'ok', freed: [old] }),
    })
    expect(await count()).toBe(1) // ours only
    expect(await ledger.due(LATE, 10)).toEqual({ orphans: [], retired: [] })
  })

  it('the parts of a replaced multipart object stay for the full (longer) retire grace', async () => {
    const { blobs, io } = setup(new MemoryBlobLedger({ ...GRACE, retireGraceMs: 3_600_000 }))
    const p1 = await blobOf(blobs, io.ledger)
    const p2 = await blobOf(blobs, io.ledger)
    const multipart: BodyRef = {
      kind: 'parts',
      parts: [
        { ref: p1, size: 100 },
        { ref: p2, size: 100 },
      ],
    }
    await commitRemoval(io, () => Promise.resolve({ result: undefined, freed: [multipart] }))
    expect((await io.ledger.due(T0 + WHOLE_BLOB_RETIRE_GRACE_MS + 1, 10)).retired).toEqual([])
    expect([...(await io.ledger.due(T0 + 3_600_001, 10)).retired].sort()).toEqual(
      [refOf(p1), refOf(p2)].sort(),
    )
  })

  it('a failed check discards the written blob and its intent', async () => {
    const { ledger, io, write, count } = setup()
    await expect(
      commitWrite(io, {
        write: write(50),
        check: () => {
          throw new Error('BadDigest')
        },
        commit: () => Promise.reject(new Error('not reached')),
      }),
    ).rejects.toThrow('BadDigest')
    expect(await count()).toBe(0)
    expect(await ledger.due(LATE, 10)).toEqual({ orphans: [], retired: [] })
  })

  it("a put the store could not finish ('unavailable': it may have landed upstream) keeps its intent for the collector", async () => {
    const { blobs, ledger, io, write } = setup()
    const put = vi
      .spyOn(blobs, 'put')
      .mockRejectedValueOnce(new StorageError('unavailable', 'upstream S3 timed out'))
    await expect(
      commitWrite(io, { write: write(50), commit: () => Promise.reject(new Error('not reached')) }),
    ).rejects.toMatchObject({ kind: 'unavailable' })
    const ref = (put.mock.calls[0]?.[1] as { ref?: string } | undefined)?.ref
    expect(ref).toBeDefined()
    expect(await ledger.due(LATE, 10)).toEqual({ orphans: [ref], retired: [] })
    // Any other failure left nothing upstream: its intent goes at once.
    put.mockRejectedValueOnce(new StorageError('too-large', 'too large'))
    await ledger.forget([ref!])
    await expect(
      commitWrite(io, { write: write(50), commit: () => Promise.reject(new Error('not reached')) }),
    ).rejects.toMatchObject({ kind: 'too-large' })
    expect(await ledger.due(LATE, 10)).toEqual({ orphans: [], retired: [] })
  })

  it('a failed commit discards the written blob and its intent, and frees nothing', async () => {
    const { blobs, ledger, io, write, count } = setup()
    const old = await blobOf(blobs, ledger)
    await ledger.settle([refOf(old)])
    await expect(
      commitWrite(io, {
        write: write(50),
        commit: () => Promise.reject(new Error('bucket-not-found')),
      }),
    ).rejects.toThrow('bucket-not-found')
    expect(await count()).toBe(1) // only `old`, still referenced
    expect(await ledger.due(LATE, 10)).toEqual({ orphans: [], retired: [] })
  })

  it('a ledger failure after the commit is logged and does not fail the write', async () => {
    const warned: string[] = []
    const log: Logger = {
      ...silentLogger,
      warn: (_o: object, msg?: string) => void warned.push(msg ?? ''),
    }
    const inner = new MemoryBlobLedger(GRACE)
    const flaky: BlobLedger = {
      intend: (r, n) => inner.intend(r, n),
      settle: () => Promise.reject(new Error('disk full')),
      retire: () => Promise.reject(new Error('disk full')),
      due: (n, l) => inner.due(n, l),
      forget: (r) => inner.forget(r),
      lead: (fn) => fn(),
    }
    const { blobs, io, write } = setup(flaky, log)
    const old = await blobOf(blobs, inner)
    await inner.settle([refOf(old)])
    const r = await commitWrite(io, {
      write: write(50),
      commit: () => Promise.resolve({ result: 42, freed: [old] }),
    })
    expect(r.result).toBe(42)
    expect(warned.sort()).toEqual([
      'could not retire replaced blobs',
      'could not settle blob intents',
    ])
    // our intent stays for the collector, which will ask the metadata store
    expect((await inner.due(LATE, 10)).orphans.length).toBe(1)
  })

  it('an inline write over an inline body never touches the ledger', async () => {
    const untouchable = new Proxy({} as BlobLedger, {
      get: () => () => Promise.reject(new Error('ledger touched')),
    })
    const { io, write, count } = setup(untouchable)
    const r = await commitWrite(io, {
      write: write(5),
      commit: () =>
        Promise.resolve({ result: 'ok', freed: [{ kind: 'inline', bytes: Buffer.from('old') }] }),
    })
    expect(r.written.body.kind).toBe('inline')
    expect(await count()).toBe(0)
  })
})

describe('commitRemoval', () => {
  it('retires what the commit freed and settles what it kept', async () => {
    const { blobs, ledger, io } = setup()
    // intents as a durable ledger records them inside the commit (SQLite: triggers)
    const freed = await blobOf(blobs, ledger)
    const kept = await blobOf(blobs, ledger)
    const result = await commitRemoval(io, () =>
      Promise.resolve({ result: 7, freed: [freed, undefined], kept: [kept] }),
    )
    expect(result).toBe(7)
    expect(await ledger.due(LATE, 10)).toEqual({ orphans: [], retired: [refOf(freed)] })
  })
})

describe('startBlobCollector', () => {
  afterEach(() => {
    vi.useRealTimers()
  })

  it('collects shortly after start and then periodically; a failed pass is logged and retried', async () => {
    vi.useFakeTimers()
    const { blobs, ledger, count } = setup()
    const a = await blobOf(blobs, ledger)
    await ledger.retire([refOf(a)], 0)
    const warned: string[] = []
    const log: Logger = {
      ...silentLogger,
      warn: (_o: object, msg?: string) => void warned.push(msg ?? ''),
    }
    let fail = true
    const stop = startBlobCollector({
      ledger,
      blobs,
      metadata: {
        isBlobReferenced: () =>
          fail ? Promise.reject(new Error('db down')) : Promise.resolve(false),
      },
      now: () => 1_000_000,
      log,
      firstDelayMs: 10,
      everyMs: 100,
    })
    // an orphan intent whose check fails the first pass
    const b = await blobOf(blobs, ledger)
    expect(await count()).toBe(2)
    await vi.advanceTimersByTimeAsync(10)
    expect(warned).toEqual(['blob garbage collection failed'])
    fail = false
    await vi.advanceTimersByTimeAsync(100)
    expect(await count()).toBe(0)
    expect(await ledger.due(LATE, 10)).toEqual({ orphans: [], retired: [] })
    await stop()
    void b
  })
})
