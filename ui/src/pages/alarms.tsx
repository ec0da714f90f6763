/**
 * Alarms and events: the active alarms (the conductor's and those routers report, or the node's), and the
 * events of alarms raised and cleared, newest first; filters by severity, source, kind and text.
 */
import { useState } from 'preact/hooks';
import { api, query, type Backend } from '../api.js';
import { useLive } from '../live.js';
import { setParams, type Route } from '../route.js';
import { since, time } from '../format.js';
import { Failed, Field, Loading, Pill } from '../components/common.js';
import type { ActiveAlarm, FabricEvent } from '../types.js';

const SEVERITIES = ['critical', 'major', 'minor', 'info'];

interface Row {
  at: number;
  kind: string;
  source: string;
  alarmId: string;
  severity: string;
  message: string;
}

interface NodeEvent { seq: number; at: number; kind: string; category: string; severity: string; source: string; message: string; alarmId?: string }

async function events(backend: Backend, f: Record<string, string>): Promise<Row[]> {
  if (backend === 'node') {
    const page = await api<{ items: NodeEvent[] }>('GET', `/api/v1/events${query({ since: new Date(Date.now() - 24 * 3600_000).toISOString(), limit: 1000 })}`);
    return page.items.map((e) => ({ at: e.at, kind: e.kind, source: e.source, alarmId: e.alarmId ?? e.category, severity: e.severity, message: e.message })).filter((e) => matches(e, f));
  }
  const list = await api<FabricEvent[]>('GET', `/api/v1/events${query({ severity: f['severity'], source: f['source'], kind: f['kind'], text: f['text'] })}`);
  return list;
}

function matches(e: { severity: string; source: string; message: string; kind?: string; alarmId?: string; id?: string }, f: Record<string, string>): boolean {
  const text = (f['text'] ?? '').toLowerCase();
  return (!f['severity'] || e.severity === f['severity']) && (!f['source'] || e.source === f['source']) && (!f['kind'] || e.kind === undefined || e.kind === f['kind'])
    && (text === '' || e.message.toLowerCase().includes(text) || (e.alarmId ?? e.id ?? '').toLowerCase().includes(text));
}

export function AlarmsPage({ route, backend }: { route: Route; backend: Backend }) {
  const f = Object.fromEntries(['severity', 'source', 'kind', 'text'].map((k) => [k, route.params.get(k) ?? '']));
  const [text, setText] = useState(f['text'] ?? '');
  const set = (p: Record<string, string>) => setParams(['alarms'], { ...f, ...p });
  const active = useLive(() => api<ActiveAlarm[]>('GET', '/api/v1/alarms'), [], ['alarms']);
  const log = useLive(() => events(backend, f), [backend, JSON.stringify(f)], ['alarms']);
  const shown = (active.data ?? []).filter((a) => matches({ ...a, source: a.source }, { ...f, kind: '' }));
  const sources = [...new Set([...(active.data ?? []).map((a) => a.source), ...(log.data ?? []).map((e) => e.source)])].sort();
  return (
    <>
      <h1>Alarms and events</h1>
      <form class="filters" onSubmit={(e) => { e.preventDefault(); set({ text }); }} aria-label="filters">
        <Field label="Severity">
          <select value={f['severity']} onChange={(e) => set({ severity: e.currentTarget.value })}>
            <option value="">all</option>{SEVERITIES.map((s) => <option value={s}>{s}</option>)}
          </select>
        </Field>
        <Field label="Source">
          <select value={f['source']} onChange={(e) => set({ source: e.currentTarget.value })}>
            <option value="">all</option>{sources.map((s) => <option value={s}>{s}</option>)}
          </select>
        </Field>
        <Field label="Event">
          <select value={f['kind']} onChange={(e) => set({ kind: e.currentTarget.value })}>
            <option value="">all</option><option value="alarm-raised">raised</option><option value="alarm-cleared">cleared</option>
          </select>
        </Field>
        <Field label="Text"><input value={text} onInput={(e) => setText(e.currentTarget.value)} /></Field>
        <button type="submit">Apply</button>
      </form>
      <section class="card" aria-labelledby="active-title">
        <h2 id="active-title">Active alarms</h2>
        <Failed error={active.error} />
        {active.data === undefined ? <Loading what="alarms" /> : shown.length === 0 ? <p class="muted">None{active.data.length > 0 ? ' match the filters' : ''}.</p> : (
          <div class="scroll">
            <table data-testid="active-alarms">
              <thead><tr><th>Severity</th><th>Alarm</th><th>Source</th><th>Message</th><th>Since</th></tr></thead>
              <tbody>
                {shown.map((a) => {
                  const t = 'since' in a ? a.since : (a as { raisedAt?: number }).raisedAt;
                  return <tr data-alarm={a.id}><td><Pill cls={a.severity}>{a.severity}</Pill></td><td>{a.id}</td><td>{a.source}</td><td>{a.message}</td><td>{time(t)} ({since(t)})</td></tr>;
                })}
              </tbody>
            </table>
          </div>
        )}
      </section>
      <section class="card" aria-labelledby="events-title">
        <h2 id="events-title">Events</h2>
        <Failed error={log.error} />
        {log.data === undefined ? <Loading what="events" /> : log.data.length === 0 ? <p class="muted">No events{backend === 'conductor' ? ' since the conductor started' : ''}.</p> : (
          <div class="scroll">
            <table data-testid="events">
              <thead><tr><th>Time</th><th>Event</th><th>Severity</th><th>Alarm</th><th>Source</th><th>Message</th></tr></thead>
              <tbody>
                {[...log.data].reverse().slice(0, 500).map((e) => (
                  <tr><td>{time(e.at)}</td><td>{e.kind.replace('alarm-', '')}</td><td><Pill cls={e.severity}>{e.severity}</Pill></td><td>{e.alarmId}</td><td>{e.source}</td><td>{e.message}</td></tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </section>
    </>
  );
}
