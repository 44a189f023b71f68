/** Runs the BlobStore conformance suite against MemoryBlobStore. @module */
import { blobStoreConformance } from '../../../test/conformance/blob-store.case.js'
import { MemoryBlobStore } from './blob-store.js'

blobStoreConformance('memory', () => {
  const blobs = new MemoryBlobStore()
  return Promise.resolve({
    blobs,
    tempCount: () => Promise.resolve(0),
    list: async () => {
      const out: string[] = []
      for await (const r of blobs.list()) out.push(r)
      return out
    },
    reopen: () => Promise.resolve(blobs),
    cleanup: () => Promise.resolve(),
  })
})
