/**
 * End to end: `svr lab up --prefix svrt` (four namespaces, two `svr node` processes, SVR on a real
 * veth), then traffic from the client namespace to the server namespace through both routers.
 * Needs root and ip/curl/iperf3/tcpdump (test/support/prerequisites.ts); otherwise its tests count as skipped.
 * Every namespace is removed by `svr lab down` in the after hook (and on SIGINT), also on failure.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import * as assert from 'uvu/assert';
import { isAlive } from '../../src/lab/processes.js';
import { bytesSha256 } from '../../src/lab/servers.js';
import { background, e2eDir, E2E_PREFIX, exec, inNs, parseNdjson, pollUntil, show, sleep, startCapture, svr, SVR, type DecodedLine, LAB_UP_MS } from './support.js';
import { requires } from '../support/prerequisites.js';

const PREFIX = E2E_PREFIX;
const NS = { client: `${PREFIX}-client`, r1: `${PREFIX}-r1`, r2: `${PREFIX}-r2`, server: `${PREFIX}-server`, link1: `${PREFIX}-link1` };
const CLIENT = '198.18.1.10';
const NO_TENANT = '198.18.5.10';
const SERVER = '198.18.3.20';
const WAYPOINTS = ['198.18.12.1', '198.18.12.2'];
const VETHS = ['c-r1', 'r1-c', 'r1-r2', 'r2-r1', 'r2-s', 's-r2', 'lk-r1', 'lk-r2', 'emu-to-r1', 'emu-to-r2'];
/** The path control channel (BFD, link tests): UDP 1280 between the waypoints, never with metadata. */
const CONTROL_PORT = 1280;
const TEN_MIB = 10 * 1024 * 1024;

interface SessionJson {
  id: string;
  role: string;
  tenant: string;
  service: string;
  original: { src: string; dst: string; srcPort: number; dstPort: number; protocol: string | number };
  waypoint?: { src: string; dst: string; srcPort: number; dstPort: number; protocol: string | number };
  peer?: string;
  path?: string;
  ageMs: number;
  idleMs: number;
  packets: { forward: number; reverse: number };
  bytes: { forward: number; reverse: number };
}

const test = requires(import.meta.url);

const dir = e2eDir(test, `${PREFIX}-e2e-lab`, () => downSync());
const env = { SVR_RUN_DIR: join(dir, 'run') };
const labArgs = ['--prefix', PREFIX, '--dir', dir];
const r1Socket = join(dir, 'r1.sock');
const r2Socket = join(dir, 'r2.sock');
let isUp = false;

const downSync = (): void => {
  spawnSync(process.execPath, [SVR, 'lab', 'down', ...labArgs], { env: { ...process.env, ...env }, stdio: 'ignore' });
};

const needUp = (): void => {
  if (!isUp) throw new Error('the lab is not up (see the first test)');
};

const stats = async (): Promise<Record<string, number>> => {
  const r = await svr(['show', 'stats', '--json', '--socket', r1Socket], env);
  assert.is(r.code, 0, show(r));
  return JSON.parse(r.stdout) as Record<string, number>;
};

const sessions = async (socket: string): Promise<SessionJson[]> => {
  const r = await svr(['show', 'sessions', '--json', '--socket', socket], env);
  assert.is(r.code, 0, show(r));
  return JSON.parse(r.stdout) as SessionJson[];
};

test.after(async () => {
  const r = await svr(['lab', 'down', ...labArgs], env);
  if (r.code !== 0) console.error(`svr lab down failed: ${show(r)}`);
  // e2eDir removes the directory when every test passed (kept with the logs otherwise)
});

test('svr lab up builds five namespaces (one link emulator) and starts both nodes', async () => {
  await svr(['lab', 'down', ...labArgs], env); // namespaces left by an aborted run (this prefix only; the dir is new)
  const r = await svr(['lab', 'up', ...labArgs], env, LAB_UP_MS);
  assert.is(r.code, 0, show(r));
  isUp = true;
  assert.match(r.stdout, 'node r1 running');
  assert.match(r.stdout, 'node r2 running');
  const st = await svr(['lab', 'status', '--json', ...labArgs], env);
  assert.is(st.code, 0, show(st));
  const s = JSON.parse(st.stdout) as { up: boolean; namespaces: { name: string; exists: boolean; interfaces: { name: string; mtu: number; addresses: string[] }[] }[]; processes: { name: string; alive: boolean }[] };
  assert.ok(s.up, st.stdout);
  for (const n of s.namespaces) assert.ok(n.exists, `${n.name} exists`);
  const ifs = (ns: string) => s.namespaces.find((n) => n.name === ns)!.interfaces;
  assert.equal(ifs(NS.client).find((i) => i.name === 'c-r1')?.addresses, [`${CLIENT}/24`, `${NO_TENANT}/32`]);
  assert.is(ifs(NS.r1).find((i) => i.name === 'r1-r2')?.mtu, 1700);
  for (const ns of [NS.r1, NS.r2]) {
    assert.is(ifs(ns).find((i) => i.name === 'svr-lan0')?.mtu, 1500, `${ns} svr-lan0`);
    assert.is(ifs(ns).find((i) => i.name === 'svr-wan0')?.mtu, 1700, `${ns} svr-wan0`);
  }
  assert.equal(s.processes.map((p) => p.name), ['link1', 'r1', 'r2', 'server', 'iperf3']);
  assert.equal(ifs(NS.link1).map((i) => i.name).sort(), ['emu-to-r1', 'emu-to-r2', 'lk-r1', 'lk-r2']);
  assert.ok(existsSync(join(env.SVR_RUN_DIR, 'lab.json')), 'lab.json in the run dir');
});

test('svr lab up refuses while the namespaces exist', async () => {
  needUp();
  const r = await svr(['lab', 'up', ...labArgs], env);
  assert.is(r.code, 1, show(r));
  assert.match(r.stderr, 'SVR_ERR_LAB_STATE');
  assert.match(r.stderr, 'svr lab down');
});

test('a 10 MiB download through the lab matches its X-Sha256', async () => {
  needUp();
  const file = join(dir, 'download.bin');
  const headers = join(dir, 'headers.txt');
  const r = await inNs(NS.client, 'curl', ['-sS', '--max-time', '60', '-D', headers, '-o', file, `http://${SERVER}/bytes/${TEN_MIB}`]);
  assert.is(r.code, 0, show(r));
  const body = readFileSync(file);
  const sha = /^x-sha256:\s*([0-9a-f]{64})/im.exec(readFileSync(headers, 'utf8'))?.[1];
  assert.is(body.length, TEN_MIB);
  assert.is(createHash('sha256').update(body).digest('hex'), sha, 'body sha256 = X-Sha256');
  assert.is(sha, await bytesSha256(TEN_MIB), 'the deterministic bytes for n');
  rmSync(file);
});

test('the nodes busy poll by default: svr show stats counts the packets read while polling', async () => {
  needUp();
  const busy = (await stats() as unknown as { busyPoll: { windowUs: number; packets: number; runs: number } }).busyPoll;
  assert.is(busy.windowUs, 200);
  assert.ok(busy.runs > 0 && busy.packets > 0, `after the download: ${JSON.stringify(busy)}`);
  const text = await svr(['show', 'stats', '--socket', r1Socket], env);
  assert.match(text.stdout, /busy poll: 200 µs window; \d+ packets read while polling/);
});

test('the steady pass: after the download, r1 finished packets of steady flows without JS and counted them as native-forwarded', async () => {
  needUp();
  const st = await stats() as unknown as Record<string, number> & { interfaces: { interface: string; rxPackets: number; rxSteady?: number }[] };
  const steady = st.interfaces.reduce((a, i) => a + (i.interface.startsWith('wan') ? 0 : i.rxSteady ?? 0), 0); // the LAN's (svr-out)
  assert.ok(steady > 0, `rxSteady per interface: ${JSON.stringify(st.interfaces.map((i) => [i.interface, i.rxSteady, i.rxPackets]))}`);
  assert.ok(st['native-forwarded']! >= steady, `native-forwarded ${st['native-forwarded']} counts the steady pass's ${steady} packets too`);
});

test('the steady pass on the WAN: after the download, r1 finished the data segments it received without JS (native-received)', async () => {
  needUp();
  const st = await stats() as unknown as Record<string, number> & { interfaces: { interface: string; rxSteady?: number }[] };
  const wan = st.interfaces.filter((i) => i.interface.startsWith('wan'));
  const steady = wan.reduce((a, i) => a + (i.rxSteady ?? 0), 0);
  assert.ok(steady > 0, `rxSteady per WAN interface: ${JSON.stringify(wan.map((i) => [i.interface, i.rxSteady]))}`);
  const took = st['native-received']! + (st['drop-bad-payload'] ?? 0);
  assert.ok(took >= steady, `native-received ${st['native-received']} counts the WAN pass's ${steady} packets too`);
});

test('a UDP exchange with the echo server', async () => {
  needUp();
  const r = await inNs(NS.client, process.execPath, [SVR, 'lab', 'udp-probe', SERVER, '7', 'hello e2e', '--count', '2']);
  assert.is(r.code, 0, show(r));
  assert.match(r.stdout, `reply from ${SERVER}:7: "hello e2e 1"`);
  assert.match(r.stdout, `reply from ${SERVER}:7: "hello e2e 2"`);
});

test('the server sees the client\'s own address', async () => {
  needUp();
  const r = await inNs(NS.client, 'curl', ['-sS', '--max-time', '10', '-D', '-', '-o', '/dev/null', `http://${SERVER}/`]);
  assert.is(r.code, 0, show(r));
  assert.match(r.stdout, /^HTTP\/1\.1 200/);
  assert.is(/^x-client-address:\s*(\S+)/im.exec(r.stdout)?.[1], CLIENT);
  assert.match(readFileSync(join(dir, 'server.log'), 'utf8'), `from ${CLIENT}:`);
});

test('a source in no tenant gets nothing and r1 counts drop-no-tenant', async () => {
  needUp();
  const before = (await stats())['drop-no-tenant'];
  assert.type(before, 'number', 'stats has drop-no-tenant');
  const r = await inNs(NS.client, 'curl', ['-sS', '--max-time', '2', '--interface', NO_TENANT, `http://${SERVER}/`]);
  assert.is.not(r.code, 0, `curl from ${NO_TENANT} must fail: ${show(r)}`);
  const after = await pollUntil('drop-no-tenant to grow', 3000, async () => {
    const n = (await stats())['drop-no-tenant']!;
    return n > before! ? n : undefined;
  });
  assert.ok(after > before!, `drop-no-tenant ${before} -> ${after}`);
});

test('on the wan veth: only waypoints outside, metadata on the first packets only, decodable', async () => {
  needUp();
  const cap = await startCapture(NS.r1, 'r1-r2', join(dir, 'wan.pcap'));
  let stderr = '';
  try {
    const u = await inNs(NS.client, process.execPath, [SVR, 'lab', 'udp-probe', SERVER, '7', 'captured', '--count', '3']);
    assert.is(u.code, 0, show(u));
    const h = await inNs(NS.client, 'curl', ['-sS', '--max-time', '10', '-o', '/dev/null', `http://${SERVER}/`]);
    assert.is(h.code, 0, show(h));
    await sleep(300);
  } finally {
    stderr = await cap.stop();
  }
  const d = await svr(['decode', cap.file], env);
  assert.is(d.code, 0, show(d));
  const all = parseNdjson<DecodedLine>(d.stdout).filter((p) => p.outer !== undefined);
  // sessions only: not the path control channel nor the firewall detector's probes (svr decode names both)
  const pkts = all.filter((p) => p.control === undefined);
  assert.ok(all.every((p) => p.control !== undefined || p.outer!.srcPort !== CONTROL_PORT || p.outer!.dstPort !== CONTROL_PORT), 'svr decode names every control packet');
  assert.ok(pkts.length >= 10, `captured ${pkts.length} IP packets (tcpdump: ${stderr})`);

  // 1. only the waypoints as outer addresses (path control packets too)
  for (const p of all) {
    assert.ok(WAYPOINTS.includes(p.outer!.src) && WAYPOINTS.includes(p.outer!.dst), `frame ${p.frame}: outer ${p.outer!.src} -> ${p.outer!.dst}`);
  }

  // 2. per session (outer 5-tuple) and direction: metadata on a non-empty prefix of the packets, none later
  const flows = new Map<string, { fwd: DecodedLine[]; rev: DecodedLine[] }>();
  for (const p of pkts) {
    const o = p.outer!;
    const fwd = o.src === WAYPOINTS[0];
    const key = fwd ? `${o.protocol} ${o.srcPort} ${o.dstPort}` : `${o.protocol} ${o.dstPort} ${o.srcPort}`;
    const f = flows.get(key) ?? { fwd: [], rev: [] };
    (fwd ? f.fwd : f.rev).push(p);
    flows.set(key, f);
  }
  const seen = new Map<string, DecodedLine>();
  for (const [key, f] of flows) {
    for (const [dirName, list] of [['forward', f.fwd], ['reverse', f.rev]] as const) {
      assert.ok(list.length > 0, `session ${key}: no ${dirName} packets`);
      assert.ok(list[0]!.metadata !== undefined, `session ${key}: first ${dirName} packet (frame ${list[0]!.frame}) has no metadata`);
      const firstPlain = list.findIndex((p) => p.metadata === undefined);
      assert.ok(firstPlain > 0, `session ${key}: every ${dirName} packet has metadata (${list.length})`);
      const late = list.slice(firstPlain).find((p) => p.metadata !== undefined);
      assert.is(late, undefined, `session ${key}: ${dirName} metadata after a packet without (frame ${late?.frame})`);
      for (const p of list.slice(0, firstPlain)) assert.is(p.metadata!.malformed, undefined, `frame ${p.frame} malformed`);
    }
    const m = f.fwd[0]!.metadata!;
    if (m.service !== undefined) seen.set(m.service, f.fwd[0]!);
  }

  // 3. svr decode names tenant, service and the original 5-tuple
  for (const [service, port, protocol] of [['web', 80, 6], ['echo', 7, 17]] as const) {
    const p = seen.get(service);
    assert.ok(p !== undefined, `a ${service} session in the capture (sessions: ${[...seen.keys()].join(', ')})`);
    const m = p!.metadata!;
    assert.is(m.tenant, 'engineering', `${service} tenant`);
    assert.is(m.sourceRouter, 'r1', `${service} source router`);
    assert.is(m.forward?.src, CLIENT, `${service} original source`);
    assert.is(m.forward?.dst, SERVER, `${service} original destination`);
    assert.is(m.forward?.dstPort, port, `${service} original port`);
    assert.is(m.forward?.protocol, protocol, `${service} original protocol`);
    assert.is(p!.outer!.protocol, protocol, `${service} outer protocol`);
  }
});

test('svr show sessions --json lists a live transfer with both 5-tuples, peer, age, packets and bytes', async () => {
  needUp();
  const dl = background('ip', ['netns', 'exec', NS.client, 'curl', '-sS', '--max-time', '60', '--limit-rate', '5M', '--local-port', '45000-45099',
    '-o', '/dev/null', `http://${SERVER}/bytes/${200 * 1024 * 1024}`]);
  try {
    const s = await pollUntil('a web session with over 1 MB back', 15_000, async () =>
      (await sessions(r1Socket)).find((x) => x.service === 'web' && x.bytes.reverse > 1_000_000));
    assert.ok(dl.child.exitCode === null, 'the download is still running');
    assert.match(s.id, /^[0-9a-f-]{36}$/);
    assert.is(s.role, 'ingress');
    assert.is(s.tenant, 'engineering');
    assert.is(s.original.src, CLIENT);
    assert.is(s.original.dst, SERVER);
    assert.is(s.original.dstPort, 80);
    assert.ok(s.original.srcPort >= 45000 && s.original.srcPort <= 45099, `original source port ${s.original.srcPort}`);
    assert.ok(['tcp', 6].includes(s.original.protocol), `protocol ${s.original.protocol}`);
    assert.is(s.waypoint?.src, WAYPOINTS[0]);
    assert.is(s.waypoint?.dst, WAYPOINTS[1]);
    assert.is(s.peer, 'r2');
    assert.ok(s.ageMs > 0, `ageMs ${s.ageMs}`);
    assert.ok(s.packets.forward > 0 && s.packets.reverse > 100, `packets ${JSON.stringify(s.packets)}`);
    assert.ok(s.bytes.forward > 0 && s.bytes.reverse > 1_000_000, `bytes ${JSON.stringify(s.bytes)}`);
    // curl's --limit-rate reads in bursts: two looks a few ms apart may fall between them
    const later = await pollUntil('the session\'s bytes to grow', 5_000, async () => {
      const x = (await sessions(r1Socket)).find((y) => y.id === s.id);
      return x !== undefined && x.bytes.reverse > s.bytes.reverse ? x : undefined;
    }).catch(() => undefined);
    assert.ok(later !== undefined && later.bytes.reverse > s.bytes.reverse, 'bytes grow during the transfer');
    const egress = (await sessions(r2Socket)).find((x) => x.id === s.id);
    assert.ok(egress !== undefined, 'r2 has the same session id');
    assert.is(egress!.role, 'egress');
    assert.equal(egress!.original, s.original);
    assert.is(egress!.peer, 'r1');
    // --limit: the node lists only the oldest n (a table of the oldest 1000 by default); the download (40 s at 5 MB/s) still runs
    const one = await svr(['show', 'sessions', '--limit', '1', '--json', '--socket', r1Socket], env);
    assert.is(one.code, 0, show(one));
    assert.is((JSON.parse(one.stdout) as unknown[]).length, 1);
    const table = await svr(['show', 'sessions', '--limit', '1', '--socket', r1Socket], env);
    assert.is(table.code, 0, show(table));
    assert.match(table.stdout, /the oldest 1 of \d+ sessions|^1 session$/m);
  } finally {
    await dl.stop();
  }
});

test('after SIGKILL of a node, svr lab down leaves no namespace, veth or process', async () => {
  needUp();
  const st = JSON.parse(readFileSync(join(dir, 'state.json'), 'utf8')) as { processes: { name: string; pid: number }[] };
  const pids = st.processes.map((p) => p.pid);
  const r1 = st.processes.find((p) => p.name === 'r1')!.pid;
  process.kill(r1, 'SIGKILL');
  await sleep(200);
  const r = await svr(['lab', 'down', ...labArgs], env);
  assert.is(r.code, 0, show(r));
  isUp = false;
  const list = await exec('ip', ['netns', 'list']);
  for (const ns of Object.values(NS)) assert.not.match(list.stdout, new RegExp(`^${ns}\\b`, 'm'), `${ns} is gone`);
  for (const dev of VETHS) assert.not.ok(existsSync(`/sys/class/net/${dev}`), `no ${dev} in the root namespace`);
  for (const pid of pids) assert.not.ok(isAlive(pid), `pid ${pid} is gone`);
  assert.not.ok(existsSync(join(env.SVR_RUN_DIR, 'lab.json')), 'lab.json removed');
  assert.not.ok(existsSync(join(env.SVR_RUN_DIR, 'nodes', 'r1.json')), 'the killed node\'s registry entry removed');
  const again = await svr(['lab', 'down', ...labArgs], env);
  assert.is(again.code, 0, show(again));
  assert.match(again.stdout, 'nothing to do');
});

test.run();
