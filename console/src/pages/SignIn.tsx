/**
 * Sign in: Username, Password, Customer (empty for the operator and the default account), and
 * a One-time code field once the server answers OtpRequired. Errors and lockouts (429 with the
 * wait) are shown as the server words them.
 */
import { useState } from 'preact/hooks'
import { ApiError, signIn, type ConsoleSession } from '../api.ts'
import { ErrorBox, Field, Notice } from '../components.tsx'

export function SignIn(props: { expired: boolean; onSignedIn: (s: ConsoleSession) => void }) {
  const [username, setUsername] = useState('')
  const [password, setPassword] = useState('')
  const [customer, setCustomer] = useState('')
  const [otp, setOtp] = useState('')
  const [needOtp, setNeedOtp] = useState(false)
  const [error, setError] = useState<string>('')
  const [busy, setBusy] = useState(false)

  const submit = async (e: Event) => {
    e.preventDefault()
    setBusy(true)
    setError('')
    try {
      const s = await signIn({
        username,
        password,
        ...(customer.trim() !== '' ? { customer: customer.trim() } : {}),
        ...(needOtp && otp !== '' ? { otp } : {}),
      })
      setPassword('')
      setOtp('')
      props.onSignedIn(s)
    } catch (err) {
      if (err instanceof ApiError && /otp/i.test(err.code)) {
        setNeedOtp(true)
        setError(needOtp ? err.message : 'Enter the one-time code from your authenticator app.')
      } else if (err instanceof ApiError && err.status === 429) {
        const r = err.retryAfter
        setError(
          r === undefined
            ? `Too many attempts: ${err.message}`
            : `Too many failed sign-ins. Try again in ${r < 90 ? `${r} seconds` : `about ${Math.ceil(r / 60)} minutes`}.`,
        )
      } else if (err instanceof ApiError) {
        setError(err.message)
      } else setError(err instanceof Error ? err.message : String(err))
    } finally {
      setBusy(false)
    }
  }

  return (
    <main class="signin">
      <h1>Latchkey console</h1>
      {props.expired && <Notice>Your session ended. Please sign in again.</Notice>}
      <form onSubmit={submit} aria-label="Sign in">
        <Field
          label="Username"
          value={username}
          onInput={setUsername}
          autoComplete="username"
          required
          autoFocus
        />
        <Field
          label="Password"
          type="password"
          value={password}
          onInput={setPassword}
          autoComplete="current-password"
          required
        />
        <Field
          label="Customer"
          value={customer}
          onInput={setCustomer}
          autoComplete="organization"
          hint="Your customer account's name. Leave empty for the operator (root) and the default account."
        />
        {needOtp && (
          <Field
            label="One-time code"
            value={otp}
            onInput={setOtp}
            autoComplete="one-time-code"
            inputMode="numeric"
            required
            autoFocus
          />
        )}
        <ErrorBox error={error} />
        <button type="submit" disabled={busy}>
          Sign in
        </button>
      </form>
    </main>
  )
}
