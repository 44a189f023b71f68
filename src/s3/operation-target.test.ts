import { describe, expect, it } from 'vitest'
import { route } from './router.js'
import type { AnyOperation } from './operation.js'

const METHODS = ['GET', 'HEAD', 'PUT', 'POST', 'DELETE']
const SUBS = [
  '',
  'acl',
  'attributes',
  'cors',
  'policy',
  'tagging',
  'versioning',
  'location',
  'uploads',
  'delete',
  'versions',
  'uploadId=1',
  'list-type=2',
]

function routed(bucket: string | undefined, key: string | undefined): AnyOperation[] {
  const out: AnyOperation[] = []
  for (const method of METHODS)
    for (const sub of SUBS)
      for (const copy of [false, true]) {
        const [k, v] = sub.split('=') as [string, string | undefined]
        const query = new Map(sub === '' ? [] : [[k, v ?? '']])
        try {
          out.push(route(method, bucket, key, query, copy ? { 'x-amz-copy-source': 'b/k' } : {}))
        } catch {
          // MethodNotAllowed / NotImplemented combinations
        }
      }
  return out
}

// The pipeline loads the bucket for 'bucket' and 'object' targets and skips it for 'new-bucket'
// (CreateBucket) instead of testing operation names; every routed operation must say which it is.
describe('Operation.target', () => {
  it('matches where the router finds the operation', () => {
    for (const op of routed(undefined, undefined))
      expect([op.name, op.target]).toEqual([op.name, 'service'])
    const bucketOps = routed('b', undefined)
    for (const op of bucketOps)
      expect([op.name, op.target]).toEqual([
        op.name,
        op.name === 'CreateBucket' ? 'new-bucket' : 'bucket',
      ])
    expect(bucketOps.some((op) => op.target === 'new-bucket')).toBe(true)
    const objectOps = routed('b', 'k')
    expect(objectOps.length).toBeGreaterThan(10)
    for (const op of objectOps) expect([op.name, op.target]).toEqual([op.name, 'object'])
  })

  it("only the self-authorizing operations answer 'self'; the rest name requirements", () => {
    const self = new Set<string>()
    for (const op of [...routed('b', undefined), ...routed('b', 'k')])
      if (
        op.authorize({
          bucket: 'b',
          key: 'k',
          query: new Map(),
          header: () => undefined,
        } as never) === 'self'
      )
        self.add(op.name)
    expect([...self].sort()).toEqual(['DeleteObjects', 'PostObject'])
  })
})
