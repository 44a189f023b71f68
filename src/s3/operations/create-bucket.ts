/**
 * CreateBucket (PUT /bucket). Names are global as in S3: another account's bucket of the same
 * name answers BucketAlreadyExists, one's own BucketAlreadyOwnedByYou (the store throws
 * StorageError 'bucket-exists' with the owner, the pipeline maps it). Buckets live in the
 * server's one region; a LocationConstraint naming another region is refused like AWS does.
 * ACLs other than owner-only are not implemented (bucket policies grant access instead), so they
 * are refused rather than silently ignored. Names that collide with the server's own paths
 * (`health`, `api`, …) are refused with InvalidBucketName (bucket-name.ts says why).
 * @module
 */
import { principalAccountId } from '../../auth/principal.js'
import { bucketArn, refuseReservedBucketName, validateBucketName } from '../bucket-name.js'
import { checkCannedAcl } from '../acl.js'
import { S3Error } from '../errors.js'
import type { AccessRequirement, Operation, S3Request } from '../operation.js'
import { emptyResponse } from '../responses.js'
import { child, parseXml, readBoundedText, text } from '../xml.js'

const REGION_SHAPE = /^(?:[a-z]{2}(?:-[a-z]+)+-\d+|EU)$/

/** Refuse ACL/ownership/lock headers we would otherwise have to ignore. */
export function checkCreateHeaders(
  header: (n: string) => string | undefined,
  grantNames: readonly string[],
): void {
  checkCannedAcl(header('x-amz-acl'))
  for (const g of grantNames)
    if (header(g) !== undefined) throw new S3Error('AccessControlListNotSupported')
  if ((header('x-amz-bucket-object-lock-enabled') ?? '').toLowerCase() === 'true')
    throw new S3Error('NotImplemented', 'Object Lock is not implemented.')
  const ownership = header('x-amz-object-ownership')
  if (ownership !== undefined && ownership !== 'BucketOwnerEnforced')
    throw new S3Error(
      'NotImplemented',
      `Object ownership '${ownership}' is not implemented; buckets are BucketOwnerEnforced.`,
    )
}

const GRANTS = [
  'x-amz-grant-full-control',
  'x-amz-grant-read',
  'x-amz-grant-read-acp',
  'x-amz-grant-write',
  'x-amz-grant-write-acp',
]

/** Check an optional LocationConstraint against the server's region. */
export function checkLocationConstraint(constraint: string | undefined, region: string): void {
  if (constraint === undefined || constraint === '' || constraint === region) return
  if (!REGION_SHAPE.test(constraint))
    throw new S3Error(
      'InvalidLocationConstraint',
      'The specified location-constraint is not valid',
      {
        LocationConstraint: constraint,
      },
    )
  throw new S3Error(
    'IllegalLocationConstraintException',
    `The ${constraint} location constraint is incompatible for the region specific endpoint this request was sent to.`,
  )
}

async function readLocationConstraint(req: S3Request): Promise<string | undefined> {
  const body = await readBoundedText(req.body, 64 * 1024)
  if (body.trim() === '') return undefined
  const xml = parseXml(body)
  const config = xml['CreateBucketConfiguration']
  if (config === undefined) throw new S3Error('MalformedXML')
  if (typeof config === 'string') return undefined
  const lc = child(config, 'LocationConstraint')
  if (lc === undefined) return undefined
  const v = text(lc)
  if (v === undefined) throw new S3Error('MalformedXML')
  return v.trim()
}

export const createBucket: Operation = {
  name: 'CreateBucket',
  target: 'new-bucket',
  authorize(req) {
    const context: Record<string, string> = {}
    const acl = req.header('x-amz-acl')
    if (acl !== undefined) context['s3:x-amz-acl'] = acl
    const ownership = req.header('x-amz-object-ownership')
    if (ownership !== undefined) context['s3:x-amz-object-ownership'] = ownership
    const need: AccessRequirement = {
      action: 's3:CreateBucket',
      resource: bucketArn(req.bucket ?? ''),
      context,
    }
    return [need]
  },
  async handle(req, env) {
    const name = req.bucket ?? ''
    validateBucketName(name)
    refuseReservedBucketName(name)
    const accountId = principalAccountId(req.principal)
    if (accountId === undefined)
      throw new S3Error('AccessDenied', 'Anonymous users cannot create buckets.')
    checkCreateHeaders((n) => req.header(n), GRANTS)
    checkLocationConstraint(await readLocationConstraint(req), env.region)
    await env.meta.createBucket({
      name,
      accountId,
      createdAt: req.ctx.clock.now(),
      region: env.region,
    })
    return emptyResponse(200, { location: `/${name}` })
  },
}
