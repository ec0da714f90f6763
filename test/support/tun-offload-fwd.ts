/**
 * Helpers for test/unit/io/tun-offload.test.ts, each run inside a namespace the test created
 * (`ip netns exec NS node dist/test/support/tun-offload-fwd.js MODE JSON`):
 *
 *   fwd    {inName, outName, mtu, table, offload}  opens two TunPorts, routes `table` (default) into inName,
 *          forwards every batch read from inName to outName unchanged. Checks each packet on the way:
 *          parses, IPv4 header and TCP/UDP checksums valid (verifyL4Checksum), length <= mtu. Prints
 *          `READY` once routed, and `RESULT <json>` (checks + port stats) on SIGTERM, then exits.
 *   server {addr, port}         TCP server: sha256 + byte count of one connection -> `RESULT <json>`
 *   client {addr, port, bytes}  TCP client: sends `bytes` deterministic pseudo-random bytes -> `RESULT <json>`
 */
import { createCipheriv, createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { runIp } from '../../src/io/tun/link.js';
import { TunPort } from '../../src/io/tun/tun-port.js';
import { fold, sumBytes } from '../../src/packet/checksum.js';
import { PacketInfo, parsePacket, PROTO_TCP, PROTO_UDP } from '../../src/packet/ip.js';
import { verifyL4Checksum } from '../../src/packet/rewrite.js';

type Json = Record<string, unknown>;

const print = (line: string): void => {
  process.stdout.write(`${line}\n`);
};

async function modeFwd(a: Json): Promise<void> {
  const mtu = Number(a.mtu);
  const offload = a.offload !== false;
  const inPort = TunPort.open({ name: String(a.inName), offload });
  const outPort = TunPort.open({ name: String(a.outName), offload });
  for (const dev of [inPort.name, outPort.name]) {
    try {
      writeFileSync(`/proc/sys/net/ipv6/conf/${dev}/disable_ipv6`, '1');
    } catch {
      // no IPv6 at all
    }
    writeFileSync(`/proc/sys/net/ipv4/conf/${dev}/rp_filter`, '0');
    await runIp(['link', 'set', 'dev', dev, 'mtu', String(mtu), 'txqueuelen', '4096', 'up']);
  }
  await runIp(['route', 'replace', 'default', 'dev', inPort.name, 'table', String(a.table)]);

  const pi = new PacketInfo();
  const check = { packets: 0, tcp: 0, maxLen: 0, overMtu: 0, unparsable: 0, badIpChecksum: 0, badL4Checksum: 0, batches: 0, maxBatch: 0 };
  inPort.start((data, offsets, lengths, count) => {
    check.batches++;
    if (count > check.maxBatch) check.maxBatch = count;
    for (let i = 0; i < count; i++) {
      const off = offsets[i]!;
      const len = lengths[i]!;
      check.packets++;
      if (len > check.maxLen) check.maxLen = len;
      if (len > mtu) check.overMtu++;
      if (parsePacket(data, off, len, pi) !== 0 || pi.end !== off + len) {
        check.unparsable++;
        continue;
      }
      if (pi.family === 4 && fold(sumBytes(data, off, (data[off]! & 15) * 4, 0)) !== 0xffff) check.badIpChecksum++;
      if (pi.protocol === PROTO_TCP) check.tcp++;
      if ((pi.protocol === PROTO_TCP || pi.protocol === PROTO_UDP) && !verifyL4Checksum(data, pi)) check.badL4Checksum++;
    }
    outPort.transmit(data, offsets, lengths, count);
  });
  process.on('SIGTERM', () => {
    // the writer thread counts a packet once it is written: wait (briefly) until it has caught up
    const deadline = Date.now() + 2000;
    const report = (): void => {
      const out = outPort.stats;
      if (out.txPackets + out.txDrops < check.packets && Date.now() < deadline) {
        setTimeout(report, 10);
        return;
      }
      print(`RESULT ${JSON.stringify({ check, in: inPort.stats, out, inDevice: inPort.device.stats, outDevice: outPort.device.stats, lastError: outPort.lastError, offloadFlags: inPort.device.offloadFlags })}`);
      inPort.close();
      outPort.close();
    };
    report();
  });
  print('READY');
}

/** A deterministic pseudo-random stream: AES-128-CTR over zeros with a fixed key. */
function stream(): (n: number) => Buffer {
  const c = createCipheriv('aes-128-ctr', Buffer.alloc(16, 7), Buffer.alloc(16, 0));
  return (n) => c.update(Buffer.alloc(n));
}

function modeServer(a: Json): void {
  const server = createServer((sock) => {
    const h = createHash('sha256');
    let bytes = 0;
    sock.on('data', (d: Buffer) => {
      h.update(d);
      bytes += d.length;
    });
    sock.on('end', () => {
      print(`RESULT ${JSON.stringify({ sha256: h.digest('hex'), bytes })}`);
      sock.end();
      server.close();
    });
  });
  server.listen(Number(a.port), String(a.addr), () => print('READY'));
}

function modeClient(a: Json): void {
  const total = Number(a.bytes);
  const next = stream();
  const h = createHash('sha256');
  const sock = connect(Number(a.port), String(a.addr));
  const t0 = Date.now();
  let sent = 0;
  const pump = (): void => {
    while (sent < total) {
      const chunk = next(Math.min(1 << 20, total - sent));
      h.update(chunk);
      sent += chunk.length;
      if (!sock.write(chunk)) {
        sock.once('drain', pump);
        return;
      }
    }
    sock.end();
  };
  sock.on('connect', pump);
  sock.on('error', (e) => {
    process.stderr.write(`client: ${e.message}\n`);
    process.exitCode = 1;
  });
  sock.on('close', () => print(`RESULT ${JSON.stringify({ sha256: h.digest('hex'), bytes: sent, ms: Date.now() - t0 })}`));
  sock.resume();
}

const mode = process.argv[2] ?? '';
const args = JSON.parse(process.argv[3] ?? '{}') as Json;
if (mode === 'fwd') {
  modeFwd(args).catch((e: unknown) => {
    process.stderr.write(`fwd failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    process.exit(1);
  });
} else if (mode === 'server') {
  modeServer(args);
} else if (mode === 'client') {
  modeClient(args);
} else {
  process.stderr.write('usage: tun-offload-fwd.js fwd|server|client JSON\n');
  process.exitCode = 2;
}
