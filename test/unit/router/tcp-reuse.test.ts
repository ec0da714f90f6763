/**
 * A client that reuses the 5-tuple of a TCP session that is closing (RST or both FINs seen, lingering
 * for CLOSE_LINGER_MS) starts a new connection: its SYN must open a new session (new id, plugins' open
 * hooks run again, e.g. builtin.lb decides again) instead of riding on the old one.
 * Found by test/e2e/plugins.test.ts: 16 of 400 short HTTP connections to a load-balanced service reused a
 * client port within 2 s and were neither counted nor balanced.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parseAddress } from '../../../src/packet/addr.js';
import { buildTcp } from '../../../src/packet/build.js';
import { TCP_ACK, TCP_RST, TCP_SYN } from '../../../src/packet/ip.js';
import { builtinLab, settle } from '../builtin/lab.js';

const CLIENT = parseAddress('198.18.1.10')!.bytes;
const SERVER = parseAddress('198.18.3.20')!.bytes;

test('a SYN on a closing session\'s 5-tuple opens a new session (sessions-replaced), on the ingress and the egress', async () => {
  const lab = builtinLab();
  try {
    const c = lab.clients[0]!;
    const syn = (seq: number) => buildTcp({ src: CLIENT, dst: SERVER, srcPort: 45123, dstPort: 80, seq, flags: TCP_SYN });
    c.transmit(syn(1000));
    await settle(20);
    const first = (await lab.r1.sessions()).filter((s) => s.original.srcPort === 45123);
    assert.is(first.length, 1, 'the first SYN opened a session');
    c.transmit(buildTcp({ src: CLIENT, dst: SERVER, srcPort: 45123, dstPort: 80, seq: 1001, ack: 1, flags: TCP_RST | TCP_ACK }));
    await settle(20);
    assert.is((await lab.r1.sessions()).find((s) => s.id === first[0]!.id)?.state, 'closing', 'the RST closes it (it lingers)');
    const created = lab.r1.counters()['sessions-created']!;
    c.transmit(syn(5000)); // a new connection from the same port, within the linger time
    await settle(20);
    const now = (await lab.r1.sessions()).filter((s) => s.original.srcPort === 45123);
    assert.is(lab.r1.counters()['sessions-created'], created + 1, 'r1 opened a new session');
    assert.is(lab.r1.counters()['sessions-replaced'], 1, 'and counted the old one as replaced');
    assert.is(now.length, 1);
    assert.is.not(now[0]!.id, first[0]!.id, 'a new session id');
    const atR2 = (await lab.r2.sessions()).filter((s) => s.original.srcPort === 45123);
    assert.equal(atR2.map((s) => s.id), [now[0]!.id], 'r2 replaced its session too (new id in the metadata)');
  } finally {
    await lab.close();
  }
});

test.run();
