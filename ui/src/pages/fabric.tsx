/** Fabric: the graph of routers and paths, the routers with status, version, sync state and alarms, active alarms. */
import { api, type Backend } from '../api.js';
import { useLive } from '../live.js';
import { href } from '../route.js';
import { since } from '../format.js';
import { loadFabric, statusClass } from '../fabric-data.js';
import { FabricGraph } from '../components/graph.js';
import { Failed, Loading, Pill } from '../components/common.js';
import type { ActiveAlarm } from '../types.js';

export function FabricPage({ backend }: { backend: Backend }) {
  const fabric = useLive(() => loadFabric(backend), [backend], ['routers', 'paths']);
  const alarms = useLive(() => api<ActiveAlarm[]>('GET', '/api/v1/alarms'), [], ['alarms']);
  const routers = fabric.data;
  return (
    <>
      <h1>Fabric</h1>
      <Failed error={fabric.data === undefined ? fabric.error : undefined} />
      {routers === undefined ? <Loading what="the routers" /> : (
        <div class="fabric">
          <section aria-labelledby="graph-title" class="card">
            <h2 id="graph-title">Routers and paths</h2>
            <FabricGraph routers={routers} />
            <p class="legend"><Pill cls="good">good</Pill> <Pill cls="fair">fair: loss ≥ 1 % or MOS &lt; 4.0</Pill> <Pill cls="poor">poor: loss ≥ 5 % or MOS &lt; 3.6</Pill> <Pill cls="down">down</Pill></p>
          </section>
          <section aria-labelledby="active-title" class="card">
            <h2 id="active-title">Active alarms</h2>
            {alarms.data === undefined ? <Loading what="alarms" /> : alarms.data.length === 0 ? <p class="muted">None.</p> : (
              <ul class="alarms" data-testid="fabric-alarms">
                {alarms.data.map((a) => <li><Pill cls={a.severity}>{a.severity}</Pill> <strong>{a.id}</strong> {a.message}</li>)}
              </ul>
            )}
          </section>
        </div>
      )}
      {routers !== undefined && (
        <section aria-labelledby="routers-title" class="card">
          <h2 id="routers-title">Routers</h2>
          <div class="scroll">
            <table data-testid="routers">
              <thead><tr><th>Router</th><th>Status</th><th>Version</th><th>Health</th><th>Sessions</th><th>Peers up</th><th>Alarms</th><th>Last seen</th></tr></thead>
              <tbody>
                {routers.map((r) => {
                  const up = r.peers.filter((p) => p.reachable).length;
                  return (
                    <tr data-router={r.name}>
                      <td><a href={href(['routers', r.name])}>{r.name}</a></td>
                      <td><Pill cls={statusClass(r.status)}>{r.status}</Pill></td>
                      <td>{r.version ?? '–'}{r.head !== null && r.head !== r.version ? ` (head ${r.head})` : ''}</td>
                      <td>{r.health}</td>
                      <td>{r.sessions}</td>
                      <td>{up}/{r.peers.length}</td>
                      <td>{r.alarms > 0 ? <a href={href(['alarms'], { source: r.name })}>{r.alarms}</a> : 0}</td>
                      <td>{since(r.lastSeen)}</td>
                    </tr>
                  );
                })}
              </tbody>
            </table>
          </div>
        </section>
      )}
    </>
  );
}
