/**
 * Helpers for test/unit/io/tun-uso.test.ts, each run inside a namespace the test created
 * (`ip netns exec NS node dist/test/support/tun-uso.js MODE JSON`):
 *
 *   send {name, count, size, batch[, rawSend, gateClosed, alternate, firstNoDf, lan, linkSend]}  opens TUN `name` as a WAN queue (offload +
 *        coalesceUdp, and rawSend when given, with its raw-send gate closed with gateClosed; with `lan` ('1' or '0', the
 *        SVR_LAN_RAW_SEND it sets) as a node opens a LAN queue: host-setup.ts's tunOptions), brings it up and writes
 *        `count` UDP datagrams 198.18.253.1:4000 -> 198.18.253.129:9 (with `multicastFirst` one to 239.1.2.3:9 before them)
 *        of `size` payload bytes (payload i is deterministic, IPv4 id i, DF; with `alternate` from port 4000 + i % 2,
 *        so that no two in a row merge and each is written alone, as TCP on the wire is; with `firstNoDf` datagram 0,
 *        id 0, without DF; with `oversize` k every k-th datagram, i % k === k - 1, carries 1,600 payload bytes without DF:
 *        bigger than the device's MTU, which the raw send refuses and the TUN write's forwarding fragments) in writeBatch calls of
 *        `batch` (`linkSend`: the SVR_LINK_SEND it sets); closes (the writer thread flushes) and prints `RESULT <json>`:
 *        the device's tx counters, the sha256 of the payloads in order and `ipOut`, the namespace's IPv4 packets sent
 *        through the output route meanwhile (/proc/net/snmp OutTransmits: raw IP sends count, frames do not).
 *   recv {name, route, count, ms[, ring]}    opens TUN `name` with offload (as a WAN queue reads), with `ring` (a
 *        waypoint) takes that waypoint's packets from a packet ring with the ingress rule that drops them
 *        (src/node/wan-packet-rx.ts), routes `route` into it (the test waits for that route), then reads until `count` datagrams (with
 *        `ring` 1 s more) or `ms` from the route passed and prints
 *        `RESULT <json>`: how many,
 *        the sha256 of their UDP payloads in order, the largest, how many had a bad IPv4 or UDP checksum or an
 *        IPv4 id other than their index, the lowest and highest TTL, and the device's rx counters (super-packets read,
 *        segments made).
 */
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { runIp } from '../../src/io/tun/link.js';
import { TunPort } from '../../src/io/tun/tun-port.js';
import { RawSendGates } from '../../src/io/tun/raw-send-gates.js';
import { tunOptions } from '../../src/node/host-setup.js';
import { type RingAttach, WanPacketRx } from '../../src/node/wan-packet-rx.js';
import { rxRingMaxLen } from '../../src/io/tun/tun-device.js';
import type { Interface } from '../../src/model/config.js';
import { fold, readU16, sumBytes } from '../../src/packet/checksum.js';
import { buildUdp } from '../../src/packet/build.js';
import { PacketInfo, parsePacket, PROTO_UDP } from '../../src/packet/ip.js';
import { fillIpv4HeaderChecksum, verifyL4Checksum } from '../../src/packet/rewrite.js';

type Json = Record<string, unknown>;

export const USO_SRC = Uint8Array.of(198, 18, 253, 1);
export const USO_DST = Uint8Array.of(198, 18, 253, 129);

const print = (line: string): void => {
  process.stdout.write(`${line}\n`);
};

/** Payload i: `size` bytes that differ per datagram. */
export function usoPayload(i: number, size: number): Uint8Array {
  const b = new Uint8Array(size);
  for (let k = 0; k < size; k++) b[k] = (i * 31 + k * 7) & 0xff;
  return b;
}

/** The packet ring of `port`'s reader, as a node attaches it. */
export function ringOf(port: TunPort): RingAttach {
  return { maxLen: rxRingMaxLen(), open: (i, ix) => port.device.takeFromRing(ix, i.waypoint ?? '') };
}

async function up(name: string): Promise<void> {
  try {
    writeFileSync(`/proc/sys/net/ipv6/conf/${name}/disable_ipv6`, '1');
  } catch {
    // no IPv6 at all
  }
  writeFileSync(`/proc/sys/net/ipv4/conf/${name}/rp_filter`, '0');
  await runIp(['link', 'set', 'dev', name, 'mtu', '1500', 'txqueuelen', '4096', 'up']);
}

/** The namespace's Ip OutTransmits (/proc/net/snmp): packets through ip_output, which a raw IP send takes and a frame does not. */
function ipOutTransmits(): number {
  const [names, values] = readFileSync('/proc/net/snmp', 'utf8').split('\n').filter((l) => l.startsWith('Ip: '));
  return Number(values!.split(' ')[names!.split(' ').indexOf('OutTransmits')]);
}

async function modeSend(a: Json): Promise<void> {
  const count = Number(a.count);
  const size = Number(a.size);
  const batch = Number(a.batch);
  const gates = new RawSendGates();
  if (a.gateClosed === true) gates.close(String(a.name));
  if (typeof a.lan === 'string') process.env['SVR_LAN_RAW_SEND'] = a.lan;
  if (typeof a.linkSend === 'string') process.env['SVR_LINK_SEND'] = a.linkSend;
  const ipOut0 = ipOutTransmits();
  const port = TunPort.open(typeof a.lan === 'string'
    ? { name: String(a.name), ...tunOptions({ kind: 'lan', device: String(a.name) }, gates) }
    : { name: String(a.name), offload: true, coalesceUdp: true, rawSend: a.rawSend === true, rawSendGate: gates.of(String(a.name)) });
  await up(port.name);
  const hash = createHash('sha256');
  const data = new Uint8Array(batch * 2048);
  const offsets = new Uint32Array(batch);
  const lengths = new Uint32Array(batch);
  if (a.multicastFirst === true) { // not counted nor hashed: the receiver must not see it
    const p = buildUdp({ src: USO_SRC, dst: Uint8Array.of(239, 1, 2, 3), srcPort: 4000, dstPort: 9, id: 0xffff, payload: new Uint8Array(size) });
    port.transmit(p, Uint32Array.of(0), Uint32Array.of(p.length), 1);
  }
  for (let i = 0; i < count; ) {
    let n = 0;
    for (; n < batch && i < count; n++, i++) {
      const big = typeof a.oversize === 'number' && i % a.oversize === a.oversize - 1;
      const payload = usoPayload(i, big ? 1600 : size);
      hash.update(payload);
      const p = buildUdp({ src: USO_SRC, dst: USO_DST, srcPort: a.alternate === true ? 4000 + (i % 2) : 4000, dstPort: 9, id: i & 0xffff, payload });
      if ((i === 0 && a.firstNoDf === true) || big) {
        p[6] = 0;
        fillIpv4HeaderChecksum(p, 0);
      }
      offsets[n] = n * 2048;
      lengths[n] = p.length;
      data.set(p, n * 2048);
    }
    port.transmit(data, offsets, lengths, n);
  }
  port.close(); // the writer thread writes what is queued first
  print(`RESULT ${JSON.stringify({ sha256: hash.digest('hex'), stats: port.stats, lastError: port.lastError, ipOut: ipOutTransmits() - ipOut0 })}`);
}

async function modeRecv(a: Json): Promise<void> {
  const count = Number(a.count);
  const port = TunPort.open({
    name: String(a.name),
    offload: true,
    ...(a.reader === 'poll' ? { reader: 'poll' as const } : {}),
    ...(a.batchSize !== undefined ? { batchSize: Number(a.batchSize) } : {}),
  });
  await up(port.name);
  const hash = createHash('sha256');
  const pi = new PacketInfo();
  const got = { datagrams: 0, maxLen: 0, badIpChecksum: 0, badUdpChecksum: 0, idNotIndex: 0, other: 0, ttlMin: 255, ttlMax: 0 };
  let deadline: NodeJS.Timeout | undefined;
  let done = false;
  const finish = (): void => {
    if (done) return;
    done = true;
    if (deadline !== undefined) clearTimeout(deadline);
    print(`RESULT ${JSON.stringify({ ...got, sha256: hash.digest('hex'), stats: port.stats, device: port.device.stats })}`);
    port.close();
  };
  port.start((data, offsets, lengths, n) => {
    for (let i = 0; i < n && !done; i++) {
      const off = offsets[i]!;
      const len = lengths[i]!;
      if (parsePacket(data, off, len, pi) !== 0 || pi.protocol !== PROTO_UDP || pi.dstPort !== 9) {
        got.other++;
        continue;
      }
      if (fold(sumBytes(data, off, 20, 0)) !== 0xffff) got.badIpChecksum++;
      if (!verifyL4Checksum(data, pi)) got.badUdpChecksum++;
      if (readU16(data, off + 4) !== (got.datagrams & 0xffff)) got.idNotIndex++;
      if (len > got.maxLen) got.maxLen = len;
      got.ttlMin = Math.min(got.ttlMin, data[off + 8]!);
      got.ttlMax = Math.max(got.ttlMax, data[off + 8]!);
      hash.update(data.subarray(pi.payload, pi.end));
      if (++got.datagrams === count) setTimeout(finish, a.ring === undefined ? 0 : 1000); // ring: 1 s more (a duplicate shows)
    }
  });
  if (a.ring !== undefined) {
    const wan = { name: 'wan0', kind: 'wan', device: port.name, waypoint: String(a.ring) } as Interface;
    await WanPacketRx.start([wan], (e, f) => process.stderr.write(`${e} ${JSON.stringify(f)}\n`), undefined, ringOf(port), false);
  }
  await runIp(['route', 'replace', String(a.route), 'dev', port.name]);
  deadline = setTimeout(finish, Number(a.ms)); // from the route on: the sender waits for it (the ring's nft calls took seconds at load 22)
}

/** Runs `MODE JSON` of argv when the helper at `url` is the script (a test imports from it too); exits 1 on an error. */
export function runHelperModes(url: string, modes: Record<string, (a: Json) => Promise<void>>): void {
  if (process.argv[1] !== fileURLToPath(url)) return;
  const [mode, arg] = process.argv.slice(2);
  const run = modes[mode ?? ''];
  (run === undefined ? Promise.reject(new Error(`unknown mode ${mode}`)) : run(JSON.parse(arg ?? '{}') as Json)).catch((e: unknown) => {
    process.stderr.write(`${e instanceof Error ? e.stack : String(e)}\n`);
    process.exit(1);
  });
}

runHelperModes(import.meta.url, { send: modeSend, recv: modeRecv });
