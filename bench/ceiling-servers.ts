/**
 * The "ceilings": bare node:http servers doing the least work a request of each kind needs,
 * so each target is measured as a fraction of what Node itself can do on this machine in the
 * same run. `ceilings.ts` runs one in its own process; the smoke test starts them in-process.
 * @module
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import { createHash } from 'node:crypto'
import { createReadStream, createWriteStream, mkdirSync } from 'node:fs'
import { open, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { pipeline } from 'node:stream/promises'
import { Transform } from 'node:stream'

export const CEILING_KINDS = ['get4k', 'get4k-busy', 'put-fsync', 'stream'] as const
export type CeilingKind = (typeof CEILING_KINDS)[number]

export function isCeilingKind(s: string): s is CeilingKind {
  return (CEILING_KINDS as readonly string[]).includes(s)
}

const BODY_4K = Buffer.alloc(4096, 'x')

/** 4 KiB from memory for every request: the upper bound for a small GET. */
function get4k(req: IncomingMessage, res: ServerResponse): void {
  req.resume()
  req.on('end', () => {
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': '4096' })
    res.end(BODY_4K)
  })
}

/**
 * Calibration: the get4k ceiling plus `busyUs` of synchronous work per request (a spin on the
 * clock), i.e. what any server that spends that long on each request can reach on this machine.
 * It shows how much per-request work a target ratio leaves room for.
 */
function get4kBusy(busyUs: number): (req: IncomingMessage, res: ServerResponse) => void {
  const spinNs = BigInt(Math.round(busyUs * 1000))
  return (req, res) => {
    req.resume()
    req.on('end', () => {
      const until = process.hrtime.bigint() + spinNs
      while (process.hrtime.bigint() < until) {
        // spin: stands for per-request CPU work
      }
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': '4096' })
      res.end(BODY_4K)
    })
  }
}

/** Each body into its own new file, fsync, close, then 200: a durable small PUT, nothing else. */
function putFsync(dir: string): (req: IncomingMessage, res: ServerResponse) => void {
  let n = 0
  return (req, res) => {
    const file = join(dir, `o${String(n++)}`)
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      void (async () => {
        const fh = await open(file, 'wx')
        try {
          await fh.writeFile(Buffer.concat(chunks))
          await fh.sync()
        } finally {
          await fh.close()
        }
      })().then(
        () => {
          res.writeHead(200, { 'content-length': '0' })
          res.end()
        },
        (err: unknown) => {
          res.writeHead(500)
          res.end(String(err))
        },
      )
    })
  }
}

/** PUT streams the body to a file computing MD5; GET streams a file out. Names are flattened. */
function streamFiles(dir: string): (req: IncomingMessage, res: ServerResponse) => void {
  const fileOf = (url: string | undefined): string =>
    join(dir, encodeURIComponent((url ?? '/').split('?')[0] ?? '/'))
  return (req, res) => {
    const file = fileOf(req.url)
    if (req.method === 'PUT') {
      const md5 = createHash('md5')
      const tap = new Transform({
        transform(chunk: Buffer, _enc, cb) {
          md5.update(chunk)
          cb(null, chunk)
        },
      })
      pipeline(req, tap, createWriteStream(file)).then(
        () => {
          res.writeHead(200, { etag: `"${md5.digest('hex')}"`, 'content-length': '0' })
          res.end()
        },
        (err: unknown) => {
          res.writeHead(500)
          res.end(String(err))
        },
      )
      return
    }
    req.resume()
    stat(file).then(
      (st) => {
        res.writeHead(200, {
          'content-type': 'application/octet-stream',
          'content-length': String(st.size),
        })
        pipeline(createReadStream(file, { highWaterMark: 1 << 20 }), res).catch(() => res.destroy())
      },
      () => {
        res.writeHead(404, { 'content-length': '0' })
        res.end()
      },
    )
  }
}

export interface CeilingOptions {
  readonly kind: CeilingKind
  readonly port: number
  readonly host?: string
  /** Scratch directory for the file-writing kinds. */
  readonly dir?: string
  /** get4k-busy: microseconds of work per request. */
  readonly busyUs?: number
}

/** Start a ceiling server; resolves with the server and its URL. */
export async function startCeiling(o: CeilingOptions): Promise<{ server: Server; url: string }> {
  const dirOf = (): string => {
    if (o.dir === undefined) throw new Error(`ceiling ${o.kind} needs a directory`)
    mkdirSync(o.dir, { recursive: true })
    return o.dir
  }
  const handler =
    o.kind === 'get4k'
      ? get4k
      : o.kind === 'get4k-busy'
        ? get4kBusy(o.busyUs ?? 0)
        : o.kind === 'put-fsync'
          ? putFsync(dirOf())
          : streamFiles(dirOf())
  const server = createServer({ keepAliveTimeout: 60_000 }, handler)
  const host = o.host ?? '127.0.0.1'
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(o.port, host, () => resolve())
  })
  const addr = server.address()
  if (addr === null || typeof addr === 'string') throw new Error('no address')
  return { server, url: `http://${host}:${String(addr.port)}` }
}
