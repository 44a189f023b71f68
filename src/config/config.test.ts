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

  it('blob store: s3:// is not implemented yet; relative dirs and other schemes are refused', () => {
    expect(() => loadConfig(['--blob-store', 's3://bucket/prefix'], {})).toThrow(
      '--blob-store s3:// is not implemented yet; use file:/shared/dir (or leave it unset)',
    )
    for (const v of ['file:relative/dir', '/abs/without/scheme', 'gs://b']) {
      expect(() => loadConfig(['--blob-store', v], {}), v).toThrow(
        `--blob-store must be file:/absolute/dir or s3://BUCKET, got "${v}"`,
      )
    }
  })
})
