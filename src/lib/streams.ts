/**
 * Stream wiring for request bodies, so that no client can take the process down.
 *
 * Node throws an `'error'` event that nobody listens to, and a body is consumed in stages: the
 * payload verifier is piped in at authentication, a probe reads the head to decide inline vs blob,
 * then a blob store attaches its pipeline after an await (opening a temp file). Between two
 * stages nobody listens, and a client that resets the connection or sends a garbled chunk right
 * then used to crash the server. Hence two rules for every stream a body passes through:
 *
 * - every Transform on a body path extends `BodyTransform`, which observes its own errors. The
 *   error is not lost: a destroyed stream keeps it in `errored`, and whoever consumes the stream
 *   later (`pipeline()`, an async iterator) is rejected with it;
 * - a source is connected with `pipeInto`, never a bare `.pipe()`: `pipe` forwards no errors,
 *   so an upstream failure (client abort, short body) must destroy the destination with a
 *   typed error, or the consumer would wait forever.
 *
 * The source is not destroyed when the destination fails: the request must stay readable so the
 * error answer can be sent on a live connection (see `http/drain`).
 * @module
 */
import { Transform, type Duplex, type Readable, type TransformOptions } from 'node:stream'

function ignore(): void {}

/** Make `stream`'s errors observed; consumers read them from the destroyed stream. */
export function observeErrors<S extends { on(event: 'error', fn: (e: Error) => void): unknown }>(
  stream: S,
): S {
  stream.on('error', ignore)
  return stream
}

/** A Transform whose errors can never be an unhandled 'error' event (see the module note). */
export class BodyTransform extends Transform {
  constructor(opts?: TransformOptions) {
    super(opts)
    this.on('error', ignore)
  }
}

/**
 * `source.pipe(dest)` with failures carried over: an error or abort on `source` destroys `dest`
 * with `toError(cause)` (cause is undefined for a bare abort). Returns `dest`.
 */
export function pipeInto<D extends Duplex>(
  source: Readable,
  dest: D,
  toError: (cause: unknown) => Error,
): D {
  observeErrors(dest)
  const fail = (cause: unknown): void => {
    if (!dest.destroyed) dest.destroy(toError(cause))
  }
  // A source that already failed (its error emitted, or destroyed before its end) will emit
  // nothing more: `pipe` would leave `dest` waiting forever. A payload decoder that meets a
  // garbled frame while nobody reads yet is such a source for the next stage.
  if (source.errored !== null || (source.destroyed && !source.readableEnded)) {
    fail(source.errored ?? undefined)
    return dest
  }
  source.on('error', fail)
  // An IncomingMessage whose client went away emits 'aborted' (and no 'end').
  source.on('aborted', () => fail(undefined))
  source.pipe(dest)
  return dest
}
