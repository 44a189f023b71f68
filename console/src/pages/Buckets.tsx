/**
 * Buckets: the list (S3 ListBuckets signed with the console's temporary credentials), create
 * and delete (S3's own errors shown as they come: BucketAlreadyExists, BucketNotEmpty…).
 */
import { useState } from 'preact/hooks'
import {
  ConfirmButton,
  ErrorBox,
  Field,
  Link,
  PageTitle,
  useLoad,
  fmtDate,
} from '../components.tsx'
import { createBucket, deleteBucket, listBuckets } from '../s3.ts'

export function Buckets() {
  const list = useLoad(listBuckets, [])
  const [name, setName] = useState('')
  const [err, setErr] = useState<unknown>(undefined)
  const [busy, setBusy] = useState(false)
  const create = async (e: Event) => {
    e.preventDefault()
    setBusy(true)
    setErr(undefined)
    try {
      await createBucket(name.trim())
      setName('')
      list.reload()
    } catch (x) {
      setErr(x)
    } finally {
      setBusy(false)
    }
  }
  return (
    <section>
      <PageTitle>Buckets</PageTitle>
      <p class="muted">
        Keys for apps: <Link to="/access-keys">Access keys</Link>.
      </p>
      <form onSubmit={create} class="inline-form" aria-label="Create bucket">
        <Field
          label="New bucket name"
          value={name}
          onInput={setName}
          required
          hint="3–63 characters: a-z, 0-9, dots and hyphens."
        />
        <button type="submit" disabled={busy}>
          Create bucket
        </button>
      </form>
      <ErrorBox error={err} />
      <ErrorBox error={list.error} />
      {list.value !== undefined &&
        (list.value.length === 0 ? (
          <p>No buckets yet.</p>
        ) : (
          <table>
            <caption class="sr-only">Buckets</caption>
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Created</th>
                <th scope="col">Actions</th>
              </tr>
            </thead>
            <tbody>
              {list.value.map((b) => (
                <tr key={b.name}>
                  <td>
                    <Link to={`/buckets/${encodeURIComponent(b.name)}`}>{b.name}</Link>
                  </td>
                  <td>{fmtDate(b.created)}</td>
                  <td>
                    <ConfirmButton
                      label="Delete"
                      danger
                      question={`Delete bucket ${b.name}? It must be empty.`}
                      onConfirm={async () => {
                        await deleteBucket(b.name)
                        list.reload()
                      }}
                    />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        ))}
    </section>
  )
}
