/**
 * The console's small component set: links that route without reloading, labelled fields,
 * plain error and notice boxes (role=alert / role=status so screen readers hear them), a copy
 * button, a once-shown secret panel, an inline confirmation, and the validated JSON editor used
 * for bucket policies, CORS rules, user policies and the simulator. Everything user-supplied is
 * rendered as text children (never as HTML).
 */
import type { ComponentChildren } from 'preact'
import { useEffect, useState } from 'preact/hooks'
import { ApiError, api, errorText } from './api.ts'
import { describeProblem, parseJsonText, type JsonProblem } from './json-check.ts'
import { href, navigate } from './router.ts'

export function Link(props: {
  to: string
  children: ComponentChildren
  class?: string
  'aria-current'?: 'page' | undefined
}) {
  return (
    <a
      href={href(props.to)}
      class={props.class}
      aria-current={props['aria-current']}
      onClick={(e) => {
        if (e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return
        e.preventDefault()
        navigate(props.to)
      }}
    >
      {props.children}
    </a>
  )
}

let fieldSeq = 0
export function useId(prefix: string): string {
  const [id] = useState(() => `${prefix}-${++fieldSeq}`)
  return id
}

export function Field(props: {
  label: string
  value: string
  onInput: (v: string) => void
  type?: 'text' | 'password' | 'email' | 'search'
  name?: string
  autoComplete?: string
  required?: boolean
  hint?: string
  placeholder?: string
  inputMode?: 'numeric' | 'text'
  autoFocus?: boolean
}) {
  const id = useId('f')
  return (
    <div class="field">
      <label for={id}>{props.label}</label>
      <input
        id={id}
        name={props.name}
        type={(props.type ?? 'text') as 'text'}
        value={props.value}
        autoComplete={props.autoComplete}
        required={props.required}
        placeholder={props.placeholder}
        inputMode={props.inputMode}
        autoFocus={props.autoFocus}
        aria-describedby={props.hint !== undefined ? `${id}-hint` : undefined}
        onInput={(e) => props.onInput((e.currentTarget as HTMLInputElement).value)}
      />
      {props.hint !== undefined && (
        <small id={`${id}-hint`} class="hint">
          {props.hint}
        </small>
      )}
    </div>
  )
}

export function Select(props: {
  label: string
  value: string
  onChange: (v: string) => void
  options: readonly (string | [string, string])[]
}) {
  const id = useId('s')
  return (
    <div class="field">
      <label for={id}>{props.label}</label>
      <select
        id={id}
        value={props.value}
        onChange={(e) => props.onChange((e.currentTarget as HTMLSelectElement).value)}
      >
        {props.options.map((o) => {
          const [v, l] = typeof o === 'string' ? [o, o] : o
          return (
            <option key={v} value={v}>
              {l}
            </option>
          )
        })}
      </select>
    </div>
  )
}

export function ErrorBox(props: { error: unknown }) {
  if (props.error === undefined || props.error === null || props.error === '') return null
  return (
    <div class="error" role="alert">
      {typeof props.error === 'string' ? props.error : errorText(props.error)}
    </div>
  )
}

export function Notice(props: { children: ComponentChildren }) {
  return (
    <div class="notice" role="status">
      {props.children}
    </div>
  )
}

export function CopyButton(props: { text: string; label?: string }) {
  const [done, setDone] = useState(false)
  return (
    <button
      type="button"
      class="secondary"
      onClick={async () => {
        try {
          await navigator.clipboard.writeText(props.text)
          setDone(true)
          setTimeout(() => setDone(false), 1500)
        } catch {
          setDone(false)
        }
      }}
    >
      {done ? 'Copied' : (props.label ?? 'Copy')}
    </button>
  )
}

/** A labelled read-only value with a copy button (keys, secrets, snippets). */
export function CopyField(props: { label: string; value: string; multiline?: boolean }) {
  const id = useId('c')
  return (
    <div class="field copy-field">
      <label for={id}>{props.label}</label>
      <div class="row">
        {props.multiline === true ? (
          <textarea id={id} readOnly value={props.value} rows={props.value.split('\n').length} />
        ) : (
          <input id={id} readOnly value={props.value} class="mono" />
        )}
        <CopyButton text={props.value} label={`Copy ${props.label}`} />
      </div>
    </div>
  )
}

/** An inline "are you sure" step: the action runs only after the second, explicit button. */
export function ConfirmButton(props: {
  label: string
  confirmLabel?: string
  question: string
  onConfirm: () => Promise<void> | void
  danger?: boolean
}) {
  const [asking, setAsking] = useState(false)
  const [busy, setBusy] = useState(false)
  const [err, setErr] = useState<unknown>(undefined)
  if (!asking)
    return (
      <button
        type="button"
        class={props.danger === true ? 'danger' : 'secondary'}
        onClick={() => setAsking(true)}
      >
        {props.label}
      </button>
    )
  return (
    <span class="confirm" role="group" aria-label={props.question}>
      <span>{props.question}</span>{' '}
      <button
        type="button"
        class="danger"
        disabled={busy}
        autoFocus
        onClick={async () => {
          setBusy(true)
          try {
            await props.onConfirm()
            setAsking(false)
          } catch (e) {
            setErr(e)
          } finally {
            setBusy(false)
          }
        }}
      >
        {props.confirmLabel ?? `Yes, ${props.label.toLowerCase()}`}
      </button>{' '}
      <button type="button" class="secondary" onClick={() => setAsking(false)}>
        Cancel
      </button>
      <ErrorBox error={err} />
    </span>
  )
}

/** A piece of async state for a page: loading, value, error, reload. */
export function useLoad<T>(load: () => Promise<T>, deps: readonly unknown[]) {
  const [state, setState] = useState<{ value?: T; error?: unknown; loading: boolean }>({
    loading: true,
  })
  const [tick, setTick] = useState(0)
  useEffect(() => {
    let live = true
    setState((s) => ({ ...s, loading: true }))
    load().then(
      (value) => live && setState({ value, loading: false }),
      (error: unknown) => live && setState({ error, loading: false }),
    )
    return () => {
      live = false
    }
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [...deps, tick])
  return { ...state, reload: () => setTick((t) => t + 1) }
}

export type PolicyKind = 'identity' | 'bucket' | 'session'

/**
 * Validate policy text: JSON syntax first (line and column from JSON.parse), then the server's
 * own checks (POST /api/admin/policy/validate) with their positions.
 */
export async function validatePolicy(text: string, kind: PolicyKind): Promise<JsonProblem[]> {
  const p = parseJsonText(text)
  if (!p.ok) return [p.problem]
  try {
    const r = await api<{ valid: boolean; errors?: JsonProblem[] }>('POST', '/policy/validate', {
      policy: text,
      kind,
    })
    return r.valid ? [] : (r.errors ?? [{ message: 'invalid policy' }])
  } catch (e) {
    // A server without the validation route: the syntax check above is all we can do here;
    // saving still goes through the server's own checks.
    if (e instanceof ApiError && e.status === 404) return []
    return [{ message: errorText(e) }]
  }
}

/** A JSON textarea with its problems listed below it, each with line and column. */
export function JsonEditor(props: {
  label: string
  value: string
  onInput: (v: string) => void
  problems: readonly JsonProblem[]
  rows?: number
}) {
  const id = useId('j')
  return (
    <div class="field">
      <label for={id}>{props.label}</label>
      <textarea
        id={id}
        class="mono"
        rows={props.rows ?? 14}
        spellcheck={false}
        value={props.value}
        aria-invalid={props.problems.length > 0}
        aria-describedby={props.problems.length > 0 ? `${id}-err` : undefined}
        onInput={(e) => props.onInput((e.currentTarget as HTMLTextAreaElement).value)}
      />
      {props.problems.length > 0 && (
        <ul id={`${id}-err`} class="problems" role="alert">
          {props.problems.map((p, i) => (
            <li key={i}>{describeProblem(p)}</li>
          ))}
        </ul>
      )}
    </div>
  )
}

/** A secret shown once: a clear warning, the values with copy buttons, and a Done button. */
export function SecretOnce(props: {
  title: string
  values: [string, string][]
  children?: ComponentChildren
  onDone?: () => void
}) {
  return (
    <section class="secret-once" aria-label={props.title}>
      <h3>{props.title}</h3>
      <p class="warn">
        Copy it now: the secret is shown only this once and is not stored in this browser.
      </p>
      {props.values.map(([l, v]) => (
        <CopyField key={l} label={l} value={v} />
      ))}
      {props.children}
      {props.onDone !== undefined && (
        <button type="button" onClick={props.onDone}>
          Done
        </button>
      )}
    </section>
  )
}

export function fmtDate(s: string | null | undefined): string {
  if (s === null || s === undefined || s === '') return '—'
  const d = new Date(s)
  return Number.isNaN(d.getTime()) ? s : d.toLocaleString()
}

export function fmtBytes(n: number): string {
  if (n < 1024) return `${n} B`
  const u = ['KiB', 'MiB', 'GiB', 'TiB']
  let v = n / 1024
  let i = 0
  while (v >= 1024 && i < u.length - 1) {
    v /= 1024
    i++
  }
  return `${v.toFixed(v < 10 ? 1 : 0)} ${u[i]}`
}

/** Trigger a file download of generated text (CSV, credentials file) via a blob: URL. */
export function downloadText(name: string, text: string, type = 'text/plain'): void {
  const url = URL.createObjectURL(new Blob([text], { type }))
  const a = document.createElement('a')
  a.href = url
  a.download = name
  document.body.append(a)
  a.click()
  a.remove()
  setTimeout(() => URL.revokeObjectURL(url), 10_000)
}

export function PageTitle(props: { children: ComponentChildren }) {
  useEffect(() => {
    if (typeof props.children === 'string') document.title = `${props.children} · Latchkey`
  }, [props.children])
  return <h1 tabIndex={-1}>{props.children}</h1>
}

/** Previous / next page buttons of a server-side paged list (`next` = the server's next offset). */
export function Pager(props: {
  offset: number
  page: number
  next: number | undefined
  onOffset: (offset: number) => void
}) {
  return (
    <div class="pager">
      <button
        type="button"
        class="secondary"
        disabled={props.offset === 0}
        onClick={() => props.onOffset(Math.max(0, props.offset - props.page))}
      >
        Previous page
      </button>{' '}
      <button
        type="button"
        class="secondary"
        disabled={props.next === undefined}
        onClick={() => props.onOffset(props.next ?? props.offset)}
      >
        Next page
      </button>
    </div>
  )
}
