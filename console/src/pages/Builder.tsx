/**
 * Credential builder: the seeds' "mint a scoped temporary key" flow as a form. Bucket, prefix,
 * what may be done (presets or custom actions), a duration up to the operator's maximum, and
 * optional upload caps sent as session tags (latchkey:max-bytes, …). It shows the session
 * policy it will send, mints through POST /api/admin/me/credentials (for the signed-in user
 * itself, never beyond its own rights), shows the result once, lets you try an upload with it,
 * and gives ready code: the seed's @aws-sdk/client-sts snippet, an app-server function, boto3
 * and aws CLI lines, all with this endpoint filled in.
 */
import { useMemo, useState } from 'preact/hooks'
import { api } from '../api.ts'
import {
  CopyField,
  ErrorBox,
  Field,
  Notice,
  PageTitle,
  SecretOnce,
  Select,
  downloadText,
  fmtDate,
  useLoad,
} from '../components.tsx'
import { listBuckets, uploadFile, type Creds } from '../s3.ts'
import { useSession } from '../session.ts'
import {
  appServerSnippet,
  boto3Snippet,
  cliLines,
  csv,
  envLines,
  stsSnippet,
  type KeyText,
} from '../snippets.ts'

type Preset = 'upload' | 'read' | 'readwrite' | 'custom'

const PRESETS: [Preset, string][] = [
  ['upload', 'Upload only (s3:PutObject, s3:AbortMultipartUpload)'],
  ['read', 'Read only (get and list)'],
  ['readwrite', 'Read and write (get, list, put, delete)'],
  ['custom', 'Custom actions'],
]

export function buildPolicy(
  bucket: string,
  prefix: string,
  preset: Preset,
  custom: string,
): object {
  const b = bucket === '' ? 'BUCKET' : bucket
  const objects = `arn:aws:s3:::${b}/${prefix}*`
  const list = {
    Effect: 'Allow',
    Action: ['s3:ListBucket'],
    Resource: [`arn:aws:s3:::${b}`],
    ...(prefix !== '' ? { Condition: { StringLike: { 's3:prefix': [`${prefix}*`] } } } : {}),
  }
  const stmt = (actions: string[]) => ({ Effect: 'Allow', Action: actions, Resource: [objects] })
  const statements =
    preset === 'upload'
      ? [stmt(['s3:PutObject', 's3:AbortMultipartUpload'])]
      : preset === 'read'
        ? [stmt(['s3:GetObject']), list]
        : preset === 'readwrite'
          ? [
              stmt(['s3:GetObject', 's3:PutObject', 's3:DeleteObject', 's3:AbortMultipartUpload']),
              list,
            ]
          : [
              {
                Effect: 'Allow',
                Action: custom
                  .split(/[\s,]+/)
                  .map((a) => a.trim())
                  .filter((a) => a !== ''),
                Resource: [`arn:aws:s3:::${b}`, objects],
              },
            ]
  return { Version: '2012-10-17', Statement: statements }
}

interface Minted {
  access_key: string
  secret_key: string
  session_token: string
  expires_at: string
  packed_policy_size?: number
}

export function Builder() {
  const { session } = useSession()
  const max = session.limits?.max_duration_seconds ?? 43200
  const buckets = useLoad(() => (session.me.can.buckets ? listBuckets() : Promise.resolve([])), [])
  const [bucket, setBucket] = useState('')
  const [prefix, setPrefix] = useState('uploads/')
  const [preset, setPreset] = useState<Preset>('upload')
  const [custom, setCustom] = useState('s3:GetObject, s3:PutObject')
  const [duration, setDuration] = useState(String(Math.min(3600, max)))
  const [name, setName] = useState('')
  const [caps, setCaps] = useState({
    maxBytes: '',
    maxObjects: '',
    maxObjectSize: '',
    contentTypes: '',
  })
  const [minted, setMinted] = useState<Minted | undefined>(undefined)
  const [err, setErr] = useState<unknown>(undefined)
  const [busy, setBusy] = useState(false)

  const chosenBucket = bucket !== '' ? bucket : (buckets.value?.[0]?.name ?? '')
  const policy = useMemo(
    () => JSON.stringify(buildPolicy(chosenBucket, prefix, preset, custom), null, 2),
    [chosenBucket, prefix, preset, custom],
  )
  const seconds = Number(duration)
  const durationError =
    !Number.isInteger(seconds) || seconds < 900 || seconds > max
      ? `Duration must be a whole number of seconds from 900 to ${max}.`
      : ''

  const tags: Record<string, string> = {}
  if (caps.maxBytes !== '') tags['latchkey:max-bytes'] = caps.maxBytes
  if (caps.maxObjects !== '') tags['latchkey:max-objects'] = caps.maxObjects
  if (caps.maxObjectSize !== '') tags['latchkey:max-object-size'] = caps.maxObjectSize
  if (caps.contentTypes !== '') tags['latchkey:content-types'] = caps.contentTypes
  const capError = [caps.maxBytes, caps.maxObjects, caps.maxObjectSize].some(
    (v) => v !== '' && !/^\d+$/.test(v),
  )
    ? 'Caps must be whole numbers.'
    : ''

  const mint = async (e: Event) => {
    e.preventDefault()
    if (durationError !== '' || capError !== '') return
    setBusy(true)
    setErr(undefined)
    try {
      const r = await api<Minted>('POST', '/me/credentials', {
        // Compact: session policies are limited to 2048 characters.
        policy: JSON.stringify(JSON.parse(policy)),
        duration_seconds: seconds,
        ...(name.trim() !== '' ? { name: name.trim() } : {}),
        ...(Object.keys(tags).length > 0 ? { tags } : {}),
      })
      setMinted(r)
    } catch (x) {
      setErr(x)
    } finally {
      setBusy(false)
    }
  }

  const key: KeyText | undefined =
    minted !== undefined
      ? {
          accessKeyId: minted.access_key,
          secretAccessKey: minted.secret_key,
          sessionToken: minted.session_token,
        }
      : undefined

  return (
    <section>
      <PageTitle>Credential builder</PageTitle>
      <p>
        Temporary keys for an app or a browser, limited to one bucket and prefix. They act for you (
        {session.me.username}) and can never do more than you may.
      </p>
      <form onSubmit={mint} aria-label="Build credentials" class="grid-form">
        {buckets.loading ? (
          <p class="muted">Loading buckets…</p>
        ) : buckets.value !== undefined && buckets.value.length > 0 ? (
          <Select
            label="Bucket"
            value={chosenBucket}
            onChange={setBucket}
            options={buckets.value.map((b) => b.name)}
          />
        ) : (
          <Field label="Bucket" value={bucket} onInput={setBucket} required />
        )}
        <Field
          label="Prefix"
          value={prefix}
          onInput={setPrefix}
          hint="Keys must start with this (empty = the whole bucket)."
        />
        <Select
          label="What may be done"
          value={preset}
          onChange={(v) => setPreset(v as Preset)}
          options={PRESETS}
        />
        {preset === 'custom' && (
          <Field
            label="Actions"
            value={custom}
            onInput={setCustom}
            hint="Comma-separated, e.g. s3:GetObject, s3:PutObject"
          />
        )}
        <Field
          label="Duration (seconds)"
          value={duration}
          onInput={setDuration}
          inputMode="numeric"
          hint={`900 (15 minutes) to ${max} (the operator's maximum).`}
        />
        <Field label="Session name (optional)" value={name} onInput={setName} />
        <fieldset>
          <legend>Upload caps (optional)</legend>
          <Field
            label="Max bytes"
            value={caps.maxBytes}
            onInput={(v) => setCaps({ ...caps, maxBytes: v })}
            inputMode="numeric"
          />
          <Field
            label="Max objects"
            value={caps.maxObjects}
            onInput={(v) => setCaps({ ...caps, maxObjects: v })}
            inputMode="numeric"
          />
          <Field
            label="Max object size"
            value={caps.maxObjectSize}
            onInput={(v) => setCaps({ ...caps, maxObjectSize: v })}
            inputMode="numeric"
            hint="Bytes."
          />
          <Field
            label="Content types"
            value={caps.contentTypes}
            onInput={(v) => setCaps({ ...caps, contentTypes: v })}
            hint="Comma-separated, e.g. image/png,image/jpeg"
          />
        </fieldset>
        <div class="field wide">
          <span class="label">Session policy that will be used</span>
          <pre class="mono policy" aria-label="Session policy" tabIndex={0}>
            {policy}
          </pre>
        </div>
        <ErrorBox error={durationError || capError} />
        <ErrorBox error={err} />
        <div>
          <button type="submit" disabled={busy}>
            Create credentials
          </button>
        </div>
      </form>
      {minted !== undefined && key !== undefined && (
        <SecretOnce
          title="Temporary credentials"
          values={[
            ['Access key ID', minted.access_key],
            ['Secret access key', minted.secret_key],
            ['Session token', minted.session_token],
          ]}
          onDone={() => setMinted(undefined)}
        >
          <p>Expires {fmtDate(minted.expires_at)}.</p>
          <p>
            <button
              type="button"
              class="secondary"
              onClick={() => downloadText('credentials.csv', csv(key), 'text/csv')}
            >
              Download .csv
            </button>
          </p>
          <TryUpload bucket={chosenBucket} prefix={prefix} creds={minted} />
          <CopyField
            label="aws CLI environment"
            value={cliLines(key, chosenBucket, prefix)}
            multiline
          />
          <CopyField label="boto3" value={boto3Snippet(key, chosenBucket, prefix)} multiline />
          <CopyField label="Environment" value={envLines(key)} multiline />
        </SecretOnce>
      )}
      <h2>Ready code: mint such credentials yourself</h2>
      <p>From your server, with a master key or a user key (the same session policy):</p>
      <CopyField
        label="@aws-sdk/client-sts"
        value={stsSnippet(policy, Number.isFinite(seconds) ? seconds : 3600)}
        multiline
      />
      <CopyField
        label="App-server function"
        value={appServerSnippet(policy, Number.isFinite(seconds) ? seconds : 3600)}
        multiline
      />
    </section>
  )
}

/** Try the minted credentials: upload one file with them, straight to S3. */
function TryUpload(props: { bucket: string; prefix: string; creds: Minted }) {
  const [state, setState] = useState<
    { name: string; sent: number; size: number; done?: boolean; error?: string } | undefined
  >(undefined)
  const creds: Creds = {
    access_key: props.creds.access_key,
    secret_key: props.creds.secret_key,
    session_token: props.creds.session_token,
    expires_at: props.creds.expires_at,
  }
  return (
    <div class="field">
      <label class="button-like">
        Try it: upload a file with these credentials
        <input
          type="file"
          class="sr-only"
          onChange={async (e) => {
            const input = e.currentTarget as HTMLInputElement
            const f = input.files?.[0]
            input.value = ''
            if (f === undefined) return
            setState({ name: f.name, sent: 0, size: f.size })
            try {
              await uploadFile(
                props.bucket,
                props.prefix + f.name,
                f,
                (sent) => setState({ name: f.name, sent, size: f.size }),
                undefined,
                creds,
              )
              setState({ name: f.name, sent: f.size, size: f.size, done: true })
            } catch (x) {
              setState({
                name: f.name,
                sent: 0,
                size: f.size,
                error: x instanceof Error ? x.message : String(x),
              })
            }
          }}
        />
      </label>
      {state !== undefined && (
        <div>
          <progress
            max={state.size || 1}
            value={state.sent}
            aria-label={`Upload progress of ${state.name}`}
          />
          {state.done === true && (
            <Notice>{`Uploaded ${props.prefix}${state.name} to ${props.bucket}.`}</Notice>
          )}
          <ErrorBox error={state.error} />
        </div>
      )}
    </div>
  )
}
