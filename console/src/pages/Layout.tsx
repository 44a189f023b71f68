/**
 * The signed-in frame: a skip link, the header (who is signed in, Sign out), the navigation
 * (only what `me.can` allows; the API refuses the rest anyway) and the page for the path.
 * Focus moves to the page heading after each navigation so keyboard and screen-reader users
 * land on the new content.
 */
import { useEffect } from 'preact/hooks'
import type { Can } from '../api.ts'
import { Link } from '../components.tsx'
import { navigate, useRoute } from '../router.ts'
import { useSession } from '../session.ts'
import { AccessKeys } from './AccessKeys.tsx'
import { Account } from './Account.tsx'
import { Audit } from './Audit.tsx'
import { BucketBrowser } from './BucketBrowser.tsx'
import { Buckets } from './Buckets.tsx'
import { Builder } from './Builder.tsx'
import { Customers } from './Customers.tsx'
import { MasterKey } from './MasterKey.tsx'
import { Policies } from './Policies.tsx'
import { Sessions } from './Sessions.tsx'
import { UserDetail } from './UserDetail.tsx'
import { Users } from './Users.tsx'

interface NavItem {
  to: string
  label: string
  can?: keyof Can
  children?: NavItem[]
}

const NAV: NavItem[] = [
  { to: '/buckets', label: 'Buckets', can: 'buckets' },
  {
    to: '/access-keys',
    label: 'Access keys',
    children: [{ to: '/access-keys/master-key', label: 'Master key', can: 'master_key' }],
  },
  { to: '/users', label: 'Users', can: 'users' },
  { to: '/sessions', label: 'Sessions', can: 'sessions' },
  { to: '/builder', label: 'Credential builder' },
  { to: '/policies', label: 'Policies', can: 'policies' },
  { to: '/customers', label: 'Customers', can: 'customers' },
  { to: '/audit', label: 'Audit', can: 'audit' },
  { to: '/account', label: 'Account' },
]

function NavList(props: { items: NavItem[]; can: Can; path: string }) {
  const shown = props.items.filter((i) => i.can === undefined || props.can[i.can])
  return (
    <ul>
      {shown.map((i) => {
        const active = props.path === i.to || props.path.startsWith(i.to + '/')
        return (
          <li key={i.to}>
            <Link
              to={i.to}
              aria-current={props.path === i.to ? 'page' : undefined}
              class={active ? 'active' : ''}
            >
              {i.label}
            </Link>
            {i.children !== undefined && (
              <NavList items={i.children} can={props.can} path={props.path} />
            )}
          </li>
        )
      })}
    </ul>
  )
}

function Page(props: { path: string; query: URLSearchParams }) {
  const { path, query } = props
  const parts = path
    .split('/')
    .filter((s) => s !== '')
    .map(decodeURIComponent)
  const { session } = useSession()
  const me = session.me
  switch (parts[0]) {
    case undefined:
    case 'buckets':
      if (parts[1] !== undefined)
        return <BucketBrowser bucket={parts[1]} prefix={query.get('prefix') ?? ''} />
      return <Buckets />
    case 'access-keys':
      if (parts[1] === 'master-key') return <MasterKey customer={me.customer} />
      return <AccessKeys />
    case 'users':
      if (parts[1] !== undefined) return <UserDetail id={parts[1]} />
      return <Users />
    case 'sessions':
      return <Sessions />
    case 'builder':
      return <Builder />
    case 'policies':
      return <Policies />
    case 'customers':
      if (parts[1] !== undefined && parts[2] === 'master-key')
        return <MasterKey customer={parts[1]} />
      return <Customers />
    case 'audit':
      return <Audit />
    case 'account':
      return <Account />
    default:
      return (
        <section>
          <h1>Not found</h1>
          <p>
            No page here. <Link to="/buckets">Go to Buckets</Link>
          </p>
        </section>
      )
  }
}

export function Layout() {
  const { path, query } = useRoute()
  const { session, signOut } = useSession()
  const me = session.me
  useEffect(() => {
    if (path === '/') navigate(me.can.buckets ? '/buckets' : '/access-keys', true)
  }, [path])
  useEffect(() => {
    const h = document.querySelector<HTMLElement>('main h1')
    h?.focus({ preventScroll: true })
  }, [path])
  return (
    <div class="layout">
      <a class="skip" href="#main">
        Skip to content
      </a>
      <header>
        <span class="brand">Latchkey</span>
        <span class="who">
          {me.username}
          {me.customer !== '' && me.customer !== 'default' ? ` @ ${me.customer}` : ''} · {me.role}
        </span>
        <button type="button" class="secondary" onClick={() => void signOut()}>
          Sign out
        </button>
      </header>
      <nav aria-label="Main">
        <NavList items={NAV} can={me.can} path={path} />
      </nav>
      <main id="main">
        <Page path={path} query={query} />
      </main>
    </div>
  )
}
