import { describe, it, expect } from 'vitest'
import { EventEmitter } from 'node:events'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { IdleWatchdog } from './idle-watchdog.js'

/** Just the fields the watchdog reads, driven by hand. */
function fakes(): {
  req: IncomingMessage & { complete: boolean; readableLength: number }
  res: ServerResponse & { headersSent: boolean; writableLength: number }
  socket: { bytesRead: number; bytesWritten: number; destroyed: boolean }
} {
  const socket = { bytesRead: 0, bytesWritten: 0, destroyed: false }
  const req = Object.assign(new EventEmitter(), { socket, complete: false, readableLength: 0 })
  const res = Object.assign(new EventEmitter(), { headersSent: false, writableLength: 0 })
  return { req: req as never, res: res as never, socket }
}

describe('IdleWatchdog', () => {
  it('cuts a body that stops arriving, after the idle time and not before', () => {
    let now = 0
    const w = new IdleWatchdog(1000, () => now)
    const { req, res, socket } = fakes()
    const cuts: string[] = []
    w.watch(req, res, (k) => cuts.push(k))
    now = 900
    socket.bytesRead = 10 // progress
    w.scan()
    now = 1800
    w.scan()
    expect(cuts).toEqual([])
    now = 1900
    w.scan()
    expect(cuts).toEqual(['body'])
    w.close()
  })

  it('does not cut while the server is the slow side (bytes buffered unread, or work after the body)', () => {
    let now = 0
    const w = new IdleWatchdog(1000, () => now)
    const a = fakes()
    a.req.readableLength = 65536 // we have not read what came
    const b = fakes()
    b.req.complete = true // body in, the server is working (a long copy)
    const cuts: string[] = []
    w.watch(a.req, a.res, () => cuts.push('a'))
    w.watch(b.req, b.res, () => cuts.push('b'))
    now = 10_000
    w.scan()
    expect(cuts).toEqual([])
    w.close()
  })

  it('cuts a download the client stopped reading', () => {
    let now = 0
    const w = new IdleWatchdog(1000, () => now)
    const { req, res } = fakes()
    req.complete = true
    res.headersSent = true
    res.writableLength = 1 << 20
    const cuts: string[] = []
    w.watch(req, res, (k) => cuts.push(k))
    now = 1000
    w.scan()
    expect(cuts).toEqual(['response'])
    w.close()
  })

  it('keeps watching an answered request whose body never finished, and forgets finished ones', () => {
    let now = 0
    const w = new IdleWatchdog(1000, () => now)
    const done = fakes()
    done.req.complete = true
    const stalled = fakes()
    const cuts: string[] = []
    w.watch(done.req, done.res, () => cuts.push('done'))
    w.watch(stalled.req, stalled.res, () => cuts.push('stalled'))
    done.res.emit('close')
    stalled.res.emit('close') // an early error answer went out; the body is still owed
    now = 2000
    w.scan()
    expect(cuts).toEqual(['stalled'])
    w.close()
  })
})
