/**
 * UDP GSO out of a WAN TUN, on real devices (needs root, ip, tcpdump, ethtool; otherwise counted as skipped):
 *
 *   svrt-uso-<pid>-0 (A)                                         svrt-uso-<pid>-1 (B)
 *   [send: svrtu-out, offload + coalesceUdp] -> kernel -> ua 198.18.252.1 ─veth─ ub 198.18.252.2 -> kernel -> [recv: svrtu-in, offload]
 *   198.18.253.1:4000 -> 198.18.253.129:9 (A routes 198.18.253.128/25 via B, B into svrtu-in; tcpdump on ub)
 *
 * The sender writes 2,000 equal-length datagrams of one 5-tuple (SVR packets of a stream); the writer merges
 * runs into UDP_L4 super-packets. Where ua cannot carry them whole (checksum offload off, so no USO), the
 * kernel cuts them: the capture on ub must hold 2,000 ordinary datagrams with valid checksums, the sent
 * payloads in order and the ids the sender gave. With the veth's default offloads they cross whole and B's
 * offload TUN hands them to its reader as super-packets, which it cuts into the same datagrams. Every address
 * is in 198.18.0.0/15 and exists only in these namespaces, deleted by exact name.
 */
import * as assert from 'uvu/assert';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readCapture } from '../../../src/io/pcap.js';
import { PacketInfo, parsePacket, PROTO_UDP } from '../../../src/packet/ip.js';
import { readU16 } from '../../../src/packet/checksum.js';
import { inNetns, runNodeHelper } from '../../support/netns-helper.js';
import { requires } from '../../support/prerequisites.js';
import { checksumsValid } from '../../support/tun-offload-ref.js';
import { usoPayload } from '../../support/tun-uso.js';
import { waitFor } from '../../support/config.js';

const HELPER = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'support', 'tun-uso.js');
const COUNT = 2000;
const SIZE = 1400;

function run(cmd: string, ...args: string[]): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed: ${r.stderr}`);
  return r.stdout;
}

/** A: ua 198.18.252.1/30, forwarding, 198.18.253.128/25 via B. B: ub 198.18.252.2/30, forwarding. */
function link(a: string, b: string, segmentInA: boolean): void {
  run('ip', '-n', a, 'link', 'add', 'ua', 'type', 'veth', 'peer', 'name', 'ub', 'netns', b);
  run('ip', '-n', a, 'addr', 'add', '198.18.252.1/30', 'dev', 'ua');
  run('ip', '-n', b, 'addr', 'add', '198.18.252.2/30', 'dev', 'ub');
  for (const [ns, dev] of [[a, 'ua'], [b, 'ub']] as const) {
    run('ip', '-n', ns, 'link', 'set', dev, 'up');
    run('ip', 'netns', 'exec', ns, 'sysctl', '-q', '-w', 'net.ipv4.ip_forward=1', 'net.ipv4.conf.all.rp_filter=0', 'net.ipv4.conf.default.rp_filter=0', `net.ipv4.conf.${dev}.rp_filter=0`);
  }
  run('ip', '-n', a, 'route', 'add', '198.18.253.128/25', 'via', '198.18.252.2');
  // a device without checksum offload has no USO either: the kernel segments (and checksums) in software
  if (segmentInA) run('ip', 'netns', 'exec', a, 'ethtool', '-K', 'ua', 'tx', 'off');
}

interface Sent {
  sha256: string;
  stats: { txPackets: number; txDrops: number; txSuperPackets: number; txCoalesced: number; txRaw: number; txRing: number };
  lastError: string;
  ipOut: number;
}
interface Received {
  datagrams: number;
  sha256: string;
  maxLen: number;
  badIpChecksum: number;
  badUdpChecksum: number;
  idNotIndex: number;
  stats: { rxSuperPackets: number; rxSegments: number };
}

/** libpcap hands a partly filled ring block to tcpdump only after its 1 s timeout: wait until the capture stops growing. */
async function captureSettled(pcap: string): Promise<void> {
  let size = -1;
  let since = Date.now();
  while (Date.now() - since < 1_500) {
    const now = existsSync(pcap) ? statSync(pcap).size : 0;
    if (now !== size) [size, since] = [now, Date.now()];
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Runs recv in B, tcpdump on ub, send in A; returns both results and the capture's path. */
async function exchange(a: string, b: string, dir: string, reader: object = {}, send: object = {}): Promise<{ sent: Sent; got: Received; pcap: string }> {
  const pcap = join(dir, `ub-${Date.now()}.pcap`);
  const recv = runNodeHelper(HELPER, b, 'recv', { name: 'svrtu-in', route: '198.18.253.128/25', count: COUNT, ms: 20_000, ...reader });
  await waitFor('route into svrtu-in', () => spawnSync('ip', ['-n', b, 'route', 'show', '198.18.253.128/25'], { encoding: 'utf8' }).stdout.includes('svrtu-in'), 10_000);
  const log = join(dir, 'tcpdump.log');
  const dump = spawn('sh', ['-c', `exec ip netns exec ${b} tcpdump -ni ub -U -B 16384 -s 0 -w ${pcap} udp port 9 2>${log}`], { stdio: 'ignore' });
  try {
    await waitFor('tcpdump listening', () => existsSync(log) && readFileSync(log, 'utf8').includes('listening on'), 10_000);
    await new Promise((r) => setTimeout(r, 300));
    const sent = (await runNodeHelper(HELPER, a, 'send', { name: 'svrtu-out', count: COUNT, size: SIZE, batch: 64, ...send })).result as unknown as Sent;
    const got = (await recv).result as unknown as Received;
    await captureSettled(pcap);
    return { sent, got, pcap };
  } finally {
    dump.kill('SIGINT');
    await new Promise((r) => (dump.exitCode !== null ? r(null) : dump.on('exit', r)));
  }
}

function assertSent(sent: Sent): void {
  assert.is(sent.stats.txPackets, COUNT, `every datagram written (${sent.lastError})`);
  assert.is(sent.stats.txDrops, 0);
  assert.ok(sent.stats.txSuperPackets >= COUNT / 64, `written as super-packets: ${JSON.stringify(sent.stats)}`);
  assert.ok(sent.stats.txCoalesced >= COUNT * 0.9, `most datagrams merged: ${JSON.stringify(sent.stats)}`);
}

function assertReceived(got: Received, sent: Sent, what: string): void {
  assert.is(got.datagrams, COUNT, `${what}: datagrams B's TUN delivered`);
  assert.is(got.sha256, sent.sha256, `${what}: the payloads, in order`);
  assert.is(got.badIpChecksum, 0, what);
  assert.is(got.badUdpChecksum, 0, what);
  assert.is(got.idNotIndex, 0, `${what}: IPv4 ids as sent`);
  assert.is(got.maxLen, 20 + 8 + SIZE, what);
}

const test = requires(import.meta.url);

assert.ok(existsSync(HELPER), `${HELPER} missing: build with tsc first`);

test('a device without USO: the wire carries the original datagrams, checksums computed, in order', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'svrt-uso-'));
  try {
    await inNetns('uso', (a) => inNetns('uso', async (b) => {
      link(a, b, true);
      const { sent, got, pcap } = await exchange(a, b, dir);
      assertSent(sent);
      const pi = new PacketInfo();
      let n = 0;
      for (const rec of readCapture(pcap)) {
        const p = rec.ip;
        assert.ok(p !== null, 'an IP packet');
        assert.is(parsePacket(p, 0, p.length, pi), 0, `datagram ${n} parses`);
        assert.is(pi.protocol, PROTO_UDP);
        assert.is(p.length, 20 + 8 + SIZE, `datagram ${n}: an ordinary datagram, not a super-packet`);
        assert.ok(checksumsValid(p), `datagram ${n}: IPv4 and UDP checksums valid on the wire`);
        assert.is(readU16(p, 4), n, `datagram ${n}: IPv4 id`);
        assert.is(Buffer.from(p.subarray(pi.payload, pi.end)).equals(usoPayload(n, SIZE)), true, `datagram ${n}: payload`);
        n++;
      }
      assert.is(n, COUNT, 'datagrams in the capture on the wire');
      assertReceived(got, sent, 'segmented on the wire');
      assert.is(got.stats.rxSuperPackets, 0, 'B got plain datagrams');
    }));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('default veth offloads: super-packets cross whole and the receiving offload TUN cuts them into the same datagrams', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'svrt-uso-'));
  try {
    await inNetns('uso', (a) => inNetns('uso', async (b) => {
      link(a, b, false);
      const { sent, got, pcap } = await exchange(a, b, dir);
      assertSent(sent);
      let records = 0;
      let largest = 0;
      for (const rec of readCapture(pcap)) {
        records++;
        largest = Math.max(largest, rec.ip?.length ?? 0);
      }
      assert.ok(records < COUNT && largest > 1500, `the capture holds super-packets (${records} records, largest ${largest} B)`);
      assertReceived(got, sent, 'cut by the reader');
      assert.ok(got.stats.rxSuperPackets > 0 && got.stats.rxSegments >= COUNT * 0.9, `B read super-packets: ${JSON.stringify(got.stats)}`);
    }));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('poll mode, batches of 5: the rest of the last super-packet is delivered without waiting for another packet', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'svrt-uso-'));
  try {
    await inNetns('uso', (a) => inNetns('uso', async (b) => {
      link(a, b, false);
      // 2,000 datagrams in super-packets of up to 64: the last one's cut ends in a short batch after which
      // nothing makes the TUN readable again
      const { sent, got } = await exchange(a, b, dir, { reader: 'poll', batchSize: 5 });
      assertSent(sent);
      assertReceived(got, sent, 'cut by the polling reader');
      assert.ok(got.stats.rxSuperPackets > 0, `B read super-packets: ${JSON.stringify(got.stats)}`);
    }));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('raw sends on the WAN (rawSend): datagrams written alone reach the wire with the bytes of the forwarded TUN write, in order; none while the gate is closed', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'svrt-uso-'));
  try {
    await inNetns('uso', (a) => inNetns('uso', async (b) => {
      link(a, b, false);
      const wire = async (rawSend: boolean, gateClosed = false, firstNoDf = false): Promise<{ sent: Sent; packets: Buffer[] }> => {
        const { sent, got, pcap } = await exchange(a, b, dir, {}, { rawSend, gateClosed, alternate: true, firstNoDf });
        assertReceived(got, sent, rawSend ? 'raw sends' : 'TUN writes');
        assert.is(sent.stats.txPackets, COUNT, `every datagram written (${sent.lastError})`);
        return { sent, packets: [...readCapture(pcap)].map((r) => Buffer.from(r.ip!)) };
      };
      const tun = await wire(false);
      const raw = await wire(true);
      assert.is(tun.sent.stats.txRaw, 0, 'without rawSend: all TUN writes');
      // datagram 0 has IPv4 id 0 and DF, which the kernel keeps (the router's own control packets are such)
      assert.is(raw.sent.stats.txRaw, COUNT, `raw sends: ${JSON.stringify(raw.sent.stats)}`);
      assert.is(raw.packets.length, COUNT, 'datagrams on the wire');
      // id 0 without DF the kernel would replace: that datagram takes the TUN write, in its place
      const noDf = await wire(true, false, true);
      assert.is(noDf.sent.stats.txRaw, COUNT - 1, `raw sends, datagram 0 without DF: ${JSON.stringify(noDf.sent.stats)}`);
      assert.is(noDf.packets[0]![6], 0, 'datagram 0 without DF on the wire');
      assert.is(readU16(noDf.packets[0]!, 4), 0, 'datagram 0: IPv4 id 0 as written');
      // the egress shaper closes a shaped device's gate: its queues sit on the TUN's ingress, which raw sends pass by
      const gated = await wire(true, true);
      assert.is(gated.sent.stats.txRaw, 0, `rawSend with its gate closed: all TUN writes (${JSON.stringify(gated.sent.stats)})`);
      assert.is(tun.packets.length, COUNT);
      for (let i = 0; i < COUNT; i++) {
        assert.is(raw.packets[i]![8], 63, `datagram ${i}: the TTL lowered once, as forwarding does`);
        assert.ok(raw.packets[i]!.equals(tun.packets[i]!), `datagram ${i}: the same bytes as the forwarded TUN write`);
      }
    }));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('raw sends on the WAN: a datagram the raw send refuses mid-batch (bigger than the MTU) goes to the TUN, and it and the ones after it leave with the TTL lowered once', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'svrt-uso-'));
  try {
    await inNetns('uso', (a) => inNetns('uso', async (b) => {
      link(a, b, false);
      // every 50th datagram: 1,628 bytes without DF; the writer thread lowers the TTL in its ring before a sendmmsg
      // and must put it back on what the kernel did not take (that one, and the rest of its batch of 64)
      const { sent, pcap } = await exchange(a, b, dir, { ms: 3_000 }, { rawSend: true, alternate: true, oversize: 50 });
      assert.is(sent.stats.txPackets, COUNT, `every datagram written (${sent.lastError})`);
      assert.is(sent.stats.txRaw, COUNT - COUNT / 50, `the oversized ones took the TUN write: ${JSON.stringify(sent.stats)}`);
      const packets = [...readCapture(pcap)].map((r) => Buffer.from(r.ip!));
      // the capture sees the first fragment of an oversized datagram (the UDP header), not the rest
      assert.is(packets.length, COUNT, 'the datagrams and the oversized ones\' first fragments on the wire');
      for (let i = 0; i < COUNT; i++) {
        const p = packets[i]!;
        assert.is(readU16(p, 4), i, `packet ${i}: in order`);
        assert.is(p[8], 63, `packet ${i}: the TTL lowered once`);
        assert.is((p[6]! & 0x20) !== 0, i % 50 === 49, `packet ${i}: fragmented only when oversized`);
      }
    }));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('raw sends on the LAN (a LAN queue as a node opens it): packets written alone reach the end host wire with the bytes of the forwarded TUN write; SVR_LAN_RAW_SEND=0 writes them to the TUN', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'svrt-uso-'));
  try {
    await inNetns('uso', (a) => inNetns('uso', async (b) => {
      link(a, b, false);
      // a default route toward B: a multicast datagram sent raw would leave through ua, where the TUN write's
      // input route only delivers it locally (no multicast router): it must stay a TUN write
      run('ip', '-n', a, 'route', 'add', 'default', 'via', '198.18.252.2');
      const wire = async (lan: '0' | '1'): Promise<{ sent: Sent; packets: Buffer[] }> => {
        // one 5-tuple: a LAN queue merges no UDP (no coalesceUdp), so each datagram is written alone
        const { sent, got, pcap } = await exchange(a, b, dir, {}, { lan, multicastFirst: true });
        assertReceived(got, sent, `LAN queue, SVR_LAN_RAW_SEND=${lan}`);
        assert.is(sent.stats.txPackets, COUNT + 1, `every datagram written, the multicast one first (${sent.lastError})`);
        assert.is(sent.stats.txSuperPackets, 0, 'a LAN queue merges no UDP');
        return { sent, packets: [...readCapture(pcap)].map((r) => Buffer.from(r.ip!)) };
      };
      const raw = await wire('1');
      const tun = await wire('0');
      assert.is(raw.sent.stats.txRaw, COUNT, `a LAN queue sends raw: ${JSON.stringify(raw.sent.stats)}`);
      assert.is(tun.sent.stats.txRaw, 0, `SVR_LAN_RAW_SEND=0: all TUN writes (${JSON.stringify(tun.sent.stats)})`);
      assert.is(raw.packets.length, COUNT, 'on the wire: the unicast datagrams, not the multicast one');
      assert.is(tun.packets.length, COUNT);
      for (let i = 0; i < COUNT; i++) assert.ok(raw.packets[i]!.equals(tun.packets[i]!), `datagram ${i}: the same bytes as the forwarded TUN write`);
    }));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('frames to a next hop on the link: raw sends skip the output route once its neighbour is known, from the TX ring, the same bytes; an IPv4 netfilter table or SVR_LINK_SEND=0 keeps them raw IP sends', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'svrt-uso-'));
  try {
    await inNetns('uso', (a) => inNetns('uso', async (b) => {
      link(a, b, false);
      const wire = async (linkSend: '0' | '1'): Promise<{ sent: Sent; packets: Buffer[] }> => {
        const { sent, got, pcap } = await exchange(a, b, dir, {}, { rawSend: true, alternate: true, linkSend });
        assertReceived(got, sent, `SVR_LINK_SEND=${linkSend}`);
        assert.is(sent.stats.txRaw, COUNT, `all past the TUN (${JSON.stringify(sent.stats)}, ${sent.lastError})`);
        return { sent, packets: [...readCapture(pcap)].map((r) => Buffer.from(r.ip!)) };
      };
      // first without frames: the raw IP sends resolve the next hop's neighbour entry
      const ipSends = await wire('0');
      assert.ok(ipSends.sent.ipOut >= COUNT, `SVR_LINK_SEND=0: ${ipSends.sent.ipOut} packets through the output route`);
      const frames = await wire('1');
      // the first datagram reads the route and the neighbour and goes through them (their state machines see traffic)
      assert.ok(frames.sent.ipOut < 10, `frames: ${frames.sent.ipOut} packets through the output route`);
      // written into the packet socket's TX ring, one send(2) a batch (native/link-send.c)
      assert.ok(frames.sent.stats.txRing > COUNT - 10, `frames from the TX ring: ${JSON.stringify(frames.sent.stats)}`);
      assert.is(ipSends.sent.stats.txRing, 0, 'SVR_LINK_SEND=0: no frames');
      for (let i = 0; i < COUNT; i++) assert.ok(frames.packets[i]!.equals(ipSends.packets[i]!), `datagram ${i}: the same bytes as the raw IP send`);
      // a frame skips OUTPUT and POSTROUTING: with an IPv4 table in the namespace (here an empty one) none is sent
      run('ip', 'netns', 'exec', a, 'nft', 'add', 'table', 'ip', 'svrt_link');
      const filtered = await wire('1');
      assert.ok(filtered.sent.ipOut >= COUNT, `with an ip table: ${filtered.sent.ipOut} packets through the output route`);
      assert.is(filtered.sent.stats.txRing, 0, 'with an ip table: no frames');
    }));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
