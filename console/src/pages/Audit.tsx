/**
 * Audit: the audit trail, newest first, filtered by principal, action, customer and time,
 * paged by the server.
 */
import { useState } from 'preact/hooks'
import { listPage, qs } from '../api.ts'
import { ErrorBox, Field, PageTitle, fmtDate, useLoad, Pager } from '../components.tsx'

interface AuditRow {
  id: string
  time: string
  kind: string
  action: string
  principal: string | null
  resource: string | null
  decision: string | null
  source_ip?: string | null
}

const PAGE = 50

export function Audit() {
  const [f, setF] = useState({ principal: '', action: '', customer: '', since: '', until: '' })
  const [applied, setApplied] = useState(f)
  const [offset, setOffset] = useState(0)
  const list = useLoad(
    () => listPage<AuditRow>(`/audit${qs({ ...applied, limit: PAGE, offset })}`),
    [applied, offset],
  )
  const set = (k: keyof typeof f) => (v: string) => setF({ ...f, [k]: v })
  return (
    <section>
      <PageTitle>Audit</PageTitle>
      <form
        class="grid-form"
        aria-label="Filter audit events"
        onSubmit={(e) => {
          e.preventDefault()
          setOffset(0)
          setApplied(f)
        }}
      >
        <Field label="Principal" value={f.principal} onInput={set('principal')} />
        <Field
          label="Action"
          value={f.action}
          onInput={set('action')}
          hint="e.g. admin:RevealMasterKey"
        />
        <Field label="Customer" value={f.customer} onInput={set('customer')} />
        <Field
          label="Since"
          value={f.since}
          onInput={set('since')}
          hint="ISO 8601, e.g. 2026-01-31T00:00:00Z"
        />
        <Field label="Until" value={f.until} onInput={set('until')} />
        <div>
          <button type="submit">Filter</button>
        </div>
      </form>
      <ErrorBox error={list.error} />
      {list.value !== undefined && (
        <div>
          <p class="muted" role="status">{`${list.value.total} events`}</p>
          <table>
            <caption class="sr-only">Audit events</caption>
            <thead>
              <tr>
                <th scope="col">Time</th>
                <th scope="col">Action</th>
                <th scope="col">Principal</th>
                <th scope="col">Resource</th>
                <th scope="col">Decision</th>
              </tr>
            </thead>
            <tbody>
              {list.value.items.map((a) => (
                <tr key={a.id}>
                  <td>{fmtDate(a.time)}</td>
                  <td class="mono">{a.action}</td>
                  <td class="mono">{a.principal ?? '—'}</td>
                  <td class="mono">{a.resource ?? '—'}</td>
                  <td>{a.decision ?? '—'}</td>
                </tr>
              ))}
            </tbody>
          </table>
          <Pager offset={offset} page={PAGE} next={list.value.next} onOffset={setOffset} />
        </div>
      )}
    </section>
  )
}
