/**
 * Sessions: the live sessions of every router (asked of the routers through the conductor, or the node's
 * own table), filtered by router, tenant, service, application and address; and the session history
 * (the routers' records of ended sessions) with its own filters and time range. A row opens the session.
 */
import { useState } from 'preact/hooks';
import { api, query, type Backend } from '../api.js';
import { useLive } from '../live.js';
import { href, setParams, type Route } from '../route.js';
import { age, bytes, time, tuple } from '../format.js';
import { Failed, Field, Loading, RouterAnswers } from '../components/common.js';
import type { HistoryReply, LiveSession, SessionsReply } from '../types.js';

const LIVE_FILTERS = ['router', 'tenant', 'service', 'application', 'address'] as const;
const HISTORY_FILTERS = ['router', 'tenant', 'service', 'application', 'source', 'destination', 'port'] as const;
const HISTORY_RANGES: readonly { key: string; label: string; ms?: number }[] = [
  { key: '10m', label: 'last 10 minutes', ms: 10 * 60_000 },
  { key: '1h', label: 'last hour', ms: 3600_000 },
  { key: '24h', label: 'last 24 hours', ms: 24 * 3600_000 },
  { key: '7d', label: 'last 7 days', ms: 7 * 24 * 3600_000 },
  { key: 'all', label: 'any time' },
];

const PLACEHOLDERS: Record<string, string> = { address: '198.18.1.10 or 198.18.1.', source: 'client: 198.18.1.10 or 198.18.1.0/24', destination: 'server: address or prefix' };

/** The node's own table (GET /api/v1/sessions, first page), filtered like the conductor's. */
async function nodeSessions(f: Record<string, string>): Promise<SessionsReply> {
  const [page, health] = await Promise.all([
    api<{ items: LiveSession[] }>('GET', `/api/v1/sessions${query({ tenant: f['tenant'], service: f['service'], limit: 1000 })}`),
    api<{ router: string }>('GET', '/api/v1/health'),
  ]);
  const a = f['address'];
  const items = page.items.map((s) => ({ ...s, router: health.router })).filter((s) => (f['application'] === undefined || f['application'] === '' || s.application === f['application'])
    && (a === undefined || a === '' || [s.original.src, s.original.dst].some((x) => x === a || ((a.endsWith('.') || a.endsWith(':')) && x.startsWith(a)))));
  return { items, routers: {} };
}

/**
 * The node's own history (GET /api/v1/sessions/history, first page), as the conductor's reply. The node's
 * route names the close reason `reason` and takes end times as ISO 8601 (`since`).
 */
async function nodeHistory(f: Record<string, string | number | undefined>): Promise<HistoryReply> {
  const { closeReason, from, ...rest } = f;
  const q = query({ ...rest, reason: closeReason, since: typeof from === 'number' ? new Date(from).toISOString() : undefined });
  const [page, health] = await Promise.all([
    api<{ items: HistoryReply['records']; next?: string }>('GET', `/api/v1/sessions/history${q}`),
    api<{ router: string }>('GET', '/api/v1/health'),
  ]);
  return { records: page.items, routers: {}, more: page.next === undefined ? [] : [health.router] };
}

/** Text inputs that update the route's query when submitted (Enter or the button). */
function Filters({ names, values, onApply, extra, testid }: { names: readonly string[]; values: Record<string, string>; onApply: (v: Record<string, string>) => void; extra?: preact.ComponentChildren; testid: string }) {
  const [draft, setDraft] = useState(values);
  return (
    <form class="filters" onSubmit={(e) => { e.preventDefault(); onApply(draft); }} aria-label="filters" data-testid={testid}>
      {names.map((n) => (
        <Field label={n}>
          <input name={n} value={draft[n] ?? ''} onInput={(e) => setDraft({ ...draft, [n]: e.currentTarget.value.trim() })} placeholder={PLACEHOLDERS[n] ?? ''} />
        </Field>
      ))}
      {extra}
      <button type="submit">Apply</button>
    </form>
  );
}

export function SessionsPage({ route, backend }: { route: Route; backend: Backend }) {
  const tab = route.params.get('tab') === 'history' ? 'history' : 'live';
  const values = Object.fromEntries([...route.params.entries()].filter(([k]) => k !== 'tab'));
  const go = (t: string, v: Record<string, string>) => setParams(['sessions'], { ...v, tab: t === 'live' ? undefined : t });
  return (
    <>
      <h1>Sessions</h1>
      <div role="tablist" class="tabs">
        <a role="tab" aria-selected={tab === 'live'} href={href(['sessions'])}>Live</a>
        <a role="tab" aria-selected={tab === 'history'} href={href(['sessions'], { tab: 'history' })}>History</a>
      </div>
      {tab === 'live'
        ? <LiveSessions key={`live${JSON.stringify(values)}`} backend={backend} values={values} apply={(v) => go('live', v)} />
        : <HistorySessions key={`hist${JSON.stringify(values)}`} backend={backend} values={values} apply={(v) => go('history', v)} />}
    </>
  );
}

function LiveSessions({ backend, values, apply }: { backend: Backend; values: Record<string, string>; apply: (v: Record<string, string>) => void }) {
  const f = Object.fromEntries(LIVE_FILTERS.map((k) => [k, values[k] ?? '']));
  const live = useLive(() => (backend === 'node' ? nodeSessions(f) : api<SessionsReply>('GET', `/api/v1/sessions${query({ ...f, limit: 500 })}`)), [backend, JSON.stringify(f)], ['sessions']);
  return (
    <section class="card">
      <Filters names={backend === 'node' ? LIVE_FILTERS.filter((n) => n !== 'router') : LIVE_FILTERS} values={f} onApply={apply} testid="live-filters" />
      <Failed error={live.error} />
      {live.data === undefined ? <Loading what="sessions" /> : (
        <>
          <RouterAnswers routers={live.data.routers} />
          <p class="muted">{live.data.items.length} session{live.data.items.length === 1 ? '' : 's'}, newest first; refreshed every 2 s.</p>
          <div class="scroll">
            <table data-testid="live-sessions">
              <thead><tr><th>Router</th><th>Session</th><th>Role</th><th>Tenant</th><th>Service</th><th>Application</th><th>5-tuple</th><th>Path</th><th>Age</th><th>Bytes →/←</th><th>State</th></tr></thead>
              <tbody>
                {live.data.items.map((s) => (
                  <tr data-session={s.id} data-router={s.router}>
                    <td>{s.router}</td>
                    <td><a href={href(['sessions', s.id])}>{s.id.slice(0, 8)}</a></td>
                    <td>{s.role}</td><td>{s.tenant}</td><td>{s.service}</td><td>{s.application || '–'}</td>
                    <td class="mono">{tuple(s.original)}</td>
                    <td>{s.peer !== undefined ? `${s.peer} ${s.path ?? ''}` : '–'}</td>
                    <td>{age(s.ageMs)}</td>
                    <td>{bytes(s.bytes.forward)} / {bytes(s.bytes.reverse)}</td>
                    <td>{s.state}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </>
      )}
    </section>
  );
}

function HistorySessions({ backend, values, apply }: { backend: Backend; values: Record<string, string>; apply: (v: Record<string, string>) => void }) {
  const f = Object.fromEntries(HISTORY_FILTERS.map((k) => [k, values[k] ?? '']));
  const range = HISTORY_RANGES.find((r) => r.key === values['range']) ?? HISTORY_RANGES[1];
  const deniedOnly = values['closeReason'] === 'denied';
  const [rangeDraft, setRange] = useState<string>(range.key);
  const [deniedDraft, setDenied] = useState(deniedOnly);
  const hist = useLive(() => {
    const params = { ...f, closeReason: deniedOnly ? 'denied' : undefined, from: range.ms === undefined ? undefined : Date.now() - range.ms, limit: 200 };
    return backend === 'node' ? nodeHistory(params) : api<HistoryReply>('GET', `/api/v1/sessions/history${query(params)}`);
  }, [backend, JSON.stringify(f), range.key, deniedOnly], [], 10_000);
  const extra = (
    <>
      <Field label="ended">
        <select name="range" value={rangeDraft} onChange={(e) => setRange(e.currentTarget.value)}>
          {HISTORY_RANGES.map((r) => <option value={r.key}>{r.label}</option>)}
        </select>
      </Field>
      <label class="field check"><input type="checkbox" name="denied" checked={deniedDraft} onChange={(e) => setDenied(e.currentTarget.checked)} /><span>denied only</span></label>
    </>
  );
  return (
    <section class="card">
      <Filters names={backend === 'node' ? HISTORY_FILTERS.filter((n) => n !== 'router') : HISTORY_FILTERS} values={f} onApply={(v) => apply({ ...v, range: rangeDraft === '1h' ? '' : rangeDraft, closeReason: deniedDraft ? 'denied' : '' })} extra={extra} testid="history-filters" />
      <Failed error={hist.error} />
      {hist.data === undefined ? (hist.error === undefined ? <Loading what="the history" /> : null) : (
        <>
          <RouterAnswers routers={hist.data.routers} />
          <p class="muted">{hist.data.records.length} record{hist.data.records.length === 1 ? '' : 's'}, newest first (each router's own history, up to 200 each).</p>
          {hist.data.more.length > 0 && <p class="notice">{hist.data.more.join(', ')} {hist.data.more.length === 1 ? 'has' : 'have'} more: narrow the filters or the time range.</p>}
          <div class="scroll">
            <table data-testid="history-sessions">
              <thead><tr><th>Ended</th><th>Router</th><th>Session</th><th>Role</th><th>Tenant</th><th>Service</th><th>5-tuple</th><th>Paths</th><th>Bytes →/←</th><th>Close</th></tr></thead>
              <tbody>
                {hist.data.records.map((r) => (
                  <tr data-session={r.sessionId} data-router={r.router}>
                    <td>{time(r.endMs)}</td><td>{r.router}</td>
                    <td><a href={href(['sessions', r.sessionId])}>{r.sessionId.slice(0, 8)}</a></td>
                    <td>{r.role}</td><td>{r.tenant || '–'}</td><td>{r.service || '–'}</td>
                    <td class="mono">{tuple(r.forward)}</td>
                    <td>{r.paths.join(', ') || '–'}</td>
                    <td>{bytes(r.bytes[0])} / {bytes(r.bytes[1])}</td>
                    <td>{r.closeReason ?? r.kind}{r.deniedReason !== undefined ? ` (${r.deniedReason})` : ''}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </>
      )}
    </section>
  );
}
