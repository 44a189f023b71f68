/**
 * GetObject (GET /bucket/key): s3:GetObject on the object ARN; the work is in object/serve.ts,
 * shared with HeadObject. Tags are checked in a second decision once loaded (object/access.ts).
 * @module
 */
import type { Operation } from '../operation.js'
import { requestObjectArn } from '../object/access.js'
import { serveObject } from '../object/serve.js'

export const getObject: Operation = {
  name: 'GetObject',
  target: 'object',
  authorize: (req) => [{ action: 's3:GetObject', resource: requestObjectArn(req) }],
  handle: (req, env) => serveObject(req, env, false),
}
