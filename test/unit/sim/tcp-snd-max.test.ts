/**
 * The simulated TCP's send sequence after go-back-N (src/sim/tcp.ts): a retransmission rewinds SND.NXT, yet an ACK
 * up to the highest sequence sent (SND.MAX) is acceptable (RFC 9293 §3.10.7.4: only an ACK of something not yet
 * sent is dropped). Here the peer's window shrinks before the timeout, so the resend stops short, and the late ACK
 * of the first transmission, beyond the rewound SND.NXT, acknowledges everything.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { TCP_ACK, TCP_SYN } from '../../../src/packet/ip.js';
import { DEFAULT_TCP_OPTIONS, TcpConnection, type TcpSegment, type TcpTransport } from '../../../src/sim/tcp.js';
import { seqAdd } from '../../../src/sim/tcp-seq.js';
import { sleep } from '../../support/config.js';

interface Sent { seq: number; ack: number; flags: number; len: number }

/** A transport that only records what the connection sends. */
function recorder(): TcpTransport & { sent: Sent[] } {
  const sent: Sent[] = [];
  return {
    sent,
    send: (_c, seq, ack, flags, _w, payload) => void sent.push({ seq, ack, flags, len: payload?.length ?? 0 }),
    scheduleAck: () => {},
    release: () => {},
    countRetransmit: () => {},
    countOutOfOrder: () => {},
  };
}

const MSS = 100;
const ISS = 1000;
const IRS = 5000;
const seg = (ack: number, window: number, flags = TCP_ACK): TcpSegment => ({ seq: IRS + 1, ack, flags, window, mss: 0, payload: new Uint8Array(0) });

test('an ACK beyond the SND.NXT a go-back-N rewound, up to the highest sequence sent, is accepted', async () => {
  const tx = recorder();
  const c = new TcpConnection(tx, '10.0.0.1', 40000, '10.0.0.2', 80, { ...DEFAULT_TCP_OPTIONS, mss: MSS, rtoMs: 30 }, ISS);
  c.openActive({ resolve: () => {}, reject: () => {} });
  c.onSegment({ seq: IRS, ack: ISS + 1, flags: TCP_SYN | TCP_ACK, window: 4 * MSS, mss: MSS, payload: new Uint8Array(0) });
  assert.is(c.state, 'ESTABLISHED');
  tx.sent.length = 0;
  c.write(new Uint8Array(4 * MSS));
  assert.equal(tx.sent.map((s) => s.seq), [0, 1, 2, 3].map((k) => seqAdd(ISS + 1, k * MSS)), 'four segments in flight');
  const max = seqAdd(ISS + 1, 4 * MSS);
  c.onSegment(seg(ISS + 1, MSS)); // the peer's window shrinks to one segment (an update: nothing acknowledged)
  tx.sent.length = 0;
  await sleep(120); // the RTO (30 ms): go-back-N from the first unacknowledged byte, one segment as the window allows
  assert.ok(tx.sent.length >= 1 && tx.sent.every((s) => s.seq === ISS + 1 && s.len === MSS), 'the resend stops at the window');
  tx.sent.length = 0;
  c.onSegment(seg(max, 4 * MSS)); // the late ACK of the first transmission
  assert.is(c.bufferedAmount, 0, 'every byte acknowledged');
  assert.is(c.bytesSent, 4 * MSS);
  assert.equal(tx.sent, [], 'nothing resent, no ACK of "something not yet sent"');
  c.onSegment(seg(seqAdd(max, 1), 4 * MSS)); // beyond anything sent: still refused
  assert.equal(tx.sent.map((s) => [s.seq, s.flags]), [[max, TCP_ACK]], 'an ACK beyond SND.MAX is answered with an ACK and dropped');
  c.destroy();
});

test.run();
