/**
 * ListBuckets (GET /): the caller's own account's buckets only, never other accounts' (bucket
 * policies may grant access to foreign buckets, but listing them would leak their names).
 * Supports prefix, max-buckets and continuation-token like AWS's paginated ListBuckets.
 * @module
 */
import { principalAccountId } from '../../auth/principal.js'
import { S3Error } from '../errors.js'
import type { Operation } from '../operation.js'
import { decodeContinuationToken, encodeContinuationToken } from '../listing/params.js'
import { ownerXml, xmlResponse } from '../responses.js'
import { doc, el, isoDate, wrap } from '../xml.js'

function parseMaxBuckets(v: string | undefined): number {
  if (v === undefined) return 10000
  const n = Number(v)
  if (!/^\d+$/.test(v) || n < 1 || n > 10000)
    throw new S3Error('InvalidArgument', 'max-buckets must be an integer between 1 and 10000', {
      ArgumentName: 'max-buckets',
      ArgumentValue: v,
    })
  return n
}

export const listBuckets: Operation = {
  name: 'ListBuckets',
  target: 'service',
  authorize: () => [{ action: 's3:ListAllMyBuckets', resource: '*' }],
  async handle(req, env) {
    const accountId = principalAccountId(req.principal)
    if (accountId === undefined)
      throw new S3Error('AccessDenied', 'Anonymous users cannot list buckets.')
    const prefix = req.query.get('prefix') ?? ''
    const max = parseMaxBuckets(req.query.get('max-buckets'))
    const token = req.query.get('continuation-token')
    const after = token === undefined ? undefined : decodeContinuationToken(token)
    const all = [...(await env.meta.listBuckets(accountId))]
      .filter((b) => b.name.startsWith(prefix) && (after === undefined || b.name > after))
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
    const page = all.slice(0, max)
    const last = page[page.length - 1]
    const truncated = all.length > page.length && last !== undefined
    const buckets = page
      .map((b) =>
        wrap(
          'Bucket',
          el('Name', b.name) +
            el('CreationDate', isoDate(b.createdAt)) +
            el('BucketRegion', b.region),
        ),
      )
      .join('')
    return xmlResponse(
      doc(
        'ListAllMyBucketsResult',
        ownerXml(env.owner(accountId)) +
          wrap('Buckets', buckets) +
          (truncated ? el('ContinuationToken', encodeContinuationToken(last.name)) : '') +
          (req.query.has('prefix') ? el('Prefix', prefix) : ''),
      ),
    )
  },
}
