/**
 * Durability under kill -9: a child server is SIGKILLed in the middle of a stream of PUTs (inline
 * and file-backed sizes) and multipart completes. After restart every acknowledged object reads
 * back byte-identical, every object present is one we sent (whole, never partial), and no orphan
 * blob is left behind once the start-up sweep ran.
 */
import { describe, it, expect } from 'vitest'
import { createHash, randomBytes } from 'node:crypto'
import { existsSync, readdirSync, rmSync, statSync } from 'node:fs'
import { join } from 'node:path'
import {
  CreateBucketCommand,
  PutObjectCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  CreateMultipartUploadCommand,
  UploadPartCommand,
  CompleteMultipartUploadCommand,
  type S3Client,
} from '@aws-sdk/client-s3'
import { startServer } from './harness.js'

const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex')

function countFiles(dir: string): number {
  if (!existsSync(dir)) return 0
  let n = 0
  for (const e of readdirSync(dir)) {
    const p = join(dir, e)
    n += statSync(p).isDirectory() ? countFiles(p) : 1
  }
  return n
}

describe('kill -9 during writes', () => {
  it('loses no acknowledged object and shows no partial one', async () => {
    const first = await startServer({ keepDataDir: true })
    const s3: S3Client = first.s3()
    await s3.send(new CreateBucketCommand({ Bucket: 'crash' }))
    const acked = new Map<string, string>() // key → sha256
    const sent = new Map<string, string>() // every body we ever sent per key (same key never reused)
    let stop = false
    let seq = 0
    const sizes = [100, 4096, 200 * 1024, 1024 * 1024 + 7]
    const putLoop = async (): Promise<void> => {
      while (!stop) {
        const key = `obj-${seq++}`
        const body = randomBytes(sizes[seq % sizes.length] ?? 100)
        sent.set(key, sha(body))
        try {
          await s3.send(new PutObjectCommand({ Bucket: 'crash', Key: key, Body: body }))
          if (!stop) acked.set(key, sha(body))
        } catch {
          return
        }
      }
    }
    const mpLoop = async (): Promise<void> => {
      while (!stop) {
        const key = `mp-${seq++}`
        const parts = [randomBytes(5 * 1024 * 1024), randomBytes(1234)]
        sent.set(key, sha(Buffer.concat(parts)))
        try {
          const { UploadId } = await s3.send(
            new CreateMultipartUploadCommand({ Bucket: 'crash', Key: key }),
          )
          const etags: string[] = []
          for (let i = 0; i < parts.length; i++) {
            const r = await s3.send(
              new UploadPartCommand({
                Bucket: 'crash',
                Key: key,
                UploadId,
                PartNumber: i + 1,
                Body: parts[i]!,
              }),
            )
            etags.push(r.ETag ?? '')
          }
          await s3.send(
            new CompleteMultipartUploadCommand({
              Bucket: 'crash',
              Key: key,
              UploadId,
              MultipartUpload: { Parts: etags.map((ETag, i) => ({ ETag, PartNumber: i + 1 })) },
            }),
          )
          if (!stop) acked.set(key, sent.get(key) ?? '')
        } catch {
          return
        }
      }
    }
    const loops = [putLoop(), putLoop(), putLoop(), putLoop(), mpLoop()]
    // Let some writes land, then kill without warning while others are in flight.
    while (acked.size < 40) await new Promise((r) => setTimeout(r, 20))
    const ackedBeforeKill = new Map(acked)
    await first.kill()
    stop = true
    await Promise.all(loops)
    s3.destroy()

    const second = await startServer({ dataDir: first.dataDir })
    try {
      const c = second.s3()
      for (const [key, digest] of ackedBeforeKill) {
        const r = await c.send(new GetObjectCommand({ Bucket: 'crash', Key: key }))
        const bytes = await r.Body?.transformToByteArray()
        expect(bytes, key).toBeDefined()
        expect(sha(bytes ?? new Uint8Array()), key).toBe(digest)
      }
      const listed: string[] = []
      let token: string | undefined
      do {
        const page = await c.send(
          new ListObjectsV2Command({ Bucket: 'crash', ContinuationToken: token }),
        )
        for (const o of page.Contents ?? []) listed.push(o.Key ?? '')
        token = page.NextContinuationToken
      } while (token !== undefined)
      for (const key of ackedBeforeKill.keys()) expect(listed).toContain(key)
      for (const key of listed) {
        // Anything present was sent by us and is whole (in-flight writes may have committed).
        expect(sent.has(key), key).toBe(true)
        const r = await c.send(new GetObjectCommand({ Bucket: 'crash', Key: key }))
        expect(sha((await r.Body?.transformToByteArray()) ?? new Uint8Array()), key).toBe(
          sent.get(key),
        )
      }
      // The start-up sweep removed temp files of interrupted writes.
      expect(countFiles(join(first.dataDir, 'objects', 'tmp'))).toBe(0)
      c.destroy()
    } finally {
      await second.stop()
      rmSync(first.dataDir, { recursive: true, force: true })
    }
  }, 120_000)
})
