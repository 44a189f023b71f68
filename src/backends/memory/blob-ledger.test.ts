/** Runs the BlobLedger conformance suite against MemoryBlobLedger. @module */
import { blobLedgerConformance } from '../../../test/conformance/blob-ledger.case.js'
import { MemoryBlobLedger } from './blob-ledger.js'

blobLedgerConformance('memory', (opts) =>
  Promise.resolve({ ledger: new MemoryBlobLedger(opts), close: () => Promise.resolve() }),
)
