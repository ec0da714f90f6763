/**
 * What the conductor keeps of router reports and asks routers for: the fabric history (fine samples for
 * an hour, one-minute means for a day, alarm events) on its own, then over a real conductor with two
 * managed routers whose hosts report paths and answer session questions over the channel; the web UI's
 * files served with their security headers.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify from 'fastify';
import { stringify } from 'yaml';
import { ConductorApiError } from '../../../src/conductor/agent/https.js';
import type { RouterQuery, RouterReport } from '../../../src/conductor/channel/protocol.js';
import { BUCKET_MS, FINE_SPAN_MS, FabricHistory } from '../../../src/conductor/fabric-history.js';
import { registerWebUi, WEB_UI_CSP } from '../../../src/conductor/api/web-ui.js';
import { baseAuthority } from '../model/helpers.js';
import { RecordingHost, startTestConductor, startTestRouter, type TestConductor, type TestRouter } from '../../support/conductor.js';
import { waitFor } from '../../support/config.js';

const report = (latencyMs: number, up = true, alarms: RouterReport['alarms'] = []): RouterReport => ({
  version: 1, health: 'ok', uptimeS: 1, sessions: 3, alarms,
  peers: [{ name: 'r2', reachable: up, paths: [{ name: 'wan0->r2/wan0', up, latencyMs, jitterMs: 0.5, lossPercent: 0, mos: 4.4 }] }],
});
const path = { router: 'r1', peer: 'r2', path: 'wan0->r2/wan0' };

test('history: every report for the last hour, one-minute means beyond it; a day at most', () => {
  const h = new FabricHistory();
  const t0 = 1_800_000_000_000 - (1_800_000_000_000 % BUCKET_MS);
  // 26 hours of reports every 2 s: latency 10 ms in even minutes, 20 ms in odd ones
  const end = t0 + 26 * 3600_000;
  for (let t = t0; t < end; t += 2000) h.report('r1', report(Math.floor((t - t0) / BUCKET_MS) % 2 === 0 ? 10 : 20), t);
  const recent = h.pathSeries(path, end - 60_000, end, end)!;
  assert.is(recent.resolution, 'fine');
  assert.is(recent.t.length, 30, 'a minute of reports every 2 s');
  const distinct = (xs: readonly (number | null)[]) => [...new Set(xs)].sort();
  assert.equal(distinct(recent.values.latencyMs), [20], 'the last minute is an odd one');
  const day = h.pathSeries(path, end - 30 * 3600_000, end, end)!;
  assert.is(day.resolution, 'minute');
  assert.is(day.t.length, 24 * 60, 'one bucket a minute, 24 h kept');
  assert.is(day.t[0], end - 24 * 3600_000, 'the oldest two hours are gone');
  assert.equal(distinct(day.values.latencyMs), [10, 20], 'each minute is its own mean');
  assert.equal(distinct(day.values.up), [1]);
  const fine = h.pathSeries(path, end - FINE_SPAN_MS, end, end)!;
  assert.is(fine.t.length, 1800, 'the fine ring holds an hour');
  assert.equal(h.paths().map((p) => [p.router, p.peer, p.path]), [['r1', 'r2', 'wan0->r2/wan0']]);
  assert.is(h.sessionSeries('r1', end - 10_000, end, end)!.values.sessions.length, 5);
  assert.is(h.pathSeries({ ...path, path: 'nope' }, 0, end), undefined);
});

test('history: a minute with the path down half the time shows up 0.5; unmeasured values are null', () => {
  const h = new FabricHistory();
  const t0 = 1_800_000_000_000 - (1_800_000_000_000 % BUCKET_MS);
  for (let k = 0; k < 30; k++) h.report('r1', k < 15 ? report(5) : { ...report(5, false), peers: [{ name: 'r2', reachable: false, paths: [{ name: 'wan0->r2/wan0', up: false }] }] }, t0 + k * 2000);
  const m = h.pathSeries(path, t0 - 1, t0 + 60_000, t0 + 3 * FINE_SPAN_MS)!;
  assert.is(m.resolution, 'minute');
  assert.equal(m.values.up, [0.5]);
  const f = h.pathSeries(path, t0, t0 + 60_000, t0 + 60_000)!;
  assert.is(f.values.latencyMs[14], 5);
  assert.is(f.values.latencyMs[15], null, 'a path down reports no latency');
});

test('history: alarms that appear and go away in reports are raised and cleared events, filtered', () => {
  const h = new FabricHistory();
  const a = { id: 'peer-unreachable/r2', severity: 'major' as const, message: 'peer r2 is unreachable (no path up)', since: '' };
  h.report('r1', report(1), 1000);
  h.report('r1', report(1, false, [a]), 3000);
  h.report('r1', report(1, false, [a]), 5000);
  h.report('r1', report(1), 7000);
  h.alarms('conductor', [{ id: 'r2/out-of-sync', severity: 'major', message: 'offline', since: '' }], 8000);
  assert.equal(h.events().map((e) => [e.seq, e.at, e.kind, e.source, e.alarmId]), [
    [1, 3000, 'alarm-raised', 'r1', 'r1/peer-unreachable/r2'],
    [2, 7000, 'alarm-cleared', 'r1', 'r1/peer-unreachable/r2'],
    [3, 8000, 'alarm-raised', 'r2', 'r2/out-of-sync'],
  ]);
  assert.equal(h.events({ after: 1, kind: 'alarm-raised' }).map((e) => e.seq), [3]);
  assert.equal(h.events({ source: 'r1', text: 'UNREACHABLE' }).map((e) => e.seq), [1, 2]);
  assert.equal(h.events({ severity: 'critical' }), []);
});

test('web UI files: index.html at / with a same-origin-only content security policy; 503 when not built', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'svr-webui-'));
  try {
    writeFileSync(join(dir, 'index.html'), '<!doctype html><title>svrouter</title>');
    writeFileSync(join(dir, 'app.js'), 'console.log(1)');
    const app = Fastify();
    await registerWebUi(app, dir);
    const page = await app.inject({ method: 'GET', url: '/' });
    assert.is(page.statusCode, 200);
    assert.match(page.body, '<title>svrouter</title>');
    assert.is(page.headers['content-security-policy'], WEB_UI_CSP);
    assert.match(String(page.headers['content-type']), 'text/html');
    const js = await app.inject({ method: 'GET', url: '/app.js' });
    assert.match(String(js.headers['content-type']), 'javascript');
    assert.is((await app.inject({ method: 'GET', url: '/../package.json' })).statusCode, 404);
    await app.close();
    const bare = Fastify();
    await registerWebUi(bare, join(dir, 'missing'));
    const none = await bare.inject({ method: 'GET', url: '/' });
    assert.is(none.statusCode, 503);
    assert.match(none.body, 'npm run build');
    await bare.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

/** A router host that reports one path and answers session questions from a fixed table. */
class ReportingHost extends RecordingHost {
  latencyMs = 1;
  readonly asked: RouterQuery[] = [];
  constructor(private readonly sessions: object[] | undefined) {
    super();
  }
  override report() {
    const { version: _v, ...r } = report(this.latencyMs);
    return r;
  }
  async query(q: RouterQuery): Promise<unknown> {
    this.asked.push(q);
    if (this.sessions === undefined) throw new Error('no session table here');
    if (q.what === 'sessions') return this.sessions.slice(0, q.limit);
    if (q.what === 'session') return { live: this.sessions.find((s) => (s as { id: string }).id === q.sessionId) ?? null, record: null };
    return { records: [{ sessionId: 'old', endMs: 5 }, { sessionId: 'older', endMs: 2 }], cursor: 'next-page' };
  }
}

let t: TestConductor;
let r1: TestRouter;
let r2: TestRouter;
const h1 = new ReportingHost([{ id: 's1', tenant: 'engineering', service: 'web' }, { id: 's2', tenant: 'engineering', service: 'echo' }]);
const h2 = new ReportingHost(undefined);

test('conductor: reports become path history; sessions are asked of each connected router over its channel', async () => {
  t = await startTestConductor(`# two routers\n${stringify({ authority: baseAuthority() })}`);
  r1 = await startTestRouter(t, 'r1', undefined, h1);
  r2 = await startTestRouter(t, 'r2', undefined, h2);
  await waitFor('both routers reported their path', async () => (await t.api<unknown[]>('GET', '/api/v1/history/paths')).length === 2, 10_000);
  h1.latencyMs = 50;
  await waitFor('the 50 ms report in r1\'s path history', async () => {
    const s = await t.api<{ resolution: string; t: number[]; values: { latencyMs: number[] } }>('GET', '/api/v1/history/path?router=r1&peer=r2&path=wan0-%3Er2%2Fwan0');
    return s.resolution === 'fine' && s.values.latencyMs.at(-1) === 50;
  }, 10_000);

  const live = await t.api<{ items: { router: string; id: string }[]; routers: Record<string, string> }>('GET', '/api/v1/sessions?tenant=engineering&limit=1');
  assert.equal(live.items, [{ router: 'r1', id: 's1', tenant: 'engineering', service: 'web' }]);
  assert.is(live.routers['r1'], 'ok');
  assert.match(live.routers['r2']!, 'no session table here', 'a router that cannot answer says why');
  assert.equal(h1.asked.at(-1), { what: 'sessions', filter: { tenant: 'engineering' }, limit: 1 });

  const one = await t.api<{ views: { router: string; live: { id: string } }[] }>('GET', '/api/v1/sessions/s2');
  assert.equal(one.views.map((v) => [v.router, v.live.id]), [['r1', 's2']]);
  const hist = await t.api<{ records: { sessionId: string }[]; more: string[] }>('GET', '/api/v1/sessions/history?router=r1&service=web&closeReason=denied');
  assert.equal(hist.records.map((r) => r.sessionId), ['old', 'older']);
  assert.equal(hist.more, ['r1'], 'r1 has more than one page');
  assert.equal(h1.asked.at(-1), { what: 'history', query: { service: 'web', closeReason: 'denied', limit: 100 } });

  try {
    await t.api('GET', '/api/v1/sessions?router=r9');
    assert.unreachable('r9 is no router');
  } catch (e) {
    assert.instance(e, ConductorApiError);
    assert.match((e as Error).message, 'no router named r9');
  }
  await r2.agent.stop();
  await waitFor('r2 not connected', async () => (await t.api<{ routers: Record<string, string> }>('GET', '/api/v1/sessions')).routers['r2'] === 'not connected', 10_000);
});

test('conductor: alarms from reports are events', async () => {
  // r2's channel closed: the conductor's alarm r2/disconnected, an event within 2 s
  await waitFor('the event of r2/disconnected', async () => (await t.api<{ kind: string; alarmId: string }[]>('GET', '/api/v1/events?source=r2')).some((e) => e.kind === 'alarm-raised' && e.alarmId === 'r2/disconnected'), 10_000);
});

test.after(async () => {
  await r1?.agent.stop();
  await r2?.agent.stop();
  await t?.stop();
});

test.run();
