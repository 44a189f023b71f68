/**
 * Policies: the simulator (policies, optional bucket and session policy, principal, action,
 * resource, context → allow / explicit deny / implicit deny, with the reason and the matching
 * statements) and a policy editor that validates (syntax with line and column, then the
 * server's rules for the chosen kind).
 */
import { useState } from 'preact/hooks'
import { api } from '../api.ts'
import {
  ErrorBox,
  Field,
  JsonEditor,
  Notice,
  PageTitle,
  Select,
  validatePolicy,
  type PolicyKind,
} from '../components.tsx'
import { parseJsonText, type JsonProblem } from '../json-check.ts'

interface SimResult {
  decision: string
  reason: string
  matched: { policy?: string; sid?: string; effect: string }[]
}

const EXAMPLE = JSON.stringify(
  {
    Version: '2012-10-17',
    Statement: [
      {
        Sid: 'Uploads',
        Effect: 'Allow',
        Action: ['s3:PutObject'],
        Resource: ['arn:aws:s3:::photos/uploads/*'],
      },
    ],
  },
  null,
  2,
)

export function Policies() {
  return (
    <section>
      <PageTitle>Policies</PageTitle>
      <Simulator />
      <Editor />
    </section>
  )
}

function Simulator() {
  const [policy, setPolicy] = useState(EXAMPLE)
  const [bucketPolicy, setBucketPolicy] = useState('')
  const [principal, setPrincipal] = useState('')
  const [action, setAction] = useState('s3:PutObject')
  const [resource, setResource] = useState('arn:aws:s3:::photos/uploads/a.jpg')
  const [context, setContext] = useState('{}')
  const [problems, setProblems] = useState<JsonProblem[]>([])
  const [bpProblems, setBpProblems] = useState<JsonProblem[]>([])
  const [ctxProblems, setCtxProblems] = useState<JsonProblem[]>([])
  const [result, setResult] = useState<SimResult | undefined>(undefined)
  const [err, setErr] = useState<unknown>(undefined)
  return (
    <form
      aria-labelledby="sim-h"
      onSubmit={async (e) => {
        e.preventDefault()
        setErr(undefined)
        setResult(undefined)
        const p = parseJsonText(policy)
        const bp = bucketPolicy.trim() === '' ? undefined : parseJsonText(bucketPolicy)
        const c = parseJsonText(context.trim() === '' ? '{}' : context)
        setProblems(p.ok ? [] : [p.problem])
        setBpProblems(bp === undefined || bp.ok ? [] : [bp.problem])
        setCtxProblems(c.ok ? [] : [c.problem])
        if (!p.ok || (bp !== undefined && !bp.ok) || !c.ok) return
        try {
          setResult(
            await api<SimResult>('POST', '/policy/simulate', {
              policies: [p.value],
              ...(bp !== undefined && bp.ok ? { bucket_policy: bp.value } : {}),
              ...(principal.trim() !== '' ? { principal: principal.trim() } : {}),
              action,
              resource,
              context: c.value,
            }),
          )
        } catch (x) {
          setErr(x)
        }
      }}
    >
      <h2 id="sim-h">Simulator</h2>
      <JsonEditor
        label="Identity policy (JSON)"
        value={policy}
        onInput={setPolicy}
        problems={problems}
        rows={10}
      />
      <JsonEditor
        label="Bucket policy (JSON, optional)"
        value={bucketPolicy}
        onInput={setBucketPolicy}
        problems={bpProblems}
        rows={4}
      />
      <Field label="Principal ARN (optional)" value={principal} onInput={setPrincipal} />
      <Field label="Action" value={action} onInput={setAction} required />
      <Field label="Resource" value={resource} onInput={setResource} required />
      <JsonEditor
        label="Context keys (JSON object)"
        value={context}
        onInput={setContext}
        problems={ctxProblems}
        rows={3}
      />
      <ErrorBox error={err} />
      <button type="submit">Simulate</button>
      {result !== undefined && (
        <div class={`decision ${result.decision}`} role="status">
          <p>
            <strong>
              {result.decision === 'allow'
                ? 'Allow'
                : result.decision === 'explicit-deny'
                  ? 'Explicit deny'
                  : 'Implicit deny'}
            </strong>
            : {result.reason}
          </p>
          {result.matched.length > 0 && (
            <ul>
              {result.matched.map((m, i) => (
                <li key={i}>
                  {m.effect} {m.sid !== undefined ? `statement "${m.sid}"` : 'statement'}
                  {m.policy !== undefined ? ` in ${m.policy}` : ''}
                </li>
              ))}
            </ul>
          )}
        </div>
      )}
    </form>
  )
}

function Editor() {
  const [text, setText] = useState(EXAMPLE)
  const [kind, setKind] = useState<PolicyKind>('identity')
  const [problems, setProblems] = useState<JsonProblem[]>([])
  const [ok, setOk] = useState(false)
  return (
    <form
      aria-labelledby="ed-h"
      onSubmit={async (e) => {
        e.preventDefault()
        const p = await validatePolicy(text, kind)
        setProblems(p)
        setOk(p.length === 0)
      }}
    >
      <h2 id="ed-h">Policy editor</h2>
      <Select
        label="Kind"
        value={kind}
        onChange={(v) => setKind(v as PolicyKind)}
        options={[
          ['identity', 'Identity (user) policy'],
          ['bucket', 'Bucket policy'],
          ['session', 'Session policy'],
        ]}
      />
      <JsonEditor
        label="Policy to check (JSON)"
        value={text}
        onInput={(v) => {
          setText(v)
          setOk(false)
          setProblems([])
        }}
        problems={problems}
      />
      {ok && <Notice>The policy is valid.</Notice>}
      <button type="submit">Validate policy</button>
    </form>
  )
}
