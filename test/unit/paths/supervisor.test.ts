/**
 * PathSupervisor end to end: two real routers (createMemoryLab) exchange BFD and link tests over the
 * path control channel (UDP 1280, HMAC-signed). They run on virtual time (timers, link delays
 * included, fire in order and packets land in between), so seconds of protocol time take milliseconds
 * and measurements are exact; one test runs the default real timers.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { PathSupervisor, type PathStateChange, type PathSupervisorOptions } from '../../../src/paths/supervisor.js';
import type { LinkDirection } from '../../../src/io/memory/link.js';
import type { BfdSettings, SvrConfig } from '../../../src/model/config.js';
import { BFD_DEFAULTS } from '../../../src/model/defaults.js';
import { decodeBfdControl } from '../../../src/packet/bfd.js';
import { decodeLinkTest, encodeLinkTest, LINK_TEST_REPLY, LINK_TEST_REQUEST } from '../../../src/paths/messages.js';
import { meanOpinionScore, type LinkTestRound } from '../../../src/paths/quality.js';
import type { Router } from '../../../src/control/router.js';
import type { InThreadHost } from '../../../src/control/in-thread-host.js';
import { createMemoryLab, type MemoryLab } from '../../../src/sim/memory-lab.js';
import { exampleConfig, sleep } from '../../support/config.js';
import { prng } from '../../support/prng.js';
import { VirtualTime } from './virtual-time.js';

/** Fast timers for tests: 50 ms BFD (detection 150 ms), hold-down 5 s. */
const FAST: BfdSettings = { ...BFD_DEFAULTS, desiredTxInterval: 50, requiredMinRxInterval: 50, multiplier: 3, holdDownTime: 5, linkTestInterval: 10, linkTestLength: 10 };

async function configWith(bfd: Partial<BfdSettings>): Promise<SvrConfig> {
  const config = await exampleConfig();
  for (const router of config.authority.routers) {
    for (const iface of router.interfaces) {
      for (const n of iface.neighborhoods) n.bfd = { ...FAST, ...bfd };
    }
  }
  return config;
}

interface Rig {
  lab: MemoryLab;
  vt: VirtualTime | undefined;
  sup: [PathSupervisor, PathSupervisor];
  /** every state$ event of each side, with the (virtual or real) time it came */
  events: [Array<PathStateChange & { at: number }>, Array<PathStateChange & { at: number }>];
  /** drop probability per direction (seeded PRNG) */
  loss: Record<LinkDirection, number>;
  close(): Promise<void>;
}

/** `steady`: the supervisors hand their routers' data paths the arrays for steady messages (as a router's own does) */
async function rig(bfd: Partial<BfdSettings> = {}, opts: PathSupervisorOptions = {}, virtual = true, traffic?: [() => number, () => number], steady = true): Promise<Rig> {
  const lab = createMemoryLab({ config: await configWith(bfd), clients: [], servers: [] });
  const vt = virtual ? new VirtualTime() : undefined;
  const rand = prng(20);
  const loss: Rig['loss'] = { 'a->b': 0, 'b->a': 0 };
  lab.wan.setFilter((_, dir) => rand() >= loss[dir]);
  const side = (r: Router<InThreadHost>, seed: number): PathSupervisor => new PathSupervisor({
    tables: () => r.tables,
    send: (p, b) => r.sendPathMessage(p, b),
    messages$: r.pathMessages$,
    ...(traffic === undefined ? {} : { traffic: traffic[seed - 1]! }),
    ...(steady ? { keepSteady: (f) => r.host.keepSteadyPathMessages(f) } : {}),
    ...(vt === undefined ? {} : { now: vt.now, setTimeout: vt.setTimeout, clearTimeout: vt.clearTimeout }),
  }, { random: prng(seed), ...opts });
  const sup: Rig['sup'] = [side(lab.r1, 1), side(lab.r2, 2)];
  const events: Rig['events'] = [[], []];
  const now = vt?.now ?? (() => performance.now());
  sup.forEach((s, i) => s.state$.subscribe((e) => events[i]!.push({ ...e, at: now() })));
  sup.forEach((s) => s.start());
  return {
    lab, vt, sup, events, loss,
    async close() {
      sup.forEach((s) => s.stop());
      await lab.close();
    },
  };
}

/** A test on a fresh rig that is closed even when an assertion fails (else its timers would linger). */
function rigTest(name: string, setup: { bfd?: Partial<BfdSettings>; opts?: PathSupervisorOptions; virtual?: boolean; traffic?: [() => number, () => number]; steady?: boolean }, body: (r: Rig) => Promise<void>): void {
  test(name, async () => {
    const r = await rig(setup.bfd, setup.opts, setup.virtual ?? true, setup.traffic, setup.steady ?? true);
    try {
      await body(r);
    } finally {
      await r.close();
    }
  });
}

const summary = (r: Rig, side: 0 | 1) => r.sup[side].summary()[0]!;
const bfdStates = (r: Rig) => [summary(r, 0).bfdState, summary(r, 1).bfdState];

rigTest('BFD comes up over the real routers; state$ reports start (down, unusable) then up and usable', {}, async (r) => {
  const vt = r.vt!;
  assert.equal(r.events[0].map((e) => [e.pathName, e.bfdState, e.usable, e.reason]), [['wan0->r2/wan0', 'down', false, 'start']]);
  await vt.advance(3000);
  assert.equal(bfdStates(r), ['up', 'up']);
  assert.equal([summary(r, 0).usable, summary(r, 1).usable], [true, true]);
  const up = r.events[0].at(-1)!;
  assert.equal([up.bfdState, up.usable, up.reason, up.path], ['up', true, 'bfd-up', 0]);
  assert.ok(up.at < 2100, `up after ${up.at} ms (1 s slow start, §6.8.3)`);
  const c1 = r.sup[0].counters();
  assert.ok((c1['bfd-rx'] ?? 0) > 20 && (c1['bfd-tx'] ?? 0) > 20, JSON.stringify(c1));
  assert.ok((r.lab.r2.counters()['consumed-path-messages'] ?? 0) > 20, 'they really crossed the routers');
  assert.is(Object.keys(c1).filter((k) => k.includes('drop') || k.includes('discard')).length, 0, 'no drops');
  r.sup.forEach((s) => s.stop());
  assert.is(vt.pending, 0, 'stop() leaves no timer behind');
});

rigTest('dropping every wan packet brings the path down within the detection time; restoring it: up, usable after hold-down', {}, async (r) => {
  const vt = r.vt!;
  await vt.advance(3000);
  const cutAt = vt.now();
  r.loss['a->b'] = r.loss['b->a'] = 1;
  await vt.advance(400);
  const downs = r.events.map((ev) => ev.find((e) => e.at > cutAt && !e.usable)!);
  for (const d of downs) {
    assert.equal([d.bfdState, d.reason], ['down', 'detection-time-expired']);
    // the last packet arrived at most one 50 ms interval before the cut; detection = 3 x 50 ms
    assert.ok(d.at - cutAt >= 100 && d.at - cutAt <= 160, `down ${d.at - cutAt} ms after the cut`);
  }
  r.loss['a->b'] = r.loss['b->a'] = 0;
  const restoredAt = vt.now();
  await vt.advance(3000);
  assert.equal(bfdStates(r), ['up', 'up'], 'BFD up again (1 s slow start)');
  for (const side of [0, 1] as const) {
    const s = summary(r, side);
    assert.equal([s.usable, s.flaps], [false, 1], 'up but held down');
    assert.ok(s.holdDownRemainingMs > 2000 && s.holdDownRemainingMs < 5000, `hold-down left ${s.holdDownRemainingMs}`);
    const held = r.events[side].at(-1)!;
    assert.equal([held.bfdState, held.usable, held.reason], ['up', false, 'hold-down']);
  }
  await vt.advance(5000);
  for (const side of [0, 1] as const) {
    const ev = r.events[side].filter((e) => e.at > restoredAt);
    const upAt = ev.find((e) => e.bfdState === 'up')!.at;
    const usable = ev.find((e) => e.usable)!;
    assert.is(usable.reason, 'hold-down-over');
    assert.is(usable.at - upAt, 5000, 'usable exactly hold-down-time after BFD came up');
    assert.ok(summary(r, side).usable);
  }
});

rigTest('a pair\'s standby node (setPairStandby): its Up packets carry Diag 31, the peer keeps the path Up but not usable; its takeover is usable at once, no hold-down', {}, async (r) => {
  const vt = r.vt!;
  const diags: number[] = [];
  r.lab.wan.setFilter((p, dir) => {
    if (dir === 'a->b' && isControl(p)) {
      const bfd = decodeBfdControl(p.subarray(28, 28 + 24));
      if (bfd.ok && bfd.packet.state === 'up') diags.push(bfd.packet.diag);
    }
    return true;
  });
  r.sup[0].setPairStandby(true);
  await vt.advance(3000);
  assert.equal(bfdStates(r), ['up', 'up'], 'BFD comes up as usual');
  assert.ok(diags.length > 5 && diags.every((d) => d === 31), `every Up packet of the standby says so: ${diags.join(',')}`);
  assert.equal([summary(r, 1).usable, summary(r, 1).peerStandby], [false, true], 'the peer: up, standby, not usable');
  assert.equal([summary(r, 0).usable, summary(r, 0).peerStandby], [true, false], 'the standby itself sees its peer active');
  assert.equal(r.events[1].filter((e) => e.usable).length, 0, 'never usable at the peer');
  assert.is(r.events[1].at(-1)!.reason, 'peer-standby');
  const txBefore = r.sup[0].counters()['bfd-tx'] ?? 0;
  const at = vt.now();
  r.sup[0].setPairStandby(false);
  assert.is((r.sup[0].counters()['bfd-tx'] ?? 0) - txBefore, 1, 'one packet at once, not at the next transmit time');
  await vt.advance(5);
  const active = r.events[1].find((e) => e.at >= at)!;
  assert.equal([active.usable, active.reason], [true, 'peer-active']);
  assert.ok(active.at - at <= 5, `usable ${active.at - at} ms after the takeover (the link's delay)`);
  assert.equal([summary(r, 1).usable, summary(r, 1).peerStandby, summary(r, 1).flaps], [true, false, 0], 'usable, no flap, no hold-down');
  r.sup[0].setPairStandby(true);
  await vt.advance(5);
  assert.equal([summary(r, 1).usable, r.events[1].at(-1)!.reason], [false, 'peer-standby'], 'standby again: unusable at once');
});

/** IPv4 UDP to port 1280: the path control channel (BFD, link tests). */
const isControl = (p: Uint8Array): boolean => p[9] === 17 && ((p[22]! << 8) | p[23]!) === 1280;
const data = [0, 0];
rigTest('authenticated data keeps an Up path up while its BFD packets are lost; without data it goes down; data alone never brings it up', {
  traffic: [() => data[0]!, () => data[1]!],
}, async (r) => {
  const vt = r.vt!;
  await vt.advance(3000);
  assert.equal(bfdStates(r), ['up', 'up']);
  let flowing = true;
  const tick = (): void => {
    if (flowing) {
      data[0]!++;
      data[1]!++;
    }
    vt.setTimeout(tick, 20);
  };
  tick();
  r.lab.wan.setFilter((p) => !isControl(p)); // every control packet is lost, as in an overloaded queue
  const cutAt = vt.now();
  await vt.advance(2000);
  assert.equal(bfdStates(r), ['up', 'up'], 'data every 20 ms kept both sides up for 2 s (detection 150 ms)');
  assert.equal(r.events.map((ev) => ev.filter((e) => e.at > cutAt).length), [0, 0], 'no state change at all');
  assert.ok((r.sup[0].counters()['bfd-traffic-seen'] ?? 0) > 20, JSON.stringify(r.sup[0].counters()));
  flowing = false;
  const stopAt = vt.now();
  await vt.advance(400);
  for (const ev of r.events) {
    const d = ev.find((e) => e.at > stopAt)!;
    assert.equal([d.bfdState, d.reason], ['down', 'detection-time-expired']);
    assert.ok(d.at - stopAt <= 150 + 13, `down ${d.at - stopAt} ms after the data stopped (detection 150 ms + one 12.5 ms poll)`);
  }
  flowing = true;
  await vt.advance(3000);
  assert.equal(bfdStates(r), ['down', 'down'], 'data without BFD never brings a session up');
});

rigTest('a path flapping down/up every 2 s is never usable while in hold-down; stable again -> usable after hold-down', {}, async (r) => {
  const vt = r.vt!;
  await vt.advance(3000);
  const flapStart = vt.now();
  for (let i = 0; i < 5; i++) {
    r.loss['a->b'] = r.loss['b->a'] = 1;
    await vt.advance(2000);
    r.loss['a->b'] = r.loss['b->a'] = 0;
    await vt.advance(2000);
  }
  const flapEnd = vt.now();
  for (const side of [0, 1] as const) {
    const during = r.events[side].filter((e) => e.at > flapStart && e.at <= flapEnd);
    assert.ok(during.filter((e) => e.bfdState === 'up').length >= 3, `BFD came up in most up windows: ${during.map((e) => `${e.at}:${e.bfdState}`).join(' ')}`);
    assert.equal(during.filter((e) => e.usable), [], 'never usable while flapping');
    assert.equal(during.filter((e) => e.bfdState === 'up').map((e) => e.reason), during.filter((e) => e.bfdState === 'up').map(() => 'hold-down'));
    assert.ok(summary(r, side).flaps >= 4, `flaps ${summary(r, side).flaps}`);
  }
  await vt.advance(7000);
  for (const side of [0, 1] as const) {
    const last = r.events[side].at(-1)!;
    assert.equal([last.usable, last.reason], [true, 'hold-down-over']);
    const lastUp = r.events[side].filter((e) => e.bfdState === 'up' && e.reason === 'hold-down').at(-1)!;
    assert.is(last.at - lastUp.at, 5000);
  }
});

rigTest('link tests: 20 % of r1 -> r2 packets dropped -> measured loss about 20 %, exactly the dropped requests', { bfd: { multiplier: 10, linkTestLength: 50, linkTestInterval: 10 }, opts: { linkTestSpacingMs: 20 } }, async (r) => {
  const vt = r.vt!;
  const requests: { seq: number; dropped: boolean }[] = [];
  r.lab.wan.observe((pkt, dir) => {
    if (dir === 'a->b' && pkt[9] === 17 && pkt[22] === 0x05 && pkt[23] === 0x00 && pkt[28] === 0xc1) requests.push({ seq: new DataView(pkt.buffer, pkt.byteOffset).getUint32(32), dropped: false });
  });
  const rand = prng(77);
  r.lab.wan.setFilter((pkt, dir) => {
    if (dir !== 'a->b') return true;
    const drop = rand() < 0.2;
    if (drop && pkt[28] === 0xc1 && pkt[9] === 17) requests.at(-1)!.dropped = true;
    return !drop;
  });
  await vt.advance(3000);
  assert.equal(bfdStates(r), ['up', 'up']);
  await vt.advance(30_000);
  assert.equal(bfdStates(r), ['up', 'up'], 'BFD (multiplier 10) rides out 20 % loss');
  assert.is(requests.length % 50, 0, 'between rounds');
  const round = requests.slice(-50);
  const q = r.sup[0].quality(0)!;
  const latest = q.latest!;
  assert.is(latest.sent, 50);
  assert.is(latest.lossPercent, (round.filter((x) => x.dropped).length / 50) * 100, 'loss = the requests the wire dropped');
  assert.ok(latest.lossPercent >= 10 && latest.lossPercent <= 30, `latest loss ${latest.lossPercent} %`);
  const all = requests.filter((x) => x.dropped).length / requests.length;
  assert.ok(Math.abs(all - 0.2) < 0.06, `wire dropped ${all}`);
  assert.ok(q.smoothed!.lossPercent > 10 && q.smoothed!.lossPercent < 30, `smoothed ${q.smoothed!.lossPercent}`);
  assert.ok(r.sup[0].smoothedQuality(0) === q.smoothed, 'smoothedQuality: the same object until the next round');
  assert.ok(q.smoothed!.mos < 4, 'MOS suffers from the loss');
  const back = r.sup[1].quality(0)!.latest!.lossPercent;
  assert.ok(back >= 10 && back <= 30, `r2 loses its replies on the same direction: ${back} %`);
});

rigTest('link tests measure the configured one-way delay of the link; latency = RTT / 2, no jitter', { bfd: { linkTestLength: 20 } }, async (r) => {
  const vt = r.vt!;
  r.lab.wan.setDelay(20, 0, { setTimeout: vt.setTimeout });
  await vt.advance(4000);
  assert.equal(bfdStates(r), ['up', 'up']);
  for (const side of [0, 1] as const) {
    const latest = r.sup[side].quality(0)!.latest!;
    assert.equal([latest.sent, latest.received], [20, 20]);
    assert.ok(Math.abs(latest.latencyMs - 20) < 1e-6, `latency ${latest.latencyMs} ms for a 20 ms link`);
    assert.ok(latest.jitterMs < 1e-6, `jitter ${latest.jitterMs}`);
    assert.equal([summary(r, side).latencyMs, summary(r, side).lossPercent], [latest.latencyMs, 0], 'summary shows the smoothed values');
  }
});

rigTest('link jitter shows up as jitter; latency = delay + mean link jitter', { bfd: { linkTestLength: 100 }, opts: { linkTestSpacingMs: 20 } }, async (r) => {
  const vt = r.vt!;
  r.lab.wan.setDelay(15, 10, { seed: 3, setTimeout: vt.setTimeout });
  await vt.advance(5000);
  const latest = r.sup[0].quality(0)!.latest!;
  assert.is(latest.received, 100);
  // each direction 15 ms + U[0, 10) ms: one-way mean 20 ms; |RTT difference| of two sums of two uniforms: mean ~ 5.3 ms -> jitter ~ 2.7
  assert.ok(Math.abs(latest.latencyMs - 20) < 1.5, `latency ${latest.latencyMs}`);
  assert.ok(latest.jitterMs > 1.5 && latest.jitterMs < 4, `jitter ${latest.jitterMs}`);
  assert.ok(latest.mos < meanOpinionScore(20, 0, 0), 'jitter lowers the MOS');
});

rigTest('real timers (the defaults): BFD comes up, link tests see the link delay', { bfd: { linkTestInterval: 1 }, opts: { linkTestSpacingMs: 10, slowStartMs: 100 }, virtual: false }, async (r) => {
  r.lab.wan.setDelay(10);
  const rounds = new Set<LinkTestRound>();
  const deadline = performance.now() + 5000;
  while (rounds.size < 3 && performance.now() < deadline) {
    const latest = r.sup[0].quality(0)?.latest;
    if (latest !== undefined) rounds.add(latest);
    await sleep(20);
  }
  assert.ok(rounds.size >= 1, 'link tests ran');
  assert.is(summary(r, 0).bfdState, 'up');
  // a busy machine only ever adds delay to real timers (the exact check runs on virtual time above):
  // never below the link delay, and the best round not wildly above it
  const latencies = [...rounds].map((x) => x.latencyMs);
  // Node timers count from the event loop's cached ms clock: a 10 ms link may take up to 1 ms less by performance.now
  assert.ok(latencies.every((l) => l >= 9), `latencies ${latencies.join(', ')} ms for a 10 ms link`);
  assert.ok(Math.min(...latencies) < 60, `latencies ${latencies.join(', ')} ms for a 10 ms link`);
});

rigTest('bad messages are counted, never thrown: short/forged BFD, malformed echo, unknown type; STEP bytes are left alone', {}, async (r) => {
  const vt = r.vt!;
  const junk = [Uint8Array.of(0x20, 0x40, 3), new Uint8Array(24).fill(0x20), Uint8Array.of(0xc1, 1, 2), Uint8Array.of(0x01), Uint8Array.of(0xc3, 9)];
  for (const j of junk) r.lab.r1.sendPathMessage(0, j);
  await vt.advance(10);
  const c = r.sup[1].counters();
  assert.equal(
    [c['bfd-drop-short'], c['bfd-drop-bad-length'], c['link-test-drop-malformed'], c['path-message-unknown-type']],
    [1, 1, 1, 1],
    JSON.stringify(c),
  );
});

rigTest('the data path answers a well-formed link-test request itself (no message to control); a malformed one still reaches control', { steady: false }, async (r) => {
  const vt = r.vt!;
  const seen: number[][] = [[], []];
  r.lab.r1.pathMessages$.subscribe((m) => seen[0]!.push(m.payload[0]!));
  r.lab.r2.pathMessages$.subscribe((m) => seen[1]!.push(m.payload[0]!));
  const request = encodeLinkTest({ sequence: 0xfeed0001, sentAtMs: 1234.5 });
  const replies: Uint8Array[] = [];
  r.lab.r1.pathMessages$.subscribe((m) => { if (m.payload[0] === LINK_TEST_REPLY) replies.push(m.payload); });
  const before = r.lab.r2.counters()['link-test-echoes-answered'] ?? 0;
  const malformedBefore = r.sup[1].counters()['link-test-drop-malformed'] ?? 0;
  r.lab.r1.sendPathMessage(0, request);
  r.lab.r1.sendPathMessage(0, Uint8Array.of(...request.subarray(0, 15))); // one byte short
  await vt.advance(10);
  const mine = replies.filter((x) => decodeLinkTest(x)?.sequence === 0xfeed0001);
  assert.is(mine.length, 1, 'one reply came back');
  assert.equal([...mine[0]!.subarray(1)], [...request.subarray(1)], 'the request reflected, first byte 0xc2');
  assert.is((r.lab.r2.counters()['link-test-echoes-answered'] ?? 0) - before, 1, 'r2\'s data path answered it');
  assert.is((r.sup[1].counters()['link-test-drop-malformed'] ?? 0) - malformedBefore, 1, 'the short one went to control and was counted there');
  assert.is(seen[1]!.filter((b) => b === LINK_TEST_REQUEST).length, 1, 'of the requests only the malformed one reached r2\'s control');
});

for (const steady of [true, false]) {
  rigTest(`steady BFD packets and link-test replies ${steady ? 'stay in the data path (counted there, none reaches control)' : 'reach control as messages without the data path\'s arrays'}; detection stays exact`, { steady }, async (r) => {
    const vt = r.vt!;
    const kinds: number[] = [];
    r.lab.r2.pathMessages$.subscribe((m) => kinds.push(m.payload[0]!));
    let last = -Infinity;
    r.lab.wan.observe((pkt, dir) => {
      if (dir === 'a->b' && r.loss['a->b'] < 1 && pkt[9] === 17 && pkt[28]! >> 5 === 1) last = vt.now(); // a BFD packet r2 gets
    });
    await vt.advance(3000);
    const at = kinds.length;
    const steadyBefore = r.lab.r2.counters()['steady-path-messages'] ?? 0;
    const c0 = r.sup[1].counters();
    await vt.advance(10_000);
    const c1 = r.sup[1].counters();
    const bfdRx = (c1['bfd-rx'] ?? 0) - (c0['bfd-rx'] ?? 0);
    assert.ok(bfdRx > 150, `${bfdRx} BFD packets in 10 s at 50 ms`);
    assert.is((c1['bfd-rx-steady'] ?? 0) - (c0['bfd-rx-steady'] ?? 0), bfdRx, 'every one steady');
    const q = r.sup[1].quality(0)?.latest;
    assert.ok(q !== undefined && q.lossPercent === 0 && q.latencyMs >= 0, `link tests measured: ${JSON.stringify(q)}`);
    const toControl = kinds.slice(at).filter((k) => k >> 5 === 1 || k === LINK_TEST_REPLY).length;
    const kept = (r.lab.r2.counters()['steady-path-messages'] ?? 0) - steadyBefore;
    if (steady) {
      assert.is(toControl, 0, 'no steady BFD packet or reply reached control as a message');
      assert.ok(kept > bfdRx, `${kept} kept in the data path (BFD ${bfdRx} and replies)`);
    } else {
      assert.ok(toControl > bfdRx, `${toControl} messages to control`);
      assert.is(kept, 0);
    }
    // the far end goes silent: declared down one Detection Time (150 ms) after the last packet r2 took
    const cut = vt.now() + 5;
    await vt.advance(5);
    r.loss['a->b'] = 1;
    await vt.advance(400);
    const down = r.events[1].find((e) => e.at >= cut && e.bfdState === 'down')!;
    assert.ok(down !== undefined, 'r2 declared the path down');
    assert.is(down.reason, 'detection-time-expired');
    assert.ok(down.at - last >= 150 && down.at - last <= 151, `down ${down.at - last} ms after r2's last BFD packet`);
  });
}

rigTest('refresh() after a config change renegotiates timers with a poll, without a flap', {}, async (r) => {
  const vt = r.vt!;
  await vt.advance(3000);
  const advertised: number[] = [];
  r.lab.wan.observe((pkt, dir) => {
    if (dir !== 'a->b' || pkt[9] !== 17 || pkt[22] !== 0x05) return;
    const d = decodeBfdControl(pkt.subarray(28, 52));
    if (d.ok) advertised.push(d.packet.desiredMinTxUs);
  });
  const config = await configWith({ desiredTxInterval: 100 });
  r.lab.r1.applyConfig(config);
  r.sup[0].refresh();
  await vt.advance(2000);
  assert.is(advertised.at(-1), 100_000);
  assert.equal(bfdStates(r), ['up', 'up']);
  assert.equal([summary(r, 0).flaps, summary(r, 1).flaps], [0, 0]);
});

rigTest('quiet (a pair\'s standby): nothing sent on the path, no BFD and no link test; resume: sends again at once', {}, async (r) => {
  const vt = r.vt!;
  await vt.advance(3000);
  assert.equal(bfdStates(r), ['up', 'up']);
  const sent = () => r.lab.r1.counters()['path-messages-sent'] ?? 0;
  r.sup[0].quiet();
  assert.ok(r.sup[0].quieted);
  const before = [sent(), r.sup[0].counters()['bfd-tx'] ?? 0, r.sup[0].counters()['link-test-replies-sent'] ?? 0];
  await vt.advance(2000);
  assert.equal([sent(), r.sup[0].counters()['bfd-tx'] ?? 0, r.sup[0].counters()['link-test-replies-sent'] ?? 0], before, 'nothing sent for 2 s');
  assert.is(summary(r, 1).bfdState, 'down', 'the peer hears nothing: Down after its Detection Time');
  r.sup[0].resume();
  assert.ok(!r.sup[0].quieted);
  await vt.advance(3000);
  assert.ok(sent() > before[0]!, 'sends again');
  assert.equal(bfdStates(r), ['up', 'up'], 'and comes up again');
});

test.run();
