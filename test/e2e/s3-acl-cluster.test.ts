/**
 * ACL changes on a cluster (two nodes, one PostgreSQL, one blob directory) hold on every node on
 * the very next request: an object ACL lives in the object record (no per-node object cache on
 * PostgreSQL), a bucket ACL, public access block and Object Ownership are bucket sub-resources
 * whose writes answer only once every node applied them (s3/settled-writes.ts). Each step is made
 * on one node and checked at once on the other, several times over. Skipped, saying so, when no
 * PostgreSQL is installed.
 * @module
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  CreateBucketCommand,
  PutBucketAclCommand,
  PutBucketOwnershipControlsCommand,
  PutObjectAclCommand,
  PutObjectCommand,
  PutPublicAccessBlockCommand,
  DeletePublicAccessBlockCommand,
  DeleteBucketOwnershipControlsCommand,
} from '@aws-sdk/client-s3'
import { startPostgres, type TestPostgres } from '../support/postgres.js'
import { startCluster, type TestCluster } from '../support/cluster.js'
import { outcome, type TestServer } from './harness.js'

const SKIP = 'no PostgreSQL installed (initdb/pg_ctl not found, LATCHKEY_TEST_DATABASE_URL unset)'
const pg: TestPostgres | undefined = await startPostgres()
afterAll(async () => {
  await pg?.stop()
})

describe.skipIf(pg === undefined)(
  `ACLs on two nodes on one PostgreSQL${pg === undefined ? ` (${SKIP})` : ''}`,
  () => {
    let cluster: TestCluster
    let a: TestServer
    let b: TestServer

    beforeAll(async () => {
      const url = await pg!.createDatabase()
      // One after the other: the first node runs the migrations and seeds the root identity.
      cluster = await startCluster(url, 2)
      ;[a, b] = cluster.nodes as [TestServer, TestServer]
    }, 60_000)

    afterAll(async () => {
      await cluster?.stop()
    })

    const anon = async (node: TestServer, path: string): Promise<number> =>
      (await fetch(`${node.endpoint}${path}`)).status

    it('REGRESSION acl-cluster: an ACL, public access block or ownership change on one node holds on the other at once', async () => {
      await a.s3().send(new CreateBucketCommand({ Bucket: 'acl-shared' }))
      await a.s3().send(new PutObjectCommand({ Bucket: 'acl-shared', Key: 'o', Body: 'obj' }))
      for (let round = 0; round < 3; round++) {
        const [x, y] = round % 2 === 0 ? [a, b] : [b, a]
        // Object ACL: public on x, readable anonymously on y; private again, refused on the other.
        await x
          .s3()
          .send(new PutObjectAclCommand({ Bucket: 'acl-shared', Key: 'o', ACL: 'public-read' }))
        expect(await anon(y, '/acl-shared/o')).toBe(200)
        await y
          .s3()
          .send(new PutObjectAclCommand({ Bucket: 'acl-shared', Key: 'o', ACL: 'private' }))
        expect(await anon(x, '/acl-shared/o')).toBe(403)
        // Bucket ACL: anonymous listing follows it on the other node.
        await x.s3().send(new PutBucketAclCommand({ Bucket: 'acl-shared', ACL: 'public-read' }))
        expect(await anon(y, '/acl-shared?list-type=2')).toBe(200)
        // IgnorePublicAcls set on y takes the public grant away on x.
        await y.s3().send(
          new PutPublicAccessBlockCommand({
            Bucket: 'acl-shared',
            PublicAccessBlockConfiguration: { IgnorePublicAcls: true },
          }),
        )
        expect(await anon(x, '/acl-shared?list-type=2')).toBe(403)
        await x.s3().send(new DeletePublicAccessBlockCommand({ Bucket: 'acl-shared' }))
        expect(await anon(y, '/acl-shared?list-type=2')).toBe(200)
        await y.s3().send(new PutBucketAclCommand({ Bucket: 'acl-shared', ACL: 'private' }))
        expect(await anon(x, '/acl-shared?list-type=2')).toBe(403)
        // BucketOwnerEnforced on x: y refuses a public ACL on the next request.
        await x.s3().send(
          new PutBucketOwnershipControlsCommand({
            Bucket: 'acl-shared',
            OwnershipControls: { Rules: [{ ObjectOwnership: 'BucketOwnerEnforced' }] },
          }),
        )
        expect(
          await outcome(
            y
              .s3()
              .send(
                new PutObjectAclCommand({ Bucket: 'acl-shared', Key: 'o', ACL: 'public-read' }),
              ),
          ),
        ).toBe('AccessControlListNotSupported')
        await y.s3().send(new DeleteBucketOwnershipControlsCommand({ Bucket: 'acl-shared' }))
      }
    })
  },
)
