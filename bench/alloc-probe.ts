/**
 * Preloaded into a server under test (`node --expose-gc --import …/alloc-probe.js`): on SIGUSR2
 * it writes to $LATCHKEY_ALLOC_PROBE what the heap did since the last signal, so a driver can
 * divide by the calls it made in between (bench/alloc-sts.ts). Why a GC profiler and not
 * --trace-gc: the bytes a request allocates are the heap's growth between collections, which
 * v8.GCProfiler reports per collection (used heap before and after), with no log to parse.
 *
 * allocated: the used heap's growth between collections, summed (young garbage included).
 * promoted: what scavenges moved to the old generation (kept for good, or for a while).
 * retained: the used heap after a forced full collection (what survives: the session cache).
 * @module
 */
import { writeFileSync } from 'node:fs'
import { Session } from 'node:inspector'
import { GCProfiler, getHeapStatistics, writeHeapSnapshot } from 'node:v8'

const out = process.env['LATCHKEY_ALLOC_PROBE']
/** Also write a heap snapshot per signal into this directory (to see what is kept). */
const snapshots = process.env['LATCHKEY_ALLOC_SNAPSHOTS']
let taken = 0
/**
 * Also sample allocations (collected objects included) between signals into this directory as
 * .heapprofile files (Chrome DevTools opens them; bench/alloc-sts.ts --sites folds them).
 */
const sampling = process.env['LATCHKEY_ALLOC_SAMPLING']
const inspector = sampling !== undefined ? new Session() : undefined
function startSampling(): void {
  inspector?.post('HeapProfiler.startSampling', {
    samplingInterval: 1024,
    includeObjectsCollectedByMajorGC: true,
    // 'promoted': leave out what scavenges free (what remains outlived them).
    includeObjectsCollectedByMinorGC: process.env['LATCHKEY_ALLOC_SAMPLING_KIND'] !== 'promoted',
  })
}
if (inspector !== undefined) {
  inspector.connect()
  startSampling()
}
const gc = (globalThis as { gc?: () => void }).gc

/** Bytes used in the old generation (where a scavenge promotes survivors). */
function oldUsed(h: {
  readonly heapSpaceStatistics: readonly { spaceName: string; spaceUsedSize: number }[]
}): number {
  let n = 0
  for (const sp of h.heapSpaceStatistics)
    if (sp.spaceName === 'old_space' || sp.spaceName === 'lo_space') n += sp.spaceUsedSize
  return n
}

if (out !== undefined) {
  let profiler = new GCProfiler()
  profiler.start()
  let last = getHeapStatistics().used_heap_size
  process.on('SIGUSR2', () => {
    const stats = profiler.stop().statistics
    let allocated = 0
    let prev = last
    let cost = 0
    let promoted = 0
    const byType: Record<string, number> = {}
    for (const s of stats) {
      allocated += s.beforeGC.heapStatistics.usedHeapSize - prev
      prev = s.afterGC.heapStatistics.usedHeapSize
      cost += s.cost
      byType[s.gcType] = (byType[s.gcType] ?? 0) + s.cost
      if (s.gcType === 'Scavenge') promoted += oldUsed(s.afterGC) - oldUsed(s.beforeGC)
    }
    allocated += getHeapStatistics().used_heap_size - prev
    gc?.()
    last = getHeapStatistics().used_heap_size
    writeFileSync(
      out,
      JSON.stringify({
        allocated,
        promoted,
        gcs: stats.length,
        gcMicros: cost,
        byType,
        retained: last,
      }),
    )
    if (inspector !== undefined) {
      const n = taken++
      inspector.post('HeapProfiler.stopSampling', (err, r) => {
        if (err === null)
          writeFileSync(`${sampling}/${String(n)}.heapprofile`, JSON.stringify(r.profile))
        startSampling()
      })
    }
    if (snapshots !== undefined) writeHeapSnapshot(`${snapshots}/${String(taken++)}.heapsnapshot`)
    profiler = new GCProfiler()
    profiler.start()
  })
}
