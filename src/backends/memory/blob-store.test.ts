/** Runs the BlobStore conformance suite against MemoryBlobStore. @module */
import { blobStoreConformance } from '../../../test/conformance/blob-store.case.js'
import { MemoryBlobStore } from './blob-store.js'

blobStoreConformance('memory', () =>
  Promise.resolve({
    blobs: new MemoryBlobStore(),
    tempCount: () => Promise.resolve(0),
    cleanup: () => Promise.resolve(),
  }),
)
