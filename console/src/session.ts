/**
 * The signed-in session as the pages see it (who, what the menu may show, the operator's
 * maximum credential duration), passed down by context from the app root.
 */
import { createContext } from 'preact'
import { useContext } from 'preact/hooks'
import type { ConsoleSession } from './api.ts'

export interface SessionCtx {
  session: ConsoleSession
  signOut: () => Promise<void>
  refresh: () => Promise<void>
}

export const Session = createContext<SessionCtx | undefined>(undefined)

export function useSession(): SessionCtx {
  const s = useContext(Session)
  if (s === undefined) throw new Error('no session')
  return s
}
