/**
 * Running the aws CLI and boto3 against a test server. Both are optional on a machine: the
 * tests that use them skip when `aws` or `python3 -c "import boto3"` is missing.
 */
import { execFile, execFileSync } from 'node:child_process'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

function has(cmd: string, args: string[]): boolean {
  try {
    execFileSync(cmd, args, { stdio: 'ignore', timeout: 30_000 })
    return true
  } catch {
    return false
  }
}

export const HAS_AWS_CLI = has('aws', ['--version'])
export const HAS_BOTO3 = has('python3', ['-c', 'import boto3'])

export interface Creds {
  readonly accessKeyId: string
  readonly secretAccessKey: string
  readonly sessionToken?: string
}

/** Environment for aws/boto3: explicit creds, path-style, no user config leaking in. */
export function awsEnv(creds: Creds): NodeJS.ProcessEnv {
  const dir = mkdtempSync(join(tmpdir(), 'latchkey-aws-'))
  const config = join(dir, 'config')
  writeFileSync(config, '[default]\nregion = us-east-1\ns3 =\n    addressing_style = path\n')
  const env: NodeJS.ProcessEnv = {
    PATH: process.env['PATH'],
    HOME: dir,
    AWS_CONFIG_FILE: config,
    AWS_SHARED_CREDENTIALS_FILE: join(dir, 'credentials'),
    AWS_ACCESS_KEY_ID: creds.accessKeyId,
    AWS_SECRET_ACCESS_KEY: creds.secretAccessKey,
    AWS_DEFAULT_REGION: 'us-east-1',
    AWS_EC2_METADATA_DISABLED: 'true',
    PYTHONWARNINGS: 'ignore',
  }
  if (creds.sessionToken !== undefined) env['AWS_SESSION_TOKEN'] = creds.sessionToken
  return env
}

export interface RunResult {
  readonly code: number
  readonly stdout: string
  readonly stderr: string
}

export function run(
  cmd: string,
  args: readonly string[],
  env: NodeJS.ProcessEnv,
  input?: string,
): Promise<RunResult> {
  return new Promise((resolve) => {
    const child = execFile(
      cmd,
      [...args],
      { env, timeout: 120_000, maxBuffer: 64 * 1024 * 1024 },
      (err, stdout, stderr) => {
        const code =
          err === null
            ? 0
            : typeof (err as { code?: unknown }).code === 'number'
              ? (err as { code: number }).code
              : 1
        resolve({ code, stdout, stderr })
      },
    )
    if (input !== undefined) child.stdin?.end(input)
  })
}

/** aws CLI against the server (adds --endpoint-url and, for https, --no-verify-ssl). */
export function aws(endpoint: string, creds: Creds, args: readonly string[]): Promise<RunResult> {
  const extra = endpoint.startsWith('https') ? ['--no-verify-ssl'] : []
  return run('aws', ['--endpoint-url', endpoint, ...extra, ...args], awsEnv(creds))
}

/** Run a boto3 script; `ENDPOINT` and `VERIFY` are defined for it, stdout is returned. */
export function boto3(endpoint: string, creds: Creds, script: string): Promise<RunResult> {
  const prelude = [
    'import boto3, botocore, json, sys, warnings',
    'warnings.filterwarnings("ignore")',
    `ENDPOINT = ${JSON.stringify(endpoint)}`,
    `VERIFY = ${endpoint.startsWith('https') ? 'False' : 'True'}`,
    'from botocore.config import Config',
    'CFG = Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1})',
    'def s3(**kw): return boto3.client("s3", endpoint_url=ENDPOINT, verify=VERIFY, config=CFG, **kw)',
    'def sts(**kw): return boto3.client("sts", endpoint_url=ENDPOINT, verify=VERIFY, config=CFG, **kw)',
  ].join('\n')
  return run('python3', ['-c', prelude + '\n' + script], awsEnv(creds))
}
