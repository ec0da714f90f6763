/**
 * End to end, several WAN paths: `svr lab up --paths 2 --prefix svrt` (each path through a userspace link
 * emulator in its own namespace), `svr lab impair`, and what the routers do about it: BFD, link tests,
 * failover, revertible failover, packet duplication, SLA filter, hold-down.
 *
 * Two kinds of tests:
 * - emulator: packets between the routers' namespaces on a path's own addresses, bypassing the nodes;
 *   they check the emulator (delay, loss, down) and need no router behaviour;
 * - router: the contract of `svr show peers --json` (per path: up, bfd, latencyMs, jitterMs, lossPct, mos,
 *   uptimeMs, flaps, holdDownMs) and `svr show sessions --json` (`path` per session), and sessions moving.
 *
 * Labs are brought up one after the other (same prefix), each by the first test of its group, and torn
 * down by the next group or the after hook. Tests tagged slow are skipped with SVR_E2E_QUICK=1 (CI runs
 * all; .ci/run fails on any skipped test). Needs root and ip/curl/iperf3 (test/support/prerequisites.ts);
 * otherwise its tests count as skipped.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as assert from 'uvu/assert';
import { curlIn, type Download } from '../../src/lab/fetch.js';
import { isAlive } from '../../src/lab/processes.js';
import { request } from '../../src/node/control-client.js';
import { backgroundLines, e2eDir, E2E_PREFIX, inNs, pollUntil, show, sleep, svr, SVR, type LineProcess, LAB_UP_MS } from './support.js';
import { requires } from '../support/prerequisites.js';

const PREFIX = E2E_PREFIX;
const NS = { client: `${PREFIX}-client`, r1: `${PREFIX}-r1`, r2: `${PREFIX}-r2`, server: `${PREFIX}-server` };
const SERVER = '198.18.3.20';
const QUICK = process.env['SVR_E2E_QUICK'] === '1';
/**
 * BFD interval the router tests use: detection after 3 x 250 ms. At 100 ms a loaded host's stalls (load 11-23)
 * took the healthy path down too, into its 5 s hold-down (labs 2 and 3 timed out, lab 4 lost 3.5 %).
 */
const BFD_MS = 250;
const DETECTION_MS = 3 * BFD_MS;
/** A TCP download moves with the server's next retransmission after detection (see lab 2). */
const DOWNLOAD_MOVE_MS = DETECTION_MS + 3000;
const HOLD_DOWN_MS = 5000;
const FIFTY_MB = 50 * 1024 * 1024;

interface PathJson {
  name: string;
  up: boolean;
  bfd?: string;
  latencyMs?: number;
  jitterMs?: number;
  lossPct?: number;
  mos?: number;
  uptimeMs?: number;
  flaps?: number;
  holdDownMs?: number;
}
interface PeerJson {
  name: string;
  paths: PathJson[];
}
interface SessionJson {
  id: string;
  service: string;
  original: { srcPort: number; dstPort: number };
  path?: string;
  packets: { forward: number; reverse: number };
}
interface StreamStatsJson {
  received: number;
  duplicates: number;
  lost: number;
  lossPct: number;
  expected: number;
  maxGapMs: number;
}
interface PingJson {
  sent: number;
  received: number;
  lossPct: number;
  rttMs: { min: number; avg: number; median: number; max: number };
}

/** r1's path k is named `wan<k-1>->r2/wan<k-1>` (generated from the neighborhoods). */
const onPath = (s: { path?: string } | undefined, k: number): boolean => s?.path?.startsWith(`wan${k - 1}->`) === true;
const pathOf = (peers: PeerJson[], k: number): PathJson | undefined => peers.find((p) => p.name === 'r2')?.paths.find((x) => x.name.startsWith(`wan${k - 1}->`));

const test = requires(import.meta.url);

const base = e2eDir(test, `${PREFIX}-e2e-paths`, () => downSync());
const env = { SVR_RUN_DIR: join(base, 'run') };
let dir = '';
let labNo = 0;
let failed = false;
const background: LineProcess[] = [];
const labArgs = (): string[] => ['--prefix', PREFIX, '--dir', dir];
const sock = (node: 'r1' | 'r2'): string => join(dir, `${node}.sock`);

const downSync = (): void => {
  if (dir !== '') spawnSync(process.execPath, [SVR, 'lab', 'down', ...labArgs()], { env: { ...process.env, ...env }, stdio: 'ignore' });
};

const stopBackground = async (): Promise<void> => {
  for (const b of background.splice(0)) await b.stop();
};

const down = async (): Promise<void> => {
  await stopBackground();
  if (dir === '') return;
  const r = await svr(['lab', 'down', ...labArgs()], env);
  if (r.code !== 0) console.error(`svr lab down failed: ${show(r)}`);
};

/** Tears down the previous lab and brings up a new one in a fresh dir. */
const up = async (args: string[]): Promise<void> => {
  await down();
  dir = join(base, `lab${++labNo}`);
  const t0 = Date.now();
  const r = await svr(['lab', 'up', ...labArgs(), ...args], env, LAB_UP_MS);
  if (r.code !== 0) failed = true;
  assert.is(r.code, 0, show(r));
  console.log(`    lab ${labNo}: svr lab up ${args.join(' ')} in ${((Date.now() - t0) / 1000).toFixed(1)} s (dir ${dir})`);
};

/** Runs a test body; remembers a failure so the after hook keeps the logs. */
const body = (fn: () => Promise<void>) => async (): Promise<void> => {
  try {
    await fn();
  } catch (e) {
    failed = true;
    // leave the next test a clean link (a failed test may have left a path down or delayed)
    if (dir !== '') await svr(['lab', 'impair', ...labArgs(), '--path', 'all', '--clear'], env).catch(() => undefined);
    throw e;
  } finally {
    await stopBackground(); // streams, echo servers: each test starts its own
  }
};
const slow = (name: string, fn: () => Promise<void>): void => {
  if (QUICK) test.skip(`${name} (slow: skipped with SVR_E2E_QUICK=1)`, body(fn));
  else test(name, body(fn));
};
const quick = (name: string, fn: () => Promise<void>): void => void test(name, body(fn));

const impair = async (...args: string[]): Promise<string> => {
  const r = await svr(['lab', 'impair', ...labArgs(), ...args], env);
  assert.is(r.code, 0, show(r));
  return r.stdout;
};
const peers = async (): Promise<PeerJson[]> => (await request(sock('r1'), { method: 'show', what: 'peers' })) as PeerJson[];
const sessions = async (node: 'r1' | 'r2' = 'r1'): Promise<SessionJson[]> => (await request(sock(node), { method: 'show', what: 'sessions' })) as SessionJson[];
const stats = async (node: 'r1' | 'r2' = 'r1'): Promise<Record<string, number>> => (await request(sock(node), { method: 'show', what: 'stats' })) as Record<string, number>;

/** Waits until r1 has every path of the lab up (usable). */
const pathsUp = async (n: number, timeoutMs = 15_000): Promise<void> => {
  await pollUntil(`r1's ${n} paths up (svr show peers)`, timeoutMs, async () => {
    const ps = await peers();
    const all = Array.from({ length: n }, (_, i) => pathOf(ps, i + 1));
    return all.every((p) => p?.up === true && (p.bfd === undefined || p.bfd === 'up')) ? true : undefined;
  });
};

/** `svr lab send-stream` in the client namespace; resolves with its id and local port once it runs. */
const startStream = async (opts: { rate: number; seconds: number; id: number }): Promise<{ proc: LineProcess; port: number }> => {
  const proc = backgroundLines('ip', ['netns', 'exec', NS.client, process.execPath, SVR, 'lab', 'send-stream', '--json',
    '--rate', String(opts.rate), '--duration', `${opts.seconds}s`, '--id', String(opts.id)]);
  background.push(proc);
  const start = JSON.parse(await proc.waitLine(/"event":"start"/, 10_000)) as { local: string };
  return { proc, port: Number(start.local.split(':')[1]) };
};
/** The receiver's counts, asked for from the server's own namespace (not through the routers, which may refuse web). */
const streamStats = async (id: number): Promise<StreamStatsJson | undefined> => {
  const r = await inNs(NS.server, 'curl', ['-sS', '--max-time', '5', '-w', '\n%{http_code}', `http://${SERVER}/stream-stats/${id}`]);
  assert.is(r.code, 0, show(r));
  const i = r.stdout.lastIndexOf('\n');
  const code = r.stdout.slice(i + 1);
  if (code === '404') return undefined;
  assert.is(code, '200', r.stdout);
  return JSON.parse(r.stdout.slice(0, i)) as StreamStatsJson;
};
const session = async (service: string, port: number, node: 'r1' | 'r2' = 'r1'): Promise<SessionJson | undefined> =>
  (await sessions(node)).find((s) => s.service === service && s.original.srcPort === port);

/** The server keeps receiving stream `id` (at least half its rate over one second). */
const flowing = async (id: number, rate: number, what: string): Promise<void> => {
  const a = (await streamStats(id))?.received ?? 0;
  await sleep(1000);
  const b = (await streamStats(id))?.received ?? 0;
  assert.ok(b - a >= rate / 2, `${what}: the server received ${b - a} datagrams of stream ${id} in 1 s (rate ${rate}/s); r2: ${JSON.stringify(await sessions('r2').then((l) => l.filter((x) => x.service === 'stream').map((x) => ({ id: x.id, path: x.path }))))}`);
};

/** A UDP echo on a path's r2-side address (in r2's namespace, outside the node), probed from r1's namespace. */
const bareEcho = (k: number): { address: string; start(): Promise<void> } => {
  const address = `198.18.${30 + k}.2`;
  return {
    address,
    start: async () => {
      const p = backgroundLines('ip', ['netns', 'exec', NS.r2, process.execPath, SVR, 'lab', 'serve', '--http', 'off', '--stream', 'off', '--udp', `${address}:7007`]);
      background.push(p);
      await p.waitLine(/listening/, 10_000);
    },
  };
};
const ping = async (ns: string, host: string, port: number, count: number, intervalMs: number, timeoutMs = 1000): Promise<PingJson> => {
  const r = await inNs(ns, process.execPath, [SVR, 'lab', 'udp-probe', host, String(port), 'probe', '--count', String(count), '--interval', String(intervalMs), '--timeout', String(timeoutMs), '--json'], 120_000);
  assert.ok(r.code === 0 || r.code === 1, show(r));
  return JSON.parse(r.stdout) as PingJson;
};

test.after(async () => {
  await down();
  if (failed) console.log(`    logs of the failed run kept in ${base}`);
  else rmSync(base, { recursive: true, force: true });
});

// ---------------------------------------------------------------- lab 1: two paths, emulator checks
quick('lab 1: svr lab up --paths 2 builds two link namespaces, emulators, veths and routes', async () => {
  await svr(['lab', 'down', '--prefix', PREFIX, '--dir', join(base, 'none')], env); // anything left by an aborted run
  await up(['--paths', '2', '--bfd-interval', String(BFD_MS), '--link-test-interval', '1']);
  const st = await svr(['lab', 'status', '--json', ...labArgs()], env);
  assert.is(st.code, 0, show(st));
  const s = JSON.parse(st.stdout) as {
    up: boolean; namespaces: { name: string; exists: boolean; interfaces: { name: string; mtu: number; addresses: string[] }[] }[];
    processes: { name: string; alive: boolean }[]; paths: { path: number; emulator?: { alive: boolean; socket: string }; directions?: Record<string, { impairment: { down: boolean } }> }[];
  };
  assert.ok(s.up, st.stdout);
  assert.equal(s.processes.map((p) => p.name), ['link1', 'link2', 'r1', 'r2', 'server', 'iperf3']);
  const ifs = (ns: string) => s.namespaces.find((n) => n.name === ns)?.interfaces ?? [];
  assert.is(ifs(NS.r1).find((i) => i.name === 'r1-r2')?.mtu, 1700, 'path 1 keeps r1-r2');
  assert.equal(ifs(NS.r1).find((i) => i.name === 'r1-r2p2')?.addresses, ['198.18.22.1/24']);
  assert.equal(ifs(NS.r2).find((i) => i.name === 'r2-r1p2')?.addresses, ['198.18.32.2/24']);
  for (const ns of [NS.r1, NS.r2]) for (const d of ['svr-wan0', 'svr-wan1']) assert.is(ifs(ns).find((i) => i.name === d)?.mtu, 1700, `${ns} ${d}`);
  for (const k of [1, 2]) {
    const names = ifs(`${PREFIX}-link${k}`).map((i) => i.name).sort();
    assert.equal(names, ['emu-to-r1', 'emu-to-r2', 'lk-r1', 'lk-r2'], `${PREFIX}-link${k} interfaces`);
    const p = s.paths.find((x) => x.path === k);
    assert.ok(p?.emulator?.alive === true && p.directions !== undefined, `path ${k} in status: ${JSON.stringify(p)}`);
  }
  const yaml = readFileSync(join(dir, 'authority.yaml'), 'utf8');
  assert.match(yaml, 'vector-order: [path1, path2]');
  assert.match(yaml, 'session-resiliency: failover');
  assert.match(yaml, `desired-tx-interval: ${BFD_MS}`);
});

quick('emulator: --delay 80ms on path 1 (both directions) gives ~160 ms RTT across the link', async () => {
  const echo = bareEcho(1);
  await echo.start();
  const before = await ping(NS.r1, echo.address, 7007, 10, 20);
  assert.is(before.received, 10, JSON.stringify(before));
  const out = await impair('--path', '1', '--delay', '80ms');
  assert.match(out, /r1-r2\s+up, delay 80 ms/);
  assert.match(out, /r2-r1\s+up, delay 80 ms/);
  const r = await ping(NS.r1, echo.address, 7007, 20, 50);
  console.log(`    path 1 RTT without delay ${before.rttMs.median} ms; with 80 ms each way min/avg/median/max ${r.rttMs.min}/${r.rttMs.avg}/${r.rttMs.median}/${r.rttMs.max} ms`);
  assert.is(r.received, 20, JSON.stringify(r));
  assert.ok(r.rttMs.min >= 159.5, `min RTT ${r.rttMs.min} ms >= 160`);
  assert.ok(r.rttMs.median <= 180, `median RTT ${r.rttMs.median} ms close to 160`);
  const one = await impair('--path', '1', '--delay', '0', '--direction', 'r2-r1');
  assert.match(one, /r1-r2\s+up, delay 80 ms/);
  assert.match(one, /r2-r1\s+up, no impairment/);
  const half = await ping(NS.r1, echo.address, 7007, 20, 20);
  assert.ok(half.rttMs.min >= 79.5 && half.rttMs.median <= 100, `one direction delayed: RTT ${JSON.stringify(half.rttMs)}`);
  await impair('--path', '1', '--clear');
});

quick('emulator: --loss 10% loses about 10 %, --jitter spreads the delay, path 2 is independent', async () => {
  const echo = bareEcho(1);
  await echo.start();
  await impair('--path', '1', '--loss', '10%', '--direction', 'r1-r2');
  const r = await ping(NS.r1, echo.address, 7007, 600, 2);
  console.log(`    10 % loss r1->r2: ${r.sent - r.received} of ${r.sent} lost (${r.lossPct} %)`);
  assert.ok(r.lossPct >= 6 && r.lossPct <= 14, `loss ${r.lossPct} % (expected about 10 %)`);
  const echo2 = bareEcho(2);
  await echo2.start();
  const p2 = await ping(NS.r1, echo2.address, 7007, 100, 2);
  assert.is(p2.received, 100, `path 2 loses nothing while path 1 is impaired: ${JSON.stringify(p2)}`);
  await impair('--path', '1', '--clear');
  await impair('--path', '1', '--delay', '30ms', '--jitter', '10ms');
  const j = await ping(NS.r1, echo.address, 7007, 40, 30);
  console.log(`    30 ms +- 10 ms each way: RTT min/avg/median/max ${j.rttMs.min}/${j.rttMs.avg}/${j.rttMs.median}/${j.rttMs.max} ms`);
  assert.is(j.received, 40);
  // never below 2 x 20 ms; the median near 2 x 30 ms (the max depends on how busy the host is)
  assert.ok(j.rttMs.min >= 39.5 && j.rttMs.median <= 80, `RTT of 2 x [20, 40] ms: ${JSON.stringify(j.rttMs)}`);
  assert.ok(j.rttMs.max - j.rttMs.min >= 5, `jitter shows: ${JSON.stringify(j.rttMs)}`);
  await impair('--path', '1', '--clear');
});

quick('emulator: --down drops everything, --up carries again; bad values are refused', async () => {
  const echo = bareEcho(1);
  await echo.start();
  const out = await impair('--path', '1', '--down');
  assert.match(out, /r1-r2\s+DOWN/);
  const r = await ping(NS.r1, echo.address, 7007, 20, 10, 500);
  assert.is(r.received, 0, JSON.stringify(r));
  await impair('--path', '1', '--up');
  const back = await ping(NS.r1, echo.address, 7007, 20, 10);
  assert.is(back.received, 20, JSON.stringify(back));
  for (const [args, msg] of [
    [['--path', '1', '--delay', '80xs'], '--delay'], [['--path', '1', '--loss', '120%'], '--loss'], [['--path', '3', '--down'], 'paths 1-2'],
    [['--path', '1', '--down', '--up'], 'contradict'], [['--delay', '5ms'], 'which path'], [['--path', '1', '--direction', 'r3-r1', '--down'], '--direction'],
  ] as const) {
    const bad = await svr(['lab', 'impair', ...labArgs(), ...args], env);
    assert.is(bad.code, 1, show(bad));
    assert.match(bad.stderr, 'SVR_ERR_LAB_OPTION');
    assert.match(bad.stderr, msg);
  }
});

quick('router: svr show peers --json has the path fields; svr show sessions --json has the path', async () => {
  await pathsUp(2);
  // quality fields come with the first link test (link-test-interval 1 s here)
  await pollUntil('latencyMs on both paths (first link test)', 10_000, async () => {
    const ps = await peers();
    return pathOf(ps, 1)?.latencyMs !== undefined && pathOf(ps, 2)?.latencyMs !== undefined ? true : undefined;
  }).catch(() => undefined);
  const r = await svr(['show', 'peers', '--json', '--socket', sock('r1')], env);
  assert.is(r.code, 0, show(r));
  const ps = JSON.parse(r.stdout) as PeerJson[];
  for (const k of [1, 2]) {
    const p = pathOf(ps, k);
    assert.ok(p !== undefined, `path ${k} (wan${k - 1}->r2/wan${k - 1}) in ${r.stdout}`);
    assert.type(p!.up, 'boolean');
    assert.ok(['up', 'down', 'init', 'adminDown'].includes(String(p!.bfd)), `bfd state: ${JSON.stringify(p)}`);
    for (const f of ['latencyMs', 'jitterMs', 'lossPct', 'mos', 'uptimeMs', 'flaps', 'holdDownMs'] as const) {
      assert.type(p![f], 'number', `path ${k} ${f}: ${JSON.stringify(p)}`);
    }
  }
  const u = await inNs(NS.client, process.execPath, [SVR, 'lab', 'udp-probe', SERVER, '7', 'which path', '--count', '2']);
  assert.is(u.code, 0, show(u));
  const s = await svr(['show', 'sessions', '--json', '--socket', sock('r1')], env);
  const echo = (JSON.parse(s.stdout) as SessionJson[]).find((x) => x.service === 'echo');
  assert.ok(onPath(echo, 1), `the echo session takes path 1 (preferred): ${JSON.stringify(echo)}`);
});

quick('router: show peers latency is within 10 ms of a 40 ms lab delay', async () => {
  await impair('--path', '2', '--delay', '40ms');
  let last: PathJson | undefined;
  try {
    await pollUntil('path 2 latencyMs within 10 ms of 40 ms', 20_000, async () => {
      last = pathOf(await peers(), 2);
      return last?.latencyMs !== undefined && Math.abs(last.latencyMs - 40) <= 10 ? true : undefined;
    });
  } catch (e) {
    const hint = last?.latencyMs !== undefined && Math.abs(last.latencyMs - 80) <= 10 ? ' (that is the round-trip time, not one-way)' : '';
    throw new Error(`${(e as Error).message}: last ${JSON.stringify(last)}${hint}`);
  }
  // a few more link tests: the smoothed value settles (median of samples: one round on a busy host may be late)
  const samples: number[] = [];
  for (let i = 0; i < 5; i++) {
    await sleep(800);
    samples.push(pathOf(await peers(), 2)?.latencyMs ?? NaN);
  }
  const settled = [...samples].sort((a, b) => a - b)[2]!;
  console.log(`    path 2 with 40 ms each way: latencyMs ${last?.latencyMs} when first within 10 ms, then ${samples.join(', ')} (jitterMs ${pathOf(await peers(), 2)?.jitterMs})`);
  assert.ok(Math.abs(settled - 40) <= 10, `settled latency (median of ${samples.join(', ')}) within 10 ms of 40 ms`);
  await impair('--path', '2', '--clear');
});

// ---------------------------------------------------------------- lab 2: failover
quick('lab 2: failover: path 1 down moves a 50 MB download and a UDP stream to path 2 in time; sha256 ok, no reset', async () => {
  await up(['--paths', '2', '--bfd-interval', String(BFD_MS), '--resiliency', 'failover']);
  await pathsUp(2);
  const id = 1001;
  const stream = await startStream({ rate: 200, seconds: 30, id });
  let dl: { d?: Download; e?: Error } | undefined;
  const download = curlIn(NS.client, `http://${SERVER}/bytes/${FIFTY_MB}`, { timeoutSec: 45, extra: ['--limit-rate', '4M', '--local-port', '45000-45099'] })
    .then((d) => (dl = { d }), (e: Error) => (dl = { e }));
  const t0 = Date.now();
  const both = async (): Promise<[SessionJson | undefined, SessionJson | undefined]> => {
    const all = await sessions();
    return [all.find((s) => s.service === 'stream' && s.original.srcPort === stream.port),
      all.find((s) => s.service === 'web' && s.original.srcPort >= 45000 && s.original.srcPort <= 45099)];
  };
  await pollUntil('stream and download sessions on path 1', 10_000, async () => {
    const [a, b] = await both();
    return onPath(a, 1) && onPath(b, 1) ? true : undefined;
  });
  // at 4 MB/s the download lasts ~13 s: it has to survive ~10 s on path 2, past any handshake retries the move may start
  await sleep(Math.max(0, 2000 - (Date.now() - t0)));
  assert.is(dl, undefined, 'the download still runs when path 1 goes down');
  await impair('--path', '1', '--down');
  const tDown = Date.now();
  const moved: Record<string, number> = {};
  await pollUntil('both sessions on path 2', DETECTION_MS + 4000, async () => {
    const [a, b] = await both();
    if (onPath(a, 2) && moved['stream'] === undefined) moved['stream'] = Date.now() - tDown;
    if (onPath(b, 2) && moved['download'] === undefined) moved['download'] = Date.now() - tDown;
    return moved['stream'] !== undefined && moved['download'] !== undefined ? true : undefined;
  });
  // The stream (a packet every 5 ms) moves with the router's decision. The download's session moves with its next
  // packet, the server's retransmission, whose time the server's TCP back-off decides (RTO >= 200 ms, doubling:
  // a retry that met the dead path before detection is followed by one ~2 RTO later): it gets two more doublings.
  console.log(`    path 1 down: stream on path 2 after ${moved['stream']} ms (limit ${DETECTION_MS + 1000} ms), download after ${moved['download']} ms (limit ${DOWNLOAD_MOVE_MS} ms)`);
  assert.ok(moved['stream']! <= DETECTION_MS + 1000, `stream moved after ${moved['stream']} ms`);
  assert.ok(moved['download']! <= DOWNLOAD_MOVE_MS, `download moved after ${moved['download']} ms`);
  await download;
  assert.ok(dl?.e === undefined, `curl failed (exit 56: connection reset, 28: stalled until --max-time): ${dl?.e?.message}`);
  const d = dl!.d!;
  assert.is(d.bytes, FIFTY_MB);
  assert.is(d.sha256, d.headers['x-sha256'], 'sha256 = X-Sha256');
  console.log(`    download: ${FIFTY_MB} bytes in ${(d.ms / 1000).toFixed(1)} s, sha256 ok`);
  const cli = await svr(['show', 'sessions', '--json', '--socket', sock('r1')], env);
  const s = (JSON.parse(cli.stdout) as SessionJson[]).find((x) => x.service === 'stream' && x.original.srcPort === stream.port);
  assert.ok(onPath(s, 2), `svr show sessions shows the new path: ${JSON.stringify(s)}`);
  const egress = await session('stream', stream.port, 'r2');
  assert.ok(egress !== undefined && egress.id === s!.id, `r2 still has the stream session ${s!.id} ${(Date.now() - tDown) / 1000} s after the failover: ${JSON.stringify(egress)}`);
  // well past the handshake retries a migrated session might trigger (200+400+800+1600 ms probes)
  await sleep(Math.max(0, 8000 - (Date.now() - tDown)));
  await flowing(id, 200, `${((Date.now() - tDown) / 1000).toFixed(1)} s after the failover`);
  const egressLater = await session('stream', stream.port, 'r2');
  assert.ok(egressLater?.id === s!.id, `r2 still has the stream session ${((Date.now() - tDown) / 1000).toFixed(1)} s after the failover: ${JSON.stringify(egressLater)}`);
  const st = await streamStats(id);
  console.log(`    stream during failover: ${st?.received} received, ${st?.lost} lost, longest gap ${st?.maxGapMs} ms, ${st?.duplicates} duplicates`);
  assert.is(st?.duplicates, 0);
});

slow('failover (not revertible): after --up and the hold-down the sessions stay on path 2', async () => {
  const id = 1002;
  const stream = await startStream({ rate: 100, seconds: 20, id });
  await pollUntil('the new stream session on path 2 (path 1 is down)', 5000, async () => (onPath(await session('stream', stream.port), 2) ? true : undefined));
  await impair('--path', '1', '--up');
  await pollUntil('path 1 usable again after its hold-down', HOLD_DOWN_MS + 5000, async () => (pathOf(await peers(), 1)?.up === true ? true : undefined));
  await sleep(1000);
  const s = await session('stream', stream.port);
  assert.ok(onPath(s, 2), `with failover the session stays on path 2: ${JSON.stringify(s)}`);
  const old = (await sessions()).filter((x) => x.service === 'stream');
  for (const x of old) assert.ok(onPath(x, 2), `stream session ${x.id} stays on path 2: ${x.path}`);
  await flowing(1002, 100, 'after the hold-down');
});

// ---------------------------------------------------------------- lab 3: revertible failover, flapping
slow('lab 3: revertible-failover: back on path 1 once it is up and its hold-down passed', async () => {
  await up(['--paths', '2', '--bfd-interval', String(BFD_MS), '--resiliency', 'revertible-failover']);
  await pathsUp(2);
  const stream = await startStream({ rate: 100, seconds: 60, id: 2001 });
  await pollUntil('stream on path 1', 10_000, async () => (onPath(await session('stream', stream.port), 1) ? true : undefined));
  await impair('--path', '1', '--down');
  const tDown = Date.now();
  await pollUntil('stream on path 2', DETECTION_MS + 4000, async () => (onPath(await session('stream', stream.port), 2) ? true : undefined));
  assert.ok(Date.now() - tDown <= DETECTION_MS + 1000, `moved after ${Date.now() - tDown} ms`);
  await impair('--path', '1', '--up');
  const tUp = Date.now();
  await sleep(2000);
  const during = await session('stream', stream.port);
  assert.ok(onPath(during, 2), `2 s after --up (hold-down ${HOLD_DOWN_MS} ms) still on path 2: ${during?.path}`);
  const p1 = pathOf(await peers(), 1);
  assert.is(p1?.up, false, `path 1 not usable during hold-down: ${JSON.stringify(p1)}`);
  await pollUntil('stream back on path 1', HOLD_DOWN_MS + 5000, async () => (onPath(await session('stream', stream.port), 1) ? true : undefined));
  const back = Date.now() - tUp;
  console.log(`    revertible: back on path 1 ${back} ms after --up (hold-down ${HOLD_DOWN_MS} ms)`);
  assert.ok(back >= HOLD_DOWN_MS - 500 && back <= HOLD_DOWN_MS + 3000, `returned ${back} ms after --up`);
  await sleep(7000); // still delivered well after the move back (past any handshake retries it started)
  await flowing(2001, 100, '7 s after moving back to path 1');
});

slow('a flapping path (down/up every 2 s) stays unusable in hold-down; sessions stay on the other path', async () => {
  const stream = await startStream({ rate: 100, seconds: 30, id: 2002 });
  await pollUntil('stream on path 1', 5000, async () => (onPath(await session('stream', stream.port), 1) ? true : undefined));
  const out = await impair('--path', '1', '--flap', '2s');
  assert.match(out, /FLAPPING every 2 s/);
  await pollUntil('stream on path 2', DETECTION_MS + 4000, async () => (onPath(await session('stream', stream.port), 2) ? true : undefined));
  const t0 = Date.now();
  let samples = 0;
  while (Date.now() - t0 < 10_000) {
    const p1 = pathOf(await peers(), 1);
    assert.is(p1?.up, false, `path 1 usable at +${Date.now() - t0} ms while flapping: ${JSON.stringify(p1)}`);
    const s = await session('stream', stream.port);
    assert.ok(onPath(s, 2), `stream left path 2 at +${Date.now() - t0} ms: ${s?.path}`);
    samples++;
    await sleep(250);
  }
  const p1 = pathOf(await peers(), 1);
  console.log(`    flapping 10 s: ${samples} samples, path 1 never usable; flaps ${p1?.flaps}, holdDownMs ${p1?.holdDownMs}`);
  await flowing(2002, 100, 'while path 1 flaps');
  await impair('--path', '1', '--clear');
  const st = await streamStats(2002);
  assert.is(st?.duplicates, 0);
});

// ---------------------------------------------------------------- lab 4: packet duplication
slow('lab 4: packet-duplication with 5 % loss on each path: under 1.5 % lost between r1 and r2, no duplicate at the server', async () => {
  // BFD at the lab's default (1 s, detection 3 s): at 100 ms a loaded host's stalls took both paths down into
  // their hold-down (seen at load 30: 3.5 % lost), which is failover, not what this lab measures
  await up(['--paths', '2', '--resiliency', 'packet-duplication']);
  await pathsUp(2);
  await impair('--path', 'all', '--loss', '5%');
  const id = 3001;
  const copies0 = (await stats('r2'))['drop-duplicate'] ?? 0;
  const stream = await startStream({ rate: 1000, seconds: 5, id });
  assert.is(await stream.proc.exited, 0, stream.proc.lines.join('\n'));
  await sleep(500);
  const st = await streamStats(id);
  // what the routers decide: the stream's packets r1 took from the client against those r2 passed on (the
  // session's packets on r2, both copies counted, less the second copies it dropped); the client's and the
  // server's sockets on a loaded host are not the routers'
  const [inR1, atR2, r2Stats] = await Promise.all([session('stream', stream.port), session('stream', stream.port, 'r2'), stats('r2')]);
  const taken = inR1?.packets.forward ?? 0;
  const copies = (r2Stats['drop-duplicate'] ?? 0) - copies0;
  const passed = (atR2?.packets.forward ?? 0) - copies;
  const routersLossPct = taken > 0 ? (100 * (taken - passed)) / taken : 100;
  console.log(`    duplication: ${st?.received} of ${st?.expected} delivered (${st?.lossPct} % lost), ${st?.duplicates} duplicates at the server; `
    + `r1 took ${taken}, r2 passed on ${passed} and dropped ${copies} second copies (${routersLossPct.toFixed(2)} % lost between them)`);
  assert.ok(st !== undefined && st.expected === 5000, JSON.stringify(st));
  assert.ok(taken >= 4500, `r1 took ${taken} of the stream's 5000 datagrams`);
  assert.ok(copies >= 0.8 * taken, `r2 got both copies of most packets (0.95 x 0.95): ${copies} second copies dropped for ${taken}`);
  // Both copies lost: 5 % x 5 % = 0.25 % expected (seen 0.2-0.36 % at the server in five full runs); the bound
  // catches duplication that does not happen (one path's 5 %) at a third of it.
  assert.ok(routersLossPct < 1.5, `lost between r1 and r2 ${routersLossPct.toFixed(2)} % (each path alone loses 5 %)`);
  assert.ok(st!.received >= 0.95 * st!.expected, `the server got ${st!.received} of ${st!.expected} (what r2 passed on reaches it)`);
  assert.is(st!.duplicates, 0, 'the egress router removes the copies');
});

// ---------------------------------------------------------------- lab 5: SLA
quick('lab 5: --sla: path 1 at 300 ms moves new sessions to path 2 once measured', async () => {
  // at 100 ms as before: at 250 ms the refusal test below once saw a new session created on path 2 0.4 s after
  // r1 logged migration.no-path for both (to look into)
  await up(['--paths', '2', '--bfd-interval', '100', '--link-test-interval', '1', '--sla']);
  await pathsUp(2);
  assert.match(readFileSync(join(dir, 'authority.yaml'), 'utf8'), /max-latency: 250/);
  await impair('--path', '1', '--delay', '300ms');
  await pollUntil('path 1 measured above 250 ms', 25_000, async () => ((pathOf(await peers(), 1)?.latencyMs ?? 0) > 250 ? true : undefined));
  const stream = await startStream({ rate: 50, seconds: 2, id: 4001 });
  const s = await pollUntil('the new stream session', 5000, () => session('stream', stream.port));
  assert.ok(onPath(s, 2), `a new session avoids path 1 (300 ms > max-latency 250 ms): ${s.path}`);
  await stream.proc.exited;
  assert.ok(((await streamStats(4001))?.received ?? 0) > 0, 'the stream is delivered (best effort or path 2)');
});

quick('--sla with best-effort false and both paths at 300 ms: new sessions are refused (drop-no-path-meets-sla)', async () => {
  const file = join(dir, 'authority.yaml');
  const yaml = readFileSync(file, 'utf8');
  assert.match(yaml, /best-effort: true/);
  writeFileSync(file, yaml.replace(/best-effort: true/, 'best-effort: false'));
  for (const node of ['r1', 'r2'] as const) {
    const r = await svr(['node', 'reload', '--socket', sock(node)], env);
    assert.is(r.code, 0, show(r));
  }
  await impair('--path', '2', '--delay', '300ms');
  await pollUntil('both paths measured above 250 ms', 25_000, async () => {
    const ps = await peers();
    return (pathOf(ps, 1)?.latencyMs ?? 0) > 250 && (pathOf(ps, 2)?.latencyMs ?? 0) > 250 ? true : undefined;
  });
  const before = (await stats())['drop-no-path-meets-sla'] ?? 0;
  const stream = await startStream({ rate: 50, seconds: 1, id: 4002 });
  await stream.proc.exited;
  await sleep(1000);
  const after = (await stats())['drop-no-path-meets-sla'];
  assert.type(after, 'number', 'r1 has the counter drop-no-path-meets-sla');
  assert.ok(after! > before, `drop-no-path-meets-sla ${before} -> ${after}`);
  assert.is(await streamStats(4002), undefined, 'the server saw nothing of the refused stream');
});

quick('svr lab down removes every namespace, also the link namespaces, and the emulators', async () => {
  const st = JSON.parse(readFileSync(join(dir, 'state.json'), 'utf8')) as { processes: { kind: string; pid: number }[] };
  const emu = st.processes.find((p) => p.kind === 'emulator')!;
  process.kill(emu.pid, 'SIGKILL');
  rmSync(join(dir, 'state.json'));
  await down();
  const r = spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' });
  assert.not.match(r.stdout, new RegExp(`^${PREFIX}-`, 'm'), `namespaces left: ${r.stdout}`);
  for (const p of st.processes) assert.not.ok(isAlive(p.pid), `pid ${p.pid} (${p.kind}) is gone`);
  dir = '';
});

test.run();
