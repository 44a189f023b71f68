/**
 * HeadObject (HEAD /bucket/key): GetObject's headers without a body; AWS authorizes it as
 * s3:GetObject. The pipeline strips error bodies of HEAD responses.
 * @module
 */
import type { Operation } from '../operation.js'
import { requestObjectArn } from '../object/access.js'
import { serveObject } from '../object/serve.js'

export const headObject: Operation = {
  name: 'HeadObject',
  target: 'object',
  authorize: (req) => [{ action: 's3:GetObject', resource: requestObjectArn(req) }],
  handle: (req, env) => serveObject(req, env, true),
}
