/**
 * Sessions: the active temporary credentials (parent, name, source, created, expiry), paged by
 * the server; revoke one, or every session of a parent (refused on the very next request).
 */
import { useState } from 'preact/hooks'
import { api, enc, listPage, qs } from '../api.ts'
import {
  ConfirmButton,
  ErrorBox,
  Notice,
  PageTitle,
  fmtDate,
  useLoad,
  Pager,
} from '../components.tsx'
import { consoleAccessKey } from '../s3.ts'

interface SessionRow {
  access_key: string
  customer: string | null
  parent: { kind: string; user_id?: string; username?: string; access_key?: string | null }
  name?: string
  session_name?: string
  source?: string
  created_at?: string
  issued_at?: string
  expires_at: string
  has_policy: boolean
  /** Upload caps and their usage (issue 13), when the session has any. */
  caps?: unknown
}

const PAGE = 50

export function Sessions() {
  const [offset, setOffset] = useState(0)
  const list = useLoad(
    () => listPage<SessionRow>(`/sessions${qs({ limit: PAGE, offset })}`),
    [offset],
  )
  const [msg, setMsg] = useState('')
  const mine = useLoad(consoleAccessKey, [])
  return (
    <section>
      <PageTitle>Sessions</PageTitle>
      <p class="muted">
        Temporary credentials alive now. Revoking one refuses its very next request.
      </p>
      <ErrorBox error={list.error} />
      {msg !== '' && <Notice>{msg}</Notice>}
      {list.value !== undefined &&
        (list.value.items.length === 0 ? (
          <p>No active sessions.</p>
        ) : (
          <table>
            <caption class="sr-only">Sessions</caption>
            <thead>
              <tr>
                <th scope="col">Access key</th>
                <th scope="col">Parent</th>
                <th scope="col">Name</th>
                <th scope="col">Source</th>
                <th scope="col">Created</th>
                <th scope="col">Expires</th>
                <th scope="col">Actions</th>
              </tr>
            </thead>
            <tbody>
              {list.value.items.map((s) => {
                const parentKey = s.parent.access_key ?? s.parent.user_id ?? ''
                const parentLabel =
                  s.parent.kind === 'user'
                    ? `${s.parent.username ?? s.parent.user_id ?? '?'}${s.customer ? ` @ ${s.customer}` : ''}`
                    : `master key${s.customer ? ` of ${s.customer}` : ''}`
                return (
                  <tr key={s.access_key}>
                    <td class="mono">
                      {s.access_key}
                      {mine.value === s.access_key && <span class="muted"> (this console)</span>}
                    </td>
                    <td>{parentLabel}</td>
                    <td>{s.name ?? s.session_name ?? ''}</td>
                    <td>
                      {s.source ?? '—'}
                      {s.caps !== undefined && s.caps !== null && (
                        <div class="mono muted">{`caps: ${JSON.stringify(s.caps)}`}</div>
                      )}
                    </td>
                    <td>{fmtDate(s.created_at ?? s.issued_at)}</td>
                    <td>{fmtDate(s.expires_at)}</td>
                    <td class="actions">
                      <ConfirmButton
                        label="Revoke"
                        danger
                        question={`Revoke ${s.access_key}?`}
                        onConfirm={async () => {
                          await api('DELETE', `/sessions/${enc(s.access_key)}`)
                          setMsg(`Revoked ${s.access_key}.`)
                          list.reload()
                        }}
                      />{' '}
                      {parentKey !== '' && (
                        <ConfirmButton
                          label="Revoke all of parent"
                          danger
                          question={`Revoke every session of ${parentLabel}?`}
                          onConfirm={async () => {
                            const r = await api<{ revoked: number }>(
                              'DELETE',
                              `/sessions${qs({ parent: parentKey })}`,
                            )
                            setMsg(
                              `Revoked ${r.revoked} session${r.revoked === 1 ? '' : 's'} of ${parentLabel}.`,
                            )
                            list.reload()
                          }}
                        />
                      )}
                    </td>
                  </tr>
                )
              })}
            </tbody>
          </table>
        ))}
      {list.value !== undefined && (list.value.next !== undefined || offset > 0) && (
        <Pager offset={offset} page={PAGE} next={list.value.next} onOffset={setOffset} />
      )}
    </section>
  )
}
