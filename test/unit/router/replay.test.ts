/**
 * Replay protection (docs/security.md): every packet captured on the WAN and replayed 0.1 s, 1 s and 10 s
 * later is rejected and counted, and changes no session. Two routers over a memory link, on a simulated
 * clock: the replays are sent at exactly those delays, whatever the machine's load.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createMemoryLab, type MemoryLab } from '../../../src/sim/memory-lab.js';
import type { HmacMode } from '../../../src/model/config.js';
import { exampleConfig, sleep, until } from '../../support/config.js';

interface Captured {
  dir: 'a->b' | 'b->a';
  bytes: Uint8Array;
}

/** UDP echo datagrams and a whole TCP connection (SYN to FIN) through the lab, every WAN packet captured. */
async function trafficCaptured(mode: HmacMode, clock: () => number): Promise<{ lab: MemoryLab; wire: Captured[]; delivered: () => number }> {
  const config = await exampleConfig();
  for (const p of config.authority.securityPolicies) p.hmacMode = mode;
  const lab = createMemoryLab({ config, clients: ['198.18.1.10'], servers: ['198.18.3.20'], router: { clock, sweepIntervalMs: 0 } });
  const wire: Captured[] = [];
  const stop = lab.wan.observe((pkt, dir) => wire.push({ dir, bytes: pkt.slice() }));
  let delivered = 0;
  const [client, server] = [lab.clients[0]!, lab.servers[0]!];
  server.udpBind(7, (d, from) => {
    delivered++;
    server.udpSend(7, from.address, from.port, d);
  });
  client.udpBind(41000, () => delivered++);
  for (let i = 0; i < 3; i++) {
    client.udpSend(41000, '198.18.3.20', 7, Buffer.from(`datagram ${i}`));
    assert.ok(await until(() => delivered === 2 * (i + 1)), `echo ${i}`);
  }
  server.tcpListen(80, (c) => void c.readAll().then((d) => { delivered++; c.write(d); c.end(); }));
  const conn = await client.tcpConnect('198.18.3.20', 80);
  conn.write(Buffer.from('a request'));
  conn.end();
  assert.is(Buffer.from(await conn.readAll()).toString(), 'a request');
  await sleep(50); // the last ACKs
  stop();
  return { lab, wire, delivered: () => delivered };
}

const REJECTED = ['drop-replay', 'drop-bad-hmac', 'drop-unknown-key'] as const;
const rejected = (c: Record<string, number>) => REJECTED.reduce((n, k) => n + (c[k] ?? 0), 0);
/** Both routers' sessions with absolute times (created, last seen, expiry; 'due' once past), so any refresh shows. */
const sessionsView = async (lab: MemoryLab, now: number) =>
  JSON.stringify([await lab.r1.sessions(), await lab.r2.sessions()].map((l) => l.map((s) => ({
    ...s, ageMs: now - s.ageMs, idleMs: now - s.idleMs, expiresInMs: s.expiresInMs > 0 ? now + s.expiresInMs : 'due',
  }))));

for (const [mode, expect] of [['time-based', 'replay-seen then bad HMAC'], ['regular', 'replay-seen']] as const) {
  test(`${mode}: WAN packets replayed 0.1 s, 1 s and 10 s later are all rejected and counted (${expect}), no session changes`, async () => {
    let now = 1_700_000_000_000;
    const { lab, wire, delivered } = await trafficCaptured(mode, () => now);
    const captured = { 'a->b': wire.filter((w) => w.dir === 'a->b'), 'b->a': wire.filter((w) => w.dir === 'b->a') };
    assert.ok(captured['a->b'].length >= 6 && captured['b->a'].length >= 6, `a real exchange was captured (${wire.length} packets)`);
    const before = { r1: rejected(lab.r1.counters()), r2: rejected(lab.r2.counters()), delivered: delivered() };
    const t0 = now;
    let replays = 0;
    for (const delay of [100, 1000, 10_000]) {
      now = t0 + delay;
      const sessions = await sessionsView(lab, now);
      for (const w of captured['a->b']) lab.wan.a.send(w.bytes); // as if r1 sent it again: r2 receives it
      for (const w of captured['b->a']) lab.wan.b.send(w.bytes);
      replays++;
      const want = { r1: before.r1 + replays * captured['b->a'].length, r2: before.r2 + replays * captured['a->b'].length };
      assert.ok(
        await until(() => rejected(lab.r1.counters()) === want.r1 && rejected(lab.r2.counters()) === want.r2),
        `${delay} ms: every replayed packet rejected (r1 ${rejected(lab.r1.counters())}/${want.r1}, r2 ${rejected(lab.r2.counters())}/${want.r2})`,
      );
      assert.is(delivered(), before.delivered, `${delay} ms: nothing delivered to a host`);
      assert.is(await sessionsView(lab, now), sessions, `${delay} ms: no session created, refreshed or closed`);
      const c2 = lab.r2.counters();
      if (mode === 'regular' || delay < 10_000) {
        assert.is(c2['replay-seen'], replays * captured['a->b'].length, `${delay} ms: every one caught by the replay window`);
      } else {
        assert.ok((c2['drop-bad-hmac'] ?? 0) >= captured['a->b'].length, '10 s: outside the time-based HMAC slots');
      }
    }
    await lab.close();
  });
}

test('after the session is gone, a replayed first packet creates nothing (the window belongs to the path, not the session)', async () => {
  let now = 1_700_000_000_000;
  const config = await exampleConfig();
  for (const p of config.authority.securityPolicies) p.hmacMode = 'regular';
  for (const s of config.authority.services) s.timeouts.udp = 1;
  const lab = createMemoryLab({ config, clients: ['198.18.1.10'], servers: ['198.18.3.20'], router: { clock: () => now } });
  const wire: Uint8Array[] = [];
  lab.wan.observe((pkt, dir) => { if (dir === 'a->b') wire.push(pkt.slice()); });
  let got = 0;
  lab.servers[0]!.udpBind(7, () => got++);
  lab.clients[0]!.udpSend(41000, '198.18.3.20', 7, Buffer.from('once'));
  assert.ok(await until(() => got === 1));
  now += 5000;
  lab.r1.sweep();
  lab.r2.sweep();
  assert.is((await lab.r2.sessions()).length, 0, 'expired');
  lab.wan.a.send(wire[0]!);
  assert.ok(await until(() => (lab.r2.counters()['replay-seen'] ?? 0) === 1));
  assert.is((await lab.r2.sessions()).length, 0, 'no session from the replay');
  assert.is(got, 1);
  await lab.close();
});

test('packets reordered within the window are all accepted; a counter far behind is too old', async () => {
  let now = 1_700_000_000_000;
  const config = await exampleConfig();
  for (const p of config.authority.securityPolicies) p.hmacMode = 'regular';
  const lab = createMemoryLab({ config, clients: ['198.18.1.10'], servers: ['198.18.3.20'], router: { clock: () => now } });
  const held: Uint8Array[] = [];
  let holding = false;
  lab.wan.setFilter((pkt, dir) => {
    if (!holding || dir !== 'a->b') return true;
    held.push(pkt.slice());
    return false;
  });
  let got = 0;
  lab.servers[0]!.udpBind(7, () => got++);
  lab.clients[0]!.udpSend(41000, '198.18.3.20', 7, Buffer.from('first'));
  assert.ok(await until(() => got === 1));
  holding = true;
  for (let i = 0; i < 20; i++) lab.clients[0]!.udpSend(41000, '198.18.3.20', 7, Buffer.from(`held ${i}`));
  assert.ok(await until(() => held.length === 20));
  holding = false;
  for (let i = 0; i < 2100; i++) lab.clients[0]!.udpSend(41000, '198.18.3.20', 7, Buffer.from(`flow ${i}`)); // moves the window 2100 counters on
  assert.ok(await until(() => got === 2101, 5000));
  for (const p of held.slice(10).reverse()) lab.wan.a.send(p);
  assert.ok(await until(() => (lab.r2.counters()['replay-too-old'] ?? 0) === 10), 'held behind more than 2016 counters: too old');
  assert.is(got, 2101);
  // a burst delivered out of order inside the window
  holding = true;
  held.length = 0;
  for (let i = 0; i < 50; i++) lab.clients[0]!.udpSend(41000, '198.18.3.20', 7, Buffer.from(`burst ${i}`));
  assert.ok(await until(() => held.length === 50));
  holding = false;
  for (const p of held.reverse()) lab.wan.a.send(p);
  assert.ok(await until(() => got === 2151), `reversed burst accepted (${got - 2101}/50)`);
  await lab.close();
});

test('a new path key version: accepted at once, signed with after rekey-delay, the old one retired 30 s later; nothing lost', async () => {
  let skew = 0;
  const config = await exampleConfig();
  const internal = config.authority.securityPolicies.find((p) => p.name === 'internal')!;
  internal.rekeyDelay = 1;
  const lab = createMemoryLab({ config, clients: ['198.18.1.10'], servers: ['198.18.3.20'], router: { clock: () => Date.now() + skew } });
  const wire: Uint8Array[] = [];
  lab.wan.observe((pkt, dir) => { if (dir === 'a->b') wire.push(pkt.slice()); });
  const keyIdOf = (p: Uint8Array) => p[p.length - 26]!; // the replay block's first byte
  const seen = new Set<number>();
  lab.servers[0]!.udpBind(7, (d) => seen.add(Number(Buffer.from(d).toString().split(' ')[1])));
  let seq = 0;
  const timer = setInterval(() => lab.clients[0]!.udpSend(41000, '198.18.3.20', 7, Buffer.from(`n ${seq++}`)), 5);
  await sleep(300);
  const next = structuredClone(lab.r1.runningConfig) as typeof config;
  next.authority.securityPolicies.find((p) => p.name === 'internal')!.keyVersion = 2;
  lab.r1.applyConfig(next); // r1 first ...
  await sleep(400);
  lab.r2.applyConfig(next); // ... r2 a moment later, both within rekey-delay (1 s)
  await sleep(1500);
  clearInterval(timer);
  await sleep(50);
  assert.equal([...Array(seq).keys()].filter((n) => !seen.has(n)), [], 'every datagram arrived');
  assert.is(lab.r2.counters()['drop-unknown-key'] ?? 0, 0);
  assert.is(keyIdOf(wire[1]!), 2, 'key version 1 (key id 2) before');
  assert.is(keyIdOf(wire.at(-1)!), 3, 'key version 2 (key id 3) after');
  const old = wire.filter((p) => keyIdOf(p) === 2).at(-1)!;
  lab.wan.a.send(old);
  assert.ok(await until(() => (lab.r2.counters()['replay-seen'] ?? 0) === 1), 'the old key is still accepted (the replay is caught by its window)');
  skew = 31_000; // 30 s after r2 switched to the new key (it expects r1 to have switched about then too)
  lab.wan.a.send(old);
  assert.ok(await until(() => (lab.r2.counters()['drop-unknown-key'] ?? 0) === 1), 'retired: its key id is unknown now');
  await lab.close();
});

test.run();
