/**
 * Config (conductor): the candidate as YAML, validated as you type (problems at their lines); save it,
 * see its diff against the running config or any stored version, commit it with a message (refused while
 * it has problems: the conductor would refuse it too), revert it; the versions with diff and rollback;
 * the audit log. A node shows its running config, read-only.
 */
import { useEffect, useState } from 'preact/hooks';
import { api, ApiError, currentSession, query, type Backend } from '../api.js';
import { useLive } from '../live.js';
import { time } from '../format.js';
import { Diff, YamlEditor } from '../components/yaml-editor.js';
import { Failed, Field, Loading, Pill } from '../components/common.js';
import type { AuditEvent, CandidateView, CommitResult, ConfigProblem, ValidateResult, VersionSummary } from '../types.js';

export function ConfigPage({ backend }: { backend: Backend }) {
  return backend === 'node' ? <NodeConfig /> : <ConductorConfig />;
}

function NodeConfig() {
  const c = useLive(() => api<unknown>('GET', '/api/v1/config'), [], [], 0);
  return (
    <>
      <h1>Config</h1>
      <p class="muted">The node's running config (secrets and tokens redacted). A node under a conductor changes its config there; a standalone node reloads its file (svr node reload).</p>
      <Failed error={c.error} />
      {c.data === undefined ? <Loading what="the config" /> : <pre class="diff">{JSON.stringify(c.data, null, 2)}</pre>}
    </>
  );
}

/** Problems of a failed write: the conductor's field problems (data.errors / data.problems), else none. */
function problemsOf(e: unknown): ConfigProblem[] {
  if (!(e instanceof ApiError)) return [];
  const d = e.data as { errors?: ConfigProblem[]; problems?: ConfigProblem[] } | undefined;
  return d?.errors ?? d?.problems ?? [];
}

type Ref = 'running' | 'candidate' | `${number}`;

function ConductorConfig() {
  const admin = currentSession()?.role === 'admin';
  const cand = useLive(() => api<CandidateView>('GET', '/api/v1/config/candidate'), [], ['versions'], 5000);
  const versions = useLive(() => api<VersionSummary[]>('GET', '/api/v1/config/versions'), [], ['versions'], 5000);
  const audit = useLive(() => api<AuditEvent[]>('GET', `/api/v1/audit${query({ limit: 1000 })}`), [], ['audit'], 5000);
  const [draft, setDraft] = useState<string | null>(null);
  const [check, setCheck] = useState<ValidateResult | null>(null);
  const [message, setMessage] = useState('');
  const [result, setResult] = useState<{ ok: boolean; text: string; problems: ConfigProblem[] } | null>(null);
  const [busy, setBusy] = useState(false);
  const [compare, setCompare] = useState<[Ref, Ref]>(['running', 'candidate']);
  const text = draft ?? cand.data?.text ?? '';
  const diff = useLive(() => api<{ diff: string }>('GET', `/api/v1/config/compare${query({ a: compare[0], b: compare[1] })}`), [compare[0], compare[1], cand.data?.revision, versions.data?.length], [], 0);

  // validate what is on screen, 400 ms after the last keystroke
  useEffect(() => {
    if (cand.data === undefined) return;
    const timer = window.setTimeout(() => {
      api<ValidateResult>('POST', '/api/v1/config/validate', { text }).then(setCheck, () => undefined);
    }, 400);
    return () => window.clearTimeout(timer);
  }, [text, cand.data === undefined]);

  const problems = check?.valid === false ? check.problems : [];
  const invalid = check === null || !check.valid;
  const run = async (what: string, f: () => Promise<string>) => {
    setBusy(true);
    setResult(null);
    try {
      setResult({ ok: true, text: await f(), problems: [] });
    } catch (e) {
      setResult({ ok: false, text: `${what} refused: ${e instanceof Error ? e.message : String(e)}`, problems: problemsOf(e) });
    } finally {
      setBusy(false);
      cand.reload();
      versions.reload();
      audit.reload();
      diff.reload();
    }
  };
  const save = async (): Promise<CandidateView> => {
    const c = await api<CandidateView>('PUT', '/api/v1/config/candidate', { text, revision: cand.data?.revision });
    setDraft(null);
    return c;
  };
  const commit = () => run('Commit', async () => {
    if (draft !== null) await save();
    const r = await api<CommitResult>('POST', '/api/v1/config/commit', { message });
    setMessage('');
    return `Committed version ${r.version}; routers: ${Object.entries(r.routers).map(([n, s]) => `${n} ${s}`).join(', ') || 'none'}`;
  });
  const rollback = (v: number) => {
    if (!window.confirm(`Roll back to version ${v}? This commits its config as a new version to every router.`)) return;
    void run('Rollback', async () => {
      const r = await api<CommitResult>('POST', '/api/v1/config/rollback', { version: v });
      return `Rolled back to version ${v} as version ${r.version}; routers: ${Object.entries(r.routers).map(([n, s]) => `${n} ${s}`).join(', ')}`;
    });
  };
  const refs: Ref[] = ['running', 'candidate', ...(versions.data ?? []).map((v) => `${v.version}` as Ref).reverse()];
  const refLabel = (r: Ref) => (r === 'running' || r === 'candidate' ? r : `version ${r}`);
  const recent = (audit.data ?? []).slice(-50).reverse();

  return (
    <>
      <h1>Config</h1>
      <Failed error={cand.error} />
      {cand.data === undefined ? <Loading what="the candidate" /> : (
        <div class="config">
          <section class="card" aria-labelledby="cand-title">
            <h2 id="cand-title">Candidate {cand.data.changed || draft !== null ? <Pill cls="fair">differs from running</Pill> : <Pill cls="good">same as running</Pill>}</h2>
            <p class="muted">Based on version {cand.data.base}, revision {cand.data.revision}{cand.data.updatedBy ? `, last changed by ${cand.data.updatedBy} ${time(cand.data.updatedAt)}` : ''}.{draft !== null ? ' Unsaved edits.' : ''}</p>
            <YamlEditor text={text} onInput={setDraft} problems={problems} readOnly={!admin} />
            <p class={check?.valid ? 'ok' : 'error'} role="status" data-testid="validation">{check === null ? 'Validating…' : check.valid ? `Valid (${check.message.replace(/^valid: /, '')})` : `${check.problems.length || 1} problem${check.problems.length === 1 ? '' : 's'}: ${check.message.split('\n')[0]}`}</p>
            {admin && (
              <div class="actions">
                <button type="button" disabled={busy || draft === null} onClick={() => run('Save', async () => `Saved candidate revision ${(await save()).revision}`)}>Save candidate</button>
                <button type="button" disabled={busy || (draft === null && !cand.data.changed)} onClick={() => { setDraft(null); void run('Revert', async () => { await api('POST', '/api/v1/config/candidate/revert'); return 'The candidate is the running config again'; }); }}>Revert to running</button>
                <Field label="Commit message"><input value={message} onInput={(e) => setMessage(e.currentTarget.value)} maxLength={500} data-testid="commit-message" /></Field>
                <button type="button" class="primary" disabled={busy || invalid || message.trim() === '' || (draft === null && !cand.data.changed)} title={invalid ? 'the candidate has problems: fix them first' : ''} onClick={commit}>Commit</button>
              </div>
            )}
            {result !== null && (
              <div class={result.ok ? 'ok' : 'error'} role="alert" data-testid="config-result">
                <p>{result.text}</p>
                {result.problems.length > 0 && <ul>{result.problems.map((p) => <li>{p.line !== undefined ? `line ${p.line}: ` : ''}<code>{p.path}</code>: {p.message}</li>)}</ul>}
              </div>
            )}
          </section>
          <section class="card" aria-labelledby="diff-title">
            <h2 id="diff-title">Diff</h2>
            <form class="filters" onSubmit={(e) => e.preventDefault()}>
              <Field label="From"><select value={compare[0]} onChange={(e) => setCompare([e.currentTarget.value as Ref, compare[1]])}>{refs.map((r) => <option value={r}>{refLabel(r)}</option>)}</select></Field>
              <Field label="To"><select value={compare[1]} onChange={(e) => setCompare([compare[0], e.currentTarget.value as Ref])}>{refs.map((r) => <option value={r}>{refLabel(r)}</option>)}</select></Field>
            </form>
            {draft !== null && compare.includes('candidate') && <p class="notice">The diff shows the saved candidate: save your edits to see them here.</p>}
            <Failed error={diff.error} />
            {diff.data !== undefined && <Diff text={diff.data.diff} testid="diff" />}
          </section>
        </div>
      )}
      <section class="card" aria-labelledby="versions-title">
        <h2 id="versions-title">Versions</h2>
        <div class="scroll">
          <table data-testid="versions">
            <thead><tr><th>Version</th><th>Time</th><th>Author</th><th>Message</th><th></th></tr></thead>
            <tbody>
              {[...(versions.data ?? [])].reverse().map((v) => (
                <tr data-version={v.version}>
                  <td>{v.version}</td><td>{time(v.time)}</td><td>{v.author}</td><td>{v.message}</td>
                  <td class="actions">
                    <button type="button" class="link" onClick={() => setCompare([`${v.version}`, 'running'])}>diff to running</button>
                    {admin && <button type="button" class="link" disabled={busy} onClick={() => rollback(v.version)}>roll back to {v.version}</button>}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      </section>
      <section class="card" aria-labelledby="audit-title">
        <h2 id="audit-title">Audit log (newest 50)</h2>
        <div class="scroll">
          <table data-testid="audit">
            <thead><tr><th>#</th><th>Time</th><th>User</th><th>Action</th><th>Result</th><th>Target</th><th>Detail</th></tr></thead>
            <tbody>
              {recent.map((a) => (
                <tr>
                  <td>{a.seq}</td><td>{time(a.time)}</td><td>{a.user}</td><td>{a.action}</td>
                  <td><Pill cls={a.result === 'ok' ? 'good' : 'down'}>{a.result}</Pill></td><td>{a.target ?? ''}</td>
                  <td>{a.diff ? <details><summary>{a.detail ?? 'diff'}</summary><Diff text={a.diff} /></details> : (a.detail ?? '')}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      </section>
    </>
  );
}
