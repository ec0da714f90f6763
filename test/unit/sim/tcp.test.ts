import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { isSvrError } from '../../../src/errors.js';
import { readU16, readU32 } from '../../../src/packet/checksum.js';
import { PacketInfo, parsePacket, TCP_FIN, TCP_RST, TCP_SYN } from '../../../src/packet/ip.js';
import type { TcpCloseReason, TcpConnection } from '../../../src/sim/tcp.js';
import { readMss } from '../../../src/sim/tcp-seq.js';
import { hostPair, pseudoRandomBytes, sha256, sleep, waitFor } from './setup.js';

const text = new TextEncoder();

test('1 MB each way at once, byte-exact, then FIN both sides', async () => {
  const { a, b, close } = hostPair('10.0.0.1', '10.0.0.2', { timeWaitMs: 20 });
  try {
    const up = pseudoRandomBytes(1 << 20, 1);
    const down = pseudoRandomBytes(1 << 20, 2);
    let server: TcpConnection | null = null;
    const serverGot = new Promise<Uint8Array>((resolve, reject) => b.tcpListen(8080, (conn) => {
      server = conn;
      conn.readAll().then(resolve, reject);
      conn.write(down);
      conn.end();
    }));
    const start = performance.now();
    const client = await a.tcpConnect('10.0.0.2', 8080);
    const clientGot = client.readAll();
    client.write(up);
    client.end();
    const [gotDown, gotUp] = await Promise.all([clientGot, serverGot]);
    const ms = performance.now() - start;
    console.log(`    1 MB each way (2 MB total) over a MemoryLink: ${ms.toFixed(0)} ms`);
    assert.is(sha256(gotUp), sha256(up));
    assert.is(sha256(gotDown), sha256(down));
    assert.ok(ms < 1000, `transfer took ${ms} ms`);
    const reasons = await Promise.all([client.closed(), server!.closed()]);
    assert.equal(reasons, ['normal', 'normal']);
    assert.is(client.bytesSent, up.length);
    assert.is(client.bytesReceived, down.length);
    assert.is(server!.bytesSent, down.length);
    assert.is(a.stats.tcpRetransmits + b.stats.tcpRetransmits, 0);
    await waitFor(() => a.tcpConnectionCount === 0 && b.tcpConnectionCount === 0, 1000, 'TIME-WAIT to end');
  } finally {
    close();
  }
});

test('handshake: SYN carries MSS 1400, ISNs are random, segments respect the smaller MSS', async () => {
  const { link, a, b, close } = hostPair('10.0.0.1', '10.0.0.2');
  try {
    const pi = new PacketInfo();
    const syns: Array<{ dir: string; mss: number; seq: number }> = [];
    let largest = { 'a->b': 0, 'b->a': 0 };
    link.observe((p, dir) => {
      parsePacket(p, 0, p.length, pi);
      if ((pi.tcpFlags & TCP_SYN) !== 0) syns.push({ dir, mss: readMss(p, pi.l4 + 20, pi.payload, 0), seq: readU32(p, pi.l4 + 4) });
      largest[dir] = Math.max(largest[dir], pi.payloadLength);
    });
    const serverDone = new Promise<Uint8Array>((resolve) => b.tcpListen(80, (c) => { c.readAll().then(resolve); }));
    const c1 = await a.tcpConnect('10.0.0.2', 80);
    assert.equal(syns.map((s) => [s.dir, s.mss]), [['a->b', 1400], ['b->a', 1400]]);
    c1.write(pseudoRandomBytes(10000, 3));
    c1.end();
    await serverDone;
    assert.is(largest['a->b'], 1400);
    c1.destroy();
    // a host whose MSS is 500: the peer must not send it more than 500 bytes per segment
    const small = hostPair('10.0.0.1', '10.0.0.2', { mss: 500 });
    try {
      const max = { v: 0 };
      small.link.observe((p, dir) => {
        parsePacket(p, 0, p.length, pi);
        if (dir === 'a->b') max.v = Math.max(max.v, pi.payloadLength);
      });
      small.b.tcpListen(80, (c) => { c.write(pseudoRandomBytes(5000, 4)); c.end(); });
      const c2 = await small.a.tcpConnect('10.0.0.2', 80);
      assert.is(c2.sendMss, 500);
      const got = await c2.readAll();
      assert.is(got.length, 5000);
      assert.ok(max.v <= 500, `segment of ${max.v} bytes`);
    } finally {
      small.close();
    }
    const isns = new Set(syns.map((s) => s.seq));
    assert.is(isns.size, 2, 'client and server ISNs differ');
  } finally {
    close();
  }
});

test('half-close: the client ends and still receives; close happens once both FINs are acknowledged', async () => {
  const { a, b, close } = hostPair('10.0.0.1', '10.0.0.2', { timeWaitMs: 10 });
  try {
    const events: string[] = [];
    let server: TcpConnection | null = null;
    b.tcpListen(7, (conn) => {
      server = conn;
      conn.on('end', () => {
        events.push(`server end in ${conn.state}`);
        conn.write(text.encode('after your FIN'));
        conn.end();
      });
      conn.on('close', (r: TcpCloseReason) => events.push(`server close ${r}`));
    });
    const client = await a.tcpConnect('10.0.0.2', 7);
    const got = client.readAll();
    client.on('close', (r) => events.push(`client close ${r}`));
    client.end();
    assert.is(client.state, 'FIN_WAIT_1');
    assert.throws(() => client.write(text.encode('late')), (e: unknown) => isSvrError(e, 'SVR_ERR_SIM_TCP_STATE'));
    assert.is(new TextDecoder().decode(await got), 'after your FIN');
    await waitFor(() => events.length === 3, 1000, 'close events');
    assert.ok(events.includes('server end in CLOSE_WAIT'));
    assert.ok(events.includes('client close normal'));
    assert.ok(events.includes('server close normal'));
    assert.is(server!.state, 'CLOSED');
    assert.ok(client.state === 'TIME_WAIT' || client.state === 'CLOSED');
  } finally {
    close();
  }
});

test('connect to a closed port is refused with RST', async () => {
  const { link, a, b, close } = hostPair();
  try {
    const flags: number[] = [];
    const pi = new PacketInfo();
    link.observe((p) => { parsePacket(p, 0, p.length, pi); flags.push(pi.tcpFlags); });
    const err = await a.tcpConnect('10.0.0.2', 81).then(() => null, (e: unknown) => e);
    assert.ok(isSvrError(err, 'SVR_ERR_SIM_TCP_RESET'), String(err));
    assert.is(b.stats.tcpNoListener, 1);
    assert.is(b.stats.tcpRstSent, 1);
    assert.is(flags.length, 2);
    assert.ok((flags[1]! & TCP_RST) !== 0);
    assert.is(a.tcpConnectionCount, 0);
  } finally {
    close();
  }
});

test('connect times out when nobody answers (RTO doubling, then give up)', async () => {
  const { link, a, close } = hostPair('10.0.0.1', '10.0.0.2', { rtoMs: 5, maxRetries: 3 });
  try {
    link.setFilter(() => false); // the wire eats everything
    let syns = 0;
    link.observe(() => syns++);
    const t0 = Date.now();
    const err = await a.tcpConnect('10.0.0.2', 80).then(() => null, (e: unknown) => e);
    assert.ok(isSvrError(err, 'SVR_ERR_SIM_TCP_TIMEOUT'), String(err));
    assert.ok(Date.now() - t0 >= 5 + 10 + 20 + 40 - 5, 'waited for the backed-off retries');
    assert.is(syns, 1 + 3 + 1, 'first SYN, 3 retransmissions, final RST');
    assert.is(a.stats.tcpRetransmits, 3);
    const err2 = await a.tcpConnect('10.0.0.2', 80, { timeoutMs: 10 }).then(() => null, (e: unknown) => e);
    assert.ok(isSvrError(err2, 'SVR_ERR_SIM_TCP_TIMEOUT'));
  } finally {
    close();
  }
});

test('established connection whose peer vanishes is reset after the retries', async () => {
  const { link, a, b, close } = hostPair('10.0.0.1', '10.0.0.2', { rtoMs: 5, maxRetries: 2 });
  try {
    b.tcpListen(80, () => {});
    const c = await a.tcpConnect('10.0.0.2', 80);
    link.setFilter(() => false);
    const reset = new Promise<unknown>((resolve) => c.on('reset', resolve));
    c.write(text.encode('into the void'));
    assert.ok(isSvrError(await reset, 'SVR_ERR_SIM_TCP_TIMEOUT'));
    assert.is(await c.closed(), 'timeout');
    assert.is(c.state, 'CLOSED');
  } finally {
    close();
  }
});

test('destroy sends RST; the peer sees reset then close', async () => {
  const { a, b, close } = hostPair();
  try {
    const serverEvents: string[] = [];
    b.tcpListen(80, (conn) => {
      conn.on('reset', (e) => serverEvents.push(`reset ${e.code}`));
      conn.on('close', (r) => serverEvents.push(`close ${r}`));
    });
    const c = await a.tcpConnect('10.0.0.2', 80);
    await sleep(5);
    c.destroy();
    assert.is(await c.closed(), 'aborted');
    await waitFor(() => serverEvents.length === 2, 1000, 'server events');
    assert.equal(serverEvents, ['reset SVR_ERR_SIM_TCP_RESET', 'close reset']);
    assert.is(b.tcpConnectionCount, 0);
  } finally {
    close();
  }
});

test('flow control: a paused receiver closes its window; the sender waits, probes, and resumes', async () => {
  const { link, a, b, close } = hostPair('10.0.0.1', '10.0.0.2', { rtoMs: 20 });
  try {
    const pi = new PacketInfo();
    let zeroWindows = 0;
    link.observe((p, dir) => {
      parsePacket(p, 0, p.length, pi);
      if (dir === 'b->a' && readU16(p, pi.l4 + 14) === 0 && (pi.tcpFlags & (TCP_SYN | TCP_RST | TCP_FIN)) === 0) zeroWindows++;
    });
    let server: TcpConnection | null = null;
    b.tcpListen(80, (conn) => { server = conn; conn.pause(); });
    const c = await a.tcpConnect('10.0.0.2', 80);
    const data = pseudoRandomBytes(200_000, 5);
    c.write(data);
    c.end();
    await sleep(100);
    assert.ok(server!.bytesReceived <= 65535, `receiver took ${server!.bytesReceived} bytes with a 64 KB buffer`);
    assert.ok(c.bufferedAmount >= 200_000 - 65535, 'sender holds the rest');
    assert.ok(zeroWindows >= 1, 'receiver advertised a zero window');
    const got = server!.readAll();
    server!.resume();
    assert.is(sha256(await got), sha256(data));
  } finally {
    close();
  }
});

test('a corrupted segment is dropped, counted and recovered', async () => {
  const { link, a, b, close } = hostPair('10.0.0.1', '10.0.0.2', { rtoMs: 20 });
  try {
    let n = 0;
    // corrupt the 5th packet from a to b on the wire (the filter sees the bytes that will be delivered)
    link.setFilter((p, dir) => {
      if (dir === 'a->b' && ++n === 5) p[p.length - 1] ^= 0x55;
      return true;
    });
    const got = new Promise<Uint8Array>((resolve) => b.tcpListen(80, (c) => { c.readAll().then(resolve); }));
    const c = await a.tcpConnect('10.0.0.2', 80);
    const data = pseudoRandomBytes(50_000, 6);
    c.write(data);
    c.end();
    assert.is(sha256(await got), sha256(data));
    assert.is(b.stats.badChecksum, 1);
    assert.ok(a.stats.tcpRetransmits >= 1);
  } finally {
    close();
  }
});

test('data sent before the server listens for it is buffered, not lost', async () => {
  const { a, b, close } = hostPair();
  try {
    let server: TcpConnection | null = null;
    b.tcpListen(80, (conn) => { server = conn; });
    const c = await a.tcpConnect('10.0.0.2', 80);
    c.write(text.encode('early bytes'));
    c.end();
    await waitFor(() => server !== null && server.bytesReceived === 11, 1000, 'bytes');
    await sleep(5);
    const got = await server!.readAll();
    assert.is(new TextDecoder().decode(got), 'early bytes');
  } finally {
    close();
  }
});

test('host.close() rejects a pending connect and aborts open connections', async () => {
  const { link, a, b, close } = hostPair();
  try {
    b.tcpListen(80, () => {});
    const open = await a.tcpConnect('10.0.0.2', 80);
    link.setFilter(() => false);
    const pending = a.tcpConnect('10.0.0.2', 80).then(() => null, (e: unknown) => e);
    const reason = open.closed();
    a.close();
    assert.ok(isSvrError(await pending, 'SVR_ERR_SIM_CLOSED'));
    assert.is(await reason, 'aborted');
    assert.is(a.tcpConnectionCount, 0);
    assert.ok(isSvrError(await a.tcpConnect('10.0.0.2', 80).then(() => null, (e: unknown) => e), 'SVR_ERR_SIM_CLOSED'));
  } finally {
    close();
  }
});

test.run();
