/**
 * BucketConfig learns only from the ChangeFeed: a policy or CORS change made through the store
 * port (as another node, an offline tool or a test would make it), a deletion, and an account
 * change are all seen on the very next read, with no call from an operation.
 * @module
 */
import { describe, expect, it } from 'vitest'
import { MemoryChangeFeed } from '../backends/memory/change-feed.js'
import { MemoryMetadataStore } from '../backends/memory/metadata-store.js'
import { BucketConfig } from './bucket-config.js'
import { serializeCorsConfig } from './cors.js'
import { serializeLifecycle } from './lifecycle.js'

const policy = (sid: string): string =>
  JSON.stringify({
    Version: '2012-10-17',
    Statement: [
      {
        Sid: sid,
        Effect: 'Allow',
        Principal: '*',
        Action: 's3:GetObject',
        Resource: 'arn:aws:s3:::b/*',
      },
    ],
  })
const cors = (origin: string): string =>
  serializeCorsConfig([
    { allowedOrigins: [origin], allowedMethods: ['GET'], allowedHeaders: [], exposeHeaders: [] },
  ])

async function setup() {
  const changes = new MemoryChangeFeed()
  const meta = new MemoryMetadataStore({ changes })
  const names = new Map([['acct', 'first']])
  const config = new BucketConfig({
    meta,
    changes,
    accounts: {
      byId: (id) => ({ id, name: names.get(id) ?? id, canonicalId: `c-${id}` }) as never,
    },
  })
  await meta.createBucket({ name: 'b', accountId: 'acct', createdAt: 0, region: 'us-east-1' })
  return { changes, meta, config, names }
}

describe('BucketConfig', () => {
  it('sees a policy change made behind its back on the next read', async () => {
    const { meta, config } = await setup()
    expect(await config.policy('b')).toBeUndefined()
    await meta.setBucketSubresource('b', 'policy', policy('one'))
    const first = await config.policy('b')
    expect(JSON.stringify(first)).toContain('one')
    expect(await config.policy('b')).toBe(first) // cached
    await meta.setBucketSubresource('b', 'policy', policy('two'))
    expect(JSON.stringify(await config.policy('b'))).toContain('two')
    await meta.setBucketSubresource('b', 'policy', null)
    expect(await config.policy('b')).toBeUndefined()
  })

  it('sees ACL, public access block and ownership changes made behind its back on the next read', async () => {
    const { meta, config } = await setup()
    expect(await config.accessConfig('b')).toEqual({})
    const acl = {
      grants: [{ group: 'http://acs.amazonaws.com/groups/global/AllUsers', permission: 'READ' }],
    }
    await meta.setBucketSubresource('b', 'acl', JSON.stringify(acl))
    const first = await config.accessConfig('b')
    expect(first).toEqual({ acl })
    expect(await config.accessConfig('b')).toBe(first) // cached
    const pab = {
      BlockPublicAcls: true,
      IgnorePublicAcls: true,
      BlockPublicPolicy: false,
      RestrictPublicBuckets: false,
    }
    await meta.setBucketSubresource('b', 'public-access-block', JSON.stringify(pab))
    await meta.setBucketSubresource('b', 'ownership', 'BucketOwnerEnforced')
    expect(await config.accessConfig('b')).toEqual({
      acl,
      publicAccessBlock: pab,
      ownership: 'BucketOwnerEnforced',
    })
    await meta.setBucketSubresource('b', 'acl', null)
    expect((await config.accessConfig('b')).acl).toBeUndefined()
    // A policy change keeps the access config cached, and vice versa; publicness is tracked.
    expect(await config.policyIsPublic('b')).toBe(false)
    await meta.setBucketSubresource('b', 'policy', policy('pub'))
    expect(await config.policyIsPublic('b')).toBe(true)
    await meta.deleteBucket('b')
    await meta.createBucket({ name: 'b', accountId: 'acct', createdAt: 0, region: 'us-east-1' })
    expect(await config.accessConfig('b')).toEqual({})
    expect(await config.policyIsPublic('b')).toBe(false)
  })

  it('sees a CORS change made behind its back on the next read', async () => {
    const { meta, config } = await setup()
    expect(await config.corsRules('b')).toBeUndefined()
    await meta.setBucketSubresource('b', 'cors', cors('https://one.example'))
    expect(JSON.stringify(await config.corsRules('b'))).toContain('one.example')
    await meta.setBucketSubresource('b', 'cors', cors('https://two.example'))
    expect(JSON.stringify(await config.corsRules('b'))).toContain('two.example')
  })

  it('sees a lifecycle change made behind its back on the next read, and keeps the others', async () => {
    const { meta, config } = await setup()
    const rules = (days: number): string =>
      serializeLifecycle([
        { id: 'r', enabled: true, filter: { form: 'filter', tags: [] }, expiration: { days } },
      ])
    await meta.setBucketSubresource('b', 'policy', policy('one'))
    const compiled = await config.policy('b')
    expect(await config.lifecycleRules('b')).toBeUndefined()
    await meta.setBucketSubresource('b', 'lifecycle', rules(3))
    expect((await config.lifecycleRules('b'))?.[0]?.expiration).toEqual({ days: 3 })
    await meta.setBucketSubresource('b', 'lifecycle', rules(5))
    expect((await config.lifecycleRules('b'))?.[0]?.expiration).toEqual({ days: 5 })
    expect(await config.policy('b')).toBe(compiled) // a lifecycle change leaves the policy cached
    await meta.setBucketSubresource('b', 'lifecycle', null)
    expect(await config.lifecycleRules('b')).toBeUndefined()
  })

  it('forgets policy and CORS of a deleted bucket, so a re-created one starts clean', async () => {
    const { meta, config } = await setup()
    await meta.setBucketSubresource('b', 'policy', policy('one'))
    await meta.setBucketSubresource('b', 'cors', cors('https://one.example'))
    expect(await config.policy('b')).toBeDefined()
    expect(await config.corsRules('b')).toBeDefined()
    await meta.deleteBucket('b')
    await meta.createBucket({ name: 'b', accountId: 'acct', createdAt: 1, region: 'us-east-1' })
    expect(await config.policy('b')).toBeUndefined()
    expect(await config.corsRules('b')).toBeUndefined()
  })

  it('drops an owner when its account changes', async () => {
    const { changes, config, names } = await setup()
    expect(config.owner('acct')).toEqual({ id: 'c-acct', displayName: 'first' })
    names.set('acct', 'renamed')
    expect(config.owner('acct').displayName).toBe('first')
    changes.publish([{ kind: 'account', id: 'acct' }])
    expect(config.owner('acct').displayName).toBe('renamed')
  })

  it('stops listening once closed', async () => {
    const { meta, config } = await setup()
    expect(await config.policy('b')).toBeUndefined()
    config.close()
    await meta.setBucketSubresource('b', 'policy', policy('one'))
    expect(await config.policy('b')).toBeUndefined()
  })
})
