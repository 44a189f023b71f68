/** loadConfig: --presign-max-age (duration syntax, env fallback, 7-day ceiling), --database and --blob-store. */
import { describe, expect, it } from 'vitest'
import { ConfigError, loadConfig } from './config.js'
import { describeDuration } from '../lib/duration.js'

describe('--presign-max-age', () => {
  it('defaults to 7 days; takes seconds or a duration from the flag or LATCHKEY_PRESIGN_MAX_AGE', () => {
    expect(loadConfig([], {}).presignMaxAge).toBe(604800)
    expect(loadConfig(['--presign-max-age', '1h'], {}).presignMaxAge).toBe(3600)
    expect(loadConfig(['--presign-max-age=900'], {}).presignMaxAge).toBe(900)
    expect(loadConfig([], { LATCHKEY_PRESIGN_MAX_AGE: '2d' }).presignMaxAge).toBe(172800)
    expect(
      loadConfig(['--presign-max-age', '7d'], { LATCHKEY_PRESIGN_MAX_AGE: '1h' }).presignMaxAge,
    ).toBe(604800)
  })

  it('refuses more than 7 days and non-durations with one clear line', () => {
    for (const v of ['8d', '604801', 'soon', '0', '-5']) {
      expect(() => loadConfig(['--presign-max-age', v], {}), v).toThrow(ConfigError)
    }
    expect(() => loadConfig(['--presign-max-age', '8d'], {})).toThrow(
      "--presign-max-age must be at most 7d (604800 seconds, AWS's limit for presigned URLs), got 691200",
    )
  })
})

describe('describeDuration', () => {
  it('names the largest exact unit', () => {
    expect(describeDuration(604800)).toBe('7 days')
    expect(describeDuration(86400)).toBe('1 day')
    expect(describeDuration(3600)).toBe('1 hour')
    expect(describeDuration(5400)).toBe('90 minutes')
    expect(describeDuration(61)).toBe('61 seconds')
    expect(describeDuration(1)).toBe('1 second')
  })
})

describe('--database and --blob-store', () => {
  const KEY = { LATCHKEY_MASTER_KEY: Buffer.alloc(32, 7).toString('base64') }

  it('accepts postgres:// and postgresql:// URLs (flag or LATCHKEY_DATABASE_URL) with a master key', () => {
    const url = 'postgres://u:p@db.example:5432/latchkey?sslmode=require'
    expect(loadConfig(['--database', url], KEY).databaseUrl).toBe(url)
    expect(
      loadConfig([], { ...KEY, LATCHKEY_DATABASE_URL: 'postgresql://db/lk' }).databaseUrl,
    ).toBe('postgresql://db/lk')
  })

  it('refuses other schemes with the validation error', () => {
    for (const v of ['mysql://db/x', 'db.example', 'postgres:db']) {
      expect(() => loadConfig(['--database', v], KEY), v).toThrow(
        `--database must be a postgres:// URL, got "${v}"`,
      )
    }
  })

  it('refuses a postgres database without an explicit LATCHKEY_MASTER_KEY, in one line', () => {
    expect(() => loadConfig(['--database', 'postgres://db/lk'], {})).toThrow(
      '--database postgres:// needs LATCHKEY_MASTER_KEY: every node of a cluster must use the same key',
    )
    // SQLite keeps its key file in the data dir.
    expect(loadConfig([], {}).masterKey).toBeUndefined()
  })

  it('blob store: file: + DATA_DIR/objects by default, file:/abs/dir (flag or env)', () => {
    expect(loadConfig(['--data-dir', '/d'], {}).blobStore).toEqual({
      kind: 'file',
      dir: '/d/objects',
    })
    expect(loadConfig(['--data-dir', '/d', '--blob-store', 'file:'], {}).blobStore).toEqual({
      kind: 'file',
      dir: '/d/objects',
    })
    expect(loadConfig(['--blob-store', 'file:/shared/blobs'], {}).blobStore).toEqual({
      kind: 'file',
      dir: '/shared/blobs',
    })
    expect(loadConfig([], { LATCHKEY_BLOB_STORE: 'file:///srv/b' }).blobStore).toEqual({
      kind: 'file',
      dir: '/srv/b',
    })
  })

  it('blob store: relative dirs and other schemes are refused', () => {
    for (const v of ['file:relative/dir', '/abs/without/scheme', 'gs://b']) {
      expect(() => loadConfig(['--blob-store', v], {}), v).toThrow(
        `--blob-store must be file:/absolute/dir or s3://BUCKET[/PREFIX], got "${v}"`,
      )
    }
  })

  it('blob store: s3://BUCKET[/PREFIX] with the LATCHKEY_BLOB_S3_* variables', () => {
    expect(loadConfig(['--blob-store', 's3://my-bucket'], {}).blobStore).toEqual({
      kind: 's3',
      bucket: 'my-bucket',
      prefix: '',
      region: 'us-east-1',
      forcePathStyle: false,
    })
    expect(
      loadConfig(['--blob-store', 's3://b.example/latchkey/blobs'], {
        LATCHKEY_BLOB_S3_ENDPOINT: 'http://127.0.0.1:7480',
        LATCHKEY_BLOB_S3_REGION: 'eu-west-3',
        LATCHKEY_BLOB_S3_ACCESS_KEY_ID: 'AK',
        LATCHKEY_BLOB_S3_SECRET_ACCESS_KEY: 'SK',
        LATCHKEY_BLOB_S3_FORCE_PATH_STYLE: '1',
      }).blobStore,
    ).toEqual({
      kind: 's3',
      bucket: 'b.example',
      prefix: 'latchkey/blobs/',
      endpoint: 'http://127.0.0.1:7480',
      region: 'eu-west-3',
      accessKeyId: 'AK',
      secretAccessKey: 'SK',
      forcePathStyle: true,
    })
    // The region the SDK itself would read, when ours is unset.
    expect(
      loadConfig([], { LATCHKEY_BLOB_STORE: 's3://bkt/', AWS_REGION: 'ap-south-1' }).blobStore,
    ).toMatchObject({ bucket: 'bkt', prefix: '', region: 'ap-south-1' })
  })

  it('blob store: a bad s3:// value or variable is one clear line', () => {
    for (const v of [
      's3://',
      's3://B',
      's3://ab',
      's3://a..b',
      's3://bucket//x',
      's3://under_score',
    ]) {
      expect(() => loadConfig(['--blob-store', v], {}), v).toThrow(/^--blob-store s3:\/\/BUCKET/)
    }
    const s3 = ['--blob-store', 's3://bucket']
    expect(() => loadConfig(s3, { LATCHKEY_BLOB_S3_ENDPOINT: '127.0.0.1:7480' })).toThrow(
      'LATCHKEY_BLOB_S3_ENDPOINT must be an http:// or https:// URL, got "127.0.0.1:7480"',
    )
    expect(() => loadConfig(s3, { LATCHKEY_BLOB_S3_ACCESS_KEY_ID: 'AK' })).toThrow(
      'LATCHKEY_BLOB_S3_ACCESS_KEY_ID and LATCHKEY_BLOB_S3_SECRET_ACCESS_KEY must be set together',
    )
    expect(() => loadConfig(s3, { LATCHKEY_BLOB_S3_FORCE_PATH_STYLE: 'yes' })).toThrow(
      'LATCHKEY_BLOB_S3_FORCE_PATH_STYLE must be 1 or 0 (true or false), got "yes"',
    )
    expect(() => loadConfig(s3, { LATCHKEY_BLOB_S3_REGION: 'us east' })).toThrow(
      'LATCHKEY_BLOB_S3_REGION must look like us-east-1, got "us east"',
    )
  })
})

describe('--lifecycle-day-seconds (for testing only)', () => {
  it('defaults to a real day, takes a positive integer from the flag or the environment', () => {
    expect(loadConfig([], {}).lifecycleDaySeconds).toBe(86400)
    expect(loadConfig(['--lifecycle-day-seconds', '2'], {}).lifecycleDaySeconds).toBe(2)
    expect(loadConfig([], { LATCHKEY_LIFECYCLE_DAY_SECONDS: '5' }).lifecycleDaySeconds).toBe(5)
    expect(() => loadConfig(['--lifecycle-day-seconds', '0'], {})).toThrow(/positive integer/)
    expect(() => loadConfig(['--lifecycle-day-seconds', '1.5'], {})).toThrow(/positive integer/)
  })
})

describe('STS issuance limits and the session cache', () => {
  it('default to 600/s, burst 1200, 1,000,000 held, 100,000 cached, a sweep a minute', () => {
    const c = loadConfig([], {})
    expect([
      c.stsIssueRate,
      c.stsIssueBurst,
      c.maxSessionsPerParent,
      c.sessionCacheEntries,
      c.sessionSweepInterval,
    ]).toEqual([600, 1200, 1_000_000, 100_000, 60])
  })

  it('read the flags and LATCHKEY_STS_ISSUE_RATE / _BURST; refuse bad values naming the flag', () => {
    const c = loadConfig(['--sts-issue-rate', '2.5', '--session-cache-entries', '10'], {
      LATCHKEY_STS_ISSUE_BURST: '7',
    })
    expect([c.stsIssueRate, c.stsIssueBurst, c.sessionCacheEntries]).toEqual([2.5, 7, 10])
    expect(loadConfig([], { LATCHKEY_STS_ISSUE_RATE: '50' }).stsIssueRate).toBe(50)
    expect(() => loadConfig(['--sts-issue-rate', '0'], {})).toThrow(
      /--sts-issue-rate must be a positive number/,
    )
    expect(() => loadConfig(['--sts-issue-rate', 'fast'], {})).toThrow(/--sts-issue-rate/)
    expect(() => loadConfig(['--sts-issue-burst', '0'], {})).toThrow(/--sts-issue-burst/)
    expect(() => loadConfig(['--session-sweep-interval', '0'], {})).toThrow(
      /--session-sweep-interval/,
    )
  })
})

describe('--aws-bucket-defaults', () => {
  it('is off by default; on with the bare flag, =true/1 or LATCHKEY_AWS_BUCKET_DEFAULTS', () => {
    expect(loadConfig([], {}).awsBucketDefaults).toBe(false)
    expect(loadConfig(['--aws-bucket-defaults'], {}).awsBucketDefaults).toBe(true)
    expect(loadConfig(['--aws-bucket-defaults=false'], {}).awsBucketDefaults).toBe(false)
    expect(loadConfig([], { LATCHKEY_AWS_BUCKET_DEFAULTS: '1' }).awsBucketDefaults).toBe(true)
    // The bare flag takes no value: the next argument is another flag, not its value.
    expect(loadConfig(['--aws-bucket-defaults', '--region', 'eu-west-1'], {}).region).toBe(
      'eu-west-1',
    )
    expect(() => loadConfig(['--aws-bucket-defaults=yes'], {})).toThrow(
      '--aws-bucket-defaults takes no value (or true/false), got "yes"',
    )
  })
})

describe('--access-log, --metrics-address, LATCHKEY_METRICS_TOKEN', () => {
  it('defaults: access log on, no metrics listener, no token', () => {
    const c = loadConfig([], {})
    expect(c.accessLog).toEqual({ kind: 'on', every: 1 })
    expect(c.metricsAddress).toBeUndefined()
    expect(c.metricsToken).toBeUndefined()
  })
  it('reads the flags and the environment', () => {
    const c = loadConfig(['--access-log', 'sample=20', '--metrics-address', '127.0.0.1:9100'], {
      LATCHKEY_METRICS_TOKEN: 'a-long-enough-token',
    })
    expect(c.accessLog).toEqual({ kind: 'on', every: 20 })
    expect(c.metricsAddress).toEqual({ host: '127.0.0.1', port: 9100 })
    expect(c.metricsToken).toBe('a-long-enough-token')
    expect(loadConfig([], { LATCHKEY_ACCESS_LOG: 'off' }).accessLog).toEqual({ kind: 'off' })
  })
  it('refuses bad values with one clear line', () => {
    expect(() => loadConfig(['--access-log', 'sometimes'], {})).toThrow(
      '--access-log must be on, off or sample=N (N ≥ 1: one request in N), got "sometimes"',
    )
    expect(() => loadConfig(['--metrics-address', '9100'], {})).toThrow(
      '--metrics-address must be HOST:PORT',
    )
    expect(() => loadConfig([], { LATCHKEY_METRICS_TOKEN: 'short' })).toThrow(
      'LATCHKEY_METRICS_TOKEN must be 16 to 256 printable characters',
    )
  })
})

describe('--audit-retention', () => {
  it('defaults to 90 days, takes a duration from the flag or LATCHKEY_AUDIT_RETENTION', () => {
    expect(loadConfig([], {}).auditRetentionMs).toBe(90 * 86400_000)
    expect(loadConfig(['--audit-retention', '12h'], {}).auditRetentionMs).toBe(12 * 3600_000)
    expect(loadConfig([], { LATCHKEY_AUDIT_RETENTION: '7d' }).auditRetentionMs).toBe(7 * 86400_000)
  })
  it('--audit is on by default; off turns the trail off; anything else is refused', () => {
    expect(loadConfig([], {}).audit).toBe(true)
    expect(loadConfig(['--audit', 'off'], {}).audit).toBe(false)
    expect(loadConfig([], { LATCHKEY_AUDIT: 'off' }).audit).toBe(false)
    expect(() => loadConfig(['--audit', 'maybe'], {})).toThrow(/--audit must be on or off/)
  })
  it('--audit-requests is on by default; off keeps the rest of the trail; anything else is refused', () => {
    expect(loadConfig([], {}).auditRequests).toBe(true)
    expect(loadConfig(['--audit-requests', 'off'], {}).auditRequests).toBe(false)
    expect(loadConfig(['--audit-requests=off'], {}).audit).toBe(true)
    expect(loadConfig([], { LATCHKEY_AUDIT_REQUESTS: 'off' }).auditRequests).toBe(false)
    expect(() => loadConfig(['--audit-requests', 'no'], {})).toThrow(
      /--audit-requests must be on or off/,
    )
  })
  it('refuses what is not a positive duration, naming the flag', () => {
    for (const bad of ['0', 'forever', '-1d', '90 days'])
      expect(() => loadConfig(['--audit-retention', bad], {})).toThrow(/--audit-retention/)
  })
})
