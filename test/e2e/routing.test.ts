/**
 * End to end, routing (docs/routing.md): `svr lab up --bgp` puts a provider edge (`<prefix>-pe`, its own
 * FRR, AS 65100) next to both routers; each node runs its own zebra, bgpd and bfdd and learns routes
 * over FPM. One lab for the whole file:
 * - the PE announces 198.18.60.0/24: r1's RIB selects it, service bgp-web (use-learned-routes) forwards
 *   a real HTTP request to the PE's server; the PE withdraws it: `svr show rib` loses it, a UDP stream's
 *   session on it is removed (no-route, counted), new sessions are refused with reason no-route (counter,
 *   `svr explain`); announced again: the stream goes on in a new session, HTTP works again;
 * - r2 announces the clients (redistribute service) while a path to r1 is usable: `svr lab impair` takes
 *   the path down and the PE's bgpd (`show ip bgp json`) loses the prefix within the BFD detection time
 *   (3 x 100 ms) plus 1 s, and has it again once the path is back;
 * - a flood of 10,000 prefixes from the PE is learned and compiled (`svr show fib --json` counts them),
 *   the node's memory is reported;
 * - bgpd killed: the node restarts it, counts it, raises and clears an alarm, and the learned route comes back;
 * - the PE shuts the session down: r1 raises bgp-neighbor-down and clears it when the session is back.
 * Needs root, ip, curl, iperf3 and FRR (vtysh; test/support/prerequisites.ts), otherwise skipped.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as assert from 'uvu/assert';
import { curlIn } from '../../src/lab/fetch.js';
import { FLOOD_RANGE, PE_PREFIX, PE_SERVER, floodPrefixes, peAnnounce, peVtysh } from '../../src/lab/bgp.js';
import { request } from '../../src/node/control-client.js';
import type { RibView, FibView } from '../../src/routing/views.js';
import type { BgpView } from '../../src/routing/bgp-view.js';
import type { RoutingStatus } from '../../src/routing/node-routing.js';
import { background, e2eDir, E2E_PREFIX, inNs, pollUntil, show, shown, svr, SVR, LAB_UP_MS } from './support.js';
import { requires } from '../support/prerequisites.js';

const PREFIX = E2E_PREFIX;
const CLIENT_NS = `${PREFIX}-client`;
const BFD_MS = 100;
const DETECTION_MS = 3 * BFD_MS;

const test = requires(import.meta.url);
const base = e2eDir(test, `${PREFIX}-e2e-routing`, () => downSync());
const env = { SVR_RUN_DIR: join(base, 'run') };
const dir = join(base, 'lab');
const labArgs = ['--prefix', PREFIX, '--dir', dir];
const sock = (node: 'r1' | 'r2'): string => join(dir, `${node}.sock`);
const downSync = (): void => void spawnSync(process.execPath, [SVR, 'lab', 'down', ...labArgs], { env: { ...process.env, ...env }, stdio: 'ignore' });

const rib = async (node: 'r1' | 'r2' = 'r1'): Promise<RibView> => (await request(sock(node), { method: 'show', what: 'rib' })) as RibView;
const bgp = async (node: 'r1' | 'r2' = 'r1'): Promise<BgpView & { routing: RoutingStatus }> => (await request(sock(node), { method: 'show', what: 'bgp' })) as BgpView & { routing: RoutingStatus };
const selected = async (prefix: string): Promise<boolean> => (await rib()).routes.some((r) => r.prefix === prefix && r.selected && r.protocol === 'bgp');
const counter = async (name: string): Promise<number> => Number(((await request(sock('r1'), { method: 'show', what: 'stats' })) as Record<string, unknown>)[name] ?? 0);
const peHas = async (prefix: string): Promise<boolean> => (JSON.parse(await peVtysh(dir, PREFIX, [`show ip bgp ${prefix} json`])) as { prefix?: string }).prefix === prefix;
const get = (timeoutSec = 3) => curlIn(CLIENT_NS, `http://${PE_SERVER}/`, { timeoutSec }).then((d) => d, (e: unknown) => ({ error: e instanceof Error ? e.message : String(e) }));

test.before(shown(async () => {
  const t0 = Date.now();
  const r = await svr(['lab', 'up', ...labArgs, '--bgp', '--bfd-interval', String(BFD_MS), '--hold-down', '1'], env, LAB_UP_MS);
  assert.is(r.code, 0, show(r));
  console.log(`    svr lab up --bgp in ${((Date.now() - t0) / 1000).toFixed(1)} s (dir ${dir})`);
}));

test.after(async () => {
  const r = await svr(['lab', 'down', ...labArgs], env);
  if (r.code !== 0) console.error(`svr lab down failed: ${show(r)}`);
});

test('the PE announces its server prefix: r1 learns it over FPM and bgp-web forwards along it', async () => {
  await pollUntil(`r1's RIB selecting ${PE_PREFIX} from BGP`, 20_000, async () => ((await selected(PE_PREFIX)) ? true : undefined));
  // bfdd's session may come up a moment after BGP's (seen down once with the route already selected): wait for both
  const peer = async () => (await bgp()).neighbors.find((x) => x.address === '198.18.61.1');
  await pollUntil('the PE established with BFD up', 10_000, async () => { const x = await peer(); return x?.state === 'Established' && x.bfd === 'up' ? true : undefined; }).catch(() => undefined);
  const n = await peer();
  assert.is(n?.state, 'Established');
  assert.is(n?.bfd, 'up');
  // the same over the node's REST API (GET /api/v1/bgp: its 200 needs FRR, so it is checked here; test/unit/api/routes.test.ts has the rest)
  const token = readFileSync(join(dir, 'api-read.token'), 'utf8').trim();
  const rest = await inNs(`${PREFIX}-r1`, 'curl', ['-sS', '--max-time', '10', '-w', '\n%{http_code}', '-H', `Authorization: Bearer ${token}`, 'http://127.0.0.1:8443/api/v1/bgp']);
  assert.match(rest.stdout, /\n200$/, show(rest));
  const viaApi = JSON.parse(rest.stdout.slice(0, rest.stdout.lastIndexOf('\n'))) as BgpView;
  assert.is(viaApi.neighbors.find((x) => x.address === '198.18.61.1')?.state, 'Established', rest.stdout);
  const d = await get();
  assert.ok('status' in d && d.status === 200, `GET http://${PE_SERVER}/ through r1: ${JSON.stringify(d)}`);
  const sessions = (await request(sock('r1'), { method: 'show', what: 'sessions' })) as { service: string }[];
  assert.ok(sessions.some((s) => s.service === 'bgp-web'), 'a bgp-web session on r1');
});

type SessionLine = { id: string; service: string; original: { protocol: string } };
const udpSessions = async (): Promise<SessionLine[]> =>
  ((await request(sock('r1'), { method: 'show', what: 'sessions' })) as SessionLine[]).filter((s) => s.service === 'bgp-web' && s.original.protocol === 'udp');

test('the PE withdraws it: a UDP stream on it ends (no-route), new sessions are refused; announced again the stream goes on', async () => {
  const before = await counter('drop-no-route');
  const noRouteBefore = await counter('sessions-no-route');
  // one socket, a datagram every 50 ms for 30 s: one session on the learned route
  const stream = background('ip', ['netns', 'exec', CLIENT_NS, process.execPath, SVR, 'lab', 'udp-probe', PE_SERVER, '7', 'follow', '--count', '600', '--interval', '50']);
  try {
    const [first] = await pollUntil('a bgp-web UDP session on r1', 10_000, async () => ((await udpSessions()).length > 0 ? udpSessions() : undefined));
    await peAnnounce(dir, PREFIX, false);
    const t0 = Date.now();
    await pollUntil(`r1's RIB losing ${PE_PREFIX}`, 5000, async () => ((await selected(PE_PREFIX)) ? undefined : true));
    console.log(`    withdrawn from r1's RIB ${Date.now() - t0} ms after the PE's \`no network\``);
    // the stream's session does not stay on the dead route: removed, reason no-route; its next datagrams are refused
    await pollUntil('the stream\'s session removed', 2000, async () => ((await udpSessions()).some((s) => s.id === first!.id) ? undefined : true));
    assert.ok((await counter('sessions-no-route')) > noRouteBefore, 'sessions-no-route counted');
    await pollUntil('the stream\'s next datagram refused (drop-no-route)', 3000, async () => ((await counter('drop-no-route')) > before ? true : undefined));
    await checkRefused(before);
    await peAnnounce(dir, PREFIX, true);
    await pollUntil(`r1's RIB selecting ${PE_PREFIX} again`, 5000, async () => ((await selected(PE_PREFIX)) ? true : undefined));
    const [next] = await pollUntil('the stream on a new session along the route', 5000, async () => ((await udpSessions()).length > 0 ? udpSessions() : undefined));
    assert.is.not(next!.id, first!.id);
  } finally {
    await stream.stop();
  }
  const again = await get();
  assert.ok('status' in again && again.status === 200, JSON.stringify(again));
});

/** While withdrawn: a new HTTP session is refused, counted, and `svr explain` names the missing route. */
async function checkRefused(before: number): Promise<void> {
  const d = await get(2);
  assert.ok(!('status' in d && d.status === 200), `a new session must be refused: ${JSON.stringify(d)}`);
  assert.ok((await counter('drop-no-route')) > before, 'drop-no-route counted');
  const explain = await svr(['explain', '--socket', sock('r1'), '--src', '198.18.1.10', '--dst', PE_SERVER, '--port', '80', '--json'], env);
  const e = JSON.parse(explain.stdout) as { verdict: string; counter: string; steps: { step: string; why: string }[] };
  assert.is(e.counter, 'drop-no-route');
  assert.match(e.steps.find((s) => s.step === 'route')!.why, /use-learned-routes: the RIB has no route/);
}

test('redistribute service: r2 announces the clients while a path is up, withdrawn within BFD detection + 1 s', async () => {
  const CLIENTS = '198.18.1.0/24';
  await pollUntil('the PE learning the clients from r2', 20_000, async () => ((await peHas(CLIENTS)) ? true : undefined));
  const r = await svr(['lab', 'impair', ...labArgs, '--path', 'all', '--down'], env);
  assert.is(r.code, 0, show(r));
  const t0 = Date.now();
  await pollUntil('the PE losing the clients', DETECTION_MS + 3000, async () => ((await peHas(CLIENTS)) ? undefined : true));
  const lostMs = Date.now() - t0;
  console.log(`    the PE lost ${CLIENTS} ${lostMs} ms after every r1-r2 path went down (BFD detection ${DETECTION_MS} ms)`);
  assert.ok(lostMs <= DETECTION_MS + 1000, `withdrawn after ${lostMs} ms, more than ${DETECTION_MS} + 1000 ms`);
  const up = await svr(['lab', 'impair', ...labArgs, '--path', 'all', '--clear'], env);
  assert.is(up.code, 0, show(up));
  const t1 = Date.now();
  await pollUntil('the PE learning the clients again', 15_000, async () => ((await peHas(CLIENTS)) ? true : undefined));
  console.log(`    announced again ${Date.now() - t1} ms after the path came back (hold-down 1 s)`);
});

test('a flood of 10,000 prefixes is learned and compiled; memory reported', async () => {
  const flood = floodPrefixes(10_000);
  const rssBefore = (await bgp()).routing.memory.rssBytes;
  const t0 = Date.now();
  await peAnnounce(dir, PREFIX, true, flood);
  const fib = await pollUntil('10,000 more FIB routes on r1', 30_000, async () => {
    const f = (await request(sock('r1'), { method: 'show', what: 'fib' })) as FibView;
    return f.routes >= 10_000 ? f : undefined;
  });
  const status = (await bgp()).routing;
  console.log(`    ${fib.routes} FIB routes (flood in ${FLOOD_RANGE}) ${Date.now() - t0} ms after the PE announced them; node rss ${(rssBefore / 2 ** 20).toFixed(0)} -> ${(status.memory.rssBytes / 2 ** 20).toFixed(0)} MiB, heap ${(status.memory.heapUsedBytes / 2 ** 20).toFixed(0)} MiB`);
  assert.ok(status.learned.routes >= 10_000);
  assert.is(status.fpm.malformed, 0);
  const json = await svr(['show', 'fib', '--json', '--socket', sock('r1')], env);
  assert.ok((JSON.parse(json.stdout) as FibView).routes >= 10_000);
  await peAnnounce(dir, PREFIX, false, flood);
  await pollUntil('the flood withdrawn', 30_000, async () => (((await request(sock('r1'), { method: 'show', what: 'fib' })) as FibView).routes < 100 ? true : undefined));
});

test('bgpd killed: the node restarts it, counts it, and the route is learned again', async () => {
  const before = (await bgp()).routing.daemons.find((d) => d.daemon === 'bgpd')!;
  assert.ok(before.pid !== undefined);
  process.kill(before.pid!, 'SIGKILL');
  const after = await pollUntil('bgpd restarted', 10_000, async () => {
    const d = (await bgp().catch(() => undefined))?.routing.daemons.find((x) => x.daemon === 'bgpd');
    return d !== undefined && d.running && d.pid !== before.pid ? d : undefined;
  });
  assert.is(after.restarts, before.restarts + 1);
  const events = (await request(sock('r1'), { method: 'show', what: 'events' })) as { kind: string; alarmId?: string }[];
  for (const kind of ['alarm-raised', 'alarm-cleared']) assert.ok(events.some((e) => e.kind === kind && e.alarmId === 'frr-daemon-down:bgpd'), `${kind} frr-daemon-down:bgpd in ${JSON.stringify(events.slice(-5))}`);
  await pollUntil(`${PE_PREFIX} learned again after the restart`, 20_000, async () => ((await selected(PE_PREFIX)) ? true : undefined));
  const d = await get();
  assert.ok('status' in d && d.status === 200, JSON.stringify(d));
});

test('a neighbour that goes down raises bgp-neighbor-down (bgpd\'s state, read into its machine), cleared when it is back', async () => {
  const id = 'bgp-neighbor-down:198.18.61.1';
  const active = async (): Promise<boolean> => ((await request(sock('r1'), { method: 'show', what: 'alarms' })) as { id: string }[]).some((a) => a.id === id);
  await peVtysh(dir, PREFIX, ['configure terminal', 'router bgp 65100', 'neighbor 198.18.61.2 shutdown']);
  await pollUntil(`alarm ${id}`, 15_000, async () => ((await active()) ? true : undefined));
  // the alarm comes from bgpd's neighbour state, the withdrawal through zebra and FPM: either may be first
  await pollUntil('the route went with the session', 5_000, async () => ((await selected(PE_PREFIX)) ? undefined : true));
  await peVtysh(dir, PREFIX, ['configure terminal', 'router bgp 65100', 'no neighbor 198.18.61.2 shutdown']);
  await pollUntil(`alarm ${id} cleared`, 20_000, async () => ((await active()) ? undefined : true));
  await pollUntil(`${PE_PREFIX} learned again`, 10_000, async () => ((await selected(PE_PREFIX)) ? true : undefined));
});

test.run();
