/**
 * What crosses the r1-r2 veth (svrouter): is the payload encrypted, and what MSS do the SYNs carry? A random
 * 16-byte marker goes through the path twice while tcpdump captures on r1's side of the veth: in 5 UDP pings
 * to the echo, and repeated through a 64 kB TCP stream to the TCP sink (full-size segments, so the stream
 * also shows that TCP fits the WAN MTU). The marker in the capture means the payload crossed in clear: it
 * must for HMAC only and must not when the service encrypts (the run checks both ways, so a check that
 * captured nothing cannot pass). From the TCP capture: the MSS options of the SYN and SYN-ACK as they
 * crossed (MSS clamping; a TCP session carried as UDP, udp-transform, has its TCP header behind the UDP header
 * and the SVR metadata) and the largest IP packet seen.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readCapture } from '../src/io/pcap.js';
import { readU16 } from '../src/packet/checksum.js';
import { PacketInfo, parsePacket, PROTO_TCP, PROTO_UDP, TCP_ACK, TCP_SYN } from '../src/packet/ip.js';
import { MetaError, MetadataView, scanMetadata } from '../src/packet/svr-metadata.js';
import { findMssOption, readTcpMss } from '../src/packet/tcp-mss.js';
import { runIn, sleep, spawnIn, stop, waitForLine } from './exec.js';
import { ping } from './measure.js';
import type { PayloadCheck } from './results.js';
import { TCP_SINK_PORT } from './svr-config.js';
import { DEV, NS, SERVER } from './topology.js';

const TCP_CLIENT = fileURLToPath(new URL('./tcp-marked.js', import.meta.url));
/** bytes of the marked TCP stream: dozens of full-size segments */
const TCP_BYTES = 65_536;

/** Captures on r1-r2 while `traffic` runs; returns the pcap path and tcpdump's packet count. */
async function capture(dir: string, name: string, traffic: () => Promise<void>): Promise<{ file: string; packets: number }> {
  const file = join(dir, `${name}-wan.pcap`);
  const p = spawnIn(NS.r1, `tcpdump-${name}`, 'tcpdump', ['-ni', DEV.r1Wan, '--immediate-mode', '-Z', 'root', '-U', '-s', '0', '-w', file, 'tcp or udp'], join(dir, `${name}-tcpdump.log`));
  await waitForLine(p, /listening on/, 10_000);
  await sleep(500); // "listening on" comes slightly before the capture really runs
  try {
    await traffic();
    await sleep(500);
  } finally {
    await stop(p, 3000, 'SIGINT');
  }
  return { file, packets: Number(/(\d+) packets? captured/.exec(readFileSync(p.log, 'utf8'))?.[1] ?? NaN) };
}

export async function checkUdpPayload(dir: string, name: string): Promise<PayloadCheck> {
  const marker = randomBytes(16);
  const c = await capture(dir, `${name}-udp`, async () => { await ping(5, 0, ['--marker', marker.toString('hex')], 1000); });
  return { protocol: 'udp', payloadSeenInClear: readFileSync(c.file).includes(marker), packetsCaptured: c.packets, largestPacket: largest(c.file) };
}

export async function checkTcpPayload(dir: string, name: string): Promise<PayloadCheck> {
  const marker = randomBytes(16);
  let sink = { sent: TCP_BYTES, received: -1 };
  const c = await capture(dir, `${name}-tcp`, async () => {
    const { stdout } = await runIn(NS.client, process.execPath, [TCP_CLIENT, '--host', SERVER, '--port', String(TCP_SINK_PORT), '--marker', marker.toString('hex'), '--bytes', String(TCP_BYTES)], 20_000);
    sink = JSON.parse(stdout) as typeof sink;
  });
  const syn = synMss(c.file);
  return {
    protocol: 'tcp', payloadSeenInClear: readFileSync(c.file).includes(marker), packetsCaptured: c.packets, largestPacket: largest(c.file),
    streamBytes: sink.sent, deliveredBytes: sink.received, ...syn,
  };
}

/** The largest IP packet in a capture. */
function largest(file: string): number {
  let max = 0;
  for (const rec of readCapture(file)) if (rec.ip !== null) max = Math.max(max, rec.ip.length);
  return max;
}

/**
 * A TCP SYN carried as UDP (docs/wan.md "UDP transform"): the UDP payload is SVR metadata, then the TCP header.
 * Its flags and MSS option, or undefined when the datagram is not that.
 */
function transformedSyn(ip: Uint8Array, pi: PacketInfo, meta: MetadataView): { flags: number; mss: number } | undefined {
  if (scanMetadata(ip, pi.payload, pi.payloadLength, meta) !== MetaError.None) return undefined;
  const tcp = pi.payload + meta.total;
  if (tcp + 20 > pi.end) return undefined;
  const end = tcp + (ip[tcp + 12]! >> 4) * 4;
  const flags = ip[tcp + 13]!;
  if (end < tcp + 20 || end > pi.end || (flags & TCP_SYN) === 0) return undefined;
  const at = findMssOption(ip, tcp + 20, end);
  return { flags, mss: at < 0 ? -1 : readU16(ip, at) };
}

/** MSS options of the first SYN and SYN-ACK in a capture (-1: none seen, or no option). */
export function synMss(file: string): { synMss: number; synAckMss: number } {
  const pi = new PacketInfo();
  const meta = new MetadataView();
  const out = { synMss: -1, synAckMss: -1 };
  for (const rec of readCapture(file)) {
    if (rec.ip === null || parsePacket(rec.ip, 0, rec.ip.length, pi) !== 0) continue;
    let syn: { flags: number; mss: number } | undefined;
    if (pi.protocol === PROTO_TCP) syn = { flags: pi.tcpFlags, mss: readTcpMss(rec.ip, pi) };
    else if (pi.protocol === PROTO_UDP) syn = transformedSyn(rec.ip, pi, meta);
    if (syn === undefined) continue;
    const kind = syn.flags & (TCP_SYN | TCP_ACK);
    if (kind === TCP_SYN && out.synMss < 0) out.synMss = syn.mss;
    else if (kind === (TCP_SYN | TCP_ACK) && out.synAckMss < 0) out.synAckMss = syn.mss;
  }
  return out;
}
