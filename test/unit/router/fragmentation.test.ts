import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { CounterName } from '../../../src/dataplane/counter-names.js';
import type { Fragmentation, SvrConfig } from '../../../src/model/config.js';
import { buildUdp } from '../../../src/packet/build.js';
import { readU16, readU32 } from '../../../src/packet/checksum.js';
import { writeIpv4Fragment } from '../../../src/packet/ipv4-fragment.js';
import { writeIpv6Fragment } from '../../../src/packet/ipv6-fragment.js';
import { parseConfig } from '../../../src/model/validate.js';
import { baseAuthority, hasProblem, problemsOfObject } from '../model/helpers.js';
import { fillIpv4HeaderChecksum } from '../../../src/packet/rewrite.js';
import { createMemoryLab, type MemoryLab } from '../../../src/sim/memory-lab.js';
import { exampleConfig, sleep, until } from '../../support/config.js';
import { unaccounted } from '../../support/counters.js';

const CLIENT = Uint8Array.of(198, 18, 1, 10);
const SERVER = Uint8Array.of(198, 18, 3, 20);
const PATH_MTU = 1280;

async function config(fragmentation?: Fragmentation): Promise<SvrConfig> {
  const c = await exampleConfig();
  for (const r of c.authority.routers) {
    const wan = r.interfaces.find((i) => i.kind === 'wan')!;
    if (fragmentation !== undefined) wan.fragmentation = fragmentation;
  }
  return c;
}

/** A client UDP packet 40000 -> server:7 with `payload` (bytes i * 13), DF as given. */
function datagram(payload: number, df: boolean): Uint8Array {
  const data = Uint8Array.from({ length: payload }, (_, i) => (i * 13) & 0xff);
  const p = buildUdp({ src: CLIENT, dst: SERVER, srcPort: 40000, dstPort: 7, payload: data, id: 0x4242 });
  if (!df) {
    p[6] = 0;
    fillIpv4HeaderChecksum(p, 0);
  }
  return p;
}

/** A lab whose one path has MTU 1280 (as path MTU discovery finds it), with the server echoing lengths and the client's session open. */
async function lab(fragmentation?: Fragmentation) {
  const l = createMemoryLab({ config: await config(fragmentation), clients: ['198.18.1.10'], servers: ['198.18.3.20'] });
  l.r1.host.dataplane.setPathMtu(0, PATH_MTU);
  l.r2.host.dataplane.setPathMtu(0, PATH_MTU);
  const got: Uint8Array[] = [];
  l.servers[0]!.udpBind(7, (data, from) => { got.push(data.slice()); l.servers[0]!.udpSend(7, from.address, from.port, Uint8Array.of(1)); });
  let replies = 0;
  const icmp: Uint8Array[] = [];
  l.clientLan.observe((p, from) => { if (from.endsWith('gateway') && p[9] === 1) icmp.push(p.slice()); });
  const wire: Uint8Array[] = [];
  l.wan.observe((p) => void wire.push(p.slice()));
  l.clients[0]!.udpBind(40000, () => void replies++);
  l.clients[0]!.udpSend(40000, '198.18.3.20', 7, new Uint8Array(10));
  assert.ok(await until(() => replies === 1), 'the session is open (no more metadata)');
  got.length = 0;
  wire.length = 0;
  return { l, got, icmp, wire };
}

const counter = (l: MemoryLab, r: 'r1' | 'r2', name: CounterName): number => l[r].counters()[name] ?? 0;
const isFragment = (p: Uint8Array): boolean => (readU16(p, 6) & 0x3fff) !== 0;

/** A host's IPv4 fragments of `p` for `mtu` (its own id). */
function fragments(p: Uint8Array, mtu: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  const buf = new Uint8Array(mtu);
  for (let j = 0; ; j++) {
    const n = writeIpv4Fragment(p, 0, p.length, mtu, j, readU16(p, 4), buf, 0);
    out.push(buf.slice(0, n));
    if ((readU16(buf, 6) & 0x2000) === 0) return out;
  }
}

/** The base authority of the model tests with `field` set on its first router. */
function withRouterField(field: string, value: unknown): Record<string, unknown> {
  const a = baseAuthority() as { routers: Record<string, unknown>[] };
  a.routers[0]![field] = value;
  return a as unknown as Record<string, unknown>;
}

/** Fragments [header length, offset, more, bytes after the fragment's headers] as a host's stack would take them apart. */
function pieces(frags: Uint8Array[]): { offset: number; more: boolean; data: Uint8Array }[] {
  return frags.map((f) => {
    if (f[0]! >> 4 === 6) return { offset: readU16(f, 42) & 0xfff8, more: (f[43]! & 1) === 1, data: f.subarray(48) };
    const field = readU16(f, 6);
    return { offset: (field & 0x1fff) * 8, more: (field & 0x2000) !== 0, data: f.subarray((f[0]! & 0x0f) * 4) };
  }).sort((a, b) => a.offset - b.offset);
}

/** The datagram's bytes after its IP header, from its fragments: each piece where the previous ended, the last without M. */
function joined(frags: Uint8Array[]): Uint8Array {
  const ps = pieces(frags);
  let at = 0;
  for (const [k, p] of ps.entries()) {
    assert.is(p.offset, at, `piece ${k} starts where the one before ended`);
    assert.is(p.more, k < ps.length - 1);
    at += p.data.length;
  }
  return Buffer.concat(ps.map((p) => p.data));
}

test('default (unless-df): a 1500-byte UDP packet without DF crosses a 1280-byte path as 2 fragments, r2 reassembles it, the server gets it intact', async () => {
  const { l, got, wire, icmp } = await lab();
  l.clients[0]!.transmit(datagram(1472, false));
  assert.ok(await until(() => got.length === 1));
  assert.ok(Buffer.from(got[0]!).equals(datagram(1472, false).subarray(28)), 'payload intact');
  const a2b = wire.filter((p) => p[12] === 198 && p[15] === 1);
  assert.is(a2b.filter(isFragment).length, 2, 'two fragments on the wan');
  assert.ok(wire.every((p) => p.length <= PATH_MTU), `largest on the wan ${Math.max(...wire.map((p) => p.length))}`);
  assert.equal([counter(l, 'r1', 'packets-fragmented'), counter(l, 'r1', 'fragments-sent'), counter(l, 'r2', 'packets-reassembled')], [1, 2, 1]);
  assert.is(icmp.length, 0);
  assert.is(counter(l, 'r1', 'icmp-too-big-sent'), 0);
  await sleep(50);
  for (const r of ['r1', 'r2'] as const) assert.is(unaccounted(l[r].counters()), 0, `${r}: every packet is accounted for (fragments sent, held, reassembled)`);
  await l.close();
});

test('default: the same packet with DF gets ICMP fragmentation needed and is not sent; `never` does that without DF too', async () => {
  for (const [policy, df] of [[undefined, true], ['never', false]] as const) {
    const { l, got, icmp } = await lab(policy);
    l.clients[0]!.transmit(datagram(1472, df));
    assert.ok(await until(() => icmp.length === 1), `${policy ?? 'default'}: ICMP too big`);
    await sleep(30);
    assert.is(got.length, 0);
    assert.equal([icmp[0]![20], icmp[0]![21]], [3, 4]);
    assert.is(counter(l, 'r1', 'packets-fragmented'), 0);
    await l.close();
  }
});

test('`always`: a DF packet is fragmented too (SSR\'s fabric fragmentation) and arrives', async () => {
  const { l, got } = await lab('always');
  l.clients[0]!.transmit(datagram(1472, true));
  assert.ok(await until(() => got.length === 1));
  assert.is(got[0]!.length, 1472);
  assert.is(counter(l, 'r2', 'packets-reassembled'), 1);
  await l.close();
});

test('a host that fragmented its 1800-byte datagram itself (LAN MTU 1500): r1 reassembles it, fragments the SVR packet for the path, r2 reassembles it and sends it on as fragments of its LAN\'s mtu', async () => {
  const { l } = await lab();
  const toServer: Uint8Array[] = [];
  l.serverLan.observe((p, from) => { if (from.endsWith('gateway') && p[9] === 17) toServer.push(p.slice()); });
  const p = datagram(1772, false);
  const buf = new Uint8Array(1500);
  for (const j of [1, 0]) {
    const n = writeIpv4Fragment(p, 0, p.length, 1500, j, 0x4242, buf, 0);
    l.clients[0]!.transmit(buf.slice(0, n));
  }
  assert.ok(await until(() => toServer.length === 2));
  assert.ok(Buffer.from(joined(toServer)).equals(p.subarray(20)));
  assert.equal([counter(l, 'r1', 'packets-reassembled'), counter(l, 'r1', 'packets-fragmented'), counter(l, 'r2', 'packets-reassembled'), counter(l, 'r2', 'lan-packets-fragmented')], [1, 1, 1, 1]);
  assert.equal([counter(l, 'r1', 'consumed-fragments'), counter(l, 'r2', 'consumed-fragments')], [1, 1], 'the first of each pair held');
  await sleep(50);
  for (const r of ['r1', 'r2'] as const) assert.is(unaccounted(l[r].counters()), 0, `${r}: every packet is accounted for`);
  await l.close();
});

test('a lost fragment: nothing is delivered (the other waits in reassembly); the host sends again and that one arrives', async () => {
  const { l, got } = await lab();
  let first = true;
  l.wan.setFilter((p) => {
    if (!isFragment(p) || !first) return true;
    first = false;
    return false;
  });
  l.clients[0]!.transmit(datagram(1472, false));
  await sleep(100);
  assert.is(got.length, 0);
  assert.is(counter(l, 'r2', 'packets-reassembled'), 0);
  l.clients[0]!.transmit(datagram(1472, false));
  assert.ok(await until(() => got.length === 1), 'r1 gave the second packet its own IP id: not mixed with the held fragment');
  assert.is(got[0]!.length, 1472);
  await l.close();
});

test('a 3,000-byte datagram a LAN host fragmented (IPv4): r1 reassembles it (3,028 bytes: longer than a batch slot), fragments the SVR packet for the 1280-byte path, r2 reassembles it and sends it to the server LAN as fragments of its mtu (1500); intact', async () => {
  const { l, wire } = await lab();
  const toServer: Uint8Array[] = [];
  l.serverLan.observe((p, from) => { if (from.endsWith('gateway') && p[0]! >> 4 === 4 && p[9] === 17) toServer.push(p.slice()); });
  const p = datagram(3000, false);
  const buf = new Uint8Array(1500);
  for (const j of [2, 0, 1]) {
    const n = writeIpv4Fragment(p, 0, p.length, 1500, j, 0x4343, buf, 0);
    l.clients[0]!.transmit(buf.slice(0, n));
  }
  assert.ok(await until(() => toServer.length === 3), `fragments to the server: ${toServer.length}`);
  assert.ok(toServer.every((f) => f.length <= 1500 && isFragment(f)));
  assert.ok(toServer.every((f) => f[12] === 198 && f[15] === 10 && f[19] === 20), 'client -> server addresses restored');
  assert.ok(Buffer.from(joined(toServer)).equals(p.subarray(20)), 'the UDP header and 3,000 bytes intact');
  const onPath = wire.filter((w) => w[12] === 198 && w[15] === 1);
  assert.is(onPath.length, 3, '3,028 bytes and SVR overhead in 1,280-byte fragments');
  assert.ok(onPath.every((w) => w.length <= PATH_MTU && isFragment(w)));
  assert.equal([counter(l, 'r1', 'packets-reassembled'), counter(l, 'r1', 'packets-fragmented'), counter(l, 'r1', 'fragments-sent')], [1, 1, 3]);
  assert.equal([counter(l, 'r2', 'packets-reassembled'), counter(l, 'r2', 'lan-packets-fragmented'), counter(l, 'r2', 'lan-fragments-sent')], [1, 1, 3]);
  await sleep(50);
  for (const r of ['r1', 'r2'] as const) assert.is(unaccounted(l[r].counters()), 0, `${r}: every packet is accounted for`);
  await l.close();
});

const V6 = `
authority:
  name: v6
  secret: 00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff
  tenants:
    - name: lab
      members: ["2001:db8:1::/64"]
  services:
    - name: echo
      addresses: ["2001:db8:3::/64"]
      transport: [{ protocol: udp, ports: [7] }]
      access-policy: [{ source: lab }]
  routers:
    - name: r1
      interfaces:
        - { name: lan0, kind: lan }
        - { name: wan0, kind: wan, waypoint: "2001:db8:12::1", neighborhoods: [{ name: core }] }
      routes: [{ prefix: "2001:db8:1::/64", interface: lan0 }]
      service-routes: [{ name: to-r2, service: echo, peer: r2 }]
    - name: r2
      interfaces:
        - { name: lan0, kind: lan }
        - { name: wan0, kind: wan, waypoint: "2001:db8:12::2", neighborhoods: [{ name: core }] }
      routes: [{ prefix: "2001:db8:3::/64", interface: lan0 }]
      service-routes: [{ name: local, service: echo, next-hop: { interface: lan0 } }]
`;

test('reassembly-memory: a router with the smallest pool (65,536 bytes) reassembles one of two 40,000-byte datagrams whose fragments interleave and drops the other (fragment-no-memory); a bad value is refused with its path', async () => {
  const c = await config();
  c.authority.routers.find((r) => r.name === 'r1')!.reassemblyMemory = 65_536;
  const l = createMemoryLab({ config: c, clients: ['198.18.1.10'], servers: ['198.18.3.20'] });
  const toServer: Uint8Array[] = [];
  l.serverLan.observe((p, from) => { if (from.endsWith('gateway') && p[9] === 17) toServer.push(p.slice()); });
  const a = datagram(40_000, false), b = datagram(40_000, false);
  b[4] = 0x99; // another IP id
  const fa = fragments(a, 1500), fb = fragments(b, 1500);
  for (let j = 0; j < fa.length; j++) for (const f of [fa[j]!, fb[j]!]) l.clients[0]!.transmit(f);
  assert.ok(await until(() => toServer.length === fa.length), `one datagram reaches the server LAN: ${toServer.length}`);
  assert.ok(Buffer.from(joined(toServer)).equals(a.subarray(20)));
  await sleep(50);
  assert.is(counter(l, 'r1', 'packets-reassembled'), 1);
  assert.ok(counter(l, 'r1', 'fragment-no-memory') > 0, 'the other found no pages');
  await l.close();
  const problems = problemsOfObject(withRouterField('reassembly-memory', 1000));
  hasProblem(problems, 'authority.routers[0].reassembly-memory', '65536');
});

test('IPv6: a 3,000-byte datagram the host fragmented crosses the 1280-byte IPv6 path as IPv6 fragments of the SVR packet and reaches the server LAN as fragments; a whole 1,500-byte one gets packet too big', async () => {
  const l = createMemoryLab({ config: parseConfig(V6), clients: ['2001:db8:1::10'], servers: ['2001:db8:3::20'] });
  l.r1.host.dataplane.setPathMtu(0, PATH_MTU);
  l.r2.host.dataplane.setPathMtu(0, PATH_MTU);
  const client = l.clients[0]!;
  let replies = 0;
  client.udpBind(40000, () => void replies++);
  l.servers[0]!.udpBind(7, (_data, from) => void l.servers[0]!.udpSend(7, from.address, from.port, Uint8Array.of(1)));
  client.udpSend(40000, '2001:db8:3::20', 7, new Uint8Array(10));
  assert.ok(await until(() => replies === 1), 'the session is open');
  const toServer: Uint8Array[] = [];
  l.serverLan.observe((p, from) => { if (from.endsWith('gateway') && p[0]! >> 4 === 6 && p[6] === 44) toServer.push(p.slice()); });
  const tooBig: Uint8Array[] = [];
  l.clientLan.observe((p, from) => { if (from.endsWith('gateway') && p[6] === 58 && p[40] === 2) tooBig.push(p.slice()); });
  const onPath: Uint8Array[] = [];
  l.wan.observe((p) => { if (p[6] === 44) onPath.push(p.slice()); });
  const payload = Uint8Array.from({ length: 3000 }, (_, i) => (i * 13) & 0xff);
  const p = buildUdp({ src: client.addressBytes, dst: l.servers[0]!.addressBytes, srcPort: 40000, dstPort: 7, payload });
  const buf = new Uint8Array(1500);
  for (const j of [0, 1, 2]) {
    const n = writeIpv6Fragment(p, 0, p.length, 1500, j, 0xabcdef01, buf, 0);
    client.transmit(buf.slice(0, n));
  }
  assert.ok(await until(() => toServer.length === 3), `fragments to the server: ${toServer.length}`);
  assert.ok(toServer.every((f) => f.length <= 1500 && f[40] === 17));
  assert.ok(Buffer.from(joined(toServer)).equals(p.subarray(40)), 'the UDP header and 3,000 bytes intact');
  assert.is(new Set(toServer.map((f) => readU32(f, 44))).size, 1, 'one id');
  assert.is(onPath.length, 3, 'IPv6 fragments of the SVR packet on the path');
  assert.ok(onPath.every((w) => w.length <= PATH_MTU));
  assert.equal([counter(l, 'r1', 'packets-reassembled'), counter(l, 'r1', 'packets-fragmented'), counter(l, 'r2', 'packets-reassembled'), counter(l, 'r2', 'lan-packets-fragmented')], [1, 1, 1, 1]);
  client.transmit(buildUdp({ src: client.addressBytes, dst: l.servers[0]!.addressBytes, srcPort: 40000, dstPort: 7, payload: payload.subarray(0, 1452) }));
  assert.ok(await until(() => tooBig.length === 1), 'packet too big for a whole IPv6 packet (unless-df)');
  assert.is(counter(l, 'r1', 'packets-fragmented'), 1);
  await sleep(50);
  for (const r of ['r1', 'r2'] as const) assert.is(unaccounted(l[r].counters()), 0, `${r}: every packet is accounted for`);
  await l.close();
});

test.run();
