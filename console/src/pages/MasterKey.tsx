/**
 * Master key (one customer account's root key): the API Key with a copy button; the API
 * Secret only after re-entering the password (and one-time code) — the server re-checks it,
 * throttles it like a login and records the reveal in the audit trail; Reset secret after a
 * confirmation, showing the new secret once and how many sessions died with the old one.
 * Secrets live in component state only and vanish when leaving the page.
 */
import { useState } from 'preact/hooks'
import { api, enc } from '../api.ts'
import {
  ConfirmButton,
  CopyField,
  ErrorBox,
  Field,
  Notice,
  PageTitle,
  SecretOnce,
  useLoad,
  fmtDate,
} from '../components.tsx'
import { useSession } from '../session.ts'

interface MasterKeyInfo {
  access_key: string
  created_at?: string | null
}

export function MasterKey(props: { customer: string }) {
  const customer = props.customer === '' ? 'default' : props.customer
  const { session } = useSession()
  const info = useLoad(
    () => api<MasterKeyInfo>('GET', `/customers/${enc(customer)}/master-key`),
    [customer],
  )
  const [password, setPassword] = useState('')
  const [otp, setOtp] = useState('')
  const [revealed, setRevealed] = useState<string | undefined>(undefined)
  const [revealErr, setRevealErr] = useState<unknown>(undefined)
  const [reset, setReset] = useState<
    { access_key: string; secret_key: string; sessions_revoked: number } | undefined
  >(undefined)
  const [busy, setBusy] = useState(false)

  const reveal = async (e: Event) => {
    e.preventDefault()
    setBusy(true)
    setRevealErr(undefined)
    try {
      const r = await api<{ access_key: string; secret_key: string }>(
        'POST',
        `/customers/${enc(customer)}/master-key/reveal`,
        { password, ...(otp !== '' ? { otp } : {}) },
      )
      setRevealed(r.secret_key)
      setPassword('')
      setOtp('')
    } catch (err) {
      setRevealErr(err)
    } finally {
      setBusy(false)
    }
  }

  return (
    <section>
      <PageTitle>Master key</PageTitle>
      <p>
        Account <strong>{customer}</strong>. Use these as <code>AWS_ACCESS_KEY_ID</code> and{' '}
        <code>AWS_SECRET_ACCESS_KEY</code> on a server (endpoint <code>{location.origin}</code>,
        path-style, region <code>us-east-1</code>). Never put them in a browser or a mobile app:
        mint temporary keys instead.
      </p>
      <ErrorBox error={info.error} />
      {info.value !== undefined && (
        <div>
          <CopyField label="API Key" value={reset?.access_key ?? info.value.access_key} />
          {info.value.created_at ? (
            <p class="muted">Created {fmtDate(info.value.created_at)}</p>
          ) : null}
        </div>
      )}
      {reset !== undefined ? (
        <SecretOnce
          title="New API Secret"
          values={[
            ['API Key', reset.access_key],
            ['API Secret', reset.secret_key],
          ]}
          onDone={() => {
            setReset(undefined)
            info.reload()
          }}
        >
          <Notice>
            The old secret no longer works.{' '}
            {reset.sessions_revoked === 1
              ? '1 session made with it was revoked.'
              : `${reset.sessions_revoked} sessions made with it were revoked.`}
          </Notice>
        </SecretOnce>
      ) : (
        <div class="field">
          <h2>API Secret</h2>
          {revealed !== undefined ? (
            <div>
              <CopyField label="API Secret" value={revealed} />
              <button type="button" class="secondary" onClick={() => setRevealed(undefined)}>
                Hide secret
              </button>
            </div>
          ) : (
            <form onSubmit={reveal} aria-label="Reveal the API Secret" class="inline-form">
              <p>
                The secret is hidden. Re-enter your password to reveal it (this is recorded in the
                audit trail).
              </p>
              <Field
                label="Your password"
                type="password"
                value={password}
                onInput={setPassword}
                autoComplete="current-password"
                required
              />
              {session.me.totp_enabled && (
                <Field
                  label="One-time code"
                  value={otp}
                  onInput={setOtp}
                  autoComplete="one-time-code"
                  inputMode="numeric"
                  required
                />
              )}
              <ErrorBox error={revealErr} />
              <button type="submit" disabled={busy}>
                Reveal secret
              </button>
            </form>
          )}
        </div>
      )}
      <h2>Reset secret</h2>
      <p>
        Makes a new API Secret. The old one stops working at once, with every session made with it.
      </p>
      <ConfirmButton
        label="Reset secret"
        danger
        question={`Reset the master key secret of ${customer}? Apps using it will stop working.`}
        onConfirm={async () => {
          const r = await api<{ access_key: string; secret_key: string; sessions_revoked: number }>(
            'POST',
            `/customers/${enc(customer)}/master-key/reset`,
          )
          setRevealed(undefined)
          setReset({ ...r, sessions_revoked: r.sessions_revoked ?? 0 })
        }}
      />
    </section>
  )
}
