/**
 * Access keys: the way to the account's Master key (the 4EVERLAND path Buckets → Access keys →
 * Master key), the signed-in user's own key, and the credential builder for temporary keys.
 */
import { api } from '../api.ts'
import { ErrorBox, Link, PageTitle, useLoad, fmtDate } from '../components.tsx'
import { useSession } from '../session.ts'

interface MeFull {
  access_key?: string | null
  access_key_created_at?: string | null
  access_key_last_used_at?: string | null
}

export function AccessKeys() {
  const { session } = useSession()
  const me = session.me
  const full = useLoad(() => api<MeFull>('GET', '/me'), [])
  return (
    <section>
      <PageTitle>Access keys</PageTitle>
      <ul class="cards">
        {me.can.master_key && (
          <li>
            <h2>
              <Link to="/access-keys/master-key">Master key</Link>
            </h2>
            <p>
              The account's API Key and API Secret: full access to every bucket of{' '}
              {me.customer === '' ? 'this account' : `"${me.customer}"`}. Keep it on servers only.
            </p>
          </li>
        )}
        <li>
          <h2>
            <Link to="/builder">Credential builder</Link>
          </h2>
          <p>
            Temporary keys limited to one bucket and prefix (for example upload only), for apps and
            browsers.
          </p>
        </li>
        {me.kind === 'user' && (
          <li>
            <h2>Your own key</h2>
            <ErrorBox error={full.error} />
            {full.value !== undefined &&
              (full.value.access_key ? (
                <p>
                  Access key <code>{full.value.access_key}</code>
                  {full.value.access_key_created_at
                    ? `, created ${fmtDate(full.value.access_key_created_at)}`
                    : ''}
                  {full.value.access_key_last_used_at
                    ? `, last used ${fmtDate(full.value.access_key_last_used_at)}`
                    : ', never used yet'}
                  . Ask an administrator to replace it, or use temporary keys from the credential
                  builder.
                </p>
              ) : (
                <p>You have no long-term key. Use the credential builder for temporary keys.</p>
              ))}
          </li>
        )}
      </ul>
    </section>
  )
}
