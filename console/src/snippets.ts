/**
 * Ready-to-paste text for a key: the AWS console's .csv, shell environment lines, an aws
 * `credentials` profile, and the credential builder's code (the seed's @aws-sdk/client-sts
 * snippet, an app-server function minting such credentials from a master key, boto3).
 * Endpoint = this console's own origin (Latchkey serves S3, STS and the console on one port).
 */

export interface KeyText {
  accessKeyId: string
  secretAccessKey: string
  sessionToken?: string
}

export const endpoint = (): string => location.origin

export function csv(k: KeyText): string {
  const head =
    k.sessionToken !== undefined
      ? 'Access key ID,Secret access key,Session token'
      : 'Access key ID,Secret access key'
  const row = [
    k.accessKeyId,
    k.secretAccessKey,
    ...(k.sessionToken !== undefined ? [k.sessionToken] : []),
  ].join(',')
  return `${head}\n${row}\n`
}

export function envLines(k: KeyText): string {
  return [
    `export AWS_ACCESS_KEY_ID=${k.accessKeyId}`,
    `export AWS_SECRET_ACCESS_KEY=${k.secretAccessKey}`,
    ...(k.sessionToken !== undefined ? [`export AWS_SESSION_TOKEN=${k.sessionToken}`] : []),
    `export AWS_ENDPOINT_URL=${endpoint()}`,
    'export AWS_REGION=us-east-1',
  ].join('\n')
}

export function awsProfile(k: KeyText, profile: string): string {
  const name = profile.replace(/[^A-Za-z0-9_-]/g, '-') || 'latchkey'
  return [
    `# ~/.aws/credentials`,
    `[${name}]`,
    `aws_access_key_id = ${k.accessKeyId}`,
    `aws_secret_access_key = ${k.secretAccessKey}`,
    ...(k.sessionToken !== undefined ? [`aws_session_token = ${k.sessionToken}`] : []),
    ``,
    `# ~/.aws/config`,
    `[profile ${name}]`,
    `region = us-east-1`,
    `endpoint_url = ${endpoint()}`,
    `s3 =`,
    `  addressing_style = path`,
  ].join('\n')
}

/** The seed's flow from a browser or app: ask STS for a scoped credential with a master key. */
export function stsSnippet(policy: string, seconds: number): string {
  return `import { STSClient, AssumeRoleCommand } from '@aws-sdk/client-sts'

// On your server, with the master key (never ship it to browsers).
const sts = new STSClient({
  endpoint: '${endpoint()}',
  region: 'us-east-1',
  credentials: {
    accessKeyId: process.env.AWS_ACCESS_KEY_ID,
    secretAccessKey: process.env.AWS_SECRET_ACCESS_KEY,
  },
})

const { Credentials } = await sts.send(
  new AssumeRoleCommand({
    // No RoleArn needed: the session acts for the caller, limited by Policy.
    RoleSessionName: 'upload-' + Date.now(),
    DurationSeconds: ${seconds},
    Policy: JSON.stringify(${indent(policy, 4)}),
  }),
)
// Credentials.AccessKeyId, SecretAccessKey, SessionToken, Expiration`
}

/** An app-server route that mints such credentials per request. */
export function appServerSnippet(policy: string, seconds: number): string {
  return `// app-server.mjs — Node 20, npm i @aws-sdk/client-sts
import { createServer } from 'node:http'
import { STSClient, AssumeRoleCommand } from '@aws-sdk/client-sts'

const sts = new STSClient({ endpoint: '${endpoint()}', region: 'us-east-1' })
const policy = ${indent(policy, 0)}

/** Temporary credentials limited by \`policy\`, for one browser upload. */
export async function mintUploadCredentials(user) {
  const { Credentials } = await sts.send(
    new AssumeRoleCommand({
      RoleSessionName: \`upload-\${user}\`.slice(0, 64),
      DurationSeconds: ${seconds},
      Policy: JSON.stringify(policy),
    }),
  )
  return {
    accessKeyId: Credentials.AccessKeyId,
    secretAccessKey: Credentials.SecretAccessKey,
    sessionToken: Credentials.SessionToken,
    expiration: Credentials.Expiration,
  }
}

createServer(async (req, res) => {
  // Authenticate your own user here first.
  const creds = await mintUploadCredentials('someone')
  res.setHeader('content-type', 'application/json')
  res.end(JSON.stringify(creds))
}).listen(3000)`
}

export function boto3Snippet(k: KeyText, bucket: string, prefix: string): string {
  return `import boto3
from botocore.config import Config

s3 = boto3.client(
    "s3",
    endpoint_url="${endpoint()}",
    region_name="us-east-1",
    aws_access_key_id="${k.accessKeyId}",
    aws_secret_access_key="${k.secretAccessKey}",
    aws_session_token="${k.sessionToken ?? ''}",
    config=Config(s3={"addressing_style": "path"}),
)
s3.upload_file("photo.jpg", "${bucket}", "${prefix}photo.jpg")`
}

export function cliLines(k: KeyText, bucket: string, prefix: string): string {
  return `${envLines(k)}
aws s3 cp ./photo.jpg s3://${bucket}/${prefix}photo.jpg

# or mint such credentials yourself with a master key:
# aws --endpoint-url ${endpoint()} --region us-east-1 sts assume-role \\
#   --role-arn arn:xxx:xxx:xxx:xxxx --role-session-name upload --policy file://policy.json`
}

function indent(json: string, n: number): string {
  const pad = ' '.repeat(n)
  return json
    .split('\n')
    .map((l, i) => (i === 0 ? l : pad + l))
    .join('\n')
}
