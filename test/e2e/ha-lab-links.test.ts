/**
 * `svr lab up --ha` (docs/high-availability.md "Roles", "Split brain"): r1 a pair, r1a (priority 200) active.
 * 1. Link state: a 1,000 datagrams/s stream client -> server through r1a; r1a's LAN cable pulled (its bridge
 *    port `a-lan` in `<prefix>-r1` down: r1a's r1-c loses its carrier). Must hold: r1b takes the role and the
 *    addresses (r1a hands over, `partner-has-more-links`), the stream's longest gap is under 1 s, r1a logs the
 *    link down on r1-c and raises `ha-link-down` naming it. The cable back: no flap (r1b stays active, r1a
 *    standby, sampled for 2 s), the alarm clears; the standby r1a sends no path message (BFD, link tests) in
 *    those 2 s and writes nothing into its downed TUN devices (their rx dropped count stays), and raises no
 *    path or peer alarm for its paths (down by design).
 * 2. Split brain that moves the role: the sync veth cut while r1b (priority 100) is active: r1a becomes active,
 *    r1b fenced, and no moment has both nodes holding a shared address (`ip -ts monitor address` in both
 *    nodes' namespaces: every add and delete with its time); r1a waited for r1b's released flag. The stream
 *    through it: longest gap under 1 s.
 * Needs root, ip, network namespaces, curl; otherwise its tests count as skipped.
 */
import { loadavg } from 'node:os';
import * as assert from 'uvu/assert';
import { backgroundLines, E2E_PREFIX, inNs, pollUntil, show, sleep, svr, SVR, type LineProcess } from './support.js';
import { labProcess } from './chaos-tools.js';
import { counterOf, haLab, haOf, holders, logTime, SHARED, streamCount } from './ha-lab-tools.js';
import { requires } from '../support/prerequisites.js';

const PREFIX = `${E2E_PREFIX}l`;
const NS = { client: `${PREFIX}-client`, sw: `${PREFIX}-r1`, r1a: `${PREFIX}-r1a`, r1b: `${PREFIX}-r1b` };
const SERVER = '198.18.3.20';

const test = requires(import.meta.url);
const { dir, env } = haLab(test, PREFIX, 'ha-links');

const stream = (id: number, seconds: number) => backgroundLines('ip', ['netns', 'exec', NS.client, process.execPath, SVR, 'lab', 'send-stream', '--rate', '1000', '--duration', `${seconds}s`, '--id', String(id), '--json']);
const roles = async (): Promise<string> => `${(await haOf(dir, 'r1a')).role} ${(await haOf(dir, 'r1b')).role}`;
const ip = async (ns: string, ...args: string[]): Promise<void> => {
  const r = await inNs(ns, 'ip', args);
  assert.is(r.code, 0, show(r));
};

/** The kernel's rx dropped count of a device (what a node writes into its TUN while the device is down). */
async function rxDropped(ns: string, dev: string): Promise<number> {
  const r = await inNs(ns, 'ip', ['-s', '-j', 'link', 'show', 'dev', dev]);
  return (JSON.parse(r.stdout) as { stats64: { rx: { dropped: number } } }[])[0]!.stats64.rx.dropped;
}

async function streamDone(id: number) {
  return pollUntil('the stream counted', 5_000, async () => {
    const x = await streamCount(NS.client, SERVER, id);
    return x.ended ? x : undefined;
  });
}

/** `ip -ts monitor address` in a node's namespace: when it took and released a shared address. Resolves once it
 *  listens: it printed a probe address added and removed on the namespace's `lo` (a fixed wait of 300 ms was too
 *  short at load 20: r1a's monitor missed r1a taking the addresses). */
async function addressMonitor(node: 'r1a' | 'r1b'): Promise<LineProcess> {
  const mon = backgroundLines('ip', ['-n', NS[node], '-ts', 'monitor', 'address']);
  await pollUntil(`${node}'s address monitor listening`, 10_000, async () => {
    await ip(NS[node], 'addr', 'add', '127.0.0.99/32', 'dev', 'lo');
    await ip(NS[node], 'addr', 'del', '127.0.0.99/32', 'dev', 'lo');
    await sleep(50);
    return mon.lines.some((l) => l.includes('127.0.0.99')) ? true : undefined;
  });
  return mon;
}

/** The intervals (ms, wall clock) a node held any shared address, from its monitor's lines; `heldAtStart` opens one at 0. */
function heldIntervals(lines: readonly string[], heldAtStart: boolean): [number, number][] {
  const out: [number, number][] = [];
  let since: number | undefined = heldAtStart ? 0 : undefined;
  for (const line of lines) {
    const m = /^\[(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)\.(\d{6})\] (Deleted )?\d+: \S+\s+inet (\S+)/.exec(line);
    if (m === null || (m[4] !== SHARED.lan && m[4] !== SHARED.wan)) continue;
    const at = Date.parse(`${m[1]}Z`) + Number(m[2]) / 1000;
    if (m[3] === undefined && since === undefined) since = at;
    if (m[3] !== undefined && since !== undefined) {
      out.push([since, at]);
      since = undefined;
    }
  }
  if (since !== undefined) out.push([since, Number.POSITIVE_INFINITY]);
  return out;
}

test('a shared link down on the active: the standby takes over within a second; the link back: no flap', async () => {
  await pollUntil('the client reaches the server through r1a', 20_000, async () => ((await inNs(NS.client, 'curl', ['-s', '-m', '3', '-o', '/dev/null', `http://${SERVER}/`])).code === 0 ? true : undefined));
  assert.is(await roles(), 'active standby');
  assert.is(await holders(PREFIX), 'r1a lan wan');
  const s = stream(4401, 7);
  await s.waitLine(/"id":4401/, 20_000);
  await sleep(1500);
  const downAt = Date.now();
  await ip(NS.sw, 'link', 'set', 'a-lan', 'down'); // r1a's LAN cable: its r1-c has no carrier now
  await pollUntil('r1b active, r1a standby', 10_000, async () => ((await roles()) === 'standby active' ? true : undefined));
  // `svr show ha` says standby once the role changed; its addresses go with the ip batch that applies it (454 ms at
  // load 6 once: read in between, r1a still held the WAN address, and the split-brain test then ran on r1a with its
  // LAN down, which made it lose r1b's heartbeats and the probe at once: "partner-lost" 2.7 s after the handover)
  await pollUntil('r1a released the shared addresses', 5_000, async () => ((await holders(PREFIX)) === 'r1b lan wan' ? true : undefined));
  const logA = labProcess(dir, 'r1a').log;
  const logB = labProcess(dir, 'r1b').log;
  const [seen, active] = await pollUntil('the steps logged', 5_000, async () => {
    const x = [logTime(logA, /ha\.link node=r1a device=r1-c up=false/, downAt - 1000), logTime(logB, /ha\.role node=r1b role=active/, downAt - 1000)];
    return x.every((y) => y !== undefined) ? x as { at: number; line: string }[] : undefined;
  });
  assert.match(logTime(logA, /ha\.role node=r1a role=handing-over/, downAt - 1000)?.line ?? '', /reason=partner-has-more-links/);
  const alarms = await svr(['show', 'alarms', '--node', 'r1a', '--json'], env);
  assert.match(alarms.stdout, /ha-link-down/);
  assert.match(alarms.stdout, /r1a\/r1-c/);
  const shown = await svr(['show', 'ha', '--node', 'r1a'], env);
  assert.match(shown.stdout, /shared links\s+1 up: r1-c DOWN \(no-carrier\), r1-r2 up/);

  const upAt = Date.now();
  await ip(NS.sw, 'link', 'set', 'a-lan', 'up');
  await pollUntil('r1a sees its link back', 5_000, async () => (logTime(logA, /ha\.link node=r1a device=r1-c up=true/, upAt - 1000) !== undefined ? true : undefined));
  const quiet0 = [await counterOf(dir, 'r1a', 'path-messages-sent'), await rxDropped(NS.r1a, 'svr-wan0')];
  for (const t0 = Date.now(); Date.now() - t0 < 2000;) {
    assert.is(await roles(), 'standby active', 'no flap: r1b keeps the role (no preemption)');
    await sleep(100);
  }
  const quiet1 = [await counterOf(dir, 'r1a', 'path-messages-sent'), await rxDropped(NS.r1a, 'svr-wan0')];
  console.log(`  the standby r1a over 2 s: path messages sent ${quiet0[0]} -> ${quiet1[0]}, its svr-wan0 (down) rx dropped ${quiet0[1]} -> ${quiet1[1]}`);
  assert.equal(quiet1, quiet0, 'a standby sends no BFD or link test into its downed devices');
  await pollUntil('ha-link-down cleared', 5_000, async () => (/ha-link-down/.test((await svr(['show', 'alarms', '--node', 'r1a', '--json'], env)).stdout) ? undefined : true));
  const standbyAlarms = (await svr(['show', 'alarms', '--node', 'r1a', '--json'], env)).stdout;
  assert.not.match(standbyAlarms, /peer-path-down|peer-unreachable/, 'the standby\'s paths are down by design: no alarm');
  await s.exited;
  const c = await streamDone(4401);
  console.log(`  link down on r1a: seen ${seen!.at - downAt} ms after the cable, r1b active at ${active!.at - downAt} ms; stream ${c.received} of ${c.expected}, ${c.lost} lost, longest gap ${Math.round(c.maxGapMs)} ms (load ${loadavg()[0]!.toFixed(1)})`);
  assert.ok(c.maxGapMs < 1000, `the stream's longest gap ${Math.round(c.maxGapMs)} ms`);
  assert.ok(c.received > 0.9 * c.expected, `${c.received} of ${c.expected}`);
});

test('split brain moving the role (r1b active): r1a takes the addresses only after r1b released them', async () => {
  // r1a's cable back even when the test above failed before it: cut off from r1b with its LAN (and the probe) down,
  // r1a would lose r1b at once, and r1b, active, logs nothing
  await ip(NS.sw, 'link', 'set', 'a-lan', 'up');
  await pollUntil('r1a sees both its links up', 5_000, async () => (/shared links\s+2 up/.test((await svr(['show', 'ha', '--node', 'r1a'], env)).stdout) ? true : undefined));
  assert.is(await roles(), 'standby active');
  const s = stream(4402, 5);
  await s.waitLine(/"id":4402/, 20_000);
  await sleep(1000);
  const [monA, monB] = [await addressMonitor('r1a'), await addressMonitor('r1b')];
  const cutAt = Date.now();
  try {
    await ip(NS.r1a, 'link', 'set', 'r1-sync', 'down');
    await pollUntil('r1a active, r1b fenced', 10_000, async () => ((await roles()) === 'active fenced' ? true : undefined));
    await pollUntil('r1a holds the addresses', 5_000, async () => ((await holders(PREFIX)) === 'r1a lan wan' ? true : undefined));
    await sleep(500);
  } finally {
    monA.child.kill();
    monB.child.kill();
  }
  const [a, b] = [heldIntervals(monA.lines, false), heldIntervals(monB.lines, true)];
  assert.ok(a.length > 0 && b.length > 0 && b.every(([, to]) => to !== Number.POSITIVE_INFINITY), `r1a took, r1b released: ${monA.lines.join(' | ')} || ${monB.lines.join(' | ')}`);
  for (const [fa, ta] of a) for (const [fb, tb] of b) assert.ok(ta <= fb || tb <= fa, `both held a shared address from ${Math.max(fa, fb)} to ${Math.min(ta, tb)}`);
  const released = Math.max(...b.map(([, to]) => to));
  const taken = Math.min(...a.map(([from]) => from));
  const wait = logTime(labProcess(dir, 'r1a').log, /ha\.partner-released node=r1a/, cutAt);
  // no line: r1b's "released" reached r1a before it decided (nothing to wait for); a line: the wait must have
  // ended by r1b's word, not by the dead time running out (released=false)
  if (wait !== undefined) assert.match(wait.line, /released=true/, `r1a took the addresses when its wait ran out: ${wait.line}`);
  await ip(NS.r1a, 'link', 'set', 'r1-sync', 'up');
  await pollUntil('r1b standby again', 10_000, async () => ((await roles()) === 'active standby' ? true : undefined));
  await s.exited;
  const c = await streamDone(4402);
  console.log(`  split brain: r1b released at ${Math.round(released - cutAt)} ms after the cut, r1a took at ${Math.round(taken - cutAt)} ms (${(taken - released).toFixed(1)} ms later; ${/waitedMs=\d+/.exec(wait?.line ?? '')?.[0] ?? '?'}); stream ${c.received} of ${c.expected}, longest gap ${Math.round(c.maxGapMs)} ms (load ${loadavg()[0]!.toFixed(1)})`);
  assert.ok(c.maxGapMs < 1000, `the stream's longest gap ${Math.round(c.maxGapMs)} ms`);
});

test.run();
