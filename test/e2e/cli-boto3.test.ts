/**
 * The aws CLI (s3 cp/ls/sync/rm, s3api) and boto3 against a real server, with the default
 * checksum behaviour of current botocore (CRC32 trailers on uploads).
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest'
import { mkdtempSync, writeFileSync, readFileSync, mkdirSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { randomBytes } from 'node:crypto'
import { startServer, type TestServer } from './harness.js'
import { HAS_AWS_CLI, HAS_BOTO3, aws, boto3 } from './tools.js'

let server: TestServer
beforeAll(async () => {
  server = await startServer()
})
afterAll(async () => {
  await server.stop()
})

const creds = () => ({ accessKeyId: server.accessKeyId, secretAccessKey: server.secretAccessKey })

describe.skipIf(!HAS_AWS_CLI)('aws CLI', () => {
  it('s3 mb, cp (small and multipart), ls, sync, rm, rb', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'latchkey-cli-'))
    const small = join(dir, 'small.txt')
    const big = join(dir, 'big.bin')
    writeFileSync(small, 'hello from the aws cli\n')
    const bigBytes = randomBytes(9 * 1024 * 1024) // > 8 MiB: the CLI uses multipart
    writeFileSync(big, bigBytes)
    let r = await aws(server.endpoint, creds(), ['s3', 'mb', 's3://cli-bucket'])
    expect(r.code, r.stderr).toBe(0)
    r = await aws(server.endpoint, creds(), ['s3', 'cp', small, 's3://cli-bucket/docs/small.txt'])
    expect(r.code, r.stderr).toBe(0)
    r = await aws(server.endpoint, creds(), ['s3', 'cp', big, 's3://cli-bucket/big.bin'])
    expect(r.code, r.stderr).toBe(0)
    r = await aws(server.endpoint, creds(), ['s3', 'ls', 's3://cli-bucket/'])
    expect(r.code, r.stderr).toBe(0)
    expect(r.stdout).toContain('PRE docs/')
    expect(r.stdout).toContain('big.bin')
    r = await aws(server.endpoint, creds(), ['s3', 'ls', 's3://cli-bucket/', '--recursive'])
    expect(r.stdout).toContain('docs/small.txt')
    const back = join(dir, 'back.bin')
    r = await aws(server.endpoint, creds(), ['s3', 'cp', 's3://cli-bucket/big.bin', back])
    expect(r.code, r.stderr).toBe(0)
    expect(readFileSync(back).equals(bigBytes)).toBe(true)

    const tree = join(dir, 'tree')
    mkdirSync(join(tree, 'a', 'b'), { recursive: true })
    writeFileSync(join(tree, 'one.txt'), '1')
    writeFileSync(join(tree, 'a', 'two.txt'), '22')
    writeFileSync(join(tree, 'a', 'b', 'three.txt'), '333')
    r = await aws(server.endpoint, creds(), ['s3', 'sync', tree, 's3://cli-bucket/tree'])
    expect(r.code, r.stderr).toBe(0)
    r = await aws(server.endpoint, creds(), ['s3', 'sync', tree, 's3://cli-bucket/tree'])
    expect(r.code, r.stderr).toBe(0)
    expect(r.stdout.trim()).toBe('') // nothing changed, nothing uploaded
    const down = join(dir, 'down')
    r = await aws(server.endpoint, creds(), ['s3', 'sync', 's3://cli-bucket/tree', down])
    expect(r.code, r.stderr).toBe(0)
    expect(readFileSync(join(down, 'a', 'b', 'three.txt'), 'utf8')).toBe('333')

    r = await aws(server.endpoint, creds(), [
      's3api',
      'head-object',
      '--bucket',
      'cli-bucket',
      '--key',
      'docs/small.txt',
    ])
    expect(r.code, r.stderr).toBe(0)
    expect(JSON.parse(r.stdout).ContentLength).toBe(23)
    r = await aws(server.endpoint, creds(), [
      's3api',
      'list-objects-v2',
      '--bucket',
      'cli-bucket',
      '--prefix',
      'tree/',
      '--delimiter',
      '/',
    ])
    expect(r.code, r.stderr).toBe(0)
    const listed = JSON.parse(r.stdout)
    expect(listed.CommonPrefixes.map((p: { Prefix: string }) => p.Prefix)).toEqual(['tree/a/'])
    r = await aws(server.endpoint, creds(), [
      's3api',
      'get-object',
      '--bucket',
      'cli-bucket',
      '--key',
      'nope',
      join(dir, 'x'),
    ])
    expect(r.code).not.toBe(0)
    expect(r.stderr).toContain('NoSuchKey')

    r = await aws(server.endpoint, creds(), ['s3', 'rm', 's3://cli-bucket/', '--recursive'])
    expect(r.code, r.stderr).toBe(0)
    r = await aws(server.endpoint, creds(), ['s3', 'rb', 's3://cli-bucket'])
    expect(r.code, r.stderr).toBe(0)
  }, 180_000)
})

describe.skipIf(!HAS_BOTO3)('boto3', () => {
  it('bucket and object round trip, multipart upload_fileobj, presigned URL, errors', async () => {
    const r = await boto3(
      server.endpoint,
      creds(),
      `
import io, urllib.request, ssl, hashlib, os
c = s3()
c.create_bucket(Bucket="boto-bucket")
c.put_object(Bucket="boto-bucket", Key="k1", Body=b"boto3 body", Metadata={"Color": "blue"})
h = c.head_object(Bucket="boto-bucket", Key="k1")
assert h["ContentLength"] == 10, h
assert h["Metadata"] == {"color": "blue"}, h["Metadata"]
assert c.get_object(Bucket="boto-bucket", Key="k1")["Body"].read() == b"boto3 body"
data = os.urandom(12 * 1024 * 1024)
c.upload_fileobj(io.BytesIO(data), "boto-bucket", "big", Config=boto3.s3.transfer.TransferConfig(multipart_threshold=5*1024*1024, multipart_chunksize=5*1024*1024))
got = c.get_object(Bucket="boto-bucket", Key="big")
assert got["Body"].read() == data
assert got["ETag"].endswith('-3"'), got["ETag"]
rng = c.get_object(Bucket="boto-bucket", Key="big", Range="bytes=10-19")["Body"].read()
assert rng == data[10:20]
url = c.generate_presigned_url("get_object", Params={"Bucket": "boto-bucket", "Key": "k1"}, ExpiresIn=300)
ctx = ssl._create_unverified_context()
assert urllib.request.urlopen(url, context=ctx).read() == b"boto3 body"
names = [o["Key"] for o in c.list_objects_v2(Bucket="boto-bucket")["Contents"]]
assert names == ["big", "k1"], names
try:
    c.get_object(Bucket="boto-bucket", Key="missing")
    raise SystemExit("expected NoSuchKey")
except c.exceptions.NoSuchKey:
    pass
try:
    c.create_bucket(Bucket="Bad_Name")
    raise SystemExit("expected InvalidBucketName")
except botocore.exceptions.ClientError as e:
    assert e.response["Error"]["Code"] in ("InvalidBucketName",), e.response
c.delete_objects(Bucket="boto-bucket", Delete={"Objects": [{"Key": "k1"}, {"Key": "big"}]})
assert c.list_objects_v2(Bucket="boto-bucket")["KeyCount"] == 0
c.delete_bucket(Bucket="boto-bucket")
print("OK")
`,
    )
    expect(r.stderr + r.stdout).toContain('OK')
    expect(r.code).toBe(0)
  }, 120_000)
})
