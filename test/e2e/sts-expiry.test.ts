/**
 * ExpiredToken end to end: an RSLogin session of the shortest allowed lifetime (60 s) is used
 * after it expires, on STS (ExpiredToken, 403) and on S3 (ExpiredToken). Its own file so the
 * minute of waiting runs in parallel with the other suites.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { GetCallerIdentityCommand } from '@aws-sdk/client-sts'
import { ListBucketsCommand } from '@aws-sdk/client-s3'
import { startServer, type TestServer } from './harness.js'
import { adminLogin } from './admin-client.js'

let server: TestServer

beforeAll(async () => {
  server = await startServer()
})
afterAll(async () => {
  await server?.stop()
})

describe('ExpiredToken', () => {
  it('an expired session is refused with ExpiredToken on STS and S3', async () => {
    const admin = await adminLogin(server)
    expect(
      (
        await admin.call('POST', '/api/admin/users', {
          username: 'shortlived',
          password: 'shortlived-pass-1',
          role: 'Reader',
        })
      ).status,
    ).toBe(201)
    const res = await fetch(server.endpoint, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'Action=RSLogin&Version=2011-06-15&DurationSeconds=60&UserName=shortlived&Password=shortlived-pass-1',
    })
    expect(res.status).toBe(200)
    const body = (await res.json()) as {
      Credentials: { AccessKeyId: string; SecretAccessKey: string; Expiration: string }
    }
    const creds = {
      accessKeyId: body.Credentials.AccessKeyId,
      secretAccessKey: body.Credentials.SecretAccessKey,
    }
    await server.sts(creds).send(new GetCallerIdentityCommand({}))
    const wait = Date.parse(body.Credentials.Expiration) - Date.now() + 1500
    await new Promise((r) => setTimeout(r, Math.max(0, wait)))
    const sts = await server
      .sts(creds)
      .send(new GetCallerIdentityCommand({}))
      .then(
        () => undefined,
        (e: { name: string; message: string; $metadata?: { httpStatusCode?: number } }) => e,
      )
    expect(sts?.name).toBe('ExpiredToken')
    expect(sts?.$metadata?.httpStatusCode).toBe(403)
    expect(sts?.message).toBe('The security token included in the request is expired')
    const s3 = await server
      .s3(creds)
      .send(new ListBucketsCommand({}))
      .then(
        () => undefined,
        (e: { name: string }) => e,
      )
    expect(s3?.name).toBe('ExpiredToken')
  }, 120_000)
})
