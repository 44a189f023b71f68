/**
 * Target 3: one 256 MiB object in and out, against bare node:http streaming to a file while
 * computing MD5 (PUT, ≥ 85%) and streaming the file out (GET, ≥ 70%), and server RSS under
 * 200 MB throughout (VmRSS sampled every 50 ms). The body is one 1 MiB buffer repeated, never
 * 256 MiB in memory. The PUT uses UNSIGNED-PAYLOAD; a STREAMING-UNSIGNED-PAYLOAD-TRAILER
 * (aws-chunked + CRC32 trailer) run (first round only) is reported alongside for information.
 * @module
 */
import { Readable } from 'node:stream'
import { crc32 } from '@node-rs/crc32'
import type { Pool } from 'undici'
import { makePool, send } from '../load.js'
import { signRequest, type PreparedRequest } from '../sign.js'
import { sampleRss, cpuSeconds } from '../proc.js'
import { ROOT_CREDS, s3Call, startCeilingProc, startLatchkey, type Settings } from '../env.js'
import { median, type ResultRow } from '../stats.js'

const MIB = 1 << 20
const CHUNK = 64 * 1024
const RSS_LIMIT_MB = 200

function block(): Buffer {
  const b = Buffer.allocUnsafe(MIB)
  for (let i = 0; i < MIB; i += 4) b.writeUInt32BE((i * 2654435761) >>> 0, i)
  return b
}

async function* plainBody(buf: Buffer, total: number): AsyncGenerator<Buffer> {
  for (let sent = 0; sent < total; sent += buf.length)
    yield buf.subarray(0, Math.min(buf.length, total - sent))
}

/** aws-chunked framing of the same bytes, 64 KiB chunks, CRC32 trailer. */
async function* chunkedBody(buf: Buffer, total: number, trailer: string): AsyncGenerator<Buffer> {
  for (let sent = 0; sent < total; sent += CHUNK) {
    const n = Math.min(CHUNK, total - sent)
    const off = sent % buf.length
    yield Buffer.from(`${n.toString(16)}\r\n`)
    yield buf.subarray(off, off + n)
    yield Buffer.from('\r\n')
  }
  yield Buffer.from(`0\r\n${trailer}\r\n\r\n`)
}

function chunkedLength(total: number, trailer: string): number {
  let len = 0
  for (let sent = 0; sent < total; sent += CHUNK) {
    const n = Math.min(CHUNK, total - sent)
    len += `${n.toString(16)}\r\n`.length + n + 2
  }
  return len + `0\r\n${trailer}\r\n\r\n`.length
}

function crc32Of(buf: Buffer, total: number): string {
  let c = 0
  for (let sent = 0; sent < total; sent += buf.length)
    c = crc32(buf.subarray(0, Math.min(buf.length, total - sent)), c)
  const out = Buffer.alloc(4)
  out.writeUInt32BE(c >>> 0)
  return out.toString('base64')
}

interface Transfer {
  readonly mbps: number
  readonly cpuUsPerMiB: number
  readonly maxRss: number
}

async function timed(
  pool: Pool,
  pid: number,
  req: PreparedRequest,
  body: AsyncIterable<Buffer> | undefined,
  expectBytes: number,
  payloadBytes: number,
): Promise<Transfer> {
  const rss = sampleRss(pid, 50)
  const cpu0 = cpuSeconds(pid)
  const t0 = performance.now()
  const a = await send(
    pool,
    req,
    body !== undefined ? Readable.from(body, { objectMode: false }) : undefined,
  )
  const secs = (performance.now() - t0) / 1000
  const cpu = cpuSeconds(pid) - cpu0
  const maxRss = rss.stop()
  if (a.status !== 200)
    throw new Error(`${req.method} ${req.path} → ${String(a.status)} ${a.head ?? ''}`)
  if (a.bytes !== expectBytes) {
    const what = `got ${String(a.bytes)} bytes, expected ${String(expectBytes)}`
    throw new Error(`${req.method} ${req.path}: ${what}`)
  }
  return {
    mbps: payloadBytes / 1e6 / secs,
    cpuUsPerMiB: (cpu * 1e6) / (payloadBytes / MIB),
    maxRss,
  }
}

export async function benchBig(s: Settings): Promise<ResultRow[]> {
  const size = s.bigBytes
  const buf = block()
  const ours = await startLatchkey()
  const ceil = await startCeilingProc('stream')
  const op = makePool(ours.url, 2)
  const cp = makePool(ceil.url, 2)
  try {
    await s3Call(op, ours.url, ROOT_CREDS, 'PUT', '/bench')
    const putHeaders = {
      'content-length': String(size),
      'content-type': 'application/octet-stream',
    }
    const put = await signRequest({
      origin: ours.url,
      creds: ROOT_CREDS,
      method: 'PUT',
      path: '/bench/big',
      headers: putHeaders,
      payloadHash: 'UNSIGNED-PAYLOAD',
    })
    const get = await signRequest({
      origin: ours.url,
      creds: ROOT_CREDS,
      method: 'GET',
      path: '/bench/big',
    })
    const trailer = `x-amz-checksum-crc32:${crc32Of(buf, size)}`
    const putTrailer = await signRequest({
      origin: ours.url,
      creds: ROOT_CREDS,
      method: 'PUT',
      path: '/bench/big-trailer',
      headers: {
        'content-length': String(chunkedLength(size, trailer)),
        'content-encoding': 'aws-chunked',
        'x-amz-decoded-content-length': String(size),
        'x-amz-trailer': 'x-amz-checksum-crc32',
        'content-type': 'application/octet-stream',
      },
      payloadHash: 'STREAMING-UNSIGNED-PAYLOAD-TRAILER',
    })
    const r = {
      oPut: [] as Transfer[],
      cPut: [] as Transfer[],
      oGet: [] as Transfer[],
      cGet: [] as Transfer[],
      oTr: [] as Transfer[],
    }
    let trailerError: string | undefined
    for (let round = 0; round < s.bigRounds; round++) {
      s.log(
        `  3 big: round ${String(round + 1)}/${String(s.bigRounds)} (${String(size / MIB)} MiB)`,
      )
      r.oPut.push(await timed(op, ours.pid, put, plainBody(buf, size), 0, size))
      r.cPut.push(await timed(cp, ceil.pid, put, plainBody(buf, size), 0, size))
      r.oGet.push(await timed(op, ours.pid, get, undefined, size, size))
      r.cGet.push(await timed(cp, ceil.pid, get, undefined, size, size))
      if (round === 0) {
        try {
          r.oTr.push(
            await timed(op, ours.pid, putTrailer, chunkedBody(buf, size, trailer), 0, size),
          )
        } catch (e) {
          trailerError = e instanceof Error ? e.message : String(e)
        }
      }
    }
    const med = (xs: readonly Transfer[], f: (t: Transfer) => number): number => median(xs.map(f))
    const maxRss = (xs: readonly Transfer[]): number => Math.max(...xs.map((t) => t.maxRss)) / 1e6
    const speeds = (xs: readonly Transfer[]): string => xs.map((t) => Math.round(t.mbps)).join(', ')
    const note = (o: readonly Transfer[], c: readonly Transfer[]): string =>
      `cpu column = us per MiB; ${String(size / MIB)} MiB x ${String(o.length)} rounds; ` +
      `ours MB/s [${speeds(o)}] ceiling [${speeds(c)}]; ` +
      `max RSS ours ${maxRss(o).toFixed(1)} MB, ceiling ${maxRss(c).toFixed(1)} MB`
    const rows: ResultRow[] = [
      {
        group: '3 big-put',
        name: `PUT ${String(size / MIB)} MiB UNSIGNED-PAYLOAD`,
        unit: 'MB/s',
        ours: med(r.oPut, (t) => t.mbps),
        ceiling: med(r.cPut, (t) => t.mbps),
        ceilingName: 'bare-stream+md5',
        comparison: { kind: 'min-ratio', target: 0.85 },
        cpuUsPerOp: med(r.oPut, (t) => t.cpuUsPerMiB),
        ceilingCpuUsPerOp: med(r.cPut, (t) => t.cpuUsPerMiB),
        note: note(r.oPut, r.cPut),
      },
      {
        group: '3 big-get',
        name: `GET ${String(size / MIB)} MiB`,
        unit: 'MB/s',
        ours: med(r.oGet, (t) => t.mbps),
        ceiling: med(r.cGet, (t) => t.mbps),
        ceilingName: 'bare-stream-file',
        comparison: { kind: 'min-ratio', target: 0.7 },
        cpuUsPerOp: med(r.oGet, (t) => t.cpuUsPerMiB),
        ceilingCpuUsPerOp: med(r.cGet, (t) => t.cpuUsPerMiB),
        note: note(r.oGet, r.cGet),
      },
      {
        group: '3 big-rss',
        name: 'server max RSS during big PUT/GET',
        unit: 'MB',
        ours: maxRss([...r.oPut, ...r.oGet, ...r.oTr]),
        ceiling: RSS_LIMIT_MB,
        ceilingName: 'limit',
        comparison: { kind: 'max-ratio', target: 1 },
        note: 'VmRSS sampled every 50 ms; limit 200 MB',
      },
      trailerError !== undefined
        ? {
            group: '3 big-put-trailer',
            name: `PUT ${String(size / MIB)} MiB STREAMING-UNSIGNED-PAYLOAD-TRAILER`,
            unit: 'MB/s',
            ours: Number.NaN,
            ceiling: med(r.cPut, (t) => t.mbps),
            ceilingName: 'bare-stream+md5',
            comparison: { kind: 'info' },
            error: trailerError,
          }
        : {
            group: '3 big-put-trailer',
            name: `PUT ${String(size / MIB)} MiB STREAMING-UNSIGNED-PAYLOAD-TRAILER`,
            unit: 'MB/s',
            ours: med(r.oTr, (t) => t.mbps),
            ceiling: med(r.cPut, (t) => t.mbps),
            ceilingName: 'bare-stream+md5',
            comparison: { kind: 'info' },
            cpuUsPerOp: med(r.oTr, (t) => t.cpuUsPerMiB),
            note: `aws-chunked 64 KiB chunks + CRC32 trailer; informational; ${note(r.oTr, r.cPut)}`,
          },
    ]
    return rows
  } finally {
    await Promise.allSettled([op.close(), cp.close()])
    await Promise.allSettled([ours.dispose(), ceil.dispose()])
  }
}
