/**
 * A tiny client-side router: paths below /console/ (the server answers index.html for them),
 * history.pushState on navigation, and a hook that re-renders on back/forward.
 */
import { useEffect, useState } from 'preact/hooks'

export const BASE = '/console'

type Listener = () => void
const listeners = new Set<Listener>()

export function currentRoute(): { path: string; query: URLSearchParams } {
  let p = location.pathname
  if (p.startsWith(BASE)) p = p.slice(BASE.length)
  if (p === '') p = '/'
  return { path: p, query: new URLSearchParams(location.search) }
}

export function navigate(to: string, replace = false): void {
  const url = `${BASE}${to}`
  if (replace) history.replaceState(null, '', url)
  else history.pushState(null, '', url)
  for (const l of listeners) l()
}

export function useRoute(): { path: string; query: URLSearchParams } {
  const [, setTick] = useState(0)
  useEffect(() => {
    const l = () => setTick((t) => t + 1)
    listeners.add(l)
    addEventListener('popstate', l)
    return () => {
      listeners.delete(l)
      removeEventListener('popstate', l)
    }
  }, [])
  return currentRoute()
}

export function href(to: string): string {
  return `${BASE}${to}`
}
