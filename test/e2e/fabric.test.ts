/**
 * End to end: `svr lab up --conductor --routers 4 --topology hub-spoke`: r1 the hub, r2..r4 spokes, each
 * a real `svr node` enrolled by ZTP, one host behind each. The conductor writes the peers the
 * neighborhoods give (hub<->spoke only) as generated adjacencies; STEP, through the conductor's
 * repository, tells each router where each site is; a client behind spoke r2 reaches a server behind
 * spoke r4 through the hub: multi-hop SVR
 * (r2 -> r1 -> r4), one session id on all three, metadata on each hop in a capture on the hub.
 * One lab for the whole file.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import * as assert from 'uvu/assert';
import { parse } from 'yaml';
import { conductorSessionPath } from '../../src/lab/conductor.js';
import type { SessionSummary } from '../../src/dataplane/views.js';
import { e2eDir, E2E_PREFIX, exec, inNs, parseNdjson, pollUntil, show, sleep, startCapture, svr, SVR, type DecodedLine, type Result, LAB_UP_MS } from './support.js';
import { requires } from '../support/prerequisites.js';

const PREFIX = E2E_PREFIX;
const NS = (name: string) => `${PREFIX}-${name}`;
const HOST = (i: number) => `198.18.${100 + i}.10`;
const WAYPOINT = (i: number) => `198.19.${100 + i}.1`;
const SPOKES = ['r2', 'r3', 'r4'];

const test = requires(import.meta.url);
const dir = e2eDir(test, `${PREFIX}-e2e-fabric`, () => downSync());
const env = { SVR_RUN_DIR: join(dir, 'run') };
const labArgs = ['--prefix', PREFIX, '--dir', dir];
let up = false;

const downSync = (): void => {
  spawnSync(process.execPath, [SVR, 'lab', 'down', ...labArgs], { env: { ...process.env, ...env }, stdio: 'ignore' });
};

/** `svr ...` inside the conductor's namespace with the lab's session. */
const cli = (args: readonly string[]): Promise<Result> =>
  exec('ip', ['netns', 'exec', NS('conductor'), process.execPath, SVR, ...args], { env: { ...env, SVR_CONDUCTOR_SESSION: conductorSessionPath(dir) } });

async function json<T>(args: readonly string[]): Promise<T> {
  const r = await cli(args);
  assert.is(r.code, 0, show(r));
  return JSON.parse(r.stdout) as T;
}

async function sessions(node: string): Promise<SessionSummary[]> {
  const r = await svr(['show', 'sessions', '--node', node, '--json'], env);
  assert.is(r.code, 0, show(r));
  return JSON.parse(r.stdout) as SessionSummary[];
}

function needUp(): void {
  if (!up) assert.unreachable('the lab is not up (the first test failed)');
}

test.after(async () => {
  const r = await svr(['lab', 'down', ...labArgs], env);
  if (r.code !== 0) console.error(`svr lab down failed: ${show(r)}`);
  // e2eDir removes the directory when every test passed (kept with the logs otherwise)
});

test('svr lab up --conductor --routers 4 --topology hub-spoke: four routers enrolled by ZTP, all synchronized', async () => {
  await svr(['lab', 'down', ...labArgs], env);
  const r = await svr(['lab', 'up', '--conductor', '--routers', '4', '--topology', 'hub-spoke', ...labArgs], env, LAB_UP_MS);
  assert.is(r.code, 0, show(r));
  assert.match(r.stdout, 'peers r1-r2 r1-r3 r1-r4');
  assert.match(r.stdout, 'one-time enrolment tokens for r1, r2, r3, r4');
  up = true;
  await pollUntil('four routers synchronized on version 1', 30_000, async () => {
    const rows = await json<{ router: string; status: string; version: number }[]>(['conductor', 'show', 'routers', '--json']).catch(() => []);
    return rows.length === 4 && rows.every((x) => x.status === 'synchronized' && x.version === 1) ? true : undefined;
  });
});

test('the generated peers are hub<->spoke only: in the committed config and on every router', async () => {
  needUp();
  const text = (await cli(['config', 'export'])).stdout;
  const routers = (parse(text) as { authority: { routers: { name: string; interfaces: { name: string; adjacencies?: { peer: string; generated: boolean }[] }[] }[] } }).authority.routers;
  const adjacent = (name: string) => routers.find((x) => x.name === name)!.interfaces.find((i) => i.name === 'wan0')!.adjacencies ?? [];
  assert.equal(adjacent('r1').map((a) => [a.peer, a.generated]), [['r2', true], ['r3', true], ['r4', true]], 'the hub: one generated adjacency per spoke');
  for (const s of SPOKES) assert.equal(adjacent(s).map((a) => [a.peer, a.generated]), [['r1', true]], `${s}: the hub only`);
  const peers = await pollUntil('every path up', 30_000, async () => {
    const rows = await json<{ router: string; peer: string; paths: { up: boolean }[] }[]>(['conductor', 'show', 'peers', '--json']);
    return rows.length === 6 && rows.every((p) => p.paths.every((x) => x.up)) ? rows : undefined;
  });
  assert.equal(peers.map((p) => `${p.router}-${p.peer}`).sort(), ['r1-r2', 'r1-r3', 'r1-r4', 'r2-r1', 'r3-r1', 'r4-r1']);
  for (const s of SPOKES) {
    const r = await svr(['show', 'peers', '--node', s, '--json'], env);
    assert.is(r.code, 0, show(r));
    assert.equal((JSON.parse(r.stdout) as { name: string }[]).map((p) => p.name), ['r1'], `${s} peers with the hub only`);
  }
});

test('a client behind spoke r2 reaches the server behind spoke r4 through the hub (multi-hop SVR); the hub\'s capture shows the session\'s metadata on both hops', async () => {
  needUp();
  // STEP: r2 learns that r4 delivers site4 and that r1 leads there; r1 learns it is r4
  await pollUntil('r2 and r1 route site4', 45_000, async () => {
    const routes = async (node: string) => {
      const r = await svr(['show', 'services', '--node', node, '--json'], env);
      return (JSON.parse(r.stdout) as { name: string; paths: string[] }[]).find((s) => s.name === 'site4')?.paths ?? [];
    };
    return (await routes('r2')).join() === 'wan0->r1/wan0' && (await routes('r1')).join() === 'wan0->r4/wan0' ? true : undefined;
  });
  const cap = await startCapture(NS('r1'), 'wan', join(dir, 'hub.pcap'));
  let page: Result;
  let echo: Result;
  try {
    page = await inNs(NS('h2'), 'curl', ['-sS', '-m', '10', '-D', '-', '-o', '/dev/null', `http://${HOST(4)}/`]);
    echo = await inNs(NS('h2'), process.execPath, [SVR, 'lab', 'udp-probe', HOST(4), '7', 'through the hub', '--count', '2']);
    await sleep(300);
  } finally {
    await cap.stop();
  }
  assert.is(page.code, 0, show(page));
  assert.match(page.stdout, /HTTP\/1\.1 200/);
  assert.match(page.stdout, new RegExp(`x-client-address: ${HOST(2).replace(/\./g, '\\.')}`, 'i'), 'the server behind r4 sees the client behind r2 by its own address');
  assert.is(echo.code, 0, show(echo));
  assert.match(echo.stdout, 'reply from');

  // STEP went through the conductor: it holds every router's document; no router sent STEP on the path channel
  const step = await json<{ documents: { router: string }[]; subscriptions: { router: string; documents: string[] }[] }>(['conductor', 'show', 'step', '--json']);
  assert.equal(step.documents.map((d) => d.router), ['r1', 'r2', 'r3', 'r4']);
  assert.equal(step.subscriptions.map((x) => x.router).sort(), ['r1', 'r2', 'r3', 'r4']);
  for (const node of ['r1', 'r2', 'r4']) {
    const st = await svr(['show', 'stats', '--node', node, '--json'], env);
    const c = JSON.parse(st.stdout) as Record<string, number>;
    assert.ok((c['step.published'] ?? 0) >= 1 && (c['step.tx-datagrams'] ?? 0) === 0 && (c['step.flooded'] ?? 0) === 0, `${node}: STEP to the conductor, none on the path channel: ${JSON.stringify(Object.fromEntries(Object.entries(c).filter(([k]) => k.startsWith('step.'))))}`);
  }

  // the UDP session (the TCP one closed already): ingress at r2 toward the hub, two legs at the hub, egress at r4; one id everywhere
  const web = (list: SessionSummary[]) => list.filter((s) => s.service === 'site4' && s.original.protocol === 'udp');
  const [at2, at1, at4] = [web(await sessions('r2')), web(await sessions('r1')), web(await sessions('r4'))];
  assert.is(at2.length, 1, JSON.stringify(at2));
  assert.equal([at2[0]!.role, at2[0]!.peer], ['ingress', 'r1']);
  assert.equal(at1.map((s) => [s.role, s.peer, s.transit?.peer]).sort(), [['egress', 'r2', 'r4'], ['ingress', 'r4', 'r2']], 'the hub holds the two legs');
  assert.equal([at4[0]!.role, at4[0]!.peer], ['egress', 'r1']);
  const id = at2[0]!.id;
  assert.ok([...at1, ...at4].every((s) => s.id === id), 'one session id on r2, r1 and r4');

  // the hub's wan: the first packets of each hop carry the UDP session's metadata
  const d = await svr(['decode', join(dir, 'hub.pcap')], env);
  assert.is(d.code, 0, show(d));
  const frames = parseNdjson<DecodedLine>(d.stdout).filter((p) => p.outer !== undefined && p.outer.dstPort !== 1280 && p.metadata?.service === 'site4' && p.metadata.forward?.protocol === 17);
  const hop = (src: number, dst: number) => frames.find((p) => p.outer!.src === WAYPOINT(src) && p.outer!.dst === WAYPOINT(dst));
  for (const [a, b, from] of [[2, 1, 'r2'], [1, 4, 'r1']] as const) {
    const p = hop(a, b);
    assert.ok(p !== undefined, `forward metadata from r${a} to r${b} in the hub's capture (${frames.length} frames with metadata)`);
    assert.equal(p!.metadata!.forward, { src: HOST(2), dst: HOST(4), srcPort: p!.metadata!.forward!.srcPort, dstPort: 7, protocol: 17 });
    assert.is(p!.metadata!.tenant, 'engineering');
    assert.is(p!.metadata!.sessionId, id);
    assert.is(p!.metadata!.sourceRouter, from, 'each hop names the router that sent it');
  }
});

test.run();
