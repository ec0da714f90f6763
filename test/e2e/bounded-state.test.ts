/**
 * Bounded state on real nodes (docs/security.md "Bounded state"): `svr lab up`, then a service `flood`
 * (UDP 10000-14095, idle timeout 5 s) and the benchmark's C session client (bench/c/udp-load.c: new UDP
 * sessions from 8 addresses x 64 sockets, each answered by the C echo, as many as the routers take) for
 * FLOOD_S seconds. r1's session table and RSS are sampled every 3 s and printed: once creation and expiry
 * balance (after the 5 s timeout) both stay flat. A UDP stream started before the flood is an existing
 * session throughout. Then r1's session-capacity drops to 64 (svr node reload); once its table holds 64: new sessions are refused and counted (drop-session-table-full) while the stream keeps flowing.
 * Needs root, ip, iperf3, curl (the lab) and cc; otherwise its tests count as skipped.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as assert from 'uvu/assert';
import { parse, stringify } from 'yaml';
import { buildUdpLoad } from '../../bench/udp-load.js';
import { request } from '../../src/node/control-client.js';
import { backgroundLines, e2eDir, E2E_PREFIX, exec, inNs, pollUntil, show, sleep, svr, SVR, LAB_UP_MS } from './support.js';
import { requires } from '../support/prerequisites.js';

const PREFIX = `${E2E_PREFIX}b`;
const CLIENT_NS = `${PREFIX}-client`;
const SERVER_NS = `${PREFIX}-server`;
const SERVER = '198.18.3.20';
// 8 addresses x 64 sockets x 4096 ports: each tuple used once, 2 M sessions (60 s at 35,000/s)
const SOURCES = Array.from({ length: 8 }, (_, i) => `198.18.1.${10 + i}`);
const PORTS = { from: 10000, to: 14095 };
const FLOOD_S = 60;
const SAMPLE_MS = 3000;

const test = requires(import.meta.url);
const dir = e2eDir(test, `${PREFIX}-e2e-bounded`, () => downSync());
const env = { SVR_RUN_DIR: join(dir, 'run') };
const labArgs = ['--prefix', PREFIX, '--dir', dir];
const socket = (r: string) => join(dir, `${r}.sock`);
const downSync = (): void => {
  spawnSync(process.execPath, [SVR, 'lab', 'down', ...labArgs], { env: { ...process.env, ...env }, stdio: 'ignore' });
};

test.after(() => {
  downSync();
  // e2eDir removes the directory when every test passed (kept with the logs otherwise)
});

type Stats = Record<string, number> & { node: { pid: number } };

/** `svr show stats` of a router: its control request, made here (no CLI process per sample; a node busy
 *  with the flood in its one thread may take seconds to answer). */
async function stats(router: string): Promise<Stats> {
  return await request(socket(router), { method: 'show', what: 'stats' }, 30_000) as Stats;
}

function rssMb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m![1]) / 1024;
}

/** The lab's config with the flood service (5 s UDP timeout) routed r1 -> r2 -> server; r1's capacity if given. */
function floodConfig(file: string, r1Capacity?: number): void {
  const doc = parse(readFileSync(file, 'utf8')) as {
    authority: { services: Record<string, unknown>[]; routers: { name: string; 'service-routes': Record<string, unknown>[]; 'session-capacity'?: number }[] };
  };
  const a = doc.authority;
  if (!a.services.some((s) => s['name'] === 'flood')) {
    a.services.push({
      name: 'flood', addresses: ['198.18.3.0/24'], transport: [{ protocol: 'udp', ports: [`${PORTS.from}-${PORTS.to}`] }],
      'access-policy': [{ source: 'engineering' }], 'service-policy': 'lab-paths', timeouts: { udp: 5 },
    });
    a.routers.find((r) => r.name === 'r1')!['service-routes'].push({ name: 'flood-via-r2', service: 'flood', peer: 'r2' });
    a.routers.find((r) => r.name === 'r2')!['service-routes'].push({ name: 'flood-local', service: 'flood', 'next-hop': { interface: 'lan0' } });
  }
  if (r1Capacity !== undefined) a.routers.find((r) => r.name === 'r1')!['session-capacity'] = r1Capacity;
  writeFileSync(file, stringify(doc));
}

async function reload(router: string): Promise<void> {
  const r = await svr(['node', 'reload', '--socket', socket(router)], env);
  assert.is(r.code, 0, show(r));
}

test(`${FLOOD_S} s of new UDP sessions at the routers' rate, 5 s idle timeout: r1's table and RSS flat; at capacity new sessions are refused, an existing stream flows`, async () => {
  const up = await svr(['lab', 'up', ...labArgs], env, LAB_UP_MS);
  assert.is(up.code, 0, show(up));
  const tool = buildUdpLoad(dir);
  assert.ok(tool.path !== undefined, `bench/c/udp-load.c: ${tool.reason}`);
  for (const a of SOURCES.slice(1)) {
    const r = await exec('ip', ['-n', CLIENT_NS, 'addr', 'add', `${a}/24`, 'dev', 'c-r1']);
    assert.is(r.code, 0, show(r));
  }
  const config = join(dir, 'authority.yaml');
  floodConfig(config);
  await reload('r1');
  await reload('r2');
  const echo = backgroundLines('ip', ['netns', 'exec', SERVER_NS, tool.path, 'echo', SERVER, String(PORTS.from), String(PORTS.to)]);
  // stopped at the end (a busy host stretches the run)
  const stream = backgroundLines('ip', ['netns', 'exec', CLIENT_NS, process.execPath, SVR, 'lab', 'send-stream', '--rate', '100', '--duration', `${FLOOD_S + 240}s`, '--id', '4242', '--json']);
  try {
    await echo.waitLine(/ready/, 10_000);
    await stream.waitLine(/\{/, 10_000);
    // the reloads may take the path through a BFD hold-down: the flood starts once the flood service answers
    await pollUntil('the flood service through both routers', 30_000, async () => ((await inNs(CLIENT_NS, process.execPath, [SVR, 'lab', 'udp-probe', SERVER, String(PORTS.from), '--timeout', '500'], 5000)).code === 0 ? true : undefined));
    const client = backgroundLines('ip', ['netns', 'exec', CLIENT_NS, tool.path, 'client', SERVER, String(PORTS.from), String(PORTS.to), SOURCES.join(','), '64', '2048', String(FLOOD_S)]);
    const pid = (await stats('r1')).node.pid;
    console.log(`    r1 before the flood: RSS ${rssMb(pid).toFixed(1)} MB`);
    const curve: { t: number; active: number; created: number; expired: number; rss: number; dt: number }[] = [];
    const t0 = Date.now();
    let last = await stats('r1');
    let lastAt = Date.now();
    for (let t = SAMPLE_MS; Date.now() - t0 < FLOOD_S * 1000; t += SAMPLE_MS) {
      await sleep(t0 + t - Date.now());
      const s = await stats('r1');
      const at = Date.now();
      const dt = (at - lastAt) / 1000; // a slow answer on a busy host: rates over the real interval
      curve.push({
        t: Math.round((at - t0) / 100) / 10, active: s['sessions-active']!, created: (s['sessions-created']! - last['sessions-created']!) / dt,
        expired: (s['sessions-expired']! - last['sessions-expired']!) / dt, rss: rssMb(pid), dt,
      });
      last = s;
      lastAt = at;
    }
    const code = await client.exited;
    assert.is(code, 0, `client: ${client.lines.join('\n')}`);
    const result = JSON.parse(client.lines.find((l) => l.startsWith('{'))!) as { ok: number; okPerSecond: number; exhausted: boolean };
    console.log('    t(s)  sessions  created/s  expired/s  RSS(MB)');
    for (const p of curve) console.log(`    ${String(p.t).padStart(4)}  ${String(p.active).padStart(8)}  ${p.created.toFixed(0).padStart(9)}  ${p.expired.toFixed(0).padStart(9)}  ${p.rss.toFixed(1).padStart(7)}`);
    console.log(`    client: ${result.ok} sessions answered, ${result.okPerSecond.toFixed(0)}/s`);
    assert.not.ok(result.exhausted, 'the tuple space lasted');
    const rate = curve.reduce((n, p) => n + p.created * p.dt, 0) / curve.reduce((n, p) => n + p.dt, 0);
    assert.ok(rate >= 500, `a real load: ${rate.toFixed(0)} sessions/s`);
    // balanced once the first sessions expire (5 s timeout): from 15 s on, nothing older than ~12 s stays
    // (5 s idle + the sweep's and the sampling's lag on a busy host), expiry matches creation, RSS has no trend
    const steady = curve.filter((p) => p.t >= 15 && p.t <= FLOOD_S - 4); // the client winds down in its last seconds
    const sum = (ps: typeof curve, f: (p: (typeof curve)[number]) => number) => ps.reduce((n, p) => n + f(p), 0);
    for (const p of steady) {
      const recent = sum(curve.filter((q) => q.t - q.dt >= p.t - 12.5 && q.t <= p.t), (q) => q.created * q.dt);
      assert.ok(p.active <= recent + 2000, `t=${p.t}: ${p.active} sessions, at most those of the last 12 s (${recent.toFixed(0)})`);
    }
    const created = sum(steady, (p) => p.created * p.dt);
    const expired = sum(steady, (p) => p.expired * p.dt);
    assert.ok(expired >= created * 0.8, `expiry keeps up: ${expired.toFixed(0)} expired for ${created.toFixed(0)} created from 15 s on`);
    const half = Math.floor(steady.length / 2);
    const rssFirst = Math.max(...steady.slice(0, half).map((p) => p.rss));
    const rssLast = Math.max(...steady.slice(half).map((p) => p.rss));
    assert.ok(rssLast <= rssFirst * 1.2 + 16, `RSS flat: at most ${rssFirst.toFixed(0)} MB in the first half of the steady state, ${rssLast.toFixed(0)} MB in the second`);

    // at capacity: r1 holds far more than 64 sessions; new ones are refused while the stream flows
    floodConfig(config, 64);
    await reload('r1');
    const before = await stats('r1');
    const streamBefore = await streamReceived();
    const refused = await inNs(CLIENT_NS, tool.path, ['client', SERVER, String(PORTS.from), String(PORTS.to), SOURCES.join(','), '64', '256', '1'], 20_000);
    assert.is(refused.code, 0, show(refused));
    const after = await stats('r1');
    const streamAfter = await streamReceived();
    const full = after['drop-session-table-full']! - before['drop-session-table-full']!;
    const opened = after['sessions-created']! - before['sessions-created']!;
    console.log(`    capacity 64 with ${before['sessions-active']} session(s) in the table: ${opened} created, ${full} refused (drop-session-table-full); `
      + `the stream got ${streamAfter - streamBefore} datagrams meanwhile`);
    assert.ok(full > 100, `new sessions refused and counted (${full})`);
    // the flood's last sessions expire meanwhile: room opens, but never for more than the capacity
    assert.ok(opened <= 64, `no more created than the capacity (${opened})`);
    assert.ok(after['sessions-active']! <= Math.max(64, before['sessions-active']!), `the table stays within its capacity (${after['sessions-active']})`);
    assert.ok(streamAfter - streamBefore >= 100, `the existing stream kept flowing (${streamAfter - streamBefore} datagrams at 100/s)`);
  } finally {
    await stream.stop();
    await echo.stop();
  }
});

async function streamReceived(): Promise<number> {
  const r = await inNs(CLIENT_NS, 'curl', ['-sS', '-m', '5', `http://${SERVER}/stream-stats/4242`]);
  assert.is(r.code, 0, show(r));
  return (JSON.parse(r.stdout) as { received: number }).received;
}

test.run();
