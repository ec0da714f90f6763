/**
 * bench/session-cost-tcp.ts: the short TCP session of `session-cost.js --tcp`, played between its client and
 * server ends without routers: SYN, SYN|ACK, ACK, 1 byte, FIN, ACK, RST in that order, each segment what the
 * packet builder makes (valid IPv4 and TCP checksums: the routers check a SYN's, FIN's and RST's), sequence and
 * acknowledgement numbers as a TCP stack would set them, one answered session.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { AnswerBatch, clientAnswers, serverAnswers, TCP_SEGMENT, writeSessionSyn } from '../../../bench/session-cost-tcp.js';
import { sessionTuple } from '../../../bench/session-cost-client.js';
import { parseAddress } from '../../../src/packet/addr.js';
import { buildTcp } from '../../../src/packet/build.js';
import { TCP_ACK, TCP_FIN, TCP_PSH, TCP_RST, TCP_SYN } from '../../../src/packet/ip.js';

const SRC = parseAddress('198.18.1.128')!.bytes, DST = parseAddress('198.19.0.10')!.bytes;
const PORT = 9;

test('a session: seven segments, each what the packet builder makes for it, and one answered session', () => {
  const n = 70_001;
  const s = sessionTuple(n, PORT);
  const client = Uint8Array.of(198, 18, 1, s.srcLastByte);
  const syn = new Uint8Array(TCP_SEGMENT);
  writeSessionSyn(syn, 0, SRC, DST, n, PORT);
  const c = { src: client, dst: DST, srcPort: s.srcPort, dstPort: s.dstPort };
  const sv = { src: DST, dst: client, srcPort: s.dstPort, dstPort: s.srcPort };
  assert.equal([...syn], [...buildTcp({ ...c, seq: n, flags: TCP_SYN })], 'SYN');

  const toClient = new AnswerBatch(), toServer = new AnswerBatch();
  const seg = (a: AnswerBatch, i: number): Uint8Array => a.data.subarray(a.offsets[i]!, a.offsets[i]! + a.lengths[i]!);
  serverAnswers(toClient, syn, 0, TCP_SEGMENT);
  assert.is(toClient.count, 1);
  assert.equal([...seg(toClient, 0)], [...buildTcp({ ...sv, seq: 0, ack: n + 1, flags: TCP_SYN | TCP_ACK })], 'SYN|ACK');

  assert.is(clientAnswers(toServer, toClient.data, toClient.offsets[0]!, toClient.lengths[0]!), 0);
  assert.equal([...seg(toServer, 0)], [...buildTcp({ ...c, seq: n + 1, ack: 1, flags: TCP_ACK })], 'ACK');

  toClient.reset();
  serverAnswers(toClient, toServer.data, toServer.offsets[0]!, toServer.lengths[0]!);
  assert.is(toClient.count, 2);
  assert.equal([...seg(toClient, 0)], [...buildTcp({ ...sv, seq: 1, ack: n + 1, flags: TCP_PSH | TCP_ACK, payload: Uint8Array.of(0x78) })], 'data');
  assert.equal([...seg(toClient, 1)], [...buildTcp({ ...sv, seq: 2, ack: n + 1, flags: TCP_FIN | TCP_ACK })], 'FIN');

  toServer.reset();
  assert.is(clientAnswers(toServer, toClient.data, toClient.offsets[0]!, toClient.lengths[0]!), 0, 'the data alone: no answer');
  assert.is(toServer.count, 0);
  assert.is(clientAnswers(toServer, toClient.data, toClient.offsets[1]!, toClient.lengths[1]!), 1, 'the FIN: answered');
  assert.is(toServer.count, 2);
  assert.equal([...seg(toServer, 0)], [...buildTcp({ ...c, seq: n + 1, ack: 3, flags: TCP_ACK })], 'ACK of the FIN');
  assert.equal([...seg(toServer, 1)], [...buildTcp({ ...c, seq: n + 1, ack: 0, flags: TCP_RST })], 'RST');

  // the server answers neither the ACK of its FIN nor the RST
  toClient.reset();
  for (let i = 0; i < 2; i++) serverAnswers(toClient, toServer.data, toServer.offsets[i]!, toServer.lengths[i]!);
  assert.is(toClient.count, 0);
});

test.run();
