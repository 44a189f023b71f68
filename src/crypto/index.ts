/**
 * The crypto surface in one import: master key loading, sealing secrets at rest, sub-key
 * derivation and constant-time comparison.
 * @module
 */
export { loadMasterKey, parseMasterKey, MASTER_KEY_FILE } from './master-key.js'
export { deriveKey, seal, unseal, timingSafeEqualStr, KEY_LABELS } from './seal.js'
export { isDerivedSecret, newSessionSecret, openSessionSecret } from './session-secret.js'
