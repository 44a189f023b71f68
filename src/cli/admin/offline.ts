/**
 * `latchkey admin master-key-id --data-dir DIR`: the default account's master access key id,
 * read from a stopped server's data dir (SQLite). For an operator who lost the first-start
 * output and cannot log in to ask the API. It prints the id only: the secret is sealed in the
 * database and is never readable; `admin master-key reset` (online) makes a new one. Like
 * reset-root-password it refuses a data dir a running server holds (its exclusive lock).
 * @module
 */
import { lockedError, openIdentityStoreOffline } from '../../app/backends.js'
import { parseArgs } from './args.js'
import { CliError, type Io } from './client.js'
import { EXIT } from './args.js'
import { emit } from './output.js'

export const MASTER_KEY_ID_USAGE = `  admin master-key-id [--data-dir DIR]   the default account's master access key id (server stopped)`

export async function masterKeyId(argv: string[], io: Io): Promise<void> {
  const p = parseArgs(argv, { values: ['--data-dir'] })
  const fromEnv = io.env['LATCHKEY_DATA_DIR']
  const dataDir =
    p.values.get('--data-dir') ?? (fromEnv !== undefined && fromEnv !== '' ? fromEnv : './data')
  let opened: ReturnType<typeof openIdentityStoreOffline>
  try {
    opened = openIdentityStoreOffline(dataDir)
  } catch (e) {
    throw new CliError(EXIT.api, e instanceof Error ? e.message : String(e))
  }
  let id: string | undefined
  try {
    const snapshot = await opened.store.loadAll()
    id = snapshot.accounts.find((a) => a.name === 'default')?.masterAccessKeyId
  } catch (e) {
    const shown = lockedError(e, dataDir)
    throw new CliError(EXIT.api, shown instanceof Error ? shown.message : String(shown))
  } finally {
    await opened.close()
  }
  if (id === undefined)
    throw new CliError(EXIT.api, `no default account in ${dataDir}: has the server ever started?`)
  emit(io, p, { customer: 'default', access_key: id }, () => [id])
}
