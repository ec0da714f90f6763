import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createHash, randomBytes } from 'node:crypto';
import { exampleConfig, until } from '../../support/config.js';
import { createWorkerLab } from '../../support/worker-lab.js';
import { buildUdp } from '../../../src/packet/build.js';
import { writeIpv4Fragment } from '../../../src/packet/ipv4-fragment.js';
import { fillIpv4HeaderChecksum } from '../../../src/packet/rewrite.js';

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

test('with 2 workers, sessions spread over both, packets that land on the wrong worker are handed over, transfers are intact', async () => {
  const lab = await createWorkerLab(await exampleConfig(), 2);
  try {
    // 24 UDP sessions: echo replies come back through r1's workers
    lab.server.udpBind(7, (d, f) => lab.server.udpSend(7, f.address, f.port, d));
    const replies = new Set<number>();
    for (let i = 0; i < 24; i++) {
      const port = 42000 + i;
      lab.client.udpBind(port, () => replies.add(port));
      lab.client.udpSend(port, '198.18.3.20', 7, Buffer.from(`hello ${i}`));
    }
    assert.ok(await until(() => replies.size === 24, 5000), `replies ${replies.size}/24`);
    // a TCP transfer, 1 MB each way
    const up = randomBytes(1 << 20);
    const down = randomBytes(1 << 20);
    let serverGot = '';
    lab.server.tcpListen(80, (c) => void c.readAll().then((d) => { serverGot = sha(d); c.write(down); c.end(); }));
    const conn = await lab.client.tcpConnect('198.18.3.20', 80);
    conn.write(up);
    conn.end();
    assert.is(sha(await conn.readAll()), sha(down), 'download intact');
    assert.ok(await until(() => serverGot !== ''));
    assert.is(serverGot, sha(up), 'upload intact');
    const sessions = await lab.r1.sessions();
    const perWorker = [0, 1].map((w) => sessions.filter((s) => s.worker === w).length);
    assert.ok(perWorker[0]! > 0 && perWorker[1]! > 0, `sessions on both workers: ${perWorker}`);
    assert.is(perWorker[0]! + perWorker[1]!, 25);
    const c = lab.r1.counters();
    assert.ok((c['consumed-handed-off'] ?? 0) > 0, 'some packets were handed over');
    assert.is(c['sessions-created'], 25, 'each session created once, on its owner');
    assert.is(new Set(sessions.map((s) => s.id)).size, 25);
    // sessions per tenant and service: the counts each worker's table keeps, in its once-a-second report
    const counted = () => lab.r1.tenants().reduce((n, t) => n + t.sessions, 0);
    assert.ok(await until(() => counted() === 25, 3000), `show tenants counts the 25 sessions (${counted()})`);
    assert.is(lab.r1.services().reduce((n, x) => n + x.sessions, 0), 25, 'show services too');
  } finally {
    await lab.close();
  }
});

test('with 2 workers: each worker signs with its own counter space, and every replay in either direction is rejected by the window that saw the original', async () => {
  const lab = await createWorkerLab(await exampleConfig(), 2);
  try {
    const captured: { dir: string; bytes: Uint8Array }[] = [];
    lab.wan.observe((pkt, dir) => captured.push({ dir, bytes: pkt.slice() }));
    lab.server.udpBind(7, (d, f) => lab.server.udpSend(7, f.address, f.port, d));
    const replies = new Set<number>();
    for (let i = 0; i < 24; i++) {
      lab.client.udpBind(43000 + i, () => replies.add(43000 + i));
      lab.client.udpSend(43000 + i, '198.18.3.20', 7, Buffer.from(`hello ${i}`));
    }
    assert.ok(await until(() => replies.size === 24, 5000), `replies ${replies.size}/24`);
    const data = captured.filter((w) => w.bytes[20] !== 0x05); // not the control channel
    const senders = new Set(data.filter((w) => w.dir === 'a->b').map((w) => w.bytes[w.bytes.length - 25]));
    assert.equal([...senders].sort(), [0, 1], 'both workers sent, each with its own sender id');
    const rejected = (c: Record<string, number>) => (c['drop-replay'] ?? 0) + (c['drop-bad-hmac'] ?? 0);
    const before = { r1: rejected(lab.r1.counters()), r2: rejected(lab.r2.counters()) };
    const toR2 = data.filter((w) => w.dir === 'a->b');
    const toR1 = data.filter((w) => w.dir === 'b->a');
    for (const w of toR2) lab.wan.a.send(w.bytes);
    for (const w of toR1) lab.wan.b.send(w.bytes); // into r1's queues, which may pick another worker than the session's
    assert.ok(await until(() => rejected(lab.r2.counters()) === before.r2 + toR2.length && rejected(lab.r1.counters()) === before.r1 + toR1.length, 5000),
      `r2 rejected ${rejected(lab.r2.counters()) - before.r2}/${toR2.length}, r1 ${rejected(lab.r1.counters()) - before.r1}/${toR1.length}`);
    assert.is(lab.r1.counters()['sessions-created'], 24);
    assert.is(lab.r2.counters()['sessions-created'], 24, 'no session from a replay');
  } finally {
    await lab.close();
  }
});

test('with 2 workers: session pages merge both workers in creation order, follow their cursor, filter by service; per-interface counters count a handed-over packet once; each thread reports its load', async () => {
  const lab = await createWorkerLab(await exampleConfig(), 2);
  try {
    lab.server.udpBind(7, (d, f) => lab.server.udpSend(7, f.address, f.port, d));
    const replies = new Set<number>();
    for (let i = 0; i < 10; i++) {
      lab.client.udpBind(44000 + i, () => replies.add(44000 + i));
      lab.client.udpSend(44000 + i, '198.18.3.20', 7, Buffer.from(`hello ${i}`));
    }
    assert.ok(await until(() => replies.size === 10, 5000), `replies ${replies.size}/10`);
    const all = await lab.r1.sessions();
    const ids: string[] = [];
    let after: { createdMs: number; row: number } | undefined;
    let pages = 0;
    do {
      const page = await lab.r1.sessionPage({ limit: 3, ...(after !== undefined ? { after } : {}) });
      assert.ok(page.sessions.length <= 3);
      ids.push(...page.sessions.map((s) => s.id));
      after = page.next;
      pages++;
    } while (after !== undefined);
    assert.is(pages, 4, '3 + 3 + 3 + 1');
    assert.equal(new Set(ids).size, 10, 'every session once');
    assert.equal([...ids].sort(), all.map((s) => s.id).sort());
    const age = new Map(all.map((s) => [s.id, s.ageMs]));
    // each worker computes ages at the moment it lists: across workers they differ by that moment (a few ms)
    assert.ok(ids.every((id, i) => i === 0 || age.get(id)! <= age.get(ids[i - 1]!)! + 50), 'oldest first');
    assert.ok(new Set((await lab.r1.sessionPage({ limit: 10 })).sessions.map((s) => s.worker)).size === 2, 'rows from both workers');
    assert.is((await lab.r1.sessionPage({ limit: 10, service: 'web' })).sessions.length, 0);
    assert.is((await lab.r1.sessionPage({ limit: 10, service: 'echo' })).sessions.length, 10);
    const c = await until(() => (lab.r1.counters()['interface.lan0.tx-packets'] ?? 0) === 10, 3000);
    assert.ok(c, JSON.stringify(lab.r1.counters()));
    assert.is(lab.r1.counters()['interface.lan0.rx-packets'], 10, 'ten datagrams in, counted once though some were handed over');
    const load = lab.r1.threadLoad();
    assert.is(load.length, 2);
    assert.ok(load.every((l) => l.activeMs > 0 && l.idleMs >= 0), JSON.stringify(load));
  } finally {
    await lab.close();
  }
});

test('with 2 workers: a 3,000-byte reply the server fragmented, reassembled by one worker and handed to its session\'s owner, still leaves r1\'s LAN as fragments (PF_REASSEMBLED crosses the hand-off)', async () => {
  const lab = await createWorkerLab(await exampleConfig(), 2);
  try {
    const big = Uint8Array.from({ length: 3000 }, (_, i) => (i * 7) & 0xff);
    // every fragment of r2's SVR packets reaches the same worker (addresses only), which reassembles; the
    // replies of the sessions the other worker owns are handed to it reassembled
    /** the server answers `port` with a 3,000-byte datagram it fragments itself for its 1500-byte LAN */
    const reply = (port: number): void => {
      const p = buildUdp({ src: lab.server.addressBytes, dst: lab.client.addressBytes, srcPort: 7, dstPort: port, payload: big, id: port });
      p[6] = 0;
      fillIpv4HeaderChecksum(p, 0);
      const buf = new Uint8Array(1500);
      for (let j = 0; j < 3; j++) lab.server.transmit(buf.slice(0, writeIpv4Fragment(p, 0, p.length, 1500, j, port, buf, 0)));
    };
    lab.server.udpBind(7, (_d, f) => reply(f.port));
    let handedOff = 0;
    for (let i = 0; i < 8; i++) {
      const port = 43000 + i;
      const before = { ...lab.r1.counters() };
      const frags = lab.client.stats.fragments;
      lab.client.udpBind(port, () => undefined);
      lab.client.udpSend(port, '198.18.3.20', 7, Buffer.from('big please'));
      assert.ok(await until(() => lab.client.stats.fragments >= frags + 3, 5000), `port ${port}: the reply reaches the client as fragments (${lab.client.stats.fragments - frags})`);
      const after = lab.r1.counters();
      assert.is((after['lan-packets-fragmented'] ?? 0) - (before['lan-packets-fragmented'] ?? 0), 1, `port ${port}: r1 fragmented it for its LAN`);
      if ((after['consumed-handed-off'] ?? 0) > (before['consumed-handed-off'] ?? 0)) handedOff++;
    }
    assert.ok(handedOff > 0, 'packets were handed between the workers');
  } finally {
    await lab.close();
  }
});

test.run();
