import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { TcpConnection } from '../../../src/sim/tcp.js';
import { hostPair, prng, pseudoRandomBytes, sha256 } from './setup.js';

test('256 KB each way survive 5 % random loss in both directions', async () => {
  const { link, a, b, close } = hostPair('10.0.0.1', '10.0.0.2', { timeWaitMs: 10 });
  try {
    const random = prng(20240611);
    let sent = 0;
    let dropped = 0;
    link.setFilter(() => {
      sent++;
      if (random() < 0.05) {
        dropped++;
        return false;
      }
      return true;
    });
    const up = pseudoRandomBytes(256 * 1024, 11);
    const down = pseudoRandomBytes(256 * 1024, 12);
    // the server side completes its handshake when the client's ACK (or first data) arrives, maybe after a loss
    const serverGot = new Promise<Uint8Array>((resolve, reject) => b.tcpListen(9000, (conn: TcpConnection) => {
      conn.readAll().then(resolve, reject);
      conn.write(down);
      conn.end();
    }));
    const start = performance.now();
    const client = await a.tcpConnect('10.0.0.2', 9000);
    const clientGot = client.readAll();
    client.write(up);
    client.end();
    const [gotDown, gotUp] = await Promise.all([clientGot, serverGot]);
    const ms = performance.now() - start;
    console.log(`    5 % loss: ${dropped}/${sent} packets dropped, ${a.stats.tcpRetransmits + b.stats.tcpRetransmits} retransmissions, ${ms.toFixed(0)} ms`);
    assert.ok(dropped > 10, 'the filter really dropped packets');
    assert.ok(a.stats.tcpRetransmits + b.stats.tcpRetransmits > 0, 'loss was recovered by retransmission');
    assert.is(sha256(gotUp), sha256(up));
    assert.is(sha256(gotDown), sha256(down));
  } finally {
    close();
  }
});

test.run();
