/**
 * Account: change one's own password, enrol or remove one's own TOTP (QR code), sign out.
 */
import { useState } from 'preact/hooks'
import { api } from '../api.ts'
import { ErrorBox, Field, Notice, PageTitle } from '../components.tsx'
import { useSession } from '../session.ts'
import { TotpQr } from './UserDetail.tsx'

export function Account() {
  const { session, signOut, refresh } = useSession()
  const me = session.me
  const [pw, setPw] = useState({ current: '', next: '', again: '' })
  const [pwErr, setPwErr] = useState<unknown>(undefined)
  const [pwMsg, setPwMsg] = useState('')
  const [totpPw, setTotpPw] = useState('')
  const [totpOtp, setTotpOtp] = useState('')
  const [totpErr, setTotpErr] = useState<unknown>(undefined)
  const [enrol, setEnrol] = useState<{ secret: string; otpauth_url: string } | undefined>(undefined)
  return (
    <section>
      <PageTitle>Account</PageTitle>
      <p>
        Signed in as <strong>{me.username}</strong> ({me.role}
        {me.customer !== '' ? `, customer ${me.customer}` : ''}).
      </p>
      {me.kind === 'operator' ? (
        <div>
          <h2>Password and one-time codes</h2>
          <p>
            The operator (root) signs in with the password printed at first start. Change it on the
            server with <code>npx latchkey admin reset-root-password</code>; the operator has no
            one-time codes. For day-to-day work create a SuperUser with TOTP on the Users page.
          </p>
        </div>
      ) : (
        <div>
          <h2>Change password</h2>
          <form
            class="grid-form"
            aria-label="Change password"
            onSubmit={async (e) => {
              e.preventDefault()
              setPwErr(undefined)
              setPwMsg('')
              if (pw.next !== pw.again) {
                setPwErr('The new passwords do not match.')
                return
              }
              try {
                await api('PUT', '/me/password', {
                  current_password: pw.current,
                  new_password: pw.next,
                })
                setPw({ current: '', next: '', again: '' })
                setPwMsg('Password changed.')
              } catch (x) {
                setPwErr(x)
              }
            }}
          >
            <Field
              label="Current password"
              type="password"
              value={pw.current}
              onInput={(v) => setPw({ ...pw, current: v })}
              autoComplete="current-password"
              required
            />
            <Field
              label="New password"
              type="password"
              value={pw.next}
              onInput={(v) => setPw({ ...pw, next: v })}
              autoComplete="new-password"
              required
            />
            <Field
              label="New password again"
              type="password"
              value={pw.again}
              onInput={(v) => setPw({ ...pw, again: v })}
              autoComplete="new-password"
              required
            />
            <ErrorBox error={pwErr} />
            {pwMsg !== '' && <Notice>{pwMsg}</Notice>}
            <div>
              <button type="submit">Change password</button>
            </div>
          </form>
          <h2>Two-factor (TOTP)</h2>
          {enrol !== undefined && (
            <TotpQr
              secret={enrol.secret}
              url={enrol.otpauth_url}
              onDone={() => {
                setEnrol(undefined)
                void refresh()
              }}
            />
          )}
          <form
            class="grid-form"
            aria-label={me.totp_enabled ? 'Remove TOTP' : 'Enrol TOTP'}
            onSubmit={async (e) => {
              e.preventDefault()
              setTotpErr(undefined)
              try {
                if (me.totp_enabled) {
                  await api('DELETE', '/me/totp', { password: totpPw, otp: totpOtp })
                  await refresh()
                } else setEnrol(await api('POST', '/me/totp', { password: totpPw }))
                setTotpPw('')
                setTotpOtp('')
              } catch (x) {
                setTotpErr(x)
              }
            }}
          >
            <p>
              {me.totp_enabled
                ? 'TOTP is on: signing in asks for a one-time code.'
                : 'TOTP is off.'}
            </p>
            <Field
              label="Password"
              type="password"
              value={totpPw}
              onInput={setTotpPw}
              autoComplete="current-password"
              required
            />
            {me.totp_enabled && (
              <Field
                label="One-time code"
                value={totpOtp}
                onInput={setTotpOtp}
                autoComplete="one-time-code"
                inputMode="numeric"
                required
              />
            )}
            <ErrorBox error={totpErr} />
            <div>
              <button type="submit">{me.totp_enabled ? 'Remove TOTP' : 'Enrol TOTP'}</button>
            </div>
          </form>
        </div>
      )}
      <h2>Sign out</h2>
      <button type="button" onClick={() => void signOut()}>
        Sign out
      </button>
    </section>
  )
}
