/**
 * Users (SuperUsers and root): server-side search (`q`) and paging (`limit`/`offset`, total
 * from x-total-count), and the create form (username, password, role, email, names, and the
 * customer for those who manage several).
 */
import { useState } from 'preact/hooks'
import { api, listPage, qs } from '../api.ts'
import {
  ErrorBox,
  Field,
  Link,
  PageTitle,
  Select,
  fmtDate,
  useLoad,
  Pager,
} from '../components.tsx'
import { navigate } from '../router.ts'
import { useSession } from '../session.ts'

export interface User {
  id: string
  username: string
  role: string
  is_active: boolean
  customer: string
  email: string | null
  firstname: string | null
  lastname: string | null
  created_at: string | null
  access_key: string | null
  access_key_created_at?: string | null
  access_key_last_used_at?: string | null
  totp_enabled: boolean
  has_policy: boolean
}

export const ROLES = ['Reader', 'Writer', 'SuperUser'] as const
const PAGE = 20

export function Users() {
  const { session } = useSession()
  const [q, setQ] = useState('')
  const [cust, setCust] = useState('')
  const [search, setSearch] = useState({ q: '', customer: '' })
  const [offset, setOffset] = useState(0)
  const list = useLoad(
    () =>
      listPage<User>(
        `/users${qs({ q: search.q, customer: search.customer, limit: PAGE, offset })}`,
      ),
    [search, offset],
  )

  const [form, setForm] = useState({
    username: '',
    password: '',
    role: 'Writer',
    email: '',
    firstname: '',
    lastname: '',
    customer: '',
  })
  const [err, setErr] = useState<unknown>(undefined)
  const set = (k: keyof typeof form) => (v: string) => setForm((f) => ({ ...f, [k]: v }))

  const create = async (e: Event) => {
    e.preventDefault()
    setErr(undefined)
    try {
      const u = await api<User>('POST', '/users', {
        username: form.username.trim(),
        password: form.password,
        role: form.role,
        ...(form.email !== '' ? { email: form.email } : {}),
        ...(form.firstname !== '' ? { firstname: form.firstname } : {}),
        ...(form.lastname !== '' ? { lastname: form.lastname } : {}),
        ...(form.customer.trim() !== '' ? { customer: form.customer.trim() } : {}),
      })
      navigate(`/users/${encodeURIComponent(u.id)}`)
    } catch (x) {
      setErr(x)
    }
  }

  const total = list.value?.total ?? 0
  return (
    <section>
      <PageTitle>Users</PageTitle>
      <form
        class="inline-form"
        role="search"
        onSubmit={(e) => {
          e.preventDefault()
          setOffset(0)
          setSearch({ q: q.trim(), customer: cust.trim() })
        }}
      >
        <Field label="Search users" value={q} onInput={setQ} hint="Username, email or name." />
        {session.me.can.customers && (
          <Field label="Only customer" value={cust} onInput={setCust} hint="A customer's name." />
        )}
        <button type="submit">Search</button>
      </form>
      <ErrorBox error={list.error} />
      {list.value !== undefined && (
        <div>
          <p class="muted" role="status">
            {total === 0
              ? 'No users found.'
              : `Users ${offset + 1}–${offset + list.value.items.length} of ${total}`}
          </p>
          {list.value.items.length > 0 && (
            <table>
              <caption class="sr-only">Users</caption>
              <thead>
                <tr>
                  <th scope="col">Username</th>
                  <th scope="col">Customer</th>
                  <th scope="col">Role</th>
                  <th scope="col">Status</th>
                  <th scope="col">Access key</th>
                  <th scope="col">Key last used</th>
                </tr>
              </thead>
              <tbody>
                {list.value.items.map((u) => (
                  <tr key={u.id}>
                    <td>
                      <Link to={`/users/${encodeURIComponent(u.id)}`}>{u.username}</Link>
                    </td>
                    <td>{u.customer}</td>
                    <td>{u.role}</td>
                    <td>{u.is_active ? 'Active' : 'Inactive'}</td>
                    <td class="mono">{u.access_key ?? '—'}</td>
                    <td>
                      {u.access_key
                        ? u.access_key_last_used_at
                          ? fmtDate(u.access_key_last_used_at)
                          : 'Never'
                        : '—'}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
          <Pager offset={offset} page={PAGE} next={list.value.next} onOffset={setOffset} />
        </div>
      )}
      <h2>Create user</h2>
      <form onSubmit={create} aria-label="Create user" class="grid-form">
        <Field
          label="New username"
          value={form.username}
          onInput={set('username')}
          required
          autoComplete="off"
        />
        <Field
          label="New user's password"
          type="password"
          value={form.password}
          onInput={set('password')}
          required
          autoComplete="new-password"
        />
        <Select label="Role" value={form.role} onChange={set('role')} options={ROLES} />
        <Field
          label="Email"
          type="email"
          value={form.email}
          onInput={set('email')}
          autoComplete="off"
        />
        <Field
          label="First name"
          value={form.firstname}
          onInput={set('firstname')}
          autoComplete="off"
        />
        <Field
          label="Last name"
          value={form.lastname}
          onInput={set('lastname')}
          autoComplete="off"
        />
        {session.me.can.customers && (
          <Field
            label="In customer"
            value={form.customer}
            onInput={set('customer')}
            hint="Leave empty for your own account."
          />
        )}
        <ErrorBox error={err} />
        <div>
          <button type="submit">Create user</button>
        </div>
      </form>
    </section>
  )
}
