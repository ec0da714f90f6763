import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { MemoryLink } from '../../../src/io/memory/link.js';
import type { PacketPort } from '../../../src/dataplane/port.js';
import { parseAddress } from '../../../src/packet/addr.js';
import { PacketInfo, ParseError, parsePacket } from '../../../src/packet/ip.js';
import { setAddresses, setPorts } from '../../../src/packet/rewrite.js';
import { SimHost } from '../../../src/sim/host.js';
import { pseudoRandomBytes, sha256 } from './setup.js';

const ip = (s: string): Uint8Array => parseAddress(s)!.bytes;

/** Forwards packets from `from` to `to`, rewriting addresses and ports in place (incremental checksums). */
function relay(from: PacketPort, to: MemoryLink['a'], rewrite: (pkt: Uint8Array, pi: PacketInfo) => void): void {
  const pi = new PacketInfo();
  from.start((data, offsets, lengths, count) => {
    for (let i = 0; i < count; i++) {
      const pkt = data.slice(offsets[i]!, offsets[i]! + lengths[i]!);
      if (parsePacket(pkt, 0, pkt.length, pi) !== ParseError.None) continue;
      rewrite(pkt, pi);
      to.send(pkt);
    }
  });
}

test('TCP survives a middlebox that rewrites addresses and ports both ways (like a router)', async () => {
  // client 10.0.0.1 talks to the public 198.51.100.99:80; the box maps it to server 192.168.0.2:8080
  // and hides the client behind 198.51.100.1 with the port shifted by 1000
  const inside = new MemoryLink('inside');
  const outside = new MemoryLink('outside');
  const client = new SimHost({ address: '10.0.0.1', port: inside.a });
  const server = new SimHost({ address: '192.168.0.2', port: outside.b });
  relay(inside.b, outside.a, (pkt, pi) => {
    setAddresses(pkt, pi, ip('198.51.100.1'), 0, ip('192.168.0.2'), 0);
    setPorts(pkt, pi, pi.srcPort + 1000, 8080);
  });
  relay(outside.a, inside.b, (pkt, pi) => {
    setAddresses(pkt, pi, ip('198.51.100.99'), 0, ip('10.0.0.1'), 0);
    setPorts(pkt, pi, 80, pi.dstPort - 1000);
  });
  try {
    const seen: Array<[string, number]> = [];
    server.tcpListen(8080, (conn) => {
      seen.push([conn.remoteAddress, conn.remotePort]);
      conn.on('data', (d) => conn.write(d));
      conn.on('end', () => conn.end());
    });
    const conn = await client.tcpConnect('198.51.100.99', 80, { srcPort: 40000 });
    const data = pseudoRandomBytes(300_000, 21);
    const back = conn.readAll();
    conn.write(data);
    conn.end();
    assert.is(sha256(await back), sha256(data));
    assert.equal(seen, [['198.51.100.1', 41000]]);
    assert.is(client.stats.badChecksum + server.stats.badChecksum, 0, 'incremental checksum updates are exact');
  } finally {
    client.close();
    server.close();
    inside.close();
    outside.close();
  }
});

test.run();
