/**
 * One user: role, activate/deactivate, delete; credentials (generate — the secret shown once
 * with copy, a .csv download, env lines and an aws profile —, replace, revoke, last used);
 * TOTP enrolment with a QR code (rendered by uqr as an SVG image, no network); the extra
 * (inline) policy in a validated JSON editor.
 */
import { useState } from 'preact/hooks'
import { renderSVG } from 'uqr'
import { ApiError, api, enc } from '../api.ts'
import {
  ConfirmButton,
  CopyField,
  ErrorBox,
  JsonEditor,
  Link,
  Notice,
  PageTitle,
  SecretOnce,
  Select,
  downloadText,
  fmtDate,
  useLoad,
  validatePolicy,
} from '../components.tsx'
import type { JsonProblem } from '../json-check.ts'
import { navigate } from '../router.ts'
import { awsProfile, csv, envLines, type KeyText } from '../snippets.ts'
import { ROLES, type User } from './Users.tsx'

export function UserDetail(props: { id: string }) {
  const path = `/users/${enc(props.id)}`
  const user = useLoad(() => api<User>('GET', path), [props.id])
  const [err, setErr] = useState<unknown>(undefined)
  const [notice, setNotice] = useState('')
  const u = user.value
  const patch = async (body: Record<string, unknown>, msg: string) => {
    setErr(undefined)
    setNotice('')
    try {
      await api('PATCH', path, body)
      setNotice(msg)
      user.reload()
    } catch (x) {
      setErr(x)
    }
  }
  return (
    <section>
      <PageTitle>{u !== undefined ? `User ${u.username}` : 'User'}</PageTitle>
      <p>
        <Link to="/users">All users</Link>
      </p>
      <ErrorBox error={user.error} />
      <ErrorBox error={err} />
      {notice !== '' && <Notice>{notice}</Notice>}
      {u !== undefined && (
        <div>
          <dl class="facts">
            <div>
              <dt>Customer</dt>
              <dd>{u.customer}</dd>
            </div>
            <div>
              <dt>Email</dt>
              <dd>{u.email ?? '—'}</dd>
            </div>
            <div>
              <dt>Name</dt>
              <dd>{[u.firstname, u.lastname].filter((x) => x).join(' ') || '—'}</dd>
            </div>
            <div>
              <dt>Status</dt>
              <dd>{u.is_active ? 'Active' : 'Inactive'}</dd>
            </div>
            <div>
              <dt>Created</dt>
              <dd>{fmtDate(u.created_at)}</dd>
            </div>
          </dl>
          <RoleForm role={u.role} onSave={(role) => patch({ role }, `Role changed to ${role}.`)} />
          <p>
            {u.is_active ? (
              <ConfirmButton
                label="Deactivate"
                question={`Deactivate ${u.username}? Its keys and sessions stop working.`}
                onConfirm={() => patch({ is_active: false }, 'User deactivated.')}
              />
            ) : (
              <button
                type="button"
                onClick={() => void patch({ is_active: true }, 'User activated.')}
              >
                Activate
              </button>
            )}{' '}
            <ConfirmButton
              label="Delete user"
              danger
              question={`Delete ${u.username} for good?`}
              onConfirm={async () => {
                await api('DELETE', path)
                navigate('/users')
              }}
            />
          </p>
          <Credentials user={u} path={path} reload={user.reload} />
          <Totp user={u} path={path} reload={user.reload} />
          <UserPolicy path={path} />
        </div>
      )}
    </section>
  )
}

function RoleForm(props: { role: string; onSave: (role: string) => void }) {
  const [role, setRole] = useState(props.role)
  return (
    <form
      class="inline-form"
      aria-label="Change role"
      onSubmit={(e) => {
        e.preventDefault()
        props.onSave(role)
      }}
    >
      <Select label="Role" value={role} onChange={setRole} options={ROLES} />
      <button type="submit" disabled={role === props.role}>
        Change role
      </button>
    </form>
  )
}

function Credentials(props: { user: User; path: string; reload: () => void }) {
  const { user, path } = props
  const [made, setMade] = useState<KeyText | undefined>(undefined)
  const [err, setErr] = useState<unknown>(undefined)
  const generate = async () => {
    setErr(undefined)
    try {
      const r = await api<{ access_key: string; secret_key: string }>('POST', `${path}/credentials`)
      setMade({ accessKeyId: r.access_key, secretAccessKey: r.secret_key })
      props.reload()
    } catch (x) {
      setErr(x)
    }
  }
  return (
    <section aria-labelledby="cred-h">
      <h2 id="cred-h">Credentials</h2>
      {user.access_key ? (
        <dl class="facts">
          <div>
            <dt>Access key</dt>
            <dd class="mono">{user.access_key}</dd>
          </div>
          <div>
            <dt>Created</dt>
            <dd>{fmtDate(user.access_key_created_at)}</dd>
          </div>
          <div>
            <dt>Last used</dt>
            <dd>
              {user.access_key_last_used_at ? fmtDate(user.access_key_last_used_at) : 'Never'}
            </dd>
          </div>
        </dl>
      ) : (
        <p>No access key.</p>
      )}
      <ErrorBox error={err} />
      {made !== undefined ? (
        <SecretOnce
          title="New access key"
          values={[
            ['Access key ID', made.accessKeyId],
            ['Secret access key', made.secretAccessKey],
          ]}
          onDone={() => setMade(undefined)}
        >
          <p>
            <button
              type="button"
              class="secondary"
              onClick={() => downloadText(`${user.username}_accessKeys.csv`, csv(made), 'text/csv')}
            >
              Download .csv
            </button>
          </p>
          <CopyField label="Environment" value={envLines(made)} multiline />
          <CopyField
            label="aws credentials profile"
            value={awsProfile(made, user.username)}
            multiline
          />
        </SecretOnce>
      ) : user.access_key ? (
        <p>
          <ConfirmButton
            label="Replace key"
            question="Replace the key? The old one stops working at once."
            onConfirm={generate}
          />{' '}
          <ConfirmButton
            label="Revoke key"
            danger
            question="Revoke the key? Apps using it stop working."
            onConfirm={async () => {
              await api('DELETE', `${path}/credentials`)
              props.reload()
            }}
          />
        </p>
      ) : (
        <button type="button" onClick={() => void generate()}>
          Generate key
        </button>
      )}
    </section>
  )
}

function Totp(props: { user: User; path: string; reload: () => void }) {
  const [enrol, setEnrol] = useState<{ secret: string; otpauth_url: string } | undefined>(undefined)
  const [err, setErr] = useState<unknown>(undefined)
  return (
    <section aria-labelledby="totp-h">
      <h2 id="totp-h">Two-factor (TOTP)</h2>
      <ErrorBox error={err} />
      {enrol !== undefined && (
        <TotpQr secret={enrol.secret} url={enrol.otpauth_url} onDone={() => setEnrol(undefined)} />
      )}
      {props.user.totp_enabled ? (
        <p>
          Enabled.{' '}
          <ConfirmButton
            label="Remove TOTP"
            danger
            question="Remove this user's TOTP? It signs in with the password alone."
            onConfirm={async () => {
              await api('DELETE', `${props.path}/totp`)
              props.reload()
            }}
          />
        </p>
      ) : (
        enrol === undefined && (
          <button
            type="button"
            onClick={async () => {
              setErr(undefined)
              try {
                setEnrol(await api('POST', `${props.path}/totp`))
                props.reload()
              } catch (x) {
                setErr(x)
              }
            }}
          >
            Enrol TOTP
          </button>
        )
      )}
    </section>
  )
}

export function TotpQr(props: { secret: string; url: string; onDone: () => void }) {
  const svg = renderSVG(props.url, { border: 2 })
  const src = `data:image/svg+xml;charset=utf-8,${encodeURIComponent(svg)}`
  return (
    <div class="secret-once">
      <p class="warn">Scan this code with an authenticator app now; it is shown only this once.</p>
      <img
        src={src}
        width={200}
        height={200}
        alt="QR code of the TOTP secret for an authenticator app"
      />
      <CopyField label="TOTP secret" value={props.secret} />
      <button type="button" onClick={props.onDone}>
        Done
      </button>
    </div>
  )
}

function UserPolicy(props: { path: string }) {
  const [text, setText] = useState<string | undefined>(undefined)
  const [has, setHas] = useState(false)
  const [problems, setProblems] = useState<JsonProblem[]>([])
  const [msg, setMsg] = useState('')
  const [err, setErr] = useState<unknown>(undefined)
  const example = JSON.stringify(
    {
      Version: '2012-10-17',
      Statement: [
        { Effect: 'Allow', Action: ['s3:GetObject'], Resource: ['arn:aws:s3:::BUCKET/*'] },
      ],
    },
    null,
    2,
  )
  const loaded = useLoad(async () => {
    try {
      const p = await api<unknown>('GET', `${props.path}/policy`)
      setText(JSON.stringify(p, null, 2))
      setHas(true)
    } catch (x) {
      if (x instanceof ApiError && x.status === 404) {
        setText(example)
        setHas(false)
      } else throw x
    }
    return true
  }, [props.path])
  return (
    <section aria-labelledby="pol-h">
      <h2 id="pol-h">Extra policy</h2>
      <p class="muted">
        An inline IAM policy added to what the role allows (an explicit Deny wins).
      </p>
      <ErrorBox error={loaded.error} />
      {text !== undefined && (
        <form
          onSubmit={async (e) => {
            e.preventDefault()
            setMsg('')
            setErr(undefined)
            const p = await validatePolicy(text, 'identity')
            setProblems(p)
            if (p.length > 0) return
            try {
              await api('PUT', `${props.path}/policy`, JSON.parse(text))
              setHas(true)
              setMsg('Policy saved.')
            } catch (x) {
              setErr(x)
            }
          }}
        >
          {!has && <p>No extra policy. An example is filled in below.</p>}
          <JsonEditor
            label="Extra policy (JSON)"
            value={text}
            onInput={(v) => {
              setText(v)
              setProblems([])
            }}
            problems={problems}
            rows={10}
          />
          <ErrorBox error={err} />
          {msg !== '' && <Notice>{msg}</Notice>}
          <button type="submit">Validate and save policy</button>{' '}
          {has && (
            <ConfirmButton
              label="Remove policy"
              danger
              question="Remove the extra policy?"
              onConfirm={async () => {
                await api('DELETE', `${props.path}/policy`)
                setHas(false)
                setText(example)
                setMsg('Policy removed.')
              }}
            />
          )}
        </form>
      )}
    </section>
  )
}
