import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createHash, randomBytes } from 'node:crypto';
import { createMemoryLab } from '../../../src/sim/memory-lab.js';
import { TCP_SYN, TCP_ACK, TCP_FIN } from '../../../src/packet/ip.js';
import { exampleConfig, until } from '../../support/config.js';
import { recordWire } from '../../support/wire.js';

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

test('full TCP connection through r1 and r2: handshake, 1 MB each way, FIN', async () => {
  const lab = createMemoryLab({ config: await exampleConfig(), clients: ['198.18.1.10'], servers: ['198.18.3.20'] });
  const wire = recordWire(lab.wan);
  const up = randomBytes(1 << 20);
  const down = randomBytes(1 << 20);
  let serverGot = '';
  let serverPeer = '';
  const serverDone = new Promise<void>((resolve) => {
    lab.servers[0]!.tcpListen(80, (conn) => {
      serverPeer = `${conn.remoteAddress}:${conn.remotePort}`;
      conn.readAll().then((data) => {
        serverGot = sha(data);
        conn.write(down);
        conn.end();
        resolve();
      });
    });
  });
  const conn = await lab.clients[0]!.tcpConnect('198.18.3.20', 80, { srcPort: 45000 });
  conn.write(up);
  conn.end();
  const received = await conn.readAll();
  await serverDone;
  assert.is(serverGot, sha(up), 'server received the client bytes intact');
  assert.is(sha(received), sha(down), 'client received the server bytes intact');
  assert.is(serverPeer, '198.18.1.10:45000', 'the server sees the original client address and port');

  const fwd = wire.filter((w) => w.dir === 'a->b');
  const rev = wire.filter((w) => w.dir === 'b->a');
  assert.is(fwd[0]!.tcpFlags & (TCP_SYN | TCP_ACK), TCP_SYN, 'the SYN opens the session');
  assert.ok(fwd[0]!.meta && !fwd[0]!.meta.malformed, 'the SYN carries forward metadata');
  assert.equal(fwd[0]!.meta!.forward, { src: '198.18.1.10', dst: '198.18.3.20', srcPort: 45000, dstPort: 80, protocol: 6 });
  assert.is(fwd[0]!.meta!.service, 'web');
  assert.is(rev[0]!.tcpFlags & (TCP_SYN | TCP_ACK), TCP_SYN | TCP_ACK);
  assert.ok(rev[0]!.meta?.disableForwardMetadata, 'the SYN/ACK carries reverse metadata with TLV 18');
  // a loaded machine may make the client's sim TCP resend its SYN (RTO 200 ms) and the server its SYN/ACK: each
  // carries metadata again (4 packets once, at load 25 without the addon), a data segment never does
  const withMeta = wire.filter((w) => w.meta !== null);
  assert.ok(withMeta.length >= 2 && withMeta.every((w) => (w.tcpFlags & TCP_SYN) !== 0), `metadata only on the SYN and the SYN/ACK (${withMeta.map((w) => w.tcpFlags).join(',')})`);
  for (const w of wire) {
    assert.ok(w.src.startsWith('198.18.12.') && w.dst.startsWith('198.18.12.'), 'waypoint addresses only');
  }
  for (const w of fwd) assert.equal([w.sport, w.dport], [fwd[0]!.sport, fwd[0]!.dport]);
  for (const w of rev) assert.equal([w.sport, w.dport], [fwd[0]!.dport, fwd[0]!.sport]);
  assert.ok(fwd.some((w) => w.tcpFlags & TCP_FIN) && rev.some((w) => w.tcpFlags & TCP_FIN), 'FIN both ways');
  const s = (await lab.r1.sessions())[0]!;
  assert.is(s.state, 'closing', 'FIN both ways closes the session');
  assert.ok(s.bytes.forward > 1 << 20 && s.bytes.reverse > 1 << 20);
  // closed sessions linger briefly, then the sweep removes them
  assert.ok(await until(async () => { lab.r1.sweep(); lab.r2.sweep(); return (await lab.r1.sessions()).length === 0 && (await lab.r2.sessions()).length === 0; }, 4000));
  await lab.close();
});

test('a TCP segment that is not a SYN and matches no session is answered with RST (reset)', async () => {
  const lab = createMemoryLab({ config: await exampleConfig(), clients: ['198.18.1.10'], servers: ['198.18.3.20'] });
  const wire = recordWire(lab.wan);
  const before = lab.r1.counters()['tcp-resets-sent'] ?? 0;
  // a bare ACK from the client toward the web service
  const { buildTcp } = await import('../../../src/packet/build.js');
  const { parseAddress } = await import('../../../src/packet/addr.js');
  const pkt = buildTcp({ src: parseAddress('198.18.1.10')!.bytes, dst: parseAddress('198.18.3.20')!.bytes, srcPort: 41000, dstPort: 80, seq: 1000, ack: 5000, flags: TCP_ACK });
  const resets: number[] = [];
  lab.clientLan.observe((p, from) => { if (from.endsWith('gateway') && (p[33]! & 0x04)) resets.push(p.length); });
  lab.clients[0]!.transmit(pkt);
  assert.ok(await until(() => resets.length === 1));
  assert.is((lab.r1.counters()['tcp-resets-sent'] ?? 0) - before, 1);
  assert.is(wire.length, 0, 'nothing reaches the far side');
  assert.is((await lab.r1.sessions()).length, 0);
  await lab.close();
});

test.run();
