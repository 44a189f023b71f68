/**
 * Get/Put/DeleteBucketCors. The XML is validated into CorsRules (cors.ts) and stored as
 * canonical JSON, so the pipeline's cached matcher never re-parses XML. AWS requires Content-MD5
 * or an x-amz-checksum-* on PutBucketCors; so do we. DeleteBucketCors is authorized with
 * s3:PutBucketCORS, as AWS does.
 * @module
 */
import { bucketArn } from '../bucket-name.js'
import {
  MAX_CORS_BYTES,
  parseCorsConfig,
  parseCorsXml,
  renderCorsXml,
  serializeCorsConfig,
} from '../cors.js'
import { S3Error } from '../errors.js'
import type { Operation } from '../operation.js'
import { readVerifiedBody } from '../integrity/verify-body.js'
import { bucketRecordOf, emptyResponse, xmlResponse } from '../responses.js'

export const getBucketCors: Operation = {
  name: 'GetBucketCors',
  target: 'bucket',
  authorize: (req) => [{ action: 's3:GetBucketCORS', resource: bucketArn(req.bucket ?? '') }],
  async handle(req, env) {
    const b = bucketRecordOf(req)
    const stored = await env.meta.getBucketSubresource(b.name, 'cors')
    if (stored === undefined)
      throw new S3Error('NoSuchCORSConfiguration', undefined, { BucketName: b.name })
    return xmlResponse(renderCorsXml(parseCorsConfig(stored)))
  },
}

export const putBucketCors: Operation = {
  name: 'PutBucketCors',
  target: 'bucket',
  authorize: (req) => [{ action: 's3:PutBucketCORS', resource: bucketArn(req.bucket ?? '') }],
  async handle(req, env) {
    const b = bucketRecordOf(req)
    const xml = await readVerifiedBody(req, { maxBytes: MAX_CORS_BYTES, requireChecksum: true })
    const rules = parseCorsXml(xml)
    await env.meta.setBucketSubresource(b.name, 'cors', serializeCorsConfig(rules))
    return emptyResponse(200)
  },
}

export const deleteBucketCors: Operation = {
  name: 'DeleteBucketCors',
  target: 'bucket',
  authorize: (req) => [{ action: 's3:PutBucketCORS', resource: bucketArn(req.bucket ?? '') }],
  async handle(req, env) {
    const b = bucketRecordOf(req)
    await env.meta.setBucketSubresource(b.name, 'cors', null)
    return emptyResponse(204)
  },
}
