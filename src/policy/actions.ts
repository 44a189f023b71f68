/**
 * The typed action catalogue: every action a Latchkey surface asks the policy engine about, as
 * string literal unions, so a misspelt action in a preset or an authorization call is a compile
 * error rather than a silent deny. The role presets (presets.ts) are built from these lists.
 *
 * S3 and STS actions are AWS's names. The IAM actions are the admin API's (and later the console's
 * and the IAM Query API's): AWS's IAM names where AWS has the operation (iam:CreateUser,
 * iam:CreateAccessKey, iam:PutUserPolicy, iam:SimulateCustomPolicy, …); Latchkey's own names,
 * in the same style, for what AWS does elsewhere or not at all (customer accounts, their master
 * key and address allow-list, session listing and revocation).
 * @module
 */

export const S3_READ_ACTIONS = [
  's3:ListAllMyBuckets',
  's3:ListBucket',
  's3:ListBucketVersions',
  's3:ListBucketMultipartUploads',
  's3:ListMultipartUploadParts',
  's3:GetBucketLocation',
  's3:GetObject',
  's3:GetObjectVersion',
  's3:GetObjectTagging',
  's3:GetObjectVersionTagging',
  's3:GetObjectAcl',
  's3:GetObjectAttributes',
  's3:GetBucketAcl',
  's3:GetBucketCORS',
  's3:GetBucketTagging',
  's3:GetBucketVersioning',
  's3:GetLifecycleConfiguration',
] as const

export const S3_WRITE_ACTIONS = [
  's3:CreateBucket',
  's3:DeleteBucket',
  's3:PutObject',
  's3:DeleteObject',
  's3:DeleteObjectVersion',
  's3:AbortMultipartUpload',
  's3:PutObjectTagging',
  's3:DeleteObjectTagging',
  's3:PutObjectAcl',
  's3:PutBucketCORS',
  's3:PutBucketTagging',
  's3:PutLifecycleConfiguration',
] as const

/** Security settings of a bucket: SuperUser and the master key only. */
export const S3_SECURITY_ACTIONS = [
  's3:GetBucketPolicy',
  's3:PutBucketPolicy',
  's3:DeleteBucketPolicy',
  's3:PutBucketAcl',
  's3:PutBucketVersioning',
  's3:GetBucketPublicAccessBlock',
  's3:PutBucketPublicAccessBlock',
  's3:GetBucketOwnershipControls',
  's3:PutBucketOwnershipControls',
] as const

export type S3Action =
  | (typeof S3_READ_ACTIONS)[number]
  | (typeof S3_WRITE_ACTIONS)[number]
  | (typeof S3_SECURITY_ACTIONS)[number]

export const STS_ACTIONS = [
  'sts:AssumeRole',
  'sts:GetSessionToken',
  'sts:GetCallerIdentity',
] as const
export type StsAction = (typeof STS_ACTIONS)[number]

/** What the admin API's routes ask for (see ADMIN_ROUTE_ACTIONS in admin-authorize.ts). */
export const IAM_ACTIONS = [
  'iam:ListUsers',
  'iam:GetUser',
  'iam:CreateUser',
  'iam:UpdateUser',
  'iam:DeleteUser',
  'iam:CreateAccessKey',
  'iam:DeleteAccessKey',
  'iam:GetUserPolicy',
  'iam:PutUserPolicy',
  'iam:DeleteUserPolicy',
  'iam:EnableMFADevice',
  'iam:DeactivateMFADevice',
  'iam:SimulateCustomPolicy',
  // Latchkey's own: customer accounts (AWS Organizations' business), their master key and
  // address allow-list, and the STS sessions of an account.
  'iam:ListAccounts',
  'iam:GetAccount',
  'iam:CreateAccount',
  'iam:GetMasterKey',
  'iam:ResetMasterKey',
  // The console's reveal of a master secret (after re-entering the password; audited).
  'iam:RevealMasterKey',
  'iam:GetAccountAllowlist',
  'iam:PutAccountAllowlist',
  'iam:ListSessions',
  'iam:RevokeSession',
  // A backup of the whole server (POST /api/admin/backup): the operator's alone.
  'iam:CreateBackup',
  // The audit trail (GET /api/admin/audit), scoped to the accounts the caller manages.
  'iam:ListAuditEvents',
] as const
export type IamAction = (typeof IAM_ACTIONS)[number]

export type Action = S3Action | StsAction | IamAction
