import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { PacketInfo, parsePacket } from '../../../src/packet/ip.js';
import type { TcpConnection } from '../../../src/sim/tcp.js';
import { hostPair, pseudoRandomBytes, sha256 } from './setup.js';

test('TCP between IPv6 hosts: echo server, 100 KB, addresses in canonical form', async () => {
  const { link, a, b, close } = hostPair('2001:DB8:1:0::10', '2001:db8:2::20');
  try {
    let versions = new Set<number>();
    const pi = new PacketInfo();
    link.observe((p) => { parsePacket(p, 0, p.length, pi); versions.add(pi.family); });
    let server: TcpConnection | null = null;
    b.tcpListen(443, (conn) => {
      server = conn;
      conn.on('data', (d) => conn.write(d)); // echo
      conn.on('end', () => conn.end());
    });
    const c = await a.tcpConnect('2001:db8:2::20', 443);
    assert.is(c.remoteAddress, '2001:db8:2::20');
    assert.is(a.address, '2001:db8:1::10');
    const data = pseudoRandomBytes(100_000, 9);
    const back = c.readAll();
    c.write(data);
    c.end();
    assert.is(sha256(await back), sha256(data));
    assert.is(server!.remoteAddress, '2001:db8:1::10');
    assert.is(server!.remotePort, c.localPort);
    assert.ok(c.localPort >= 49152, 'ephemeral port');
    assert.equal([...versions], [6]);
    assert.is(b.stats.badChecksum, 0);
  } finally {
    close();
  }
});

test.run();
