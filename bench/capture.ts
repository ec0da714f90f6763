/**
 * What crosses the r1-r2 veth (svrouter): is the payload encrypted, and what MSS do the SYNs carry? A random
 * 16-byte marker goes through the path twice while tcpdump captures on r1's side of the veth: in 5 UDP pings
 * to the echo, and repeated through a 64 kB TCP stream to the TCP sink (full-size segments, so the stream
 * also shows that TCP fits the WAN MTU). The marker in the capture means the payload crossed in clear: it
 * must for HMAC only and must not when the service encrypts (the run checks both ways, so a check that
 * captured nothing cannot pass). From the TCP capture: the MSS options of the SYN and SYN-ACK as they
 * crossed (MSS clamping) and the largest IP packet seen.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readCapture } from '../src/io/pcap.js';
import { PacketInfo, parsePacket, PROTO_TCP, TCP_ACK, TCP_SYN } from '../src/packet/ip.js';
import { readTcpMss } from '../src/packet/tcp-mss.js';
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

/** MSS options of the first SYN and SYN-ACK in a capture (-1: none seen, or no option). */
function synMss(file: string): { synMss: number; synAckMss: number } {
  const pi = new PacketInfo();
  const out = { synMss: -1, synAckMss: -1 };
  for (const rec of readCapture(file)) {
    if (rec.ip === null || parsePacket(rec.ip, 0, rec.ip.length, pi) !== 0 || pi.protocol !== PROTO_TCP) continue;
    const kind = pi.tcpFlags & (TCP_SYN | TCP_ACK);
    if (kind === TCP_SYN && out.synMss < 0) out.synMss = readTcpMss(rec.ip, pi);
    else if (kind === (TCP_SYN | TCP_ACK) && out.synAckMss < 0) out.synAckMss = readTcpMss(rec.ip, pi);
  }
  return out;
}
