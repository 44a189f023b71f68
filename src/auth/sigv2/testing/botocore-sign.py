"""Sign random S3 requests with botocore's SigV2 signers (HmacV1Auth header, HmacV1QueryAuth
presigned) and print them as JSON, for src/auth/sigv2/differential.test.ts.

usage: python3 botocore-sign.py SEED COUNT
Each case: method, rawPath, rawQuery, headers [[name, value], ...] as sent, domain (for
virtual-hosted requests), presigned, now (ms: a time at which the request is valid).
"""
import json
import random
import sys
from email.utils import parsedate_to_datetime
from urllib.parse import quote, urlsplit

from botocore.auth import HmacV1Auth, HmacV1QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

AKID = 'S4AKTESTTESTTESTTEST0001'
SECRET = 'abcdefghijklmnopqrstuvwxyz0123456789ABCD'
DOMAIN = 's3.example.com'
KEY_CHARS = list('abcXYZ019-_.~') + [' ', '/', '+', '%', '!', '*', "'", '(', ')', '$', '&', '=', '?', ':', '@', ',', ';', 'é', '日', '😀']
SUB_RESOURCES = ['acl', 'tagging', 'uploads', 'uploadId', 'partNumber', 'versionId', 'delete', 'cors', 'policy', 'location',
                 'response-content-type', 'response-content-disposition', 'response-cache-control', 'response-expires']
OTHER_PARAMS = ['prefix', 'delimiter', 'max-keys', 'list-type', 'marker', 'x-id', 'encoding-type']
VALUE_CHARS = list('abc019-_.~ /+=&?%é:,')


def rand_text(rng, chars, lo, hi):
    return ''.join(rng.choice(chars) for _ in range(rng.randint(lo, hi)))


def one_case(rng):
    method = rng.choice(['GET', 'PUT', 'POST', 'DELETE', 'HEAD'])
    bucket = rng.choice(['bucket', 'my-bucket.1', 'b0'])
    key = rand_text(rng, KEY_CHARS, 1, 20)
    # botocore's serializer encodes keys with safe '/~'; sometimes use a looser encoding to show
    # that the raw path is signed as sent.
    enc_key = quote(key, safe='/~') if rng.random() < 0.8 else quote(key, safe="/~!*'()$,;:@")
    virtual = rng.random() < 0.3
    path = '/' + enc_key if virtual else '/' + bucket + '/' + enc_key
    params = []
    for _ in range(rng.randint(0, 3)):
        name = rng.choice(SUB_RESOURCES + OTHER_PARAMS)
        if name in ('acl', 'tagging', 'uploads', 'delete', 'cors', 'policy', 'location') and rng.random() < 0.7:
            params.append(name)
        else:
            params.append(name + '=' + quote(rand_text(rng, VALUE_CHARS, 0, 8), safe=''))
    host = (bucket + '.' + DOMAIN) if virtual else DOMAIN
    url = 'http://' + host + path + ('?' + '&'.join(params) if params else '')
    headers = []
    for _ in range(rng.randint(0, 4)):
        name = rng.choice(['x-amz-meta-a', 'X-Amz-Meta-Color', 'x-amz-meta-' + rand_text(rng, list('abc012'), 1, 5), 'x-amz-acl', 'x-amz-tagging'])
        value = rng.choice(['', ' ', '  ']) + rand_text(rng, list('abcXYZ 019-_.,=/+'), 1, 12).strip() + rng.choice(['', ' '])
        headers.append((name, value))
    if rng.random() < 0.4:
        headers.append(('Content-Type', rng.choice(['text/plain', 'application/octet-stream', 'image/jpeg; charset=x'])))
    if rng.random() < 0.2:
        headers.append(('Content-MD5', '1B2M2Y8AsgTpgAmY7PhCfg=='))
    token = rand_text(rng, list('ABCdef0189+/='), 10, 40) if rng.random() < 0.4 else None
    presigned = rng.random() < 0.5
    if presigned:
        # botocore copies only the first value of a repeated header into the query (while
        # signing all of them), so presigned cases use each header name once.
        seen = set()
        headers = [h for h in headers if not (h[0].lower() in seen or seen.add(h[0].lower()))]
    req = AWSRequest(method=method, url=url, data=b'', auth_path=('/' + bucket + path) if virtual else None)
    for name, value in headers:
        req.headers[name] = value  # HTTPHeaders appends: repeated names stay repeated
    creds = Credentials(AKID, SECRET, token)
    if presigned:
        HmacV1QueryAuth(creds, expires=rng.randint(1, 7 * 24 * 3600)).add_auth(req)
    else:
        HmacV1Auth(creds).add_auth(req)
    split = urlsplit(req.url)
    sent = [] if presigned else [[k, v] for k, v in req.headers.items()]
    if presigned:
        # What a client sends with a presigned URL: the x-amz-*/content-* headers it signed
        # (botocore also copied them into the query).
        sent = [[k, v] for k, v in req.headers.items() if k.lower() not in ('date', 'authorization') and rng.random() < 0.5]
        expires = int([p.split('=', 1)[1] for p in split.query.split('&') if p.startswith('Expires=')][0])
        now = (expires - 1) * 1000
    else:
        now = int(parsedate_to_datetime(req.headers['Date']).timestamp() * 1000)
    return {
        'method': method,
        'rawPath': split.path,
        'rawQuery': split.query,
        'headers': [['Host', host]] + sent,
        'domain': DOMAIN if virtual else None,
        'presigned': presigned,
        'token': token,
        'now': now,
    }


def main():
    seed, count = int(sys.argv[1]), int(sys.argv[2])
    rng = random.Random(seed)
    print(json.dumps([one_case(rng) for _ in range(count)]))


if __name__ == '__main__':
    main()
