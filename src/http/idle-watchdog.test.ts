import { describe, it, expect } from 'vitest'
import { EventEmitter } from 'node:events'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { IdleWatchdog, idleVerdict } from './idle-watchdog.js'

/** Just the fields the watchdog reads, driven by hand. */
function fakes(headers: Record<string, string> = { 'content-length': '100' }) {
  const socket = Object.assign(new EventEmitter(), {
    destroyed: false,
    timeouts: [] as number[],
    setTimeout(ms: number) {
      this.timeouts.push(ms)
    },
    destroy() {
      this.destroyed = true
    },
  })
  const req = Object.assign(new EventEmitter(), {
    socket,
    headers,
    complete: false,
    readableLength: 0,
  })
  const res = Object.assign(new EventEmitter(), {
    headersSent: false,
    writableFinished: false,
    writableLength: 0,
  })
  return { req, res, socket }
}

function server() {
  return Object.assign(new EventEmitter(), { timeout: 0 })
}

describe('idleVerdict', () => {
  it('blames the client only when we wait for it', () => {
    const f = fakes()
    const as = (x: typeof f) => ({
      req: x.req as unknown as IncomingMessage,
      res: x.res as unknown as ServerResponse,
    })
    expect(idleVerdict(as(f))).toBe('body') // body owed, nothing buffered
    f.req.readableLength = 65536
    expect(idleVerdict(as(f))).toBe('server-busy') // we have not read what came
    f.req.readableLength = 0
    f.req.complete = true
    expect(idleVerdict(as(f))).toBe('server-busy') // body in: the server is working (a copy)
    f.res.headersSent = true
    f.res.writableLength = 1 << 20
    expect(idleVerdict(as(f))).toBe('response') // the client stopped reading a download
    f.res.writableLength = 0
    f.res.writableFinished = true
    expect(idleVerdict(as(f))).toBe('no-request')
    expect(idleVerdict(undefined)).toBe('no-request')
  })
})

describe('IdleWatchdog', () => {
  it('arms the server timeout and cuts a stalled body on the socket timeout', () => {
    const s = server()
    const w = new IdleWatchdog(s, 3000)
    expect(s.timeout).toBe(3000)
    const { req, res, socket } = fakes()
    const cuts: string[] = []
    w.watch(req as never, res as never, (k) => cuts.push(k))
    s.emit('timeout', socket)
    expect(cuts).toEqual(['body'])
    expect(socket.destroyed).toBe(false) // the cut (answer, then close) is the caller's
  })

  it('re-arms while the server is the slow side, and closes idle keep-alive sockets after the keep-alive time', () => {
    const s = server()
    const w = new IdleWatchdog(s, 3000)
    const busy = fakes()
    busy.req.complete = true
    const cuts: string[] = []
    w.watch(busy.req as never, busy.res as never, (k) => cuts.push(k))
    s.emit('timeout', busy.socket)
    expect(cuts).toEqual([])
    expect(busy.socket.timeouts).toEqual([3000])
    busy.res.writableFinished = true
    s.emit('timeout', busy.socket) // idle for 3 s: the rest of the 65 s keep-alive
    expect(busy.socket.destroyed).toBe(false)
    expect(busy.socket.timeouts).toEqual([3000, 62_000])
    s.emit('timeout', busy.socket) // idle for 65 s
    expect(busy.socket.destroyed).toBe(true)
    expect(cuts).toEqual([])
  })

  it('puts a stretched socket back on the idle clock when its next request comes', () => {
    const s = server()
    const w = new IdleWatchdog(s, 3000, 10_000)
    const first = fakes()
    const cuts: string[] = []
    w.watch(first.req as never, first.res as never, (k) => cuts.push(k))
    first.req.complete = true
    first.res.writableFinished = true
    w.release(first.req as never, first.res as never)
    s.emit('timeout', first.socket)
    expect(first.socket.timeouts).toEqual([7000])
    // The next request on the same connection: its stalled body is cut after 3 s, not 7.
    const next = fakes()
    const socket = first.socket
    Object.assign(next.req, { socket })
    w.watch(next.req as never, next.res as never, (k) => cuts.push(k))
    expect(socket.timeouts).toEqual([7000, 3000])
    s.emit('timeout', socket)
    expect(cuts).toEqual(['body'])
    expect(socket.destroyed).toBe(false)
    // A request on a socket that was never stretched leaves its timer alone.
    const other = fakes()
    w.watch(other.req as never, other.res as never, () => {})
    expect(other.socket.timeouts).toEqual([])
  })

  it('closes an idle socket at once when the keep-alive time is not longer than the idle time', () => {
    const s = server()
    new IdleWatchdog(s, 3000, 3000)
    const { socket } = fakes()
    s.emit('timeout', socket)
    expect(socket.destroyed).toBe(true)
    expect(socket.timeouts).toEqual([])
  })

  it('keeps an answered request whose body never came on the idle clock', () => {
    const s = server()
    const w = new IdleWatchdog(s, 3000)
    const { req, res, socket } = fakes()
    const cuts: string[] = []
    w.watch(req as never, res as never, (k) => cuts.push(k))
    res.emit('finish') // an early error answer went out; the socket's timer is not touched
    expect(socket.timeouts).toEqual([])
    res.writableFinished = true
    s.emit('timeout', socket)
    expect(cuts).toEqual(['body'])
  })

  it('release forgets a finished request (the socket then closes when idle) but keeps one still owed a body', () => {
    const s = server()
    const w = new IdleWatchdog(s, 3000)
    const owed = fakes()
    const cuts: string[] = []
    w.watch(owed.req as never, owed.res as never, (k) => cuts.push(k))
    owed.res.writableFinished = true
    w.release(owed.req as never, owed.res as never) // the body is not in: still watched
    s.emit('timeout', owed.socket)
    expect(cuts).toEqual(['body'])

    const done = fakes()
    w.watch(done.req as never, done.res as never, (k) => cuts.push(k))
    done.req.complete = true
    done.res.writableFinished = true
    w.release(done.req as never, done.res as never)
    const held = Object.getOwnPropertySymbols(done.socket).map(
      (k) => (done.socket as unknown as Record<symbol, { req?: unknown } | undefined>)[k],
    )
    expect(held.some((v) => v?.req === done.req)).toBe(false) // the socket no longer holds it
    s.emit('timeout', done.socket)
    s.emit('timeout', done.socket) // idle past the keep-alive time
    expect(done.socket.destroyed).toBe(true)
    expect(cuts).toEqual(['body'])
  })
})
