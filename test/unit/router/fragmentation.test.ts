import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { CounterName } from '../../../src/dataplane/counter-names.js';
import type { Fragmentation, SvrConfig } from '../../../src/model/config.js';
import { buildUdp } from '../../../src/packet/build.js';
import { readU16 } from '../../../src/packet/checksum.js';
import { writeIpv4Fragment } from '../../../src/packet/ipv4-fragment.js';
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

test('a host that fragmented its 1800-byte datagram itself (LAN MTU 1500): r1 reassembles it, fragments the SVR packet for the path, the server gets it whole', async () => {
  const { l, got } = await lab();
  const p = datagram(1772, false);
  const buf = new Uint8Array(1500);
  for (const j of [1, 0]) {
    const n = writeIpv4Fragment(p, 0, p.length, 1500, j, 0x4242, buf, 0);
    l.clients[0]!.transmit(buf.slice(0, n));
  }
  assert.ok(await until(() => got.length === 1));
  assert.ok(Buffer.from(got[0]!).equals(p.subarray(28)));
  assert.equal([counter(l, 'r1', 'packets-reassembled'), counter(l, 'r1', 'packets-fragmented'), counter(l, 'r2', 'packets-reassembled')], [1, 1, 1]);
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

test.run();
