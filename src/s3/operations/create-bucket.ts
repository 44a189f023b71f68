/**
 * CreateBucket (PUT /bucket). Names are global as in S3: another account's bucket of the same
 * name answers BucketAlreadyExists, one's own BucketAlreadyOwnedByYou (the store throws
 * StorageError 'bucket-exists' with the owner, the pipeline maps it), except that re-creating
 * one's own bucket in us-east-1 answers 200 and changes nothing, as AWS's us-east-1 does. A
 * bucket takes the region its LocationConstraint names, unless the operator pinned `--region`:
 * then another region is refused like AWS does.
 * x-amz-acl / x-amz-grant-* set the bucket's ACL and x-amz-object-ownership its Object Ownership
 * (an ACL granting beyond the owner with BucketOwnerEnforced is InvalidBucketAclWithObjectOwnership,
 * as on AWS). With --aws-bucket-defaults a new bucket starts as AWS's have since April 2023:
 * BucketOwnerEnforced unless the request names another ownership, and every public access block
 * flag set. The settings are written right after the bucket (the store has no one call for both).
 * Names that collide with the server's own paths
 * (`health`, `api`, …) are refused with InvalidBucketName (bucket-name.ts says why).
 * @module
 */
import { principalAccountId } from '../../auth/principal.js'
import { bucketArn, refuseReservedBucketName, validateBucketName } from '../bucket-name.js'
import {
  aclConditionKeys,
  aclRequestOf,
  checkAclAllowed,
  FULL_PUBLIC_ACCESS_BLOCK,
  grantsOnlyTo,
  OBJECT_OWNERSHIPS,
  resolveAcl,
  type BucketAccessConfig,
} from '../acl.js'
import { isDefaultAcl } from '../acl-apply.js'
import { S3Error } from '../errors.js'
import { StorageError } from '../../storage/errors.js'
import type { AccessRequirement, Operation, S3Env, S3Request } from '../operation.js'
import { emptyResponse } from '../responses.js'
import { child, parseXml, readBoundedText, text } from '../xml.js'

const REGION_SHAPE = /^(?:[a-z]{2}(?:-[a-z]+)+-\d+|EU)$/

/** Refuse the lock header we would otherwise have to ignore; validate x-amz-object-ownership. */
export function checkCreateHeaders(header: (n: string) => string | undefined): string | undefined {
  if ((header('x-amz-bucket-object-lock-enabled') ?? '').toLowerCase() === 'true')
    throw new S3Error('NotImplemented', 'Object Lock is not implemented.')
  const ownership = header('x-amz-object-ownership')
  if (ownership !== undefined && !OBJECT_OWNERSHIPS.has(ownership))
    throw new S3Error('InvalidArgument', 'Invalid x-amz-object-ownership header', {
      ArgumentName: 'x-amz-object-ownership',
      ArgumentValue: ownership,
    })
  return ownership
}

/**
 * The region a new bucket goes to. Pinned (`--region`), a LocationConstraint must name the
 * server's region (AWS's IllegalLocationConstraintException otherwise); unpinned, any well-formed
 * region is taken as the bucket's own, since the SDKs send their configured region (SDK v3 with
 * `us-west-1` sends `us-west-1`). No constraint: the server's region. A malformed one is
 * InvalidLocationConstraint either way.
 */
export function bucketRegion(
  constraint: string | undefined,
  region: string,
  pinned: boolean,
): string {
  if (constraint === undefined || constraint === '' || constraint === region) return region
  if (!REGION_SHAPE.test(constraint))
    throw new S3Error(
      'InvalidLocationConstraint',
      'The specified location-constraint is not valid',
      {
        LocationConstraint: constraint,
      },
    )
  if (!pinned) return constraint
  throw new S3Error(
    'IllegalLocationConstraintException',
    `The ${constraint} location constraint is incompatible for the region specific endpoint this request was sent to.`,
  )
}

/**
 * AWS's us-east-1 answers 200 when you re-create a bucket you already own there (and changes
 * nothing); every other region answers BucketAlreadyOwnedByYou. Anything else rethrows.
 */
async function recreatedOwnBucket(
  err: unknown,
  meta: S3Env['meta'],
  name: string,
  accountId: string,
  region: string,
): Promise<boolean> {
  if (!(err instanceof StorageError) || err.kind !== 'bucket-exists') return false
  if (region !== US_EAST_1) return false
  const existing = await meta.getBucket(name)
  return existing !== undefined && existing.accountId === accountId && existing.region === US_EAST_1
}

const US_EAST_1 = 'us-east-1'

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
    const context: Record<string, string> = aclConditionKeys((n) => req.header(n))
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
    const h = (n: string): string | undefined => req.header(n)
    const ownership =
      checkCreateHeaders(h) ?? (env.awsBucketDefaults ? 'BucketOwnerEnforced' : undefined)
    const request = aclRequestOf(h)
    const acl =
      request === undefined
        ? undefined
        : resolveAcl(request, {
            owner: accountId,
            bucketOwner: accountId,
            accountOfCanonicalId: (id) => env.accountOfCanonicalId(id),
          })
    if (acl !== undefined && ownership === 'BucketOwnerEnforced' && !grantsOnlyTo(acl, accountId))
      throw new S3Error('InvalidBucketAclWithObjectOwnership')
    const config: BucketAccessConfig = Object.assign(
      ownership !== undefined ? { ownership } : {},
      env.awsBucketDefaults ? { publicAccessBlock: FULL_PUBLIC_ACCESS_BLOCK } : {},
    )
    if (acl !== undefined) checkAclAllowed(acl, config, accountId)
    const region = bucketRegion(
      await readLocationConstraint(req),
      env.region,
      env.regionPinned ?? false,
    )
    try {
      await env.meta.createBucket({ name, accountId, createdAt: req.ctx.clock.now(), region })
    } catch (err) {
      if (!(await recreatedOwnBucket(err, env.meta, name, accountId, region))) throw err
      return emptyResponse(200, { location: `/${name}` }) // changes nothing
    }
    if (config.publicAccessBlock !== undefined)
      await env.meta.setBucketSubresource(
        name,
        'public-access-block',
        JSON.stringify(config.publicAccessBlock),
      )
    if (ownership !== undefined) await env.meta.setBucketSubresource(name, 'ownership', ownership)
    if (acl !== undefined && ownership !== 'BucketOwnerEnforced' && !isDefaultAcl(acl, accountId))
      await env.meta.setBucketSubresource(name, 'acl', JSON.stringify(acl))
    return emptyResponse(200, { location: `/${name}` })
  },
}
