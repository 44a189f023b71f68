/**
 * `POST /api/admin/backup`: the server makes a consistent backup of itself in its data dir
 * (backends/sqlite/backup.ts) and answers where and its manifest; `latchkey backup --to DIR`, run on the
 * same machine, copies it from there. The operator's alone: a backup holds every account's data
 * (sealed secrets included), so no account user may take one, whatever its policies grant. The
 * request names no path: the server writes only DATA_DIR/backups/ID.
 * @module
 */
import { ADMIN_ROUTE_ACTIONS as A } from '../../policy/admin-authorize.js'
import type { Call, Route } from '../call.js'
import type { AdminDeps } from '../deps.js'
import { AdminError } from '../errors.js'
import { ok } from '../render.js'

export const OPERATOR_ONLY = 'Only the operator (root login) may take a backup'

function operatorOnly(c: Call): void {
  if (c.actor.kind !== 'operator') throw new AdminError('Forbidden', OPERATOR_ONLY)
}

export const createBackup: Route = {
  action: A['POST backup'],
  resource: (_d, c) => {
    operatorOnly(c)
    return '*'
  },
  run: async (d: AdminDeps, c) => {
    operatorOnly(c)
    const backup = d.backup
    if (backup === undefined)
      throw new AdminError('NotImplemented', 'This server does not offer backups')
    if (typeof backup !== 'function') throw new AdminError('NotImplemented', backup.unsupported)
    const started = d.clock.now()
    const made = await backup()
    c.ctx.log.info(
      {
        backup: made.id,
        blobs: made.manifest.counts.blobs,
        bytes: made.manifest.counts.blobBytes + made.manifest.database.size,
        ms: d.clock.now() - started,
      },
      'admin: backup made',
    )
    return ok(201, { id: made.id, path: made.dir, manifest: made.manifest })
  },
}
