/**
 * One session as each router sees it: from the live tables (role, tenant, service, both 5-tuples: the
 * original and the SVR waypoint one, path, counters, state) and from the latest history record (forward
 * and reverse 5-tuples, waypoint and NAT, every path it used and each change with its reason, totals,
 * how it ended). Refreshed every 2 s while it lives.
 */
import { api, type Backend } from '../api.js';
import { useLive } from '../live.js';
import { href, type Route } from '../route.js';
import { age, bytes, time, tuple } from '../format.js';
import { Failed, Loading, RouterAnswers } from '../components/common.js';
import type { LiveSession, SessionViews } from '../types.js';

async function nodeViews(id: string): Promise<SessionViews> {
  const page = await api<{ items: LiveSession[] }>('GET', '/api/v1/sessions?limit=1000');
  const live = page.items.find((s) => s.id === id) ?? null;
  return { views: live === null ? [] : [{ router: 'this node', live, record: null }], routers: {} };
}

export function SessionPage({ id, backend, route }: { id: string; backend: Backend; route: Route }) {
  const v = useLive(() => (backend === 'node' ? nodeViews(id) : api<SessionViews>('GET', `/api/v1/sessions/${encodeURIComponent(id)}`)), [backend, id], ['sessions']);
  const back = route.params.get('from') === 'history' ? href(['sessions'], { tab: 'history' }) : href(['sessions']);
  return (
    <>
      <p><a href={back}>← Sessions</a></p>
      <h1>Session <span class="mono">{id}</span></h1>
      <Failed error={v.error} />
      {v.data === undefined ? <Loading what="the session" /> : (
        <>
          <RouterAnswers routers={v.data.routers} />
          {v.data.views.length === 0 && <p class="muted">No router has this session now or in its history.</p>}
          {v.data.views.map(({ router, live, record }) => (
            <section class="card" data-router={router}>
              <h2>At {router}{live !== null ? ` (${live.role}, live)` : record !== null ? ` (${record.role}, ended)` : ''}</h2>
              {live !== null && (
                <dl class="facts">
                  <dt>Tenant / service</dt><dd>{live.tenant} / {live.service}{live.application ? ` (${live.application})` : ''}</dd>
                  <dt>Original 5-tuple</dt><dd class="mono">{tuple(live.original)}</dd>
                  <dt>Waypoint 5-tuple</dt><dd class="mono">{tuple(live.waypoint)}</dd>
                  <dt>Peer and path</dt><dd>{live.peer ?? '–'} {live.path ?? ''}</dd>
                  <dt>Interfaces</dt><dd>{live.inInterface} → {live.outInterface}</dd>
                  <dt>Packets →/←</dt><dd>{live.packets.forward} / {live.packets.reverse}</dd>
                  <dt>Bytes →/←</dt><dd>{bytes(live.bytes.forward)} / {bytes(live.bytes.reverse)}</dd>
                  <dt>State</dt><dd>{live.state}, handshake {live.handshake}, encryption {live.encryption}</dd>
                  <dt>Age / idle</dt><dd>{age(live.ageMs)} / {age(live.idleMs)}; expires in {age(live.expiresInMs)}</dd>
                </dl>
              )}
              {record !== null && (
                <>
                  <h3>Latest record ({record.kind}, {time(record.endMs)})</h3>
                  <dl class="facts">
                    <dt>Forward 5-tuple</dt><dd class="mono">{tuple(record.forward)}</dd>
                    <dt>Reverse 5-tuple</dt><dd class="mono">{tuple(record.reverse)}</dd>
                    <dt>Waypoint</dt><dd class="mono">{tuple(record.waypoint)}</dd>
                    {record.nat !== undefined && <><dt>After NAT</dt><dd class="mono">{tuple(record.nat)}</dd></>}
                    <dt>Routers</dt><dd>{record.ingressRouter} → {record.egressRouter || '–'}</dd>
                    <dt>Bytes →/←</dt><dd>{bytes(record.bytes[0])} / {bytes(record.bytes[1])}</dd>
                    <dt>Started / ended</dt><dd>{time(record.startMs)} / {time(record.endMs)}</dd>
                    {record.closeReason !== undefined && <><dt>Close</dt><dd>{record.closeReason}{record.deniedReason !== undefined ? ` (${record.deniedReason})` : ''}</dd></>}
                  </dl>
                  <h3>Path history</h3>
                  <ol class="path-history">
                    {record.paths.length === 0 && <li>no peer path</li>}
                    {record.paths.length > 0 && <li>{time(record.startMs)}: {record.paths[0]}</li>}
                    {record.pathChanges.map((c) => <li>{time(c.atMs)}: {c.from} → {c.to} ({c.reason})</li>)}
                  </ol>
                </>
              )}
            </section>
          ))}
        </>
      )}
    </>
  );
}
