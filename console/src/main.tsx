/**
 * The console's root: restore the session after a reload (GET /api/admin/console/session),
 * show Sign in when there is none, otherwise the layout with the navigation and the page the
 * path names. A 401 from any call (expired, revoked, signed out elsewhere) returns to Sign in
 * and forgets the in-memory S3 credentials.
 */
import { render } from 'preact'
import { useEffect, useState } from 'preact/hooks'
import { currentSession, onUnauthorized, signOut, type ConsoleSession } from './api.ts'
import { forgetCredentials } from './s3.ts'
import { Session } from './session.ts'
import { Layout } from './pages/Layout.tsx'
import { SignIn } from './pages/SignIn.tsx'

function App() {
  const [session, setSession] = useState<ConsoleSession | undefined>(undefined)
  const [loading, setLoading] = useState(true)
  const [expired, setExpired] = useState(false)

  useEffect(() => {
    onUnauthorized(() => {
      forgetCredentials()
      setSession(undefined)
      setExpired(true)
    })
    currentSession().then(
      (s) => {
        setSession(s)
        setLoading(false)
      },
      () => setLoading(false),
    )
  }, [])

  if (loading) return <p class="loading">Loading…</p>
  if (session === undefined)
    return (
      <SignIn
        expired={expired}
        onSignedIn={(s) => {
          setExpired(false)
          setSession(s)
        }}
      />
    )
  return (
    <Session.Provider
      value={{
        session,
        signOut: async () => {
          try {
            await signOut()
          } finally {
            forgetCredentials()
            setSession(undefined)
            setExpired(false)
          }
        },
        refresh: async () => {
          const s = await currentSession()
          if (s === undefined) {
            forgetCredentials()
            setSession(undefined)
          } else setSession(s)
        },
      }}
    >
      <Layout />
    </Session.Provider>
  )
}

const root = document.getElementById('app')
if (root !== null) render(<App />, root)
