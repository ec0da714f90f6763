/**
 * End to end NAT traversal (issue 13, docs/wan.md): `svr lab up --nat` puts r1 behind a NAT box
 * (`<prefix>-nat`, nftables masquerade to 198.18.29.1, ports 20000-29999) and r1 peers outbound-only; r2
 * has no route to r1's waypoint and learns where r1 is from its authenticated BFD.
 * - r2 learns 198.18.29.1:<a port of the range>, r1 is told the same;
 * - a 100 MB download and a one-way UDP stream run while a rebinding (`svr lab nat-rebind`) changes the masquerade range
 *   and flushes conntrack: r2 follows, r1's sessions re-signal, the download is intact (sha256), the
 *   stream's longest gap is under 2 s;
 * - a forged (unsigned) control packet from a new source is dropped and not followed;
 * - the other way: from the server side r2 opens an 80 MB download and a UDP stream toward the branch server
 *   on the client behind r1 (their first packets ride r1's control binding, r1 opens each session's own);
 *   through a rebinding the download is intact and the stream's longest gap is under 2 s;
 * - `key-exchange: handshake` (rekey every 3 s): both nodes restarted with it, r2 learns r1 from r1's
 *   handshake (nothing else of r1's verifies before the first keys); both directions carry traffic, and
 *   again after a rebinding, with the rekeys going on.
 * Needs root, ip/curl/iperf3, nft and conntrack (test/support/prerequisites.ts). About 75 s.
 */
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import * as assert from 'uvu/assert';
import { E2E_PREFIX, exec, inNs, labFixture, pollUntil, show, sleep, svr, SVR, LAB_UP_MS } from './support.js';
import { parse, stringify } from 'yaml';
import { requires } from '../support/prerequisites.js';
import { labProcess, restartable, startAgain } from './chaos-tools.js';
import { isAlive } from '../../src/lab/processes.js';
import { NAT_PORT_RANGES, natRebind } from '../../src/lab/nat.js';

const PREFIX = `${E2E_PREFIX}n`;
const CLIENT_NS = `${PREFIX}-client`;
const SERVER = '198.18.3.20';
const SIZE = 100 * 1024 * 1024;
const STREAM_ID = 13;
const SERVER_NS = `${PREFIX}-server`;
const NAT_NS = `${PREFIX}-nat`;
/** the branch server on the client behind r1 (`svr lab up --nat`: service branch) */
const BRANCH = '198.18.1.10';
const BRANCH_SIZE = 80 * 1024 * 1024;

const test = requires(import.meta.url);

const { dir, env, labArgs, downSync } = labFixture(test, PREFIX, 'nat');
const sock = (r: 'r1' | 'r2'): string => join(dir, `${r}.sock`);

interface NatPath { up: boolean; remoteWaypoint: string; nat?: { role: string; learned?: string; seenAs?: string; addressChanges: number } }

async function natPath(r: 'r1' | 'r2'): Promise<NatPath> {
  const res = await svr(['show', 'peers', '--json', '--socket', sock(r)], env);
  assert.is(res.code, 0, show(res));
  return (JSON.parse(res.stdout) as { paths: NatPath[] }[])[0]!.paths[0]!;
}

async function counters(r: 'r1' | 'r2'): Promise<Record<string, number>> {
  const res = await svr(['show', 'stats', '--json', '--socket', sock(r)], env);
  assert.is(res.code, 0, show(res));
  return JSON.parse(res.stdout) as Record<string, number>;
}

const portOf = (addr: string): number => Number(addr.slice(addr.lastIndexOf(':') + 1));

/**
 * Waits until a download writes `file` (2 MB in) and `also` holds, so that the rebinding hits both flows
 * mid-way (a node process, as the stream's sender, may take seconds to start on a loaded machine).
 */
async function bothFlowing(file: string, also: () => Promise<boolean>): Promise<void> {
  await pollUntil('the download and the stream to flow through the NAT', 30_000, async () => {
    const size = existsSync(file) ? statSync(file).size : 0;
    return size >= 2 << 20 && (await also()) ? true : undefined;
  });
}

/** UDP flows the NAT box tracks that are not the control channel's (UDP 1280): the stream's. */
async function udpSessionFlows(): Promise<number> {
  const ct = await exec('ip', ['netns', 'exec', NAT_NS, 'conntrack', '-L', '-p', 'udp']);
  return ct.stdout.split('\n').filter((l) => /sport=\d+/.test(l) && !/sport=1280 /.test(l)).length;
}

test.after(() => downSync()); // the directory goes once every test passed (e2eDir), else it keeps the nodes' logs

test('svr lab up --nat: r2 learns r1 behind the masquerade; a rebinding keeps a 100 MB download and a UDP stream going', async () => {
  const up = await svr(['lab', 'up', ...labArgs, '--nat', '--bfd-interval', '100'], env, LAB_UP_MS);
  assert.is(up.code, 0, show(up));
  assert.match(up.stdout, /r1 behind NAT on path 1/);

  const hub = await pollUntil('r2 to learn where r1 is', 10_000, async () => {
    const p = await natPath('r2');
    return p.up && p.nat?.learned !== undefined ? p : undefined;
  });
  assert.is(hub.nat!.role, 'peer-behind-nat');
  assert.is(hub.remoteWaypoint, '198.18.12.1', 'the configured waypoint stays as configured');
  assert.match(hub.nat!.learned!, /^198\.18\.29\.1:\d+$/);
  const before = portOf(hub.nat!.learned!);
  assert.ok(before >= 20000 && before <= 29999, `a port of the first masquerade range: ${before}`);
  const spoke = await pollUntil('r1 to be told', 5000, async () => ((await natPath('r1')).nat?.seenAs !== undefined ? natPath('r1') : undefined));
  assert.is(spoke.nat!.role, 'outbound-only');
  assert.is(spoke.nat!.seenAs, hub.nat!.learned);

  // a 100 MB download (at most 8 MB/s: more than 12 s) and a one-way UDP stream (12 s), with a rebinding
  // 4 s in, done from here (a CLI's start takes seconds on a loaded machine; `svr lab nat-rebind` is run below)
  const file = join(dir, 'download.bin');
  const headers = join(dir, 'download.headers');
  const download = inNs(CLIENT_NS, 'curl', ['-sS', '-m', '80', '--limit-rate', '8M', '-D', headers, '-o', file, `http://${SERVER}/bytes/${SIZE}`], 90_000);
  const stream = inNs(CLIENT_NS, process.execPath, [SVR, 'lab', 'send-stream', '--rate', '200', '--duration', '12s', '--id', String(STREAM_ID)], 40_000);
  await bothFlowing(file, async () => (await udpSessionFlows()) >= 1);
  assert.equal(await natRebind(PREFIX), { from: NAT_PORT_RANGES[0], to: NAT_PORT_RANGES[1] });

  const moved = await pollUntil('r2 to follow r1 to its new port', 10_000, async () => {
    const p = await natPath('r2');
    return p.nat!.addressChanges >= 1 ? p : undefined;
  });
  const after = portOf(moved.nat!.learned!);
  assert.ok(after >= 30000 && after <= 39999, `a port of the new range: ${after}`);

  const s = await stream;
  assert.is(s.code, 0, show(s));
  const stats = await exec('ip', ['netns', 'exec', CLIENT_NS, 'curl', '-sS', '-m', '5', `http://${SERVER}/stream-stats/${STREAM_ID}`]);
  assert.is(stats.code, 0, show(stats));
  const st = JSON.parse(stats.stdout) as { received: number; lost: number; maxGapMs: number };
  console.log(`[nat] UDP stream through the rebinding: ${st.received} received, ${st.lost} lost, longest gap ${st.maxGapMs} ms`);
  assert.ok(st.maxGapMs < 2000, `the stream resumed within 2 s (longest gap ${st.maxGapMs} ms)`);
  assert.ok(st.received > 1200, `most of the stream arrived: ${st.received}`);

  const d = await download;
  assert.is(d.code, 0, show(d));
  const want = /^x-sha256: *([0-9a-f]{64})/im.exec(readFileSync(headers, 'utf8'))?.[1];
  const got = createHash('sha256').update(readFileSync(file)).digest('hex');
  assert.is(got, want, 'the 100 MB download is intact');

  const c1 = await counters('r1');
  const c2 = await counters('r2');
  console.log(`[nat] r1: nat-rebinds ${c1['nat-rebinds']}, sessions-resignalled-nat ${c1['sessions-resignalled-nat']}; r2: nat-peer-address-changes ${c2['nat-peer-address-changes']}, sessions-migrated ${c2['sessions-migrated']}`);
  const natLog = (r: 'r1' | 'r2'): string => readFileSync(join(dir, `${r}.log`), 'utf8').split('\n').filter((l) => l.includes(' nat.')).join('\n');
  assert.is(c1['nat-rebinds'], 1, natLog('r1'));
  assert.ok(c1['sessions-resignalled-nat']! >= 2, 'the download and the stream re-signalled');
  assert.is(c2['nat-peer-address-changes'], 1, natLog('r2'));
  assert.ok(c2['sessions-migrated']! >= 2, 'r2 re-keyed both sessions on their new ports');
});

test('a forged control packet from a new source is dropped and not followed', async () => {
  const learned = (await natPath('r2')).nat!.learned;
  const dropsBefore = (await counters('r2'))['drop-unknown-peer'] ?? 0;
  // from the link namespace (198.18.31.254, an address r2 never heard r1 from), no HMAC
  const r = await inNs(`${PREFIX}-link1`, process.execPath, [SVR, 'lab', 'udp-probe', '198.18.12.2', '1280', 'not-bfd', '--count', '3', '--interval', '50', '--timeout', '300', '--json'], 20_000);
  assert.ok(r.code === 0 || r.code === 1, show(r)); // no answer is expected
  const c = await pollUntil('r2 to drop them', 3000, async () => {
    const n = (await counters('r2'))['drop-unknown-peer'] ?? 0;
    return n >= dropsBefore + 3 ? n : undefined;
  });
  assert.ok(c >= dropsBefore + 3);
  await sleep(300);
  const p = await natPath('r2');
  assert.is(p.nat!.learned, learned, 'still answering where r1 really is');
  assert.is(p.nat!.addressChanges, 1);
  assert.ok(p.up);
});

test('r2 opens sessions toward r1 behind the NAT: a download from the branch server and a UDP stream to it survive a rebinding', async () => {
  const c1 = await counters('r1');
  const c2 = await counters('r2');
  const changes = (await natPath('r2')).nat!.addressChanges;
  // from the server side, through r2 (the hub) toward the branch server on the client behind r1 (service branch)
  const file = join(dir, 'branch.bin');
  const headers = join(dir, 'branch.headers');
  const stream = inNs(SERVER_NS, process.execPath, [SVR, 'lab', 'send-stream', '--to', `${BRANCH}:5000`, '--rate', '200', '--duration', '10s', '--id', String(STREAM_ID + 1)], 40_000);
  const download = inNs(SERVER_NS, 'curl', ['-sS', '-m', '60', '--limit-rate', '8M', '-D', headers, '-o', file, `http://${BRANCH}/bytes/${BRANCH_SIZE}`], 70_000);
  await bothFlowing(file, async () => ((await counters('r1'))['nat-sessions-relayed'] ?? 0) >= (c1['nat-sessions-relayed'] ?? 0) + 2);
  assert.equal(await natRebind(PREFIX), { from: NAT_PORT_RANGES[1], to: NAT_PORT_RANGES[0] });
  await pollUntil('r2 to follow r1 again', 10_000, async () => ((await natPath('r2')).nat!.addressChanges > changes ? true : undefined));

  const s = await stream;
  assert.is(s.code, 0, show(s));
  const stats = await exec('ip', ['netns', 'exec', CLIENT_NS, 'curl', '-sS', '-m', '5', `http://${BRANCH}/stream-stats/${STREAM_ID + 1}`]);
  assert.is(stats.code, 0, show(stats));
  const st = JSON.parse(stats.stdout) as { received: number; lost: number; maxGapMs: number };
  const d = await download;
  assert.is(d.code, 0, show(d));
  const want = /^x-sha256: *([0-9a-f]{64})/im.exec(readFileSync(headers, 'utf8'))?.[1];
  const got = createHash('sha256').update(readFileSync(file)).digest('hex');
  const a1 = await counters('r1');
  const a2 = await counters('r2');
  const delta = (a: Record<string, number>, b: Record<string, number>, k: string): number => (a[k] ?? 0) - (b[k] ?? 0);
  console.log(`[nat] hub -> spoke: stream ${st.received} received, ${st.lost} lost, longest gap ${st.maxGapMs} ms; r1 nat-sessions-relayed +${delta(a1, c1, 'nat-sessions-relayed')}, nat-reverse-probes-sent +${delta(a1, c1, 'nat-reverse-probes-sent')}; r2 nat-sessions-opened +${delta(a2, c2, 'nat-sessions-opened')}, sessions-migrated +${delta(a2, c2, 'sessions-migrated')}`);
  assert.is(got, want, `the ${BRANCH_SIZE / 1048576} MB download from behind the NAT is intact`);
  assert.ok(st.maxGapMs < 2000, `the stream toward the NAT resumed within 2 s (longest gap ${st.maxGapMs} ms)`);
  assert.ok(st.received > 1000, `most of the stream arrived: ${st.received} of 2000`);
  assert.ok(delta(a1, c1, 'nat-sessions-relayed') >= 2, 'both sessions reached r1 on its control binding');
  assert.ok(delta(a2, c2, 'nat-sessions-opened') >= 2, 'r2 left r1\'s control binding for each session\'s own');
  assert.ok(delta(a2, c2, 'sessions-migrated') >= 2, 'r2 followed both sessions to their new bindings after the rebinding');
});

test('key-exchange handshake behind the NAT: r2 restarted without keys learns r1 from its handshake; both directions carry traffic, and after a rebinding with the same keys', async () => {
  const file = join(dir, 'authority.yaml');
  const doc = parse(readFileSync(file, 'utf8')) as { authority: { 'security-policies'?: Record<string, unknown>[]; routers: { name: string; identity?: Record<string, string> }[] } };
  for (const r of doc.authority.routers) {
    const key = join(dir, `${r.name}-identity.key`);
    const made = await svr(['identity', 'new', '--out', key], env);
    assert.is(made.code, 0, show(made));
    r.identity = { 'public-key': made.stdout.trim(), 'private-key-file': key };
  }
  doc.authority['security-policies'] = [{ name: 'internal', encrypt: true, 'key-exchange': 'handshake', 'rekey-interval': 3 }];
  writeFileSync(file, stringify(doc));
  // both nodes start again with it: r2 knows nothing of r1, and nothing r1 sends verifies before the first keys
  const nodes = (['r2', 'r1'] as const).map((r) => ({ r, again: restartable(dir, r), pid: labProcess(dir, r).pid }));
  for (const n of nodes) process.kill(n.pid, 'SIGTERM');
  await pollUntil('r1 and r2 to stop', 10_000, async () => (nodes.every((n) => !isAlive(n.pid)) ? true : undefined));
  const log2 = join(dir, 'r2-handshake.log');
  for (const n of nodes) startAgain(n.again, n.r === 'r2' ? log2 : join(dir, 'r1-handshake.log'));
  const keys = async (r: 'r1' | 'r2'): Promise<{ tx?: unknown; rekeys?: number } | undefined> => {
    const res = await svr(['show', 'security', '--json', '--socket', sock(r)], env);
    return res.code === 0 ? (JSON.parse(res.stdout) as { paths: { tx?: unknown; rekeys?: number }[] }).paths[0] : undefined;
  };
  await pollUntil('keys on both routers and r2 learning r1', 30_000, async () => ((await keys('r1'))?.tx !== undefined && (await keys('r2'))?.tx !== undefined && (await natPath('r2')).nat?.learned !== undefined ? true : undefined));
  assert.match(readFileSync(log2, 'utf8'), /nat\.peer-learned path=\S+ address=198\.18\.29\.1:\d+/);
  const both = async (what: string): Promise<void> => {
    const toHub = await pollUntil(`${what}: r1's side reaching the server`, 20_000, async () => ((await inNs(CLIENT_NS, 'curl', ['-sS', '-m', '2', '-o', '/dev/null', '-w', '%{http_code}', `http://${SERVER}/`])).stdout === '200' ? true : undefined));
    const toSpoke = await pollUntil(`${what}: the server side reaching the branch server behind the NAT`, 20_000, async () => ((await inNs(SERVER_NS, 'curl', ['-sS', '-m', '2', '-o', '/dev/null', '-w', '%{http_code}', `http://${BRANCH}/`])).stdout === '200' ? true : undefined));
    assert.ok(toHub && toSpoke);
  };
  await both('with handshake keys');
  const before = (await keys('r1'))!.rekeys ?? 0;
  const rebind = await svr(['lab', 'nat-rebind', ...labArgs], env);
  assert.is(rebind.code, 0, show(rebind));
  assert.match(rebind.stdout, /20000-29999 -> 30000-39999, conntrack flushed/);
  await pollUntil('r2 to follow r1 to its new port', 5000, async () => ((await natPath('r2')).nat!.addressChanges >= 1 ? true : undefined));
  await both('after the rebinding');
  await pollUntil('rekeys going on after the rebinding', 15_000, async () => (((await keys('r1'))?.rekeys ?? 0) > before ? true : undefined));
  const c2 = await counters('r2');
  console.log(`[nat] handshake behind NAT: r2 learned r1 from its handshake, traffic both ways before and after the rebinding; r1 rekeys ${(await keys('r1'))!.rekeys}, r2 handshake-messages-received ${c2['handshake-messages-received']}, drop-unknown-peer ${c2['drop-unknown-peer'] ?? 0}`);
});

test.run();
