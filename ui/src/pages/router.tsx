/** One router: its status and sync state, its peers and paths with their quality now, its alarms, its session count over time. */
import uPlot from 'uplot';
import { api, query, type Backend } from '../api.js';
import { useLive } from '../live.js';
import { href } from '../route.js';
import { mos, ms, pct, since } from '../format.js';
import { loadFabric, pathClass, statusClass } from '../fabric-data.js';
import { Chart } from '../components/chart.js';
import { Failed, Loading, Pill } from '../components/common.js';
import type { ActiveAlarm, SeriesReply } from '../types.js';

export function RouterPage({ name, backend }: { name: string; backend: Backend }) {
  const fabric = useLive(() => loadFabric(backend), [backend], ['routers', 'paths']);
  const alarms = useLive(() => api<ActiveAlarm[]>('GET', '/api/v1/alarms'), [], ['alarms']);
  const sessions = useLive(() => (backend === 'conductor' ? api<SeriesReply<'sessions'>>('GET', `/api/v1/history/sessions${query({ router: name, from: Date.now() - 3600_000 })}`) : Promise.resolve(undefined)), [backend, name], ['sessions']);
  const r = fabric.data?.find((x) => x.name === name);
  if (fabric.data === undefined) return <><h1>Router {name}</h1><Failed error={fabric.error} /><Loading what="the router" /></>;
  if (r === undefined) return <><h1>Router {name}</h1><p class="error">No router named {name} in this fabric. <a href="#/fabric">Back to the fabric</a></p></>;
  const mine = (alarms.data ?? []).filter((a) => a.source === name || a.id.startsWith(`${name}/`));
  return (
    <>
      <p><a href="#/fabric">← Fabric</a></p>
      <h1>Router {name} <Pill cls={statusClass(r.status)}>{r.status}</Pill></h1>
      <section class="card">
        <dl class="facts">
          <dt>Running version</dt><dd>{r.version ?? '–'}</dd>
          <dt>Head version</dt><dd>{r.head ?? '–'}</dd>
          <dt>Connected</dt><dd>{r.connected ? `yes, from ${r.address ?? '?'}` : 'no'}</dd>
          <dt>Health</dt><dd>{r.health}</dd>
          <dt>Sessions</dt><dd><a href={href(['sessions'], { router: name })}>{r.sessions}</a></dd>
          <dt>Last seen</dt><dd>{since(r.lastSeen)}</dd>
          {r.lastError !== null && <><dt>Last error</dt><dd class="error">{r.lastError}</dd></>}
        </dl>
      </section>
      <section class="card">
        <h2>Peers and paths</h2>
        <div class="scroll">
          <table>
            <thead><tr><th>Peer</th><th>Path</th><th>State</th><th>Latency</th><th>Jitter</th><th>Loss</th><th>MOS</th><th></th></tr></thead>
            <tbody>
              {r.peers.flatMap((p) => p.paths.map((x) => (
                <tr data-path={`${name}/${p.name}/${x.name}`}>
                  <td>{p.name}{p.reachable ? '' : ' (unreachable)'}</td>
                  <td>{x.name}</td>
                  <td><Pill cls={pathClass(x)}>{x.up ? pathClass(x) : 'down'}</Pill></td>
                  <td>{ms(x.latencyMs)}</td><td>{ms(x.jitterMs, 2)}</td><td>{pct(x.lossPercent)}</td><td>{mos(x.mos)}</td>
                  <td><a href={href(['paths'], { router: name, peer: p.name, path: x.name })}>charts</a></td>
                </tr>
              )))}
            </tbody>
          </table>
        </div>
      </section>
      <section class="card">
        <h2>Alarms</h2>
        {mine.length === 0 ? <p class="muted">None.</p> : <ul class="alarms">{mine.map((a) => <li><Pill cls={a.severity}>{a.severity}</Pill> <strong>{a.id}</strong> {a.message}</li>)}</ul>}
      </section>
      {sessions.data !== undefined && (
        <section class="card">
          <Chart title="Sessions (last hour)" unit="" digits={0} testid="chart-sessions" series={[{ key: name, label: name }]} data={[sessions.data.t.map((t) => t / 1000), sessions.data.values.sessions] as unknown as uPlot.AlignedData} />
        </section>
      )}
    </>
  );
}
