/**
 * Bucket naming rules of S3 general purpose buckets, in one place: CreateBucket refuses bad names
 * and the pipeline uses the same check before it looks a bucket up, so a name that could never
 * have been created answers InvalidBucketName rather than NoSuchBucket.
 * Rules: docs.aws.amazon.com/AmazonS3/latest/userguide/bucketnamingrules.html
 *
 * On top of S3's rules, CreateBucket refuses the names whose path-style paths are this server's
 * own (`/health`, `/api/admin`, and the surfaces the contract plans: `/ready`, `/metrics`,
 * `/console/`): an unsigned request there reaches the server's surface, so an anonymous reader of
 * such a bucket would get the wrong answer. Only creation refuses them; a bucket that already has
 * such a name stays reachable with signed requests (server/dispatch.ts routes those to S3).
 * @module
 */
import { S3Error } from './errors.js'

const SHAPE = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/
const IPV4 = /^\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}$/
const RESERVED_PREFIXES = ['xn--', 'sthree-', 'amzn-s3-demo-'] as const
const RESERVED_SUFFIXES = ['-s3alias', '--ol-s3', '.mrap', '--x-s3', '--table-s3'] as const

/** Why a name is invalid, or undefined when it is fine (pure; used by tests and the thrower). */
export function bucketNameProblem(name: string): string | undefined {
  if (name.length < 3 || name.length > 63)
    return 'Bucket name must be between 3 and 63 characters long'
  if (!SHAPE.test(name))
    return 'Bucket name can contain only lowercase letters, numbers, dots and hyphens, and must begin and end with a letter or number'
  if (name.includes('..')) return 'Bucket name must not contain two adjacent periods'
  if (IPV4.test(name)) return 'Bucket name must not be formatted as an IP address'
  for (const p of RESERVED_PREFIXES)
    if (name.startsWith(p)) return `Bucket name must not start with '${p}'`
  for (const s of RESERVED_SUFFIXES)
    if (name.endsWith(s)) return `Bucket name must not end with '${s}'`
  return undefined
}

/** Bucket names taken by the server's own paths (path-style `/<name>` is a server surface). */
export const RESERVED_BUCKET_NAMES: ReadonlySet<string> = new Set([
  'health',
  'ready',
  'metrics',
  'api',
  'console',
])

/** Throws InvalidBucketName when `name` is one of RESERVED_BUCKET_NAMES (CreateBucket only). */
export function refuseReservedBucketName(name: string): void {
  if (RESERVED_BUCKET_NAMES.has(name))
    throw new S3Error(
      'InvalidBucketName',
      `The specified bucket is not valid. Bucket name '${name}' is reserved by this server (/${name} is one of its own paths); choose another name.`,
      { BucketName: name },
    )
}

/** Throws InvalidBucketName (with BucketName in the error) when `name` breaks S3's rules. */
export function validateBucketName(name: string): void {
  const problem = bucketNameProblem(name)
  if (problem !== undefined)
    throw new S3Error('InvalidBucketName', `The specified bucket is not valid. ${problem}.`, {
      BucketName: name,
    })
}

/** ARN of a bucket, or of an object inside it. */
export function bucketArn(bucket: string, key?: string): string {
  return key === undefined ? `arn:aws:s3:::${bucket}` : `arn:aws:s3:::${bucket}/${key}`
}
