/**
 * The WAN receive off the Ethernet device's ingress (SVR_WAN_PACKET_RX, src/node/wan-packet-rx.ts), on real devices
 * (needs root, ip, nft; otherwise counted as skipped):
 *
 *   svrt-wrx-<pid>-0 (A)                                          svrt-wrx-<pid>-1 (B), ip_forward 0
 *   [send: svrtu-out] -> kernel -> ua 198.18.252.1 ─veth─ ub 198.18.252.2 -> nft ingress fwd -> [recv: svrtu-in]
 *   198.18.253.1:4000 -> 198.18.253.129:9 (B's "waypoint" 198.18.253.129 routed into svrtu-in)
 *
 * B does not forward, so a datagram reaches B's TUN only through the ingress rule: 2,000 datagrams written one
 * by one must arrive in order, checksums valid, with the TTL the forwarding would have given them (64, -1 in A's
 * forwarding, -1 in B's rule). Without the rule none arrive; after stop() the table is gone; a table left by a
 * node killed (its TUN gone) is replaced at the next start. The packet ring (SVR_WAN_RX_RING): with B forwarding, every
 * datagram comes from the reader's ring once (the rule drops them before B's routing), with the same bytes; with two
 * devices, a full ring on the first does not keep the second's few datagrams (a path's BFD) waiting behind it.
 */
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Interface } from '../../../src/model/config.js';
import { WanPacketRx, ingressDevices, rxScript, tableName } from '../../../src/node/wan-packet-rx.js';
import { rxRingMaxLen } from '../../../src/io/tun/tun-device.js';
import { inNetns, runNodeHelper } from '../../support/netns-helper.js';
import { RING_FAIR_BATCH } from '../../support/ring-fair.js';
import { requires } from '../../support/prerequisites.js';
import { waitFor } from '../../support/config.js';

const HELPER = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'support', 'tun-uso.js');
const FAIR_HELPER = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'support', 'ring-fair.js');
const COUNT = 2000;
const WAYPOINT = '198.18.253.129';

function run(cmd: string, ...args: string[]): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed: ${r.stderr}`);
  return r.stdout;
}

/** A forwards into the veth; B has forwarding off, so only the ingress rule can bring a datagram to its TUN. */
function link(a: string, b: string): void {
  run('ip', '-n', a, 'link', 'add', 'ua', 'type', 'veth', 'peer', 'name', 'ub', 'netns', b);
  run('ip', '-n', a, 'addr', 'add', '198.18.252.1/30', 'dev', 'ua');
  run('ip', '-n', b, 'addr', 'add', '198.18.252.2/30', 'dev', 'ub');
  for (const [ns, dev] of [[a, 'ua'], [b, 'ub']] as const) run('ip', '-n', ns, 'link', 'set', dev, 'up');
  run('ip', 'netns', 'exec', a, 'sysctl', '-q', '-w', 'net.ipv4.ip_forward=1');
  run('ip', 'netns', 'exec', b, 'sysctl', '-q', '-w', 'net.ipv4.ip_forward=0');
  run('ip', '-n', a, 'route', 'add', '198.18.253.128/25', 'via', '198.18.252.2');
}

const wan = { name: 'wan0', kind: 'wan', device: 'svrtu-in', waypoint: WAYPOINT } as Interface;
const silent = (): void => {};

interface Received {
  datagrams: number;
  sha256: string;
  badIpChecksum: number;
  badUdpChecksum: number;
  idNotIndex: number;
  ttlMin: number;
  ttlMax: number;
  device: { rxPackets: number; rxRing: number };
}

/** B reads svrtu-in (its waypoint routed there), `between` runs once it is up, then A sends COUNT datagrams written alone. */
async function exchange(a: string, b: string, between: () => Promise<void>, ms = 20_000, ring = false): Promise<{ sha256: string; got: Received }> {
  const recv = runNodeHelper(HELPER, b, 'recv', { name: 'svrtu-in', route: `${WAYPOINT}/32`, count: COUNT, ms, ...(ring ? { ring: WAYPOINT } : {}) });
  await waitFor('route into svrtu-in', () => run('ip', '-n', b, 'route', 'show', `${WAYPOINT}/32`).includes('svrtu-in'), 10_000);
  await between();
  const sent = (await runNodeHelper(HELPER, a, 'send', { name: 'svrtu-out', count: COUNT, size: 1400, batch: 64, alternate: true })).result as { sha256: string };
  return { sha256: sent.sha256, got: (await recv).result as unknown as Received };
}

function tables(b: string): string {
  return run('ip', 'netns', 'exec', b, 'nft', 'list', 'tables');
}

const test = requires(import.meta.url);

test('the ingress devices are the Ethernet links, not IFBs or TUNs; the script replaces the table whole', () => {
  assert.equal(ingressDevices([
    { ifname: 'lo', link_type: 'loopback' }, { ifname: 'eth0', link_type: 'ether', linkinfo: { info_kind: 'veth' } },
    { ifname: 'svr-wan0', link_type: 'none', linkinfo: { info_kind: 'tun' } }, { ifname: 'ifb-x', link_type: 'ether', linkinfo: { info_kind: 'ifb' } },
  ]), ['eth0']);
  assert.is(tableName('svr-wan0'), 'svr_rx_svr_wan0');
  const s = rxScript({ device: 'svr-wan0', waypoint: '2001:db8::1' }, ['eth0']);
  assert.ok(s.startsWith('table netdev svr_rx_svr_wan0 {}\ndelete table netdev svr_rx_svr_wan0\n'), s);
  assert.match(s, 'ip6 daddr 2001:db8::1 ip6 hoplimit > 1 counter fwd ip6 to 2001:db8::1 device "svr-wan0"');
});

test('forwarding off: nothing reaches the TUN without the ingress rule', async () => {
  await inNetns('wrx', (a) => inNetns('wrx', async (b) => {
    link(a, b);
    const { got } = await exchange(a, b, async () => {}, 3_000);
    assert.is(got.datagrams, 0, 'B does not forward');
  }));
});

test('with the ingress rule every datagram reaches the TUN in order, TTL lowered as forwarding does; stop() removes the table', async () => {
  await inNetns('wrx', (a) => inNetns('wrx', async (b) => {
    link(a, b);
    let rx: WanPacketRx | undefined;
    const { sha256, got } = await exchange(a, b, async () => {
      rx = await WanPacketRx.start([wan], silent, b);
    });
    assert.is(got.datagrams, COUNT, 'datagrams through the ingress rule');
    assert.is(got.sha256, sha256, 'the payloads, in order');
    assert.is(got.badIpChecksum + got.badUdpChecksum, 0, 'checksums');
    assert.is(got.idNotIndex, 0, 'IPv4 ids as sent');
    assert.is(got.ttlMin, 62, 'TTL 64, -1 in A, -1 in B');
    assert.is(got.ttlMax, 62);
    assert.ok(tables(b).includes(tableName('svrtu-in')), 'the table while running');
    await rx!.stop();
    await rx!.stop();
    assert.not.ok(tables(b).includes(tableName('svrtu-in')), 'no table after stop()');
  }));
});

test('the packet ring: every datagram once, from the ring, in order, TTL lowered as forwarding does', async () => {
  await inNetns('wrx', (a) => inNetns('wrx', async (b) => {
    link(a, b);
    run('ip', 'netns', 'exec', b, 'sysctl', '-q', '-w', 'net.ipv4.ip_forward=1'); // the kernel would forward them too
    const { sha256, got } = await exchange(a, b, async () => {}, 20_000, true); // reads 1 s after the last: a duplicate would show
    assert.is(got.datagrams, COUNT, 'datagrams through the ring');
    assert.is(got.device.rxRing, COUNT, 'all from the ring');
    assert.is(got.device.rxPackets, COUNT, 'none also forwarded into the TUN');
    assert.is(got.sha256, sha256, 'the payloads, in order');
    assert.is(got.badIpChecksum + got.badUdpChecksum, 0, 'checksums');
    assert.is(got.idNotIndex, 0, 'IPv4 ids as sent');
    assert.is(got.ttlMin, 62, 'TTL 64, -1 in A, -1 by the ring reader');
    assert.is(got.ttlMax, 62);
    assert.match(tables(b), tableName('svrtu-in'));
    assert.match(run('ip', 'netns', 'exec', b, 'nft', 'list', 'table', 'netdev', tableName('svrtu-in')), `meta length <= ${rxRingMaxLen()} `, 'the bound is the addon\'s');
  }));
});

/** A's two veths into B (ub0 first: the ring's first device), its neighbours static; from 198.18.252.5 through ub1. */
function twoLinks(a: string, b: string): void {
  for (const [i, net] of [[0, 0], [1, 4]] as const) {
    const [ma, mb] = [`02:00:00:00:0${i}:01`, `02:00:00:00:0${i}:02`];
    run('ip', '-n', a, 'link', 'add', `ua${i}`, 'address', ma, 'type', 'veth', 'peer', 'name', `ub${i}`, 'address', mb, 'netns', b);
    run('ip', '-n', a, 'addr', 'add', `198.18.252.${net + 1}/30`, 'dev', `ua${i}`);
    run('ip', '-n', b, 'addr', 'add', `198.18.252.${net + 2}/30`, 'dev', `ub${i}`);
    for (const [ns, dev] of [[a, `ua${i}`], [b, `ub${i}`]] as const) run('ip', '-n', ns, 'link', 'set', dev, 'up');
    run('ip', '-n', a, 'neigh', 'replace', `198.18.252.${net + 2}`, 'lladdr', mb, 'dev', `ua${i}`, 'nud', 'permanent');
  }
  run('ip', '-n', a, 'route', 'add', '198.18.253.128/25', 'via', '198.18.252.2');
  run('ip', '-n', a, 'rule', 'add', 'from', '198.18.252.5', 'lookup', '100');
  run('ip', '-n', a, 'route', 'add', '198.18.253.128/25', 'via', '198.18.252.6', 'table', '100');
}

test('a start deletes the table a killed node left for its waypoint on a device since renamed, not another waypoint\'s; no ring: says why', async () => {
  await inNetns('wrx', (a) => inNetns('wrx', async (b) => {
    link(a, b);
    const write = (device: string, waypoint: string): void => {
      const r = spawnSync('ip', ['netns', 'exec', b, 'nft', '-f', '-'], { input: rxScript({ device, waypoint }, ['ub'], 1952), encoding: 'utf8' });
      assert.is(r.status, 0, r.stderr);
    };
    write('svrtu-old', WAYPOINT); // a killed node's drop rule: the kernel would never forward WAYPOINT's packets again
    write('svrtu-else', '198.18.253.200');
    const events: string[] = [];
    await WanPacketRx.start([wan], (e, f) => events.push(`${e} ${f.reason}`), b, 'a router pair', false);
    assert.not.ok(tables(b).includes(tableName('svrtu-old')), 'the stale table is gone');
    assert.ok(tables(b).includes(tableName('svrtu-else')), 'another waypoint\'s stays');
    assert.equal(events, ['wan-rx.off packet ring: a router pair']);
  }));
});

test('the packet ring on two devices: a full first ring does not keep the second\'s datagrams waiting', async () => {
  await inNetns('wrx', (a) => inNetns('wrx', async (b) => {
    twoLinks(a, b);
    // B's reader takes while its JS thread is blocked until its buffers are full, then stops: the flood fills
    // ub0's ring (1,024 frames, the rest dropped), then 5 datagrams come into ub1's
    const got = (await runNodeHelper(FAIR_HELPER, b, 'recv', { name: 'svrtu-in', sender: a, flood: 1500, trickle: 5, ms: 2_000 })).result as {
      flood: number; trickle: number; floodBefore: number[]; events: string[]; device: { rxRing: number };
    };
    assert.match(got.events.join('\n'), /wan-rx\.on .*"ingress":"ub0,ub1","via":"ring"/);
    assert.is(got.trickle, 5, 'the second device\'s datagrams');
    assert.ok(got.flood >= 800, `the first ring was full: ${got.flood} flood datagrams`);
    assert.is(got.device.rxRing, got.flood + got.trickle, 'all from the rings');
    // before them: the reader's 4 buffers taken before it stopped, then at most 1 take of the first ring
    // (each take starts at the next ring); a first-ring bias takes all of the first ring first
    const takes = Math.max(...got.floodBefore) / RING_FAIR_BATCH;
    assert.ok(takes <= 4 + 1 + 5, `flood datagrams before the second device's: ${got.floodBefore.join(',')} (${takes} batches)`);
  }));
});

test('a table left by a killed node (its TUN gone) is replaced at the next start', async () => {
  await inNetns('wrx', (a) => inNetns('wrx', async (b) => {
    link(a, b);
    const first = await exchange(a, b, async () => {
      await WanPacketRx.start([wan], silent, b); // never stopped: the helper's TUN goes, the table stays
    });
    assert.is(first.got.datagrams, COUNT);
    const second = await exchange(a, b, async () => {
      await WanPacketRx.start([wan], silent, b);
    });
    assert.is(second.got.datagrams, COUNT, 'the new TUN gets them');
    assert.is(second.got.sha256, second.sha256);
  }));
});

test.run();
