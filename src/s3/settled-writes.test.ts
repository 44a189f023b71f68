/** settleBucketWrites: bucket writes resolve only once the change feed says every node applied them. */
import { describe, expect, it } from 'vitest'
import { MemoryChangeFeed } from '../backends/memory/change-feed.js'
import { MemoryMetadataStore } from '../backends/memory/metadata-store.js'
import { settleBucketWrites } from './settled-writes.js'

describe('settleBucketWrites', () => {
  it('holds setBucketSubresource/createBucket until applied(); reads pass straight through', async () => {
    const changes = new MemoryChangeFeed()
    const asked: number[] = []
    let release: (v: boolean) => void = () => {}
    const feed = Object.assign(Object.create(changes) as MemoryChangeFeed, {
      applied: (seq: number) => {
        asked.push(seq)
        return new Promise<boolean>((r) => (release = r))
      },
    })
    const meta = settleBucketWrites(new MemoryMetadataStore({ changes }), feed)
    let done = false
    const create = meta
      .createBucket({ name: 'b', accountId: 'a', createdAt: 0, region: 'r' })
      .then(() => (done = true))
    await new Promise((r) => setTimeout(r, 10))
    expect(done).toBe(false)
    expect(asked).toEqual([changes.head()])
    release(true)
    await create
    expect(done).toBe(true)
    // Reads are not held.
    expect(await meta.getBucket('b')).toMatchObject({ accountId: 'a' })
    expect(asked).toHaveLength(1)
    const set = meta.setBucketSubresource('b', 'policy', '{}')
    await new Promise((r) => setTimeout(r, 10))
    expect(asked).toHaveLength(2)
    release(false) // a timeout: saved, but not confirmed everywhere → 503, never a silent success
    await expect(set).rejects.toMatchObject({ name: 'NotSettledError', unavailable: true })
    expect(await meta.getBucketSubresource('b', 'policy')).toBe('{}')
  })
})
