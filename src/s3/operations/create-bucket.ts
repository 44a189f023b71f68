/**
 * CreateBucket (PUT /bucket). Names are global as in S3: another account's bucket of the same
 * name answers BucketAlreadyExists, one's own BucketAlreadyOwnedByYou (the store throws
 * StorageError 'bucket-exists' with the owner, the pipeline maps it). Buckets live in the
 * server's one region; a LocationConstraint naming another region is refused like AWS does.
 * x-amz-acl / x-amz-grant-* set the bucket's ACL and x-amz-object-ownership its Object Ownership
 * (an ACL granting beyond the owner with BucketOwnerEnforced is InvalidBucketAclWithObjectOwnership,
 * as on AWS). With --aws-bucket-defaults a new bucket starts as AWS's have since April 2023:
 * BucketOwnerEnforced unless the request names another ownership, and every public access block
 * flag set. The settings are written right after the bucket (the store has no one call for both). Names that collide with the server's own paths
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
import type { AccessRequirement, Operation, S3Request } from '../operation.js'
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
    const config: BucketAccessConfig = {
      ...(ownership !== undefined ? { ownership } : {}),
      ...(env.awsBucketDefaults ? { publicAccessBlock: FULL_PUBLIC_ACCESS_BLOCK } : {}),
    }
    if (acl !== undefined) checkAclAllowed(acl, config, accountId)
    checkLocationConstraint(await readLocationConstraint(req), env.region)
    await env.meta.createBucket({
      name,
      accountId,
      createdAt: req.ctx.clock.now(),
      region: env.region,
    })
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
