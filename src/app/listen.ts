/**
 * The listener with the app's surfaces plugged in. http/listener.ts is the wire layer and knows
 * no surface; this is where the composition root hands it the dispatcher (dispatch.ts) and the
 * per-surface RequestTimeout answer.
 * @module
 */
import { listen as listenHttp, type Listener } from '../http/listener.js'
import { dispatch, requestTimeoutAnswer, type Surfaces } from './dispatch.js'

export type { Listener }

export function listen(
  opts: Omit<Parameters<typeof listenHttp>[0], 'handler' | 'timeoutAnswer'> & {
    readonly surfaces: Surfaces
  },
): Promise<Listener> {
  const { surfaces, ...rest } = opts
  return listenHttp({
    ...rest,
    handler: (raw, ctx) => dispatch(raw, ctx, surfaces),
    timeoutAnswer: requestTimeoutAnswer,
  })
}
