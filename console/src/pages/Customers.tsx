/**
 * Customers (root and reseller SuperUsers): the customers and resellers one manages, create
 * one, open its Master key page, and edit its address allow-list (CIDRs, one per line).
 */
import { useState } from 'preact/hooks'
import { api, enc, listPage, qs } from '../api.ts'
import {
  ErrorBox,
  Field,
  Link,
  Notice,
  PageTitle,
  Select,
  fmtDate,
  useId,
  useLoad,
  Pager,
} from '../components.tsx'
import { useSession } from '../session.ts'

interface Customer {
  id: string
  name: string
  type: string
  reseller: string | null
  created_at: string | null
  allowlist: string[]
  master_access_key: string
}

const PAGE = 50

export function Customers() {
  const { session } = useSession()
  const [offset, setOffset] = useState(0)
  const list = useLoad(
    () => listPage<Customer>(`/customers${qs({ limit: PAGE, offset })}`),
    [offset],
  )
  const [form, setForm] = useState({ name: '', type: 'customer', reseller: '' })
  const [err, setErr] = useState<unknown>(undefined)
  const [msg, setMsg] = useState('')
  const [editing, setEditing] = useState<string | undefined>(undefined)
  return (
    <section>
      <PageTitle>Customers</PageTitle>
      <ErrorBox error={list.error} />
      {msg !== '' && <Notice>{msg}</Notice>}
      {list.value !== undefined && (
        <table>
          <caption class="sr-only">Customers</caption>
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Type</th>
              <th scope="col">Reseller</th>
              <th scope="col">Created</th>
              <th scope="col">Allow-list</th>
              <th scope="col">Actions</th>
            </tr>
          </thead>
          <tbody>
            {list.value.items.map((c) => (
              <tr key={c.id}>
                <td>{c.name}</td>
                <td>{c.type}</td>
                <td>{c.reseller ?? '—'}</td>
                <td>{fmtDate(c.created_at)}</td>
                <td class="mono">
                  {c.allowlist.length === 0 ? 'any address' : c.allowlist.join(', ')}
                </td>
                <td class="actions">
                  <Link
                    to={`/customers/${encodeURIComponent(c.name)}/master-key`}
                  >{`Master key of ${c.name}`}</Link>{' '}
                  <button
                    type="button"
                    class="secondary"
                    onClick={() => setEditing(editing === c.name ? undefined : c.name)}
                  >
                    {`Edit allow-list of ${c.name}`}
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {list.value !== undefined && (list.value.next !== undefined || offset > 0) && (
        <Pager offset={offset} page={PAGE} next={list.value.next} onOffset={setOffset} />
      )}
      {editing !== undefined && (
        <AllowList
          key={editing}
          customer={editing}
          initial={list.value?.items.find((c) => c.name === editing)?.allowlist ?? []}
          onSaved={() => {
            setMsg(`Allow-list of ${editing} saved.`)
            setEditing(undefined)
            list.reload()
          }}
        />
      )}
      <h2>Create customer</h2>
      <form
        class="grid-form"
        aria-label="Create customer"
        onSubmit={async (e) => {
          e.preventDefault()
          setErr(undefined)
          setMsg('')
          try {
            await api('POST', '/customers', {
              name: form.name.trim(),
              type: form.type,
              ...(form.reseller.trim() !== '' ? { reseller: form.reseller.trim() } : {}),
            })
            setMsg(
              `Customer ${form.name.trim()} created. Open its master key page for its API Key and Secret.`,
            )
            setForm({ name: '', type: 'customer', reseller: '' })
            list.reload()
          } catch (x) {
            setErr(x)
          }
        }}
      >
        <Field
          label="Customer name"
          value={form.name}
          onInput={(v) => setForm({ ...form, name: v })}
          required
        />
        <Select
          label="Type"
          value={form.type}
          onChange={(v) => setForm({ ...form, type: v })}
          options={[
            ['customer', 'Customer'],
            ['reseller', 'Reseller'],
          ]}
        />
        {session.me.kind === 'operator' && form.type === 'customer' && (
          <Field
            label="Under reseller (optional)"
            value={form.reseller}
            onInput={(v) => setForm({ ...form, reseller: v })}
          />
        )}
        <ErrorBox error={err} />
        <div>
          <button type="submit">Create customer</button>
        </div>
      </form>
    </section>
  )
}

function AllowList(props: { customer: string; initial: string[]; onSaved: () => void }) {
  const [text, setText] = useState(props.initial.join('\n'))
  const [err, setErr] = useState<unknown>(undefined)
  const id = useId('al')
  return (
    <form
      aria-label={`Allow-list of ${props.customer}`}
      onSubmit={async (e) => {
        e.preventDefault()
        setErr(undefined)
        try {
          const cidrs = text
            .split(/[\n,]+/)
            .map((s) => s.trim())
            .filter((s) => s !== '')
          await api('PUT', `/customers/${enc(props.customer)}/allowlist`, { cidrs })
          props.onSaved()
        } catch (x) {
          setErr(x)
        }
      }}
    >
      <h2>{`Allow-list of ${props.customer}`}</h2>
      <div class="field">
        <label for={id}>Allowed addresses (CIDR, one per line; empty = any address)</label>
        <textarea
          id={id}
          class="mono"
          rows={5}
          value={text}
          onInput={(e) => setText((e.currentTarget as HTMLTextAreaElement).value)}
        />
      </div>
      <ErrorBox error={err} />
      <button type="submit">Save allow-list</button>
    </form>
  )
}
