/**
 * AWS Signature Version 2 end to end, with the client that still uses it: boto3's default
 * generate_presigned_url (get_object and put_object, fetched with urllib), a boto3 client
 * configured with signature_version='s3' (put/get/list/delete, metadata, sub-resources),
 * session credentials, expiry and tampering, the s3:signatureversion policy key, and STS still
 * refusing V2. Skipped when python3 with boto3 is missing.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest'
import { createHmac } from 'node:crypto'
import { startServer, type TestServer } from './harness.js'
import { HAS_BOTO3, boto3 } from './tools.js'

let server: TestServer
beforeAll(async () => {
  server = await startServer()
})
afterAll(async () => {
  await server.stop()
})

const creds = () => ({ accessKeyId: server.accessKeyId, secretAccessKey: server.secretAccessKey })

const PRELUDE = `
import os, urllib.request, urllib.error, ssl, time, json
CTX = ssl._create_unverified_context()
def fetch(url, method="GET", data=None, headers=None):
    req = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, context=CTX) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()
def v2(**kw):
    return boto3.client("s3", endpoint_url=ENDPOINT, verify=VERIFY, config=CFG.merge(Config(signature_version="s3")), **kw)
`

describe.skipIf(!HAS_BOTO3)('SigV2 with boto3', () => {
  it('default generate_presigned_url (SigV2) for get_object and put_object, used with urllib', async () => {
    const r = await boto3(
      server.endpoint,
      creds(),
      PRELUDE +
        `
c = s3()
c.create_bucket(Bucket="v2-presign")
c.put_object(Bucket="v2-presign", Key="dir/hello world é.txt", Body=b"presigned body", ContentType="text/plain")
url = c.generate_presigned_url("get_object", Params={"Bucket": "v2-presign", "Key": "dir/hello world é.txt"}, ExpiresIn=300)
assert "AWSAccessKeyId=" in url and "Signature=" in url and "X-Amz-Algorithm" not in url, url
status, body = fetch(url)
assert status == 200 and body == b"presigned body", (status, body)

# response-* overrides are sub-resources: signed, and applied.
url = c.generate_presigned_url("get_object", Params={"Bucket": "v2-presign", "Key": "dir/hello world é.txt", "ResponseContentType": "application/x-test", "ResponseContentDisposition": "attachment; filename=\\"a b.txt\\""}, ExpiresIn=300)
req = urllib.request.Request(url)
with urllib.request.urlopen(req, context=CTX) as resp:
    assert resp.headers["Content-Type"] == "application/x-test", resp.headers
    assert resp.headers["Content-Disposition"] == 'attachment; filename="a b.txt"', resp.headers

# Presigned PUT: the Content-Type the client signed must be the one sent.
url = c.generate_presigned_url("put_object", Params={"Bucket": "v2-presign", "Key": "up/loaded.bin", "ContentType": "application/octet-stream"}, ExpiresIn=300)
status, body = fetch(url, "PUT", b"uploaded via v2 url", {"Content-Type": "application/octet-stream"})
assert status == 200, (status, body)
got = c.get_object(Bucket="v2-presign", Key="up/loaded.bin")
assert got["Body"].read() == b"uploaded via v2 url"
assert got["ContentType"] == "application/octet-stream", got["ContentType"]
status, body = fetch(url, "PUT", b"other", {"Content-Type": "text/html"})
assert status == 403 and b"<Code>SignatureDoesNotMatch</Code>" in body, (status, body)

# Tampering: another key, a flipped signature byte.
url = c.generate_presigned_url("get_object", Params={"Bucket": "v2-presign", "Key": "dir/hello world é.txt"}, ExpiresIn=300)
status, body = fetch(url.replace("/dir/", "/dir2/"))
assert status == 403 and b"<Code>SignatureDoesNotMatch</Code>" in body, (status, body)
assert b"<StringToSign>" in body and b"<AWSAccessKeyId>" in body, body
i = url.index("Signature=") + len("Signature=")
flipped = url[:i] + ("A" if url[i] != "A" else "B") + url[i + 1:]
status, body = fetch(flipped)
assert status == 403 and b"<Code>SignatureDoesNotMatch</Code>" in body, (status, body)

# Expired.
url = c.generate_presigned_url("get_object", Params={"Bucket": "v2-presign", "Key": "dir/hello world é.txt"}, ExpiresIn=-5)
status, body = fetch(url)
assert status == 403 and b"<Code>AccessDenied</Code>" in body and b"Request has expired" in body, (status, body)

# V2 and V4 parameters together.
v4 = c.generate_presigned_url("get_object", Params={"Bucket": "v2-presign", "Key": "dir/hello world é.txt"}, ExpiresIn=300)
status, body = fetch(url + "&X-Amz-Algorithm=AWS4-HMAC-SHA256")
assert status == 400 and b"<Code>InvalidArgument</Code>" in body, (status, body)
print("OK")
`,
    )
    expect(r.stderr + r.stdout).toContain('OK')
    expect(r.code).toBe(0)
  }, 120_000)

  it("a boto3 client with signature_version='s3': put/get/list/delete, metadata, tagging, multipart", async () => {
    const r = await boto3(
      server.endpoint,
      creds(),
      PRELUDE +
        `
c = v2()
c.create_bucket(Bucket="v2-client")
c.put_object(Bucket="v2-client", Key="a/b c+d.txt", Body=b"v2 body", Metadata={"Color": "blue", "Note": "two  spaces"}, ContentType="text/plain")
h = c.head_object(Bucket="v2-client", Key="a/b c+d.txt")
assert h["ContentLength"] == 7 and h["Metadata"] == {"color": "blue", "note": "two  spaces"}, h
assert c.get_object(Bucket="v2-client", Key="a/b c+d.txt")["Body"].read() == b"v2 body"
assert c.get_object(Bucket="v2-client", Key="a/b c+d.txt", Range="bytes=1-2")["Body"].read() == b"2 "
c.put_object(Bucket="v2-client", Key="日本/ü", Body=b"x")
listed = c.list_objects_v2(Bucket="v2-client", Prefix="a/")
assert [o["Key"] for o in listed["Contents"]] == ["a/b c+d.txt"], listed
listed = c.list_objects(Bucket="v2-client", Delimiter="/")
assert sorted(p["Prefix"] for p in listed["CommonPrefixes"]) == ["a/", "日本/"], listed
c.put_object_tagging(Bucket="v2-client", Key="a/b c+d.txt", Tagging={"TagSet": [{"Key": "k", "Value": "v"}]})
assert c.get_object_tagging(Bucket="v2-client", Key="a/b c+d.txt")["TagSet"] == [{"Key": "k", "Value": "v"}]
assert c.get_bucket_location(Bucket="v2-client")["LocationConstraint"] in (None, "us-east-1")
up = c.create_multipart_upload(Bucket="v2-client", Key="mp")
part = c.upload_part(Bucket="v2-client", Key="mp", UploadId=up["UploadId"], PartNumber=1, Body=b"p" * 100)
c.complete_multipart_upload(Bucket="v2-client", Key="mp", UploadId=up["UploadId"], MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": part["ETag"]}]})
assert c.get_object(Bucket="v2-client", Key="mp")["Body"].read() == b"p" * 100
c.copy_object(Bucket="v2-client", Key="copy", CopySource={"Bucket": "v2-client", "Key": "a/b c+d.txt"})
assert c.get_object(Bucket="v2-client", Key="copy")["Body"].read() == b"v2 body"
c.delete_object(Bucket="v2-client", Key="a/b c+d.txt")
c.delete_objects(Bucket="v2-client", Delete={"Objects": [{"Key": "日本/ü"}, {"Key": "mp"}, {"Key": "copy"}]})
assert c.list_objects_v2(Bucket="v2-client")["KeyCount"] == 0
c.delete_bucket(Bucket="v2-client")
try:
    v2(aws_access_key_id=os.environ["AWS_ACCESS_KEY_ID"], aws_secret_access_key="wrong-secret-wrong-secret-wrong-secret00").list_buckets()
    raise SystemExit("expected SignatureDoesNotMatch")
except botocore.exceptions.ClientError as e:
    assert e.response["Error"]["Code"] == "SignatureDoesNotMatch", e.response
print("OK")
`,
    )
    expect(r.stderr + r.stdout).toContain('OK')
    expect(r.code).toBe(0)
  }, 120_000)

  it('session credentials: the token travels in the header (client) and the query (presigned URL)', async () => {
    const r = await boto3(
      server.endpoint,
      creds(),
      PRELUDE +
        `
s3().create_bucket(Bucket="v2-session")
s3().put_object(Bucket="v2-session", Key="k", Body=b"session body")
t = sts().get_session_token(DurationSeconds=900)["Credentials"]
kw = dict(aws_access_key_id=t["AccessKeyId"], aws_secret_access_key=t["SecretAccessKey"], aws_session_token=t["SessionToken"])
c = v2(**kw)
assert c.get_object(Bucket="v2-session", Key="k")["Body"].read() == b"session body"
url = s3(**kw).generate_presigned_url("get_object", Params={"Bucket": "v2-session", "Key": "k"}, ExpiresIn=300)
assert "x-amz-security-token=" in url and "AWSAccessKeyId=" in url, url
status, body = fetch(url)
assert status == 200 and body == b"session body", (status, body)
i = url.index("x-amz-security-token=")
j = url.find("&", i)
stripped = url[:i - 1] + (url[j:] if j >= 0 else "")
status, body = fetch(stripped)
assert status in (400, 403) and b"Token" in body, (status, body)
try:
    v2(aws_access_key_id=t["AccessKeyId"], aws_secret_access_key=t["SecretAccessKey"]).list_buckets()
    raise SystemExit("expected a token error")
except botocore.exceptions.ClientError as e:
    assert e.response["Error"]["Code"] == "InvalidToken", e.response
print("OK")
`,
    )
    expect(r.stderr + r.stdout).toContain('OK')
    expect(r.code).toBe(0)
  }, 120_000)

  it('s3:signatureversion is "AWS" for SigV2 (a bucket policy can deny V2 only); STS refuses V2', async () => {
    const policy = JSON.stringify({
      Version: '2012-10-17',
      Statement: [
        {
          Sid: 'NoSigV2',
          Effect: 'Deny',
          Principal: '*',
          Action: 's3:GetObject',
          Resource: 'arn:aws:s3:::v2-policy/*',
          Condition: { StringEquals: { 's3:signatureversion': 'AWS' } },
        },
      ],
    })
    const r = await boto3(
      server.endpoint,
      creds(),
      PRELUDE +
        `
c = s3()
c.create_bucket(Bucket="v2-policy")
c.put_object(Bucket="v2-policy", Key="k", Body=b"policy body")
c.put_bucket_policy(Bucket="v2-policy", Policy=${JSON.stringify(policy)})
assert c.get_object(Bucket="v2-policy", Key="k")["Body"].read() == b"policy body"
try:
    v2().get_object(Bucket="v2-policy", Key="k")
    raise SystemExit("expected AccessDenied for SigV2")
except botocore.exceptions.ClientError as e:
    assert e.response["Error"]["Code"] == "AccessDenied", e.response
status, body = fetch(c.generate_presigned_url("get_object", Params={"Bucket": "v2-policy", "Key": "k"}, ExpiresIn=300))
assert status == 403 and b"AccessDenied" in body, (status, body)
c.delete_bucket_policy(Bucket="v2-policy")
assert v2().get_object(Bucket="v2-policy", Key="k")["Body"].read() == b"policy body"
print("OK")
`,
    )
    expect(r.stderr + r.stdout).toContain('OK')
    expect(r.code).toBe(0)

    // STS is SigV4-only: a V2-signed GetCallerIdentity is refused as before.
    const date = new Date().toUTCString()
    const sig = createHmac('sha1', server.secretAccessKey)
      .update(`GET\n\n\n${date}\n/`)
      .digest('base64')
    const res = await fetch(`${server.endpoint}/?Action=GetCallerIdentity&Version=2011-06-15`, {
      headers: { date, authorization: `AWS ${server.accessKeyId}:${sig}` },
    })
    const text = await res.text()
    expect(res.status).toBeGreaterThanOrEqual(400)
    expect(text).toContain('<ErrorResponse')
    expect(text).not.toContain('GetCallerIdentityResult')
  }, 120_000)

  it("REGRESSION sigv2-post-policy: boto3's default generate_presigned_post (SigV2 AWSAccessKeyId/policy/signature) uploads; a tampered policy, a wrong signature or a broken condition is refused", async () => {
    const r = await boto3(
      server.endpoint,
      creds(),
      PRELUDE +
        `
import uuid, base64
def post(url, fields, content, filename="f.txt"):
    boundary = uuid.uuid4().hex
    crlf = chr(13) + chr(10)
    parts = []
    for k, v in fields.items():
        parts.append(("--" + boundary + crlf + 'Content-Disposition: form-data; name="' + k + '"' + crlf + crlf + v + crlf).encode())
    parts.append(("--" + boundary + crlf + 'Content-Disposition: form-data; name="file"; filename="' + filename + '"' + crlf + "Content-Type: application/octet-stream" + crlf + crlf).encode() + content + crlf.encode())
    parts.append(("--" + boundary + "--" + crlf).encode())
    return fetch(url, "POST", b"".join(parts), {"Content-Type": "multipart/form-data; boundary=" + boundary})

c = s3()
c.create_bucket(Bucket="v2-post")
p = c.generate_presigned_post("v2-post", "uploads/\${filename}", Fields={"Content-Type": "text/plain"},
    Conditions=[{"Content-Type": "text/plain"}, ["content-length-range", 1, 100]], ExpiresIn=300)
f = p["fields"]
assert "AWSAccessKeyId" in f and "signature" in f and "x-amz-signature" not in f, f
status, body = post(p["url"], f, b"hello from a V2 POST", "hi.txt")
assert status == 204, (status, body)
o = c.get_object(Bucket="v2-post", Key="uploads/hi.txt")
assert o["Body"].read() == b"hello from a V2 POST" and o["ContentType"] == "text/plain", o

# The policy's conditions hold as for SigV4: too large, wrong Content-Type.
status, body = post(p["url"], f, b"x" * 101)
assert status == 400 and b"EntityTooLarge" in body, (status, body)
status, body = post(p["url"], dict(f, **{"Content-Type": "text/html"}), b"x")
assert status == 403 and b"AccessDenied" in body, (status, body)

# A tampered policy (a wider size range) no longer matches its signature.
doc = json.loads(base64.b64decode(f["policy"]))
doc["conditions"] = [["content-length-range", 1, 10000] if isinstance(x, list) and x[0] == "content-length-range" else x for x in doc["conditions"]]
tampered = dict(f, policy=base64.b64encode(json.dumps(doc).encode()).decode())
status, body = post(p["url"], tampered, b"x" * 200)
assert status == 403 and b"SignatureDoesNotMatch" in body, (status, body)
# A wrong signature, an unknown key.
status, body = post(p["url"], dict(f, signature="AAAA" + f["signature"][4:]), b"x")
assert status == 403 and b"SignatureDoesNotMatch" in body, (status, body)
status, body = post(p["url"], dict(f, AWSAccessKeyId="NOSUCHKEY0000000000"), b"x")
assert status == 403 and b"InvalidAccessKeyId" in body, (status, body)
# An expired policy.
old = c.generate_presigned_post("v2-post", "late.txt", ExpiresIn=-10)
status, body = post(old["url"], old["fields"], b"x")
assert status == 403 and b"AccessDenied" in body and b"expired" in body, (status, body)
assert "late.txt" not in [x["Key"] for x in c.list_objects_v2(Bucket="v2-post").get("Contents", [])]
# Session credentials: the form carries x-amz-security-token (also in the policy's conditions).
cr = sts().assume_role(RoleArn="arn:xxx:xxx:xxx:xxxx", RoleSessionName="v2-post")["Credentials"]
sc = s3(aws_access_key_id=cr["AccessKeyId"], aws_secret_access_key=cr["SecretAccessKey"], aws_session_token=cr["SessionToken"])
ps = sc.generate_presigned_post("v2-post", "session.txt", ExpiresIn=300)
assert "x-amz-security-token" in ps["fields"] and "signature" in ps["fields"], ps["fields"]
status, body = post(ps["url"], ps["fields"], b"by a session")
assert status == 204, (status, body)
status, body = post(ps["url"], dict(ps["fields"], **{"x-amz-security-token": "forged"}), b"x")
assert status == 400 and b"<Code>InvalidToken<" in body, (status, body)
print("OK")
`,
    )
    expect(r.stderr + r.stdout).toContain('OK')
    expect(r.code).toBe(0)
  }, 120_000)
})
