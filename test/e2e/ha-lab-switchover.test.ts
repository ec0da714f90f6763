/**
 * `svr lab up --ha` (docs/high-availability.md "Planned switchover", "Split brain"): r1 a pair, r1a active.
 * 1. A UDP stream of 1,000 datagrams/s client -> server through the pair; `svr node switchover --node r1a`
 *    2.5 s in, `svr node switchover --node r1b` 6.5 s in (there and back): must hold: the server received
 *    every datagram (counted by sequence number: none lost, none twice), the addresses and the client's
 *    gateway MAC followed each switchover. The switchovers' timelines (the nodes' logs) are printed.
 *    Before the first, `svr show ha` on r1a shows its sync lag (ack and change lag measured, under 5 s).
 * 2. Split brain: the sync veth cut while a stream runs through r1a: exactly one node forwards and holds the
 *    shared addresses (sampled every 100 ms for 2 s: r1a active with its devices up, r1b fenced, its data
 *    path sends nothing), the stream loses nothing, `ha-split-brain` is raised on both; the link back: r1b
 *    standby, the alarm cleared, r1a active.
 * Needs root, ip, network namespaces, curl; otherwise its tests count as skipped.
 */
import { loadavg } from 'node:os';
import { join } from 'node:path';
import * as assert from 'uvu/assert';
import { backgroundLines, E2E_PREFIX, inNs, pollUntil, show, sleep, svr, SVR } from './support.js';
import { labProcess } from './chaos-tools.js';
import { counterOf, gatewayMac, haLab, haOf, holders as holdersOf, logTime, mac, streamCount } from './ha-lab-tools.js';
import { requires } from '../support/prerequisites.js';
import { request } from '../../src/node/control-client.js';

const PREFIX = `${E2E_PREFIX}v`;
const NS = { client: `${PREFIX}-client`, r1a: `${PREFIX}-r1a`, r1b: `${PREFIX}-r1b` };
const SERVER = '198.18.3.20';

const test = requires(import.meta.url);
const { dir, env } = haLab(test, PREFIX, 'ha-switchover');

const stream = (id: number, seconds: number) => backgroundLines('ip', ['netns', 'exec', NS.client, process.execPath, SVR, 'lab', 'send-stream', '--rate', '1000', '--duration', `${seconds}s`, '--id', String(id), '--json']);

/** A node's drop counters that are not zero. */
async function dropsOf(node: string): Promise<Record<string, number>> {
  const st = (await request(join(dir, `${node}.sock`), { method: 'show', what: 'stats' })) as Record<string, unknown>;
  return Object.fromEntries(Object.entries(st).filter(([k, v]) => k.startsWith('drop') && typeof v === 'number' && v > 0)) as Record<string, number>;
}

const holders = (): Promise<string> => holdersOf(PREFIX);

/** Asks `from` (active) to hand over; waits until `to` is active and `from` standby; prints the timeline. */
async function switchover(from: 'r1a' | 'r1b', to: 'r1a' | 'r1b'): Promise<void> {
  const asked = Date.now();
  const r = await svr(['node', 'switchover', '--node', from], env);
  assert.is(r.code, 0, show(r));
  await pollUntil(`${to} active, ${from} standby`, 15_000, async () => {
    const [a, b] = [await haOf(dir, to), await haOf(dir, from)];
    return a.role === 'active' && b.role === 'standby' ? true : undefined;
  });
  const [logTo, logFrom] = [labProcess(dir, to).log, labProcess(dir, from).log];
  const at = logTime(logFrom, new RegExp(`ha\\.role node=${from} role=handing-over`), asked - 1000)?.at ?? asked;
  const line = (log: string, node: string, role: string) => logTime(log, new RegExp(`ha\\.role node=${node} role=${role}`), at - 1000);
  // the roles are logged once applied (devices, addresses): a moment after `svr show ha` names them
  const [taking, active, standby] = await pollUntil('the switchover\'s steps logged', 5_000, async () => {
    const x = [line(logTo, to, 'taking-over'), line(logTo, to, 'active'), line(logFrom, from, 'standby')];
    if (x.some((y) => y === undefined)) {
      await sleep(50);
      return undefined;
    }
    return x as { at: number; line: string }[];
  });
  const ms = (x: { at: number } | undefined): string => (x === undefined ? '?' : `${x.at - at} ms`);
  console.log(`  switchover ${from} -> ${to}: ${from} handing over at 0, ${to} ready (devices, sessions, addresses up and announced: ${/appliedMs=\d+/.exec(taking?.line ?? '')?.[0] ?? '?'}) and active at ${ms(active)}, ${from} standby after its drain at ${ms(standby)}`);
  assert.ok(active!.at <= standby!.at, 'the old active left only after the new one was active');
}

/** Issue 15: the sync lag is measured and shown. `svr show ha` on the active r1a, its session synced: the ack and
 *  change lags are numbers (a lag never measured shows `-`), bounded by 5 s (a wide margin at load 25). */
async function syncLagShown(): Promise<void> {
  const text = await svr(['show', 'ha', '--node', 'r1a'], env);
  assert.is(text.code, 0, show(text));
  const row = (name: string): string => new RegExp(`^${name}\\s+(.*)$`, 'm').exec(text.stdout)?.[1] ?? `no ${name} row`;
  assert.match(row('sync lag'), /^\d+\.\d ms \(max \d+\.\d ms\)/, `the ack lag measured and shown: ${row('sync lag')}`);
  assert.match(row('change lag'), /^\d+\.\d ms \(p50 <= \d+ ms, p99 <= \d+ ms, max \d+\.\d ms\)/, `the change lag measured and shown: ${row('change lag')}`);
  const json = await svr(['show', 'ha', '--node', 'r1a', '--json'], env);
  const lag = (JSON.parse(json.stdout) as { lag: { maxMs: number; changeMaxMs: number } }).lag;
  console.log(`  r1a's sync lag: ${row('sync lag')}; change lag: ${row('change lag').replace(/ from a session.*/, '')}`);
  assert.ok(lag.maxMs < 5000 && lag.changeMaxMs < 5000, `the lag is bounded: ack max ${lag.maxMs} ms, change max ${lag.changeMaxMs} ms`);
}

test('planned switchover there and back during a 1,000 datagrams/s stream: not one datagram lost, the addresses follow', async () => {
  const [r1aMac, r1bMac] = [await mac(NS.r1a, 'r1-c'), await mac(NS.r1b, 'r1-c')];
  await pollUntil('the client reaches the server through r1a', 20_000, async () => ((await inNs(NS.client, 'curl', ['-s', '-m', '3', '-o', '/dev/null', `http://${SERVER}/`])).code === 0 ? true : undefined));
  assert.is(await holders(), 'r1a lan wan');
  const s = stream(4301, 9);
  await s.waitLine(/"id":4301/, 20_000);
  await pollUntil('the stream\'s session synced to r1b', 5_000, async () => ((await haOf(dir, 'r1b')).replicaRecords >= 1 ? true : undefined));
  await sleep(2000);
  await syncLagShown();
  await switchover('r1a', 'r1b');
  const mid = await streamCount(NS.client, SERVER, 4301);
  console.log(`  after the first: ${mid.received} received of ${mid.expected} sent so far, longest gap ${Math.round(mid.maxGapMs)} ms`);
  assert.is(await holders(), 'r1b lan wan');
  assert.is(await gatewayMac(NS.client), r1bMac, 'the client\'s gateway entry follows the announcement');
  await sleep(3000);
  await switchover('r1b', 'r1a');
  assert.is(await holders(), 'r1a lan wan');
  assert.is(await gatewayMac(NS.client), r1aMac);
  await s.exited;
  const c = await pollUntil('the stream counted', 5_000, async () => {
    const x = await streamCount(NS.client, SERVER, 4301);
    return x.ended ? x : undefined;
  });
  console.log(`  stream: ${c.received} of ${c.expected} received, ${c.lost} lost, ${c.duplicates} duplicates, longest gap ${Math.round(c.maxGapMs)} ms (load ${loadavg()[0]!.toFixed(1)})`);
  if (c.lost > 0) for (const n of ['r1a', 'r1b', 'r2']) console.log(`  ${n} drops: ${JSON.stringify(await dropsOf(n))}`);
  assert.ok(c.expected >= 8000, `${c.expected} datagrams sent`);
  assert.is(c.lost, 0, 'not one datagram lost across two switchovers');
  assert.is(c.received, c.expected);
});

test('split brain: the sync link cut while traffic flows: exactly one node forwards and holds the addresses, both alarm; healed', async () => {
  await pollUntil('r1a active, r1b standby, probe heard', 15_000, async () => {
    const [a, b] = [await haOf(dir, 'r1a'), await haOf(dir, 'r1b')];
    return a.role === 'active' && b.role === 'standby' ? true : undefined;
  });
  const s = stream(4302, 8);
  await s.waitLine(/"id":4302/, 20_000);
  await sleep(500);
  const cut = await inNs(NS.r1a, 'ip', ['link', 'set', 'r1-sync', 'down']); // the sync link cut; the probe heartbeats (LAN) go on
  assert.is(cut.code, 0, show(cut));
  const cutAt = Date.now();
  // each side decides when its own dead time ends: up to one heartbeat interval apart
  await pollUntil('r1b fenced, r1a in split brain', 10_000, async () => ((await haOf(dir, 'r1b')).role === 'fenced' && (await haOf(dir, 'r1a')).splitBrain ? true : undefined));
  const rxB = await counterOf(dir, 'r1b', 'rx-packets');
  const txA = await counterOf(dir, 'r1a', 'tx-packets');
  const sampledFrom = Date.now();
  for (let samples = 0; Date.now() - sampledFrom < 2000 || samples < 5; samples++) { // long enough for a wrong decision to show
    const [a, b] = [await haOf(dir, 'r1a'), await haOf(dir, 'r1b')];
    assert.equal([a.role, a.forwarding, b.role, b.forwarding], ['active', true, 'fenced', false], `exactly one node forwards (${Date.now() - sampledFrom} ms)`);
    assert.ok(a.splitBrain && b.splitBrain, 'both know it is split brain');
    assert.is(await holders(), 'r1a lan wan', 'only r1a holds the shared addresses');
    await sleep(100);
  }
  assert.is(await counterOf(dir, 'r1b', 'rx-packets'), rxB, 'nothing reaches the fenced r1b\'s data path (its devices are down)');
  assert.ok((await counterOf(dir, 'r1a', 'tx-packets')) > txA + 1500, 'r1a carries the stream');
  for (const node of ['r1a', 'r1b'] as const) {
    const alarms = await svr(['show', 'alarms', '--node', node, '--json'], env);
    assert.ok(/ha-split-brain/.test(alarms.stdout), `${node}: ${alarms.stdout}`);
  }
  const split = logTime(labProcess(dir, 'r1b').log, /ha\.split-brain /, cutAt);
  console.log(`  split brain: r1b fenced ${split === undefined ? '?' : split.at - cutAt} ms after the cut: ${split?.line.replace(/^.*message=/, '') ?? ''}`);

  const back = await inNs(NS.r1a, 'ip', ['link', 'set', 'r1-sync', 'up']);
  assert.is(back.code, 0, show(back));
  await pollUntil('r1b standby again', 10_000, async () => ((await haOf(dir, 'r1b')).role === 'standby' ? true : undefined));
  await pollUntil('the alarm cleared', 10_000, async () => {
    const alarms = await svr(['show', 'alarms', '--node', 'r1b', '--json'], env);
    return /ha-split-brain/.test(alarms.stdout) ? undefined : true;
  });
  assert.is((await haOf(dir, 'r1a')).role, 'active');
  await s.exited;
  const c = await pollUntil('the stream counted', 5_000, async () => {
    const x = await streamCount(NS.client, SERVER, 4302);
    return x.ended ? x : undefined;
  });
  console.log(`  stream through the split brain: ${c.received} of ${c.expected}, ${c.lost} lost, longest gap ${Math.round(c.maxGapMs)} ms`);
  assert.is(c.lost, 0, 'the stream through r1a loses nothing');
});

test.run();
