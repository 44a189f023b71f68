/**
 * One bucket: browse by prefix (folders from ListObjectsV2 with delimiter '/'), upload by drag
 * and drop or a file picker with a progress bar per file (multipart above 8 MiB, straight to
 * S3), download through a presigned URL, delete, metadata and tags; and the bucket policy and
 * CORS rules in JSON editors that validate before saving (syntax with line and column, then
 * the server's policy checks).
 */
import { useRef, useState } from 'preact/hooks'
import {
  ConfirmButton,
  ErrorBox,
  JsonEditor,
  Link,
  Notice,
  PageTitle,
  fmtBytes,
  fmtDate,
  useLoad,
  validatePolicy,
} from '../components.tsx'
import { parseJsonText, type JsonProblem } from '../json-check.ts'
import {
  corsJsonToXml,
  corsXmlToJson,
  deleteBucketSub,
  deleteObject,
  getBucketSub,
  listObjects,
  objectInfo,
  presignGet,
  putBucketSub,
  uploadFile,
  type ObjectInfo,
} from '../s3.ts'

const bucketPath = (bucket: string, prefix = '') =>
  `/buckets/${encodeURIComponent(bucket)}${prefix === '' ? '' : `?prefix=${encodeURIComponent(prefix)}`}`

export function BucketBrowser(props: { bucket: string; prefix: string }) {
  const [tab, setTab] = useState<'objects' | 'policy' | 'cors'>('objects')
  return (
    <section>
      <PageTitle>{`Bucket ${props.bucket}`}</PageTitle>
      <p>
        <Link to="/buckets">All buckets</Link>
      </p>
      <div class="tabs" role="group" aria-label="Bucket sections">
        {(
          [
            ['objects', 'Objects'],
            ['policy', 'Bucket policy'],
            ['cors', 'CORS'],
          ] as const
        ).map(([k, l]) => (
          <button
            key={k}
            type="button"
            class={tab === k ? 'tab active' : 'tab'}
            aria-pressed={tab === k}
            onClick={() => setTab(k)}
          >
            {l}
          </button>
        ))}
      </div>
      {tab === 'objects' && <Objects bucket={props.bucket} prefix={props.prefix} />}
      {tab === 'policy' && <PolicyEditor bucket={props.bucket} />}
      {tab === 'cors' && <CorsEditor bucket={props.bucket} />}
    </section>
  )
}

interface UploadItem {
  name: string
  size: number
  sent: number
  state: 'waiting' | 'uploading' | 'done' | 'failed'
  error?: string
}

function Objects(props: { bucket: string; prefix: string }) {
  const { bucket, prefix } = props
  const list = useLoad(() => listObjects(bucket, prefix), [bucket, prefix])
  const [more, setMore] = useState<Awaited<ReturnType<typeof listObjects>>[]>([])
  const [uploads, setUploads] = useState<UploadItem[]>([])
  const [dragging, setDragging] = useState(false)
  const [err, setErr] = useState<unknown>(undefined)
  const [details, setDetails] = useState<
    { key: string; info?: ObjectInfo; error?: unknown } | undefined
  >(undefined)

  // One AbortController per running upload: Cancel aborts the request (and the multipart
  // upload, so no parts linger on the server).
  const running = useRef(new Map<string, AbortController>())
  const upload = async (files: File[]) => {
    setErr(undefined)
    // Every chosen file is listed at once (waiting), then uploaded one after the other.
    const names = new Set(files.map((f) => f.name))
    const aborts = new Map(files.map((f) => [f.name, new AbortController()]))
    for (const [n, a] of aborts) running.current.set(n, a)
    setUploads((u) => [
      ...u.filter((x) => !names.has(x.name)),
      ...files.map((f): UploadItem => ({ name: f.name, size: f.size, sent: 0, state: 'waiting' })),
    ])
    for (const f of files) {
      const update = (patch: Partial<UploadItem>) =>
        setUploads((u) => u.map((x) => (x.name === f.name ? { ...x, ...patch } : x)))
      const abort = aborts.get(f.name) ?? new AbortController()
      update({ state: 'uploading' })
      try {
        await uploadFile(bucket, prefix + f.name, f, (sent) => update({ sent }), abort.signal)
        update({ sent: f.size, state: 'done' })
      } catch (e) {
        update({ state: 'failed', error: e instanceof Error ? e.message : String(e) })
      } finally {
        running.current.delete(f.name)
      }
    }
    setMore([])
    list.reload()
  }

  const crumbs = prefix.split('/').filter((s) => s !== '')
  const all = [list.value, ...more].filter((x) => x !== undefined)
  const folders = all.flatMap((l) => l.folders)
  const objects = all.flatMap((l) => l.objects).filter((o) => o.key !== prefix)
  const last = all[all.length - 1]

  return (
    <div>
      <nav aria-label="Folder" class="crumbs">
        <Link to={bucketPath(bucket)}>{bucket}</Link>
        {crumbs.map((c, i) => (
          <span key={i}>
            {' / '}
            <Link to={bucketPath(bucket, crumbs.slice(0, i + 1).join('/') + '/')}>{c}</Link>
          </span>
        ))}
      </nav>
      <div
        class={dragging ? 'dropzone over' : 'dropzone'}
        onDragOver={(e) => {
          e.preventDefault()
          setDragging(true)
        }}
        onDragLeave={() => setDragging(false)}
        onDrop={(e) => {
          e.preventDefault()
          setDragging(false)
          const files = [...(e.dataTransfer?.files ?? [])]
          if (files.length > 0) void upload(files)
        }}
      >
        <p>Drop files here to upload them to {prefix === '' ? 'the bucket root' : prefix}</p>
        <label class="button-like">
          Choose files to upload
          <input
            type="file"
            multiple
            class="sr-only"
            onChange={(e) => {
              const input = e.currentTarget as HTMLInputElement
              const files = [...(input.files ?? [])]
              input.value = ''
              if (files.length > 0) void upload(files)
            }}
          />
        </label>
      </div>
      {uploads.length > 0 && (
        <ul class="uploads" aria-label="Uploads">
          {uploads.map((u) => (
            <li key={u.name}>
              <span>{u.name}</span>{' '}
              <progress
                max={u.size || 1}
                value={u.sent}
                aria-label={`Upload progress of ${u.name}`}
              />{' '}
              <span class="muted">
                {u.state === 'done'
                  ? 'Uploaded'
                  : u.state === 'failed'
                    ? `Failed: ${u.error ?? ''}`
                    : u.state === 'waiting'
                      ? 'Waiting'
                      : `${Math.floor((u.sent / (u.size || 1)) * 100)}%`}
              </span>
              {(u.state === 'uploading' || u.state === 'waiting') && (
                <button
                  type="button"
                  class="secondary"
                  onClick={() => running.current.get(u.name)?.abort()}
                >
                  {`Cancel upload of ${u.name}`}
                </button>
              )}
            </li>
          ))}
        </ul>
      )}
      <ErrorBox error={err} />
      <ErrorBox error={list.error} />
      {list.value !== undefined && folders.length === 0 && objects.length === 0 && (
        <p>This folder is empty.</p>
      )}
      {(folders.length > 0 || objects.length > 0) && (
        <table>
          <caption class="sr-only">Objects</caption>
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Size</th>
              <th scope="col">Last modified</th>
              <th scope="col">Actions</th>
            </tr>
          </thead>
          <tbody>
            {folders.map((f) => (
              <tr key={`d:${f}`}>
                <td>
                  <Link to={bucketPath(bucket, f)}>{`📁 ${f.slice(prefix.length)}`}</Link>
                </td>
                <td>—</td>
                <td>—</td>
                <td />
              </tr>
            ))}
            {objects.map((o) => {
              const name = o.key.slice(prefix.length)
              return (
                <tr key={o.key}>
                  <td class="mono">{name}</td>
                  <td>{fmtBytes(o.size)}</td>
                  <td>{fmtDate(o.modified)}</td>
                  <td class="actions">
                    <button
                      type="button"
                      class="secondary"
                      aria-label={`Download ${name}`}
                      onClick={async () => {
                        try {
                          const url = await presignGet(bucket, o.key)
                          const a = document.createElement('a')
                          a.href = url
                          // Same origin: `download` saves even an error answer instead of
                          // navigating away from the console.
                          a.download = name.split('/').pop() ?? name
                          a.rel = 'noopener'
                          document.body.append(a)
                          a.click()
                          a.remove()
                        } catch (e) {
                          setErr(e)
                        }
                      }}
                    >
                      Download
                    </button>{' '}
                    <button
                      type="button"
                      class="secondary"
                      aria-label={`Details of ${name}`}
                      onClick={async () => {
                        setDetails({ key: o.key })
                        try {
                          setDetails({ key: o.key, info: await objectInfo(bucket, o.key) })
                        } catch (e) {
                          setDetails({ key: o.key, error: e })
                        }
                      }}
                    >
                      Details
                    </button>{' '}
                    <ConfirmButton
                      label="Delete"
                      danger
                      question={`Delete ${name}?`}
                      onConfirm={async () => {
                        await deleteObject(bucket, o.key)
                        setMore([])
                        list.reload()
                      }}
                    />
                  </td>
                </tr>
              )
            })}
          </tbody>
        </table>
      )}
      {last?.nextToken !== undefined && (
        <button
          type="button"
          class="secondary"
          onClick={async () => {
            try {
              const next = await listObjects(bucket, prefix, last.nextToken)
              setMore((m) => [...m, next])
            } catch (e) {
              setErr(e)
            }
          }}
        >
          Load more
        </button>
      )}
      {details !== undefined && (
        <section class="details" aria-label={`Details of ${details.key}`}>
          <h2>{details.key}</h2>
          <ErrorBox error={details.error} />
          {details.info !== undefined && (
            <div>
              <h3>Metadata</h3>
              <dl>
                {details.info.headers.map(([k, v]) => (
                  <div key={k}>
                    <dt>{k}</dt>
                    <dd class="mono">{v}</dd>
                  </div>
                ))}
              </dl>
              <h3>Tags</h3>
              {details.info.tags.length === 0 ? (
                <p>No tags.</p>
              ) : (
                <dl>
                  {details.info.tags.map(([k, v]) => (
                    <div key={k}>
                      <dt>{k}</dt>
                      <dd>{v}</dd>
                    </div>
                  ))}
                </dl>
              )}
            </div>
          )}
          <button type="button" class="secondary" onClick={() => setDetails(undefined)}>
            Close details
          </button>
        </section>
      )}
    </div>
  )
}

function PolicyEditor(props: { bucket: string }) {
  const [text, setText] = useState<string | undefined>(undefined)
  const [problems, setProblems] = useState<JsonProblem[]>([])
  const [saved, setSaved] = useState('')
  const [err, setErr] = useState<unknown>(undefined)
  const [hasPolicy, setHasPolicy] = useState(true)
  const example = JSON.stringify(
    {
      Version: '2012-10-17',
      Statement: [
        {
          Sid: 'PublicRead',
          Effect: 'Allow',
          Principal: '*',
          Action: 's3:GetObject',
          Resource: `arn:aws:s3:::${props.bucket}/public/*`,
        },
      ],
    },
    null,
    2,
  )
  const loaded = useLoad(async () => {
    const t = await getBucketSub(props.bucket, 'policy')
    setHasPolicy(t !== '')
    setText(t === '' ? example : prettyJson(t))
    return t
  }, [props.bucket])
  return (
    <div>
      <ErrorBox error={loaded.error} />
      {text !== undefined && (
        <form
          onSubmit={async (e) => {
            e.preventDefault()
            setSaved('')
            setErr(undefined)
            const p = await validatePolicy(text, 'bucket')
            setProblems(p)
            if (p.length > 0) return
            try {
              await putBucketSub(props.bucket, 'policy', text)
              setHasPolicy(true)
              setSaved('Bucket policy saved.')
            } catch (x) {
              setErr(x)
            }
          }}
        >
          {!hasPolicy && (
            <p>This bucket has no policy. An example to start from is filled in below.</p>
          )}
          <JsonEditor
            label="Bucket policy (JSON)"
            value={text}
            onInput={(v) => {
              setText(v)
              setProblems([])
            }}
            problems={problems}
          />
          <ErrorBox error={err} />
          {saved !== '' && <Notice>{saved}</Notice>}
          <button type="submit">Validate and save policy</button>{' '}
          <button
            type="button"
            class="secondary"
            onClick={async () => {
              const p = await validatePolicy(text, 'bucket')
              setProblems(p)
              setSaved(p.length === 0 ? 'The policy is valid.' : '')
            }}
          >
            Validate
          </button>{' '}
          <ConfirmButton
            label="Delete policy"
            danger
            question="Delete this bucket's policy?"
            onConfirm={async () => {
              await deleteBucketSub(props.bucket, 'policy')
              setHasPolicy(false)
              setText(example)
              setSaved('Bucket policy deleted.')
            }}
          />
        </form>
      )}
    </div>
  )
}

function CorsEditor(props: { bucket: string }) {
  const [text, setText] = useState<string | undefined>(undefined)
  const [problems, setProblems] = useState<JsonProblem[]>([])
  const [saved, setSaved] = useState('')
  const [err, setErr] = useState<unknown>(undefined)
  const example = JSON.stringify(
    {
      CORSRules: [
        {
          AllowedOrigins: ['https://app.example.com'],
          AllowedMethods: ['GET', 'PUT', 'POST'],
          AllowedHeaders: ['*'],
          ExposeHeaders: ['ETag'],
          MaxAgeSeconds: 3000,
        },
      ],
    },
    null,
    2,
  )
  const loaded = useLoad(async () => {
    const t = corsXmlToJson(await getBucketSub(props.bucket, 'cors'))
    setText(t === '' ? example : t)
    return t
  }, [props.bucket])
  return (
    <div>
      <ErrorBox error={loaded.error} />
      {loaded.value === '' && (
        <p>This bucket has no CORS rules. An example to start from is filled in below.</p>
      )}
      {text !== undefined && (
        <form
          onSubmit={async (e) => {
            e.preventDefault()
            setSaved('')
            setErr(undefined)
            const parsed = parseJsonText(text)
            if (!parsed.ok) {
              setProblems([parsed.problem])
              return
            }
            const { errors, xml } = corsJsonToXml(parsed.value)
            setProblems(errors.map((message) => ({ message })))
            if (errors.length > 0) return
            try {
              await putBucketSub(props.bucket, 'cors', xml)
              setSaved('CORS rules saved.')
            } catch (x) {
              setErr(x)
            }
          }}
        >
          <JsonEditor
            label="CORS rules (JSON)"
            value={text}
            onInput={(v) => {
              setText(v)
              setProblems([])
            }}
            problems={problems}
          />
          <ErrorBox error={err} />
          {saved !== '' && <Notice>{saved}</Notice>}
          <button type="submit">Validate and save CORS</button>{' '}
          <ConfirmButton
            label="Delete CORS"
            danger
            question="Delete this bucket's CORS rules?"
            onConfirm={async () => {
              await deleteBucketSub(props.bucket, 'cors')
              setText(example)
              setSaved('CORS rules deleted.')
            }}
          />
        </form>
      )}
    </div>
  )
}

function prettyJson(t: string): string {
  try {
    return JSON.stringify(JSON.parse(t), null, 2)
  } catch {
    return t
  }
}
