/**
 * When a TCP flow gets its native marks (src/dataplane/native-mark.ts tcpNotWorthMark): from the third packet of its
 * direction on, and not for a segment without data after the other side's FIN. The sustained case's session (SYN,
 * SYN|ACK, ACK, a byte, FIN|ACK, ACK, RST: bench/session-cost-tcp.ts) through r1 -> r2 makes no mark on either router,
 * in svr-out (native-forward.ts) or svr-in (native-receive.ts), also with the byte and the FIN in one frame; a flow
 * that goes on is marked at its direction's third packet and then goes native on both routers; after the client's
 * FIN (a half close) the server's data is marked.
 */
import * as assert from 'uvu/assert';
import { parseConfig } from '../../../src/model/validate.js';
import { compileRouter } from '../../../src/model/compile.js';
import { Dataplane } from '../../../src/dataplane/dataplane.js';
import { NativeForward } from '../../../src/dataplane/native-forward.js';
import { NativeReceive } from '../../../src/dataplane/native-receive.js';
import { TCP_ACK, TCP_FIN, TCP_PSH, TCP_RST, TCP_SYN } from '../../../src/packet/ip.js';
import { inProcessConfig } from '../../../bench/inprocess-config.js';
import { Collect, tcp } from '../../support/wan-batches.js';
import { requires } from '../../support/prerequisites.js';

const test = requires(import.meta.url); // the addon (skipped without it)

const SLOT = 2048;
let now = 1_000_000;

/** marks made (the mark calls that returned true), svr-out's and svr-in's */
const made = { out: 0, in: 0 };
const markOut = NativeForward.prototype.mark;
NativeForward.prototype.mark = function (...a: Parameters<typeof markOut>): boolean {
  const ok = markOut.apply(this, a);
  if (ok) made.out++;
  return ok;
};
const markIn = NativeReceive.prototype.mark;
NativeReceive.prototype.mark = function (...a: Parameters<typeof markIn>): boolean {
  const ok = markIn.apply(this, a);
  if (ok) made.in++;
  return ok;
};

interface Node { dp: Dataplane; lan: Collect; wan: Collect }

function node(name: 'r1' | 'r2'): Node {
  const lan = new Collect(), wan = new Collect();
  const dp = new Dataplane({ tables: compileRouter(parseConfig(inProcessConfig(false)), name, 1), ports: [lan, wan], clock: () => now, wallClock: () => 1.7e12 });
  return { dp, lan, wan };
}

function feed(n: Node, ifx: number, pkts: readonly Uint8Array[]): void {
  const data = new Uint8Array(new SharedArrayBuffer(SLOT * pkts.length));
  const off = new Uint32Array(pkts.length), len = new Uint32Array(pkts.length);
  pkts.forEach((k, i) => { data.set(k, i * SLOT); off[i] = i * SLOT; len[i] = k.length; });
  n.dp.receive(ifx, data, off, len, pkts.length, SLOT);
  now += 1; // well within a lease (250 ms): a mark made stays
}

/** Segments in one frame from a LAN through `from` and `to` (up: client -> r1 -> r2 -> server); they arrive on the far LAN. */
function through(from: Node, to: Node, ...pkts: Uint8Array[]): void {
  feed(from, 0, pkts);
  const wan = from.wan.take();
  assert.is(wan.length, pkts.length, 'sent on the WAN');
  feed(to, 1, wan);
  assert.is(to.lan.take().length, pkts.length, 'delivered on the far LAN');
}

/** The flow's three-way handshake: SYN up (client -> r1 -> r2), SYN|ACK down, ACK up. */
function handshake(r1: Node, r2: Node): void {
  through(r1, r2, tcp(true, TCP_SYN, 100));
  through(r2, r1, tcp(false, TCP_SYN | TCP_ACK, 900));
  through(r1, r2, tcp(true, TCP_ACK, 101));
}

const native = (n: Node, k: string) => n.dp.counters.snapshot()[k] ?? 0;

test('the sustained case\'s TCP session: no native mark on either router', () => {
  assert.ok(new NativeForward().on && new NativeReceive().on, 'the native paths are on (npm run build:native)');
  const r1 = node('r1'), r2 = node('r2');
  made.out = made.in = 0;
  handshake(r1, r2);
  through(r2, r1, tcp(false, TCP_PSH | TCP_ACK, 901, 1));
  through(r2, r1, tcp(false, TCP_FIN | TCP_ACK, 902));
  through(r1, r2, tcp(true, TCP_ACK, 101));
  through(r1, r2, tcp(true, TCP_RST, 101));
  assert.equal(made, { out: 0, in: 0 }, 'marks made by svr-out and svr-in of both routers');
});

test('the server\'s byte and FIN in one frame (as its kernel sends them): no mark for the byte on either router', () => {
  const r1 = node('r1'), r2 = node('r2');
  made.out = made.in = 0;
  handshake(r1, r2);
  through(r2, r1, tcp(false, TCP_PSH | TCP_ACK, 901, 1), tcp(false, TCP_FIN | TCP_ACK, 902));
  through(r1, r2, tcp(true, TCP_ACK, 101), tcp(true, TCP_RST, 101));
  assert.equal(made, { out: 0, in: 0 }, 'the byte is its direction\'s second packet, whatever the session counted with the FIN behind it');
});

test('a TCP flow that goes on: marked at the third packet of each direction, then native', () => {
  const r1 = node('r1'), r2 = node('r2');
  made.out = made.in = 0;
  handshake(r1, r2);
  through(r2, r1, tcp(false, TCP_ACK, 901, 100));
  assert.equal(made, { out: 0, in: 0 }, 'after each direction\'s second packet');
  through(r1, r2, tcp(true, TCP_ACK, 101, 100));
  assert.equal(made, { out: 1, in: 1 }, 'up: r1\'s svr-out and r2\'s svr-in mark its third packet');
  through(r2, r1, tcp(false, TCP_ACK, 1001, 100));
  assert.equal(made, { out: 2, in: 2 }, 'down: r2\'s svr-out and r1\'s svr-in mark its third packet');
  for (let i = 0; i < 5; i++) {
    through(r1, r2, tcp(true, TCP_ACK, 201 + 100 * i, 100));
    through(r2, r1, tcp(false, TCP_ACK, 1101 + 100 * i, 100));
  }
  assert.is(native(r1, 'native-forwarded'), 5, 'r1 sent the next five up natively');
  assert.is(native(r2, 'native-received'), 5, 'r2 received them natively');
  assert.is(native(r2, 'native-forwarded'), 5, 'r2 sent the next five down natively');
  assert.is(native(r1, 'native-received'), 5, 'r1 received them natively');
});

test('a half close: the server\'s data after the client\'s FIN is marked, the client\'s ACK after the server\'s FIN is not', () => {
  const r1 = node('r1'), r2 = node('r2');
  made.out = made.in = 0;
  handshake(r1, r2);
  through(r1, r2, tcp(true, TCP_PSH | TCP_ACK, 101, 100));
  through(r1, r2, tcp(true, TCP_FIN | TCP_ACK, 201));
  assert.equal(made, { out: 1, in: 1 }, 'up: the request (the third packet) marked');
  through(r2, r1, tcp(false, TCP_ACK, 901, 100));
  through(r2, r1, tcp(false, TCP_ACK, 1001, 100));
  assert.equal(made, { out: 2, in: 2 }, 'down after the client\'s FIN: the answer\'s second segment marked');
  now += 1000; // every mark past its lease
  through(r2, r1, tcp(false, TCP_FIN | TCP_ACK, 1101));
  through(r1, r2, tcp(true, TCP_ACK, 202));
  assert.equal(made, { out: 2, in: 2 }, 'the client\'s ACK of the server\'s FIN: not marked');
});

test.run();
