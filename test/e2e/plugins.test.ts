/**
 * End to end: the built-in plugins on real packets. `svr lab up --profile plugins --prefix <E2E_PREFIX>p`
 * (the basic lab plus an internet namespace behind r2, a second server, r1's external function in its
 * own namespace, and the plugins firewall/dos/appid/external-function on r1, nat/lb on r2, qos on both),
 * then traffic from the client namespace:
 *
 * 1. a port scan from a source in no tenant and from tenant guest opens no session; r1 counts each
 *    probe by reason (drop-no-tenant, drop-no-service, drop-access-denied, firewall refused-zone);
 * 2. a connect flood from 198.18.1.11 is held at builtin.dos's per-source limit while 198.18.1.10's
 *    download completes (sha256);
 * 3. builtin.nat on r2: 1,000 concurrent UDP sessions to the internet namespace, which sees only
 *    198.18.40.1 (ports 16384-65534); every reply reaches its own client socket;
 * 4. builtin.appid: a TLS session's SNI is its application on r1 and (by metadata TLV 35) on r2;
 * 5. builtin.qos: iperf3 through a 20 Mbit/s service measured at the server;
 * 6. builtin.lb: 400 sessions to a virtual address split 1:3 over two servers;
 * 7. builtin.external-function: the function namespace's kernel sees and forwards the stream service.
 *
 * Needs root and ip/curl/iperf3/tcpdump/openssl (test/support/prerequisites.ts); otherwise its tests
 * count as skipped. Every
 * namespace is removed by `svr lab down` in the after hook (and on SIGINT), also on failure.
 * Each test prints its measurement (`  [plugins] ...`).
 */
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as assert from 'uvu/assert';
import { isAlive } from '../../src/lab/processes.js';
import {
  DOS_BURST, DOS_PER_SOURCE_RATE, FLOOD_SOURCE, FN_IN_DEV, FN_NAME, FN_OUT_DEV, GUEST_CLIENT, INTERNET_HOST, INTERNET_NAT, LB_CAPACITY, LB_VIP,
  LIMITED_PORT, LIMITED_RATE_BPS, NAT_CLIENT, SERVER_B, TLS_PORT,
} from '../../src/lab/plugins-profile.js';
import { backgroundLines, droppedByCapture, e2eDir, E2E_PREFIX, exec, inNs, pollUntil, show, sleep, startCapture, svr, SVR, LAB_UP_MS } from './support.js';
import { requires } from '../support/prerequisites.js';
import { until } from '../support/config.js';

const PREFIX = `${E2E_PREFIX}p`;
const NS = {
  client: `${PREFIX}-client`, r1: `${PREFIX}-r1`, r2: `${PREFIX}-r2`, server: `${PREFIX}-server`, link1: `${PREFIX}-link1`,
  internet: `${PREFIX}-internet`, fn: `${PREFIX}-fn`,
};
const CLIENT = '198.18.1.10';
const NO_TENANT = '198.18.5.10';
const SERVER = '198.18.3.20';
/** An address no service covers (only inside the lab: r1 drops what is sent there). */
const NO_SERVICE_ADDRESS = '198.18.9.9';
const TOOLS = fileURLToPath(new URL('./plugins-tools.js', import.meta.url));
const say = (line: string): void => console.log(`  [plugins] ${line}`);

interface SessionJson {
  id: string;
  role: string;
  tenant: string;
  service: string;
  application: string;
  original: { src: string; dst: string; srcPort: number; dstPort: number; protocol: string };
}

interface PluginJson {
  name: string;
  counters: Record<string, number>;
}

const test = requires(import.meta.url);

const dir = e2eDir(test, `${PREFIX}-e2e-plugins`, () => {
  spawnSync(process.execPath, [SVR, 'lab', 'down', ...labArgs], { env: { ...process.env, ...env }, stdio: 'ignore' });
});
const env = { SVR_RUN_DIR: join(dir, 'run') };
const labArgs = ['--prefix', PREFIX, '--dir', dir];
const sock = { r1: join(dir, 'r1.sock'), r2: join(dir, 'r2.sock') };
let isUp = false;

const needUp = (): void => {
  if (!isUp) throw new Error('the lab is not up (see the first test)');
};

const stats = async (r: 'r1' | 'r2'): Promise<Record<string, number>> => {
  const res = await svr(['show', 'stats', '--json', '--socket', sock[r]], env);
  assert.is(res.code, 0, show(res));
  return JSON.parse(res.stdout) as Record<string, number>;
};
const sessions = async (r: 'r1' | 'r2'): Promise<SessionJson[]> => {
  const res = await svr(['show', 'sessions', '--json', '--socket', sock[r]], env);
  assert.is(res.code, 0, show(res));
  return JSON.parse(res.stdout) as SessionJson[];
};
const plugin = async (r: 'r1' | 'r2', name: string): Promise<Record<string, number>> => {
  const res = await svr(['show', 'plugins', '--json', '--socket', sock[r]], env);
  assert.is(res.code, 0, show(res));
  const p = (JSON.parse(res.stdout) as PluginJson[]).find((x) => x.name === name);
  assert.ok(p !== undefined, `${r} has plugin ${name}: ${res.stdout.slice(0, 500)}`);
  return p!.counters;
};
const delta = (a: Record<string, number>, b: Record<string, number>, k: string): number => (b[k] ?? 0) - (a[k] ?? 0);
/** Runs a tool in a namespace to completion; its JSON lines. */
const tool = async (ns: string, cmd: string, opts: Record<string, unknown>, timeoutMs = 60_000): Promise<Record<string, unknown>[]> => {
  const r = await inNs(ns, process.execPath, [TOOLS, cmd, JSON.stringify(opts)], timeoutMs);
  assert.is(r.code, 0, show(r));
  return r.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
};
const linkStats = async (ns: string, dev: string): Promise<{ rx: number; tx: number }> => {
  const r = await exec('ip', ['-n', ns, '-s', '-j', 'link', 'show', 'dev', dev]);
  assert.is(r.code, 0, show(r));
  const j = JSON.parse(r.stdout) as { stats64: { rx: { packets: number }; tx: { packets: number } } }[];
  return { rx: j[0]!.stats64.rx.packets, tx: j[0]!.stats64.tx.packets };
};
/** A one-shot iperf3 server (-1 -J) on the server; resolves its JSON after the client ran. */
const iperfOnce = async (clientArgs: string[]): Promise<{ server: Record<string, unknown>; client: string }> => {
  const srv = spawn('ip', ['netns', 'exec', NS.server, 'iperf3', '-s', '-1', '-J', '-B', SERVER, '-p', String(LIMITED_PORT)], { stdio: ['ignore', 'pipe', 'pipe'] });
  let text = '';
  srv.stdout!.setEncoding('utf8');
  srv.stdout!.on('data', (d: string) => (text += d));
  const exited = new Promise<void>((r) => srv.once('close', () => r()));
  try {
    await sleep(300);
    let c = await inNs(NS.client, 'iperf3', ['-c', SERVER, '-p', String(LIMITED_PORT), '-J', ...clientArgs], 60_000);
    for (let i = 0; i < 10 && c.code !== 0 && /unable to connect|Connection refused/i.test(c.stdout + c.stderr); i++) {
      await sleep(300); // the server is not listening yet
      c = await inNs(NS.client, 'iperf3', ['-c', SERVER, '-p', String(LIMITED_PORT), '-J', ...clientArgs], 60_000);
    }
    assert.is(c.code, 0, show(c));
    await Promise.race([exited, sleep(20_000)]);
    return { server: JSON.parse(text) as Record<string, unknown>, client: c.stdout };
  } finally {
    if (srv.exitCode === null && srv.signalCode === null) srv.kill('SIGTERM');
    await exited;
  }
};

test.after(async () => {
  const r = await svr(['lab', 'down', ...labArgs], env);
  if (r.code !== 0) console.error(`svr lab down failed: ${show(r)}`);
  // e2eDir removes the directory when every test passed (kept with the logs otherwise)
});

test('svr lab up --profile plugins: seven namespaces, the plugins loaded, the function devices moved', async () => {
  await svr(['lab', 'down', ...labArgs], env); // left by an aborted run (this prefix only)
  const r = await svr(['lab', 'up', '--profile', 'plugins', ...labArgs], env, LAB_UP_MS);
  assert.is(r.code, 0, show(r));
  isUp = true;
  const st = await svr(['lab', 'status', '--json', ...labArgs], env);
  assert.is(st.code, 0, show(st));
  const s = JSON.parse(st.stdout) as { up: boolean; namespaces: { name: string; exists: boolean; interfaces: { name: string; addresses: string[] }[] }[]; processes: { name: string; alive: boolean }[] };
  assert.ok(s.up, st.stdout);
  assert.equal(s.namespaces.map((n) => n.name).sort(), Object.values(NS).sort());
  assert.equal(s.processes.map((p) => p.name), ['link1', 'r1', 'r2', 'server', 'server-b', 'internet', 'iperf3']);
  const ifs = (ns: string) => s.namespaces.find((n) => n.name === ns)!.interfaces;
  assert.equal(ifs(NS.fn).map((i) => i.name).sort(), [FN_IN_DEV, FN_OUT_DEV], 'r1\'s function devices are in the function namespace');
  assert.ok(ifs(NS.r1).every((i) => i.name !== FN_OUT_DEV), 'and no longer in r1');
  assert.equal(ifs(NS.internet).map((i) => i.addresses), [[`${INTERNET_HOST}/24`]]);
  const loaded = async (r: 'r1' | 'r2'): Promise<string[]> => {
    const res = await svr(['show', 'plugins', '--json', '--socket', sock[r]], env);
    return (JSON.parse(res.stdout) as PluginJson[]).map((p) => p.name);
  };
  assert.equal(await loaded('r1'), ['builtin.qos', 'builtin.firewall', 'builtin.dos', 'builtin.appid', 'builtin.external-function']);
  assert.equal(await loaded('r2'), ['builtin.qos', 'builtin.nat', 'builtin.lb']);
});

test('a port scan from no tenant and from tenant guest opens no session; r1 counts every probe by reason', async () => {
  needUp();
  const tcpPorts = Array.from({ length: 200 }, (_, i) => i + 1).concat([TLS_PORT, 5201, LIMITED_PORT]);
  const udpPorts = Array.from({ length: 20 }, (_, i) => i + 1).concat([5000, 5201, LIMITED_PORT]);
  const otherTcp = Array.from({ length: 50 }, (_, i) => i + 1);
  const otherUdp = Array.from({ length: 10 }, (_, i) => i + 1);
  const targets = [{ host: SERVER, tcp: tcpPorts, udp: udpPorts }, { host: NO_SERVICE_ADDRESS, tcp: otherTcp, udp: otherUdp }];
  const probes = tcpPorts.length + udpPorts.length + otherTcp.length + otherUdp.length;
  // what guest may reach by access-policy (web, refused by the firewall zone) and what it may not (the others)
  const zone = tcpPorts.filter((p) => p === 80).length;
  const denied = tcpPorts.filter((p) => [TLS_PORT, 5201, LIMITED_PORT].includes(p)).length + udpPorts.filter((p) => [7, 5000, 5201, LIMITED_PORT].includes(p)).length;
  const noService = probes - zone - denied;

  const b1 = await stats('r1');
  const b2 = await stats('r2');
  const fw0 = await plugin('r1', 'builtin.firewall');
  const results: Record<string, unknown>[] = [];
  for (const source of [NO_TENANT, GUEST_CLIENT]) {
    const [res] = await tool(NS.client, 'scan', { source, targets, timeoutMs: 300, concurrency: 64 });
    results.push(res!);
    assert.is(res!['open'], 0, `${source}: no port answers: ${JSON.stringify(res)}`);
    assert.is(res!['udpReplies'], 0, `${source}: no UDP reply`);
    assert.is((res!['tcpProbes'] as number) + (res!['udpProbes'] as number), probes);
  }
  await sleep(300);
  const a1 = await stats('r1');
  const a2 = await stats('r2');
  const fw1 = await plugin('r1', 'builtin.firewall');
  const got = {
    'drop-no-tenant': delta(b1, a1, 'drop-no-tenant'), 'drop-no-service': delta(b1, a1, 'drop-no-service'), 'drop-access-denied': delta(b1, a1, 'drop-access-denied'),
    'drop-refused-by-plugin': delta(b1, a1, 'drop-refused-by-plugin'), 'firewall refused-zone': delta(fw0, fw1, 'refused-zone'),
    'sessions-created r1': delta(b1, a1, 'sessions-created'), 'sessions-created r2': delta(b2, a2, 'sessions-created'),
  };
  say(`port scan: ${probes} probes per source (${tcpPorts.length + otherTcp.length} tcp, ${udpPorts.length + otherUdp.length} udp; to ${SERVER} and ${NO_SERVICE_ADDRESS}) from ${NO_TENANT} and ${GUEST_CLIENT}; r1 counted ${JSON.stringify(got)}; expected no-tenant ${probes}, no-service ${noService}, access-denied ${denied}, refused-zone ${zone}`);
  assert.is(got['sessions-created r1'], 0, 'no session on r1');
  assert.is(got['sessions-created r2'], 0, 'no session on r2');
  // each probe is one first packet (connects are abandoned after 300 ms, before the SYN is retransmitted at 1 s);
  // a loaded host may still retransmit a few: at most 2 % more
  const within = (name: keyof typeof got, want: number): void => {
    assert.ok(got[name] >= want && got[name] <= Math.ceil(want * 1.02), `${name}: ${got[name]}, expected ${want}`);
  };
  within('drop-no-tenant', probes);
  within('drop-no-service', noService);
  within('drop-access-denied', denied);
  within('drop-refused-by-plugin', zone);
  within('firewall refused-zone', zone);
  const live = await sessions('r1');
  assert.is(live.filter((x) => x.original.src === NO_TENANT || x.original.src === GUEST_CLIENT).length, 0, 'no session from a scanning source');
});

test('builtin.appid: a TLS session\'s SNI is its application on r1 and, from metadata, on r2', async () => {
  needUp();
  const cert = join(dir, 'tls-cert.pem');
  const key = join(dir, 'tls-key.pem');
  const gen = await exec('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', key, '-out', cert,
    '-days', '1', '-subj', '/CN=sni.example', '-addext', 'subjectAltName=DNS:sni.example']);
  assert.is(gen.code, 0, show(gen));
  const server = backgroundLines('ip', ['netns', 'exec', NS.server, process.execPath, TOOLS, 'tls-server', JSON.stringify({ host: SERVER, port: TLS_PORT, cert, key, delayMs: 3000 })]);
  try {
    await server.waitLine(/"listening"/, 10_000);
    const before = await plugin('r1', 'builtin.appid');
    const curl = inNs(NS.client, 'curl', ['-sS', '-k', '--max-time', '20', '--resolve', `sni.example:${TLS_PORT}:${SERVER}`, `https://sni.example:${TLS_PORT}/`]);
    const s1 = await pollUntil('a tls session named sni.example on r1', 8000, async () =>
      (await sessions('r1')).find((x) => x.service === 'tls' && x.application === 'sni.example'));
    const s2 = await pollUntil('the same session named sni.example on r2', 8000, async () =>
      (await sessions('r2')).find((x) => x.id === s1.id && x.application !== ''));
    const done = await curl;
    assert.is(done.code, 0, show(done));
    assert.match(done.stdout, 'tls ok, sni sni.example');
    const after = await plugin('r1', 'builtin.appid');
    say(`appid: session ${s1.id} ${s1.original.src}:${s1.original.srcPort} > ${s1.original.dst}:${s1.original.dstPort}: application "${s1.application}" on r1 (${s1.role}), "${s2.application}" on r2 (${s2.role}); r1 classified-sni +${delta(before, after, 'classified-sni')}`);
    assert.is(s1.role, 'ingress');
    assert.is(s2.role, 'egress');
    assert.is(s2.application, 'sni.example', 'r2 (no appid loaded) learned the name from metadata TLV 35');
    assert.ok(delta(before, after, 'classified-sni') >= 1, 'classified-sni counted');
  } finally {
    await server.stop();
  }
});

test('builtin.qos: iperf3 through a 20 Mbit/s service, measured at the server', async () => {
  needUp();
  const limit = LIMITED_RATE_BPS;
  const q0 = await plugin('r1', 'builtin.qos');
  const udp = await iperfOnce(['-u', '-b', String(2 * limit), '-t', '6', '-l', '1400']);
  const uEnd = udp.server['end'] as { sum_received?: { bits_per_second: number; seconds: number; bytes: number }; sum?: { bits_per_second: number; seconds: number; bytes: number } };
  const u = uEnd.sum_received ?? uEnd.sum!;
  const q1 = await plugin('r1', 'builtin.qos');
  const tcp = await iperfOnce(['-t', '6']);
  const t = (tcp.server['end'] as { sum_received: { bits_per_second: number; seconds: number; bytes: number } }).sum_received;
  const q2 = await plugin('r1', 'builtin.qos');
  // the policer counts IP packets: 1400 bytes of payload are 1428 on the wire (IPv4 20 + UDP 8)
  const ipRate = (u.bits_per_second * (1400 + 28)) / 1400;
  const off = (ipRate - limit) / limit;
  say(`qos: limit ${limit / 1e6} Mbit/s; UDP offered ${2 * limit / 1e6} Mbit/s: the server received ${(u.bits_per_second / 1e6).toFixed(2)} Mbit/s of payload over ${u.seconds.toFixed(1)} s = ${(ipRate / 1e6).toFixed(2)} Mbit/s of IP packets `
    + `(${(off * 100).toFixed(2)} % from the limit; r1 dropped-service-rate +${delta(q0, q1, 'dropped-service-rate')}); `
    + `TCP: ${(t.bits_per_second / 1e6).toFixed(2)} Mbit/s over ${t.seconds.toFixed(1)} s (r1 dropped-service-rate +${delta(q1, q2, 'dropped-service-rate')})`);
  assert.ok(u.seconds >= 5, `measured over ${u.seconds} s`);
  assert.ok(Math.abs(off) <= 0.05, `UDP at the server ${ipRate} bit/s (IP) is not within 5 % of ${limit}`);
  assert.ok(delta(q0, q1, 'dropped-service-rate') > 0, 'the policer dropped the excess');
  assert.ok(t.seconds >= 5, `TCP measured over ${t.seconds} s`);
  assert.ok(t.bits_per_second <= limit * 1.05, `TCP at the server ${t.bits_per_second} bit/s exceeds the limit by more than 5 %`);
});

test('builtin.lb: 400 sessions to the virtual address split 1:3 over two servers', async () => {
  needUp();
  const count = 400;
  const l0 = await plugin('r2', 'builtin.lb');
  const [res] = await tool(NS.client, 'http-many', { source: CLIENT, host: LB_VIP, port: 80, count, concurrency: 4 });
  const l1 = await plugin('r2', 'builtin.lb');
  const served = res!['servedBy'] as Record<string, number>;
  const total = Object.values(LB_CAPACITY).reduce((a, c) => a + c, 0);
  const counters = Object.fromEntries(Object.keys(LB_CAPACITY).map((a) => [a, delta(l0, l1, `web-lb/${a}.sessions`)]));
  say(`lb: ${count} sessions to ${LB_VIP} in ${res!['ms']} ms: served by ${JSON.stringify(served)} (r2 lb counters ${JSON.stringify(counters)}); capacities ${JSON.stringify(LB_CAPACITY)}, errors ${res!['errors']}`);
  assert.is(res!['errors'], 0);
  for (const [addr, cap] of Object.entries(LB_CAPACITY)) {
    const want = (count * cap) / total;
    const n = served[addr] ?? 0;
    assert.ok(Math.abs(n - want) <= 0.1 * want, `${addr}: ${n} sessions, expected ${want} ± 10 %`);
    assert.is(counters[addr], n, `r2 counted the sessions of ${addr}`);
  }
  assert.is((served[SERVER] ?? 0) + (served[SERVER_B] ?? 0), count, 'only the two targets answered');
});

test('builtin.nat: 1,000 concurrent UDP sessions to the internet; it sees only r2\'s address; every reply reaches its socket', async () => {
  needUp();
  const count = 1000;
  const log = join(dir, 'internet.log');
  const linesBefore = readFileSync(log, 'utf8').split('\n').length - 1;
  const n0 = await plugin('r2', 'builtin.nat');
  const p = backgroundLines('ip', ['netns', 'exec', NS.client, process.execPath, TOOLS, 'udp-many', JSON.stringify({ source: NAT_CLIENT, host: INTERNET_HOST, port: 7, count, holdMs: 6000 })]);
  try {
    const ready = JSON.parse(await p.waitLine(/"event":"ready"/, 60_000)) as { answered: number; wrong: number; sent: number; distinctLocalPorts: number; ms: number };
    // while all the sockets are open: the sessions on r2, the NAT bindings
    const live = (await sessions('r2')).filter((x) => x.service === 'internet' && x.original.src === NAT_CLIENT);
    const n1 = await plugin('r2', 'builtin.nat');
    const seen = readFileSync(log, 'utf8').split('\n').slice(linesBefore).map((l) => / from (\d+\.\d+\.\d+\.\d+):(\d+) echoed/.exec(l)).filter((m) => m !== null);
    const addrs = new Set(seen.map((m) => m![1]));
    const ports = new Set(seen.map((m) => Number(m![2])));
    const inRange = [...ports].every((x) => x >= 16384 && x <= 65534);
    say(`nat: ${count} sockets on ${NAT_CLIENT} (${ready.distinctLocalPorts} local ports), ${ready.sent} datagrams sent, ${ready.answered} answered with their own payload, ${ready.wrong} wrong, in ${ready.ms} ms; `
      + `the internet host saw ${seen.length} datagrams from ${[...addrs].join(', ')} on ${ports.size} ports (${Math.min(...ports)}-${Math.max(...ports)}); `
      + `r2: ${live.length} live internet sessions, nat translations +${delta(n0, n1, 'translations')}, ports-in-use ${n1['ports-in-use']}`);
    assert.is(ready.answered, count, 'every socket got its own reply');
    assert.is(ready.wrong, 0, 'no socket got another one\'s reply');
    assert.equal([...addrs], [INTERNET_NAT], 'the internet sees only r2\'s address');
    assert.is(ports.size, count, 'one NAT port per session');
    assert.ok(inRange, 'NAT ports in 16384-65534');
    assert.is(live.length, count, 'the sessions are concurrent on r2');
    assert.is(delta(n0, n1, 'translations'), count);
    assert.ok(n1['ports-in-use']! >= count, `ports-in-use ${n1['ports-in-use']}`);
  } finally {
    await p.stop();
  }
});

test('builtin.dos: a connect flood from one source is held at its per-source limit while another client\'s download completes', async () => {
  needUp();
  const size = 20 * 1024 * 1024;
  const b = await stats('r1');
  const d0 = await plugin('r1', 'builtin.dos');
  const flood = backgroundLines('ip', ['netns', 'exec', NS.client, process.execPath, TOOLS, 'flood', JSON.stringify({ source: FLOOD_SOURCE, host: SERVER, port: 80, rate: 600, durationMs: 9000, holdMs: 300 })]);
  let end: { attempts: number; connected: number; abandoned: number; errors: number; ms: number; endedAt: number; startedAt: number };
  let dl: { ok: boolean; ms: number; endedAt: number; sha: string };
  try {
    await flood.waitLine(/"event":"start"/, 10_000);
    await sleep(3000); // past the burst: the limit refuses now
    const file = join(dir, 'dos-download.bin');
    const headers = join(dir, 'dos-headers.txt');
    const t0 = Date.now();
    const r = await inNs(NS.client, 'curl', ['-sS', '--max-time', '30', '--interface', CLIENT, '-D', headers, '-o', file, `http://${SERVER}/bytes/${size}`]);
    const t1 = Date.now();
    assert.is(r.code, 0, show(r));
    const body = readFileSync(file);
    const want = /^x-sha256:\s*([0-9a-f]{64})/im.exec(readFileSync(headers, 'utf8'))?.[1];
    const sha = createHash('sha256').update(body).digest('hex');
    rmSync(file);
    dl = { ok: body.length === size && sha === want, ms: t1 - t0, endedAt: t1, sha };
    end = JSON.parse(await flood.waitLine(/"event":"end"/, 30_000)) as typeof end;
  } finally {
    await flood.stop();
  }
  await sleep(300);
  const a = await stats('r1');
  const d1 = await plugin('r1', 'builtin.dos');
  const admitted = delta(b, a, 'sessions-created') - 1; // minus the download's one session
  const refused = delta(d0, d1, 'refused-source-rate');
  const seconds = end.ms / 1000;
  const rate = (admitted - DOS_BURST) / seconds;
  say(`dos: flood from ${FLOOD_SOURCE}: ${end.attempts} connects in ${seconds.toFixed(1)} s (${(end.attempts / seconds).toFixed(0)}/s), r1 admitted ${admitted} (burst ${DOS_BURST} + ${rate.toFixed(1)}/s; limit ${DOS_PER_SOURCE_RATE}/s), refused ${refused} (refused-source-rate); `
    + `the flooder connected ${end.connected}; ${CLIENT}'s ${size / 1048576} MiB download during the flood: sha256 ${dl.ok ? 'ok' : 'MISMATCH'} (${dl.sha.slice(0, 16)}...) in ${(dl.ms / 1000).toFixed(2)} s (${((size * 8) / dl.ms / 1000).toFixed(0)} Mbit/s), ended ${((end.endedAt - dl.endedAt) / 1000).toFixed(1)} s before the flood`);
  assert.ok(dl.ok, 'the download is intact');
  assert.ok(dl.endedAt < end.endedAt, 'the download completed while the flood was going on');
  assert.ok(refused > 0, 'the per-source limit refused sessions');
  // every connect is one SYN (abandoned after 300 ms, before a retransmission): admitted + refused = attempts
  assert.ok(Math.abs(admitted + refused - end.attempts) <= 0.01 * end.attempts, `admitted ${admitted} + refused ${refused} vs ${end.attempts} connects`);
  // held at its limit: the burst, then the rate (±10 %)
  assert.ok(Math.abs(rate - DOS_PER_SOURCE_RATE) <= 0.1 * DOS_PER_SOURCE_RATE, `admitted ${admitted} = burst ${DOS_BURST} + ${rate.toFixed(1)}/s over ${seconds} s, limit ${DOS_PER_SOURCE_RATE}/s`);
});

test('builtin.external-function: the function namespace sees and forwards every packet of the stream service', async () => {
  needUp();
  const n = 500;
  const out0 = await linkStats(NS.fn, FN_OUT_DEV);
  const in0 = await linkStats(NS.fn, FN_IN_DEV);
  const f0 = await plugin('r1', 'builtin.external-function');
  const cap = await startCapture(NS.fn, FN_OUT_DEV, join(dir, 'fn.pcap'));
  let s: Record<string, unknown>;
  let capErr = '';
  try {
    const r = await inNs(NS.client, process.execPath, [SVR, 'lab', 'send-stream', '--rate', '250', '--duration', `${(n / 250) * 1000}ms`, '--id', '4242']);
    assert.is(r.code, 0, show(r));
    s = await pollUntil('the stream receiver saw the end of stream 4242', 5000, async () => {
      const c = await inNs(NS.client, 'curl', ['-sS', '--max-time', '5', `http://${SERVER}/stream-stats/4242`]);
      const j = c.code === 0 ? JSON.parse(c.stdout) as Record<string, unknown> : undefined;
      return j?.['ended'] === true ? j : undefined;
    });
    // tcpdump at load 25 ran 200 ms+ behind and what it had not read when stopped was never written (CI: 170 of 503):
    // let it catch up (until it has the stream, or writes nothing more for a second) before stopping it
    let last = -1;
    let still = 0;
    await until(async () => {
      const got = (await exec('tcpdump', ['-r', cap.file, '-n'])).stdout.split('\n').filter((l) => l.includes(`> ${SERVER}.5000: UDP`)).length;
      still = got === last ? still + 1 : 0;
      last = got;
      return got >= n || still >= 4;
    }, 10_000, 250);
  } finally {
    capErr = await cap.stop();
  }
  const out1 = await linkStats(NS.fn, FN_OUT_DEV);
  const in1 = await linkStats(NS.fn, FN_IN_DEV);
  const f1 = await plugin('r1', 'builtin.external-function');
  const dump = await exec('tcpdump', ['-r', cap.file, '-n']);
  const seen = dump.stdout.split('\n').filter((l) => l.includes(`IP ${CLIENT}.`) && l.includes(`> ${SERVER}.5000: UDP`)).length;
  const lost = droppedByCapture(capErr); // what tcpdump said its buffer lost
  const div = delta(f0, f1, `${FN_NAME}.diverted`);
  const ret = delta(f0, f1, `${FN_NAME}.returned`);
  say(`external function: ${n} datagrams of stream 4242: the server received ${s!['received']} (lost ${s!['lost']}); in ${NS.fn}: ${FN_OUT_DEV} rx +${out1.rx - out0.rx}, ${FN_IN_DEV} tx +${in1.tx - in0.tx}, `
    + `tcpdump on ${FN_OUT_DEV}: ${seen} packets ${CLIENT} > ${SERVER}:5000 (${lost} lost by tcpdump); r1 ${FN_NAME}.diverted +${div}, returned +${ret}`);
  assert.is(s!['received'], n);
  assert.is(s!['lost'], 0);
  assert.ok(out1.rx - out0.rx >= n, 'the function received the stream');
  assert.ok(in1.tx - in0.tx >= n, 'and sent it back');
  assert.ok(seen > 0 && seen + lost >= n, `the function saw the original addresses (${seen} packets, ${lost} lost by tcpdump, of ${n})`);
  assert.ok(div >= n && ret === div, `diverted ${div}, returned ${ret}`);
});

test('after SIGKILL of both nodes, svr lab down removes every namespace (internet and fn too) and process', async () => {
  needUp();
  const st = JSON.parse(readFileSync(join(dir, 'state.json'), 'utf8')) as { processes: { name: string; pid: number }[]; namespaces: string[] };
  assert.equal([...st.namespaces].sort(), Object.values(NS).sort(), 'state.json records every namespace');
  for (const p of st.processes.filter((x) => x.name === 'r1' || x.name === 'r2')) process.kill(p.pid, 'SIGKILL');
  await sleep(200);
  const r = await svr(['lab', 'down', ...labArgs], env);
  assert.is(r.code, 0, show(r));
  isUp = false;
  const list = await exec('ip', ['netns', 'list']);
  for (const ns of Object.values(NS)) assert.not.match(list.stdout, new RegExp(`^${ns}\\b`, 'm'), `${ns} is gone`);
  for (const p of st.processes) assert.not.ok(isAlive(p.pid), `${p.name} (pid ${p.pid}) is gone`);
});

test.run();
