import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Batch, Frame, PF_REVERSE } from '../../../src/dataplane/batch.js';
import type { ChainStageEntry } from '../../../src/dataplane/chain.js';
import { Dataplane } from '../../../src/dataplane/dataplane.js';
import { parseAddress } from '../../../src/packet/addr.js';
import { compileRouter } from '../../../src/model/compile.js';
import { parseConfig } from '../../../src/model/validate.js';
import { buildUdp } from '../../../src/packet/build.js';
import { finish, sumBytes } from '../../../src/packet/checksum.js';
import { PacketInfo, parsePacket, PROTO_UDP } from '../../../src/packet/ip.js';
import { fillIpv4HeaderChecksum } from '../../../src/packet/rewrite.js';
import type { PluginStageRuntime } from '../../../src/plugins/api.js';
import { checkPluginCompliance } from '../../../src/plugins/compliance.js';
import { pluginDataplaneContext } from '../../../src/plugins/host.js';
import qos from '../../../src/plugins/builtin/qos/index.js';
import type { MemorySegment } from '../../../src/io/memory/segment.js';
import { until } from '../../support/config.js';
import { BUILTIN_LAB, HEAP_BUDGET, builtin, builtinLab, settle } from './lab.js';

const QOS = 'plugin.builtin.qos.';
const CLIENT = parseAddress('198.18.1.10')!.bytes;
const SERVER = parseAddress('198.18.3.20')!.bytes;
const ALL = ['voice', 'video', 'bulk', 'backup'];
const chainAll = { services: Object.fromEntries(ALL.map((s) => [s, ['builtin.qos/police']])) };

/** IP bytes per UDP destination port of the packets the gateway delivers on `lan` (what hosts there receive). */
function bytesByPort(lan: MemorySegment): Map<number, number> {
  const m = new Map<number, number>();
  const pi = new PacketInfo();
  lan.observe((p, from) => {
    if (!from.endsWith('gateway') || parsePacket(p, 0, p.length, pi) !== 0 || pi.protocol !== PROTO_UDP) return;
    m.set(pi.dstPort, (m.get(pi.dstPort) ?? 0) + (pi.end - pi.l3));
  });
  return m;
}

/** A clock the routers read; the test moves it. */
function simClock(): { now: number; read: () => number } {
  const c = { now: 1_000_000, read: () => c.now };
  return c;
}

test('DSCP on the wire: the class\'s DSCP is on the packet the server receives (IPv4 header checksum valid, ECN kept), on the WAN both ways, and on the replies', async () => {
  const lab = builtinLab();
  try {
    const opts = { classes: { voice: { queue: 'high', dscp: 46 } }, services: { voice: { class: 'voice' } } };
    // on both routers: each marks what it sends toward the WAN (r2 the replies)
    for (const r of [lab.r1, lab.r2]) assert.equal(await r.applyPlugins([builtin('qos', opts)], { services: { voice: ['builtin.qos/police'] } }), []);
    const atServer: number[] = [];
    const atClient: number[] = [];
    const onWan: number[] = [];
    lab.serverLan.observe((p, from) => { if (from.endsWith('gateway')) atServer.push(p[1]!); });
    lab.clientLan.observe((p, from) => { if (from.endsWith('gateway')) atClient.push(p[1]!); });
    lab.wan.observe((p) => onWan.push(p[1]!));
    let got = 0;
    let replies = 0;
    lab.servers[0]!.udpBind(5002, (d, f) => { got++; lab.servers[0]!.udpSend(5002, f.address, f.port, d); });
    lab.clients[0]!.udpBind(41000, () => replies++);
    lab.clients[0]!.udpSend(41000, '198.18.3.20', 5002, Buffer.from('rtp'));
    // ECN-capable (ECT(0)) as a sender would set it
    const ect = buildUdp({ src: CLIENT, dst: SERVER, srcPort: 41000, dstPort: 5002, payload: Buffer.from('ecn') });
    ect[1] = 0x02;
    fillIpv4HeaderChecksum(ect, 0);
    lab.clients[0]!.transmit(ect);
    assert.ok(await until(() => got === 2 && replies === 2), 'the server accepted both (a bad header checksum would be dropped by it)');
    assert.equal(atServer, [46 << 2, (46 << 2) | 0x02], 'DSCP 46 (EF), ECN bits kept');
    assert.ok(onWan.length >= 4 && onWan.every((tos) => tos >> 2 === 46), 'marked on the WAN both ways');
    assert.equal(atClient.map((tos) => tos >> 2), [46, 46], 'the replies are marked too');
    assert.is(lab.r1.counters()[`${QOS}marked`], 2, 'r1 marked the requests (the replies came marked)');
    assert.is(lab.r2.counters()[`${QOS}marked`], 2, 'r2 marked the replies');
  } finally {
    await lab.close();
  }
});

test('rate limits on the simulated clock: a service limit keeps a UDP stream within 5 % of its rate over 5 s; a per-flow limit holds each flow of a service to its own rate', async () => {
  const clock = simClock();
  const lab = builtinLab({ router: { clock: clock.read } });
  try {
    const opts = {
      'rate-limit': 'police', // an embedded router has no kernel shaper
      services: {
        bulk: { rate: '4M', burst: 20_000 },
        voice: { 'flow-rate': '1M', 'flow-burst': 5000 },
      },
    };
    assert.equal(await lab.r1.applyPlugins([builtin('qos', opts)], chainAll), []);
    const atServer = new Map<string, number>();
    const pi = new PacketInfo();
    lab.serverLan.observe((p, from) => {
      if (!from.endsWith('gateway') || parsePacket(p, 0, p.length, pi) !== 0) return;
      const k = `${pi.dstPort}/${pi.srcPort}`;
      atServer.set(k, (atServer.get(k) ?? 0) + (pi.end - pi.l3));
    });
    const c = lab.clients[0]!;
    const big = new Uint8Array(1000);
    const small = new Uint8Array(500);
    let sent = 0;
    const steps = 500; // 10 ms each: 5 s
    for (let i = 0; i < steps; i++) {
      clock.now += 10;
      for (let k = 0; k < 10; k++) c.udpSend(40000, '198.18.3.20', 5001, big); // 8.2 Mbit/s offered to a 4 Mbit/s limit
      for (let k = 0; k < 5; k++) {
        c.udpSend(41000, '198.18.3.20', 5002, small); // 2.1 Mbit/s per flow offered to 1 Mbit/s
        c.udpSend(41001, '198.18.3.20', 5002, small);
      }
      sent += 10;
      await settle(3);
    }
    await settle();
    const seconds = (steps * 10) / 1000;
    const bulk = atServer.get('5001/40000') ?? 0;
    const want = (4e6 / 8) * seconds;
    assert.ok(Math.abs(bulk - want) <= 0.05 * want, `bulk: ${bulk} bytes, want ${want} ± 5 %`);
    for (const port of [41000, 41001]) {
      const flow = atServer.get(`5002/${port}`) ?? 0;
      const wantFlow = (1e6 / 8) * seconds;
      assert.ok(Math.abs(flow - wantFlow) <= 0.05 * wantFlow, `flow ${port}: ${flow} bytes, want ${wantFlow} ± 5 %`);
    }
    const k = lab.r1.counters();
    assert.is(k[`${QOS}dropped-service-rate`], sent - bulk / 1028, 'every bulk datagram not delivered was dropped and counted');
    assert.ok(k[`${QOS}dropped-flow-rate`]! > 0);
  } finally {
    await lab.close();
  }
});

test('shares under contention (simulated clock): with every queue saturated each gets its share of transmit-cap; an idle queue\'s share goes to the busiest higher queue first', async () => {
  const clock = simClock();
  const lab = builtinLab({ router: { clock: clock.read } });
  try {
    const opts = {
      classes: { gold: { queue: 'high', dscp: 46 }, silver: { queue: 'medium', dscp: 26 }, bronze: { queue: 'low', dscp: 10 }, junk: { queue: 'best-effort' } },
      services: { voice: { class: 'gold' }, video: { class: 'silver' }, bulk: { class: 'bronze' }, backup: { class: 'junk' } },
      'transmit-cap': '10M',
      shares: { high: 40, medium: 30, low: 20, 'best-effort': 10 },
    };
    assert.equal(await lab.r1.applyPlugins([builtin('qos', opts)], chainAll), []);
    const bytes = bytesByPort(lab.serverLan);
    const c = lab.clients[0]!;
    const payload = new Uint8Array(1000); // 1028 bytes of IP
    const ports = { high: 5002, medium: 5003, low: 5001, be: 5004 };
    /** Each listed queue offers the whole cap (12 packets per 10 ms); lowest priority sent first. */
    const run = async (queues: number[], steps: number): Promise<Map<number, number>> => {
      bytes.clear();
      for (let i = 0; i < steps; i++) {
        clock.now += 10;
        for (let k = 0; k < 12; k++) for (const port of queues) c.udpSend(40000, '198.18.3.20', port, payload);
        await settle(3);
      }
      await settle();
      return new Map(bytes);
    };
    const capBytes = (seconds: number) => (10e6 / 8) * seconds;
    const share = (m: Map<number, number>, port: number) => (m.get(port) ?? 0) / capBytes(3);
    const a = await run([ports.be, ports.low, ports.medium, ports.high], 300);
    const total = [...a.values()].reduce((x, y) => x + y, 0);
    assert.ok(total <= capBytes(3) * 1.02 && total >= capBytes(3) * 0.95, `all saturated: ${total} bytes in 3 s against a cap of ${capBytes(3)}`);
    for (const [port, want] of [[ports.high, 0.4], [ports.medium, 0.3], [ports.low, 0.2], [ports.be, 0.1]] as const) {
      assert.ok(Math.abs(share(a, port) - want) <= 0.02, `port ${port}: ${(share(a, port) * 100).toFixed(1)} % of the cap, want ${want * 100} %`);
    }
    const b = await run([ports.be, ports.low, ports.medium], 300);
    assert.ok(Math.abs(share(b, ports.medium) - 0.7) <= 0.02, `high idle: medium borrows its 40 % (${(share(b, ports.medium) * 100).toFixed(1)} %)`);
    assert.ok(Math.abs(share(b, ports.low) - 0.2) <= 0.02, `low keeps its share (${(share(b, ports.low) * 100).toFixed(1)} %)`);
    assert.ok(Math.abs(share(b, ports.be) - 0.1) <= 0.02, `best-effort keeps its share (${(share(b, ports.be) * 100).toFixed(1)} %)`);
    const k = lab.r1.counters();
    assert.ok(k[`${QOS}borrowed-bytes`]! > capBytes(3) * 0.35, 'the idle share was lent');
    assert.ok(k[`${QOS}dropped-transmit-cap`]! > 0);
  } finally {
    await lab.close();
  }
});

test('the police stage on its own: IPv4 TOS rewrite keeps the header checksum valid, IPv6 traffic class is set with the flow label intact, unlisted services are untouched', () => {
  const dp = new Dataplane({ tables: compileRouter(parseConfig(BUILTIN_LAB), 'r1', 1), ports: [null, null] });
  const entries: ChainStageEntry[] = [];
  const opts = qos.options!({ classes: { af41: { queue: 'medium', dscp: 34 } }, services: { video: { class: 'af41' } } });
  qos.dataplane!(pluginDataplaneContext(dp, qos.name, entries), opts);
  const stage = entries[0]!.stage;
  const t = dp.sessions;
  const video = t.alloc(0);
  t.service[video] = dp.tables.serviceId('video');
  const web = t.alloc(0);
  t.service[web] = dp.tables.serviceId('web');
  const v4 = buildUdp({ src: CLIENT, dst: SERVER, srcPort: 1, dstPort: 5003, payload: new Uint8Array(40) });
  v4[1] = 0xb9; // DSCP 46, ECN CE... then rewritten to 34 keeping the ECN bits (01)
  fillIpv4HeaderChecksum(v4, 0);
  const v6 = buildUdp({ src: parseAddress('2001:db8::1')!.bytes, dst: parseAddress('2001:db8::2')!.bytes, srcPort: 1, dstPort: 5003, payload: new Uint8Array(40) });
  v6[1] = 0x0a; // traffic class low nibble 0, flow label 0xa1234
  v6[2] = 0x12;
  v6[3] = 0x34;
  const untouched = buildUdp({ src: CLIENT, dst: SERVER, srcPort: 2, dstPort: 80, payload: new Uint8Array(8) });
  const b = new Batch();
  const pkts = [v4, v6, untouched];
  const off = new Uint32Array(pkts.length);
  const len = new Uint32Array(pkts.length);
  const all = new Uint8Array(pkts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  pkts.forEach((p, i) => { all.set(p, at); off[i] = at; len[i] = p.length; at += p.length; });
  b.fill(0, all, off, len, 0, pkts.length);
  const f = new Frame();
  for (let i = 0; i < pkts.length; i++) {
    parsePacket(b.data, b.off[i]!, b.len[i]!, b.info[i]!);
    b.session[i] = i === 2 ? web : video;
    f.slot[f.n++] = i;
  }
  b.flags[1] |= PF_REVERSE;
  const next = new Uint8Array(256).fill(9);
  const rt: PluginStageRuntime = { next, now: 5, count: () => {} };
  stage.run(b, f, rt);
  assert.equal([...next.subarray(0, 3)], [0, 0, 0]);
  const o4 = b.off[0]!;
  assert.is(b.data[o4 + 1], (34 << 2) | 0x01, 'DSCP 34, ECN kept');
  assert.is(finish(sumBytes(b.data, o4, 20, 0)), 0, 'the IPv4 header checksum is still valid');
  const o6 = b.off[1]!;
  assert.equal([...b.data.subarray(o6, o6 + 4)], [0x60 | (34 >> 2), ((34 << 2) & 0x0f) << 4 | 0x0a, 0x12, 0x34], 'traffic class 34 << 2, flow label intact');
  assert.equal([...b.data.subarray(b.off[2]!, b.off[2]! + 20)], [...untouched.subarray(0, 20)], 'web has no class: untouched');
});

test('options are checked with the field named', async () => {
  const lab = builtinLab();
  try {
    const failures = await lab.r1.applyPlugins([
      builtin('qos', { shares: { high: 50, medium: 30 } }, 'plugins[0]'),
      builtin('qos', { services: { web: { class: 'gold' } } }, 'plugins[1]'),
      builtin('qos', { classes: { gold: { queue: 'urgent' } } }, 'plugins[2]'),
      builtin('qos', { 'rate-limit': 'police', services: { web: { rate: '10M', burst: 100 } } }, 'plugins[3]'),
      builtin('qos', { classes: { gold: { queue: 'high', dscp: 64 } } }, 'plugins[4]'),
    ]);
    assert.is(failures.length, 5);
    assert.match(failures[0]!.message, /plugins\[0\]\.with\.shares: must sum to 100, got 80/);
    assert.match(failures[1]!.message, /plugins\[1\]\.with\.services\.web\.class: no class "gold"/);
    assert.match(failures[2]!.message, /plugins\[2\]\.with\.classes\.gold\.queue: expected one of high \| medium \| low \| best-effort/);
    assert.match(failures[3]!.message, /plugins\[3\]\.with\.services\.web\.burst: a burst below one full-size packet/);
    assert.match(failures[4]!.message, /plugins\[4\]\.with\.classes\.gold\.dscp: expected a whole number 0-63/);
  } finally {
    await lab.close();
  }
});

test('rate-limit shape (the default): a rate-limited service needs a dscp of its own; an embedded router has no kernel shaper and says to police', async () => {
  const lab = builtinLab();
  try {
    const failures = await lab.r1.applyPlugins([
      builtin('qos', { services: { web: { rate: '10M' } } }, 'plugins[0]'),
      builtin('qos', { classes: { b: { queue: 'low', dscp: 10 } }, services: { web: { class: 'b', rate: '10M' }, echo: { class: 'b' } } }, 'plugins[1]'),
      builtin('qos', { classes: { b: { queue: 'low', dscp: 10 } }, services: { web: { class: 'b', rate: '10M' } } }, 'plugins[2]'),
      builtin('qos', { 'rate-limit': 'drop' }, 'plugins[3]'),
    ]);
    assert.is(failures.length, 4, JSON.stringify(failures));
    assert.match(failures[0]!.message, /plugins\[0\]\.with\.services\.web\.class: a service with rate is shaped by DSCP/);
    assert.match(failures[1]!.message, /plugins\[1\]\.with\.services\.web\.class: dscp 10 is also marked on service echo/);
    assert.match(failures[2]!.message, /plugins\[2\]\.with\.rate-limit: shape needs the kernel shaper of `svr node`.*set rate-limit: police/);
    assert.match(failures[3]!.message, /plugins\[3\]\.with\.rate-limit: expected one of shape \| police/);
  } finally {
    await lab.close();
  }
});

test('compliance: the police stage, with every limit and the scheduler on', async () => {
  const report = await checkPluginCompliance(qos, {
    classes: { gold: { queue: 'high', dscp: 46 } },
    'rate-limit': 'police',
    services: { s: { class: 'gold', rate: '1M', 'flow-rate': '100k' } },
    'transmit-cap': '10M',
  }, HEAP_BUDGET);
  assert.equal(report.stages, ['builtin.qos/police']);
  assert.equal(report.failures, [], report.failures.join('\n'));
});

test.run();
