/** The sync link over the addon's socket (native/sync-socket.c): the same drops as with node's dgram, and datagrams read
 *  into one reused ring, none given a buffer of its own. */
import * as assert from 'uvu/assert';
import { SyncLink } from '../../../src/ha/sync-link.js';
import { SYNC_DATAGRAM, encodeState, frameRecords, recordsOf } from '../../../src/ha/sync-wire.js';
import { requires } from '../../support/prerequisites.js';
import { KEY, acceptsOnly, bind, record, send, settle } from './sync-support.js';

const test = requires(import.meta.url); // the addon (skipped without it)

test('the addon\'s socket: only authenticated, newer messages from the partner\'s address and name are accepted; the rest is counted by reason', () => acceptsOnly('native'));

test('with the addon, datagrams are read into one reused ring: no buffer per datagram, every record applied in order', async () => {
  const partner = await bind('127.0.0.2');
  const probe = await bind('127.0.0.1');
  const port = probe.address().port;
  probe.close();
  const buffers = new Set<ArrayBufferLike>();
  const values: number[] = [];
  const link = new SyncLink({
    node: 'r1a', partner: 'r1b', localAddress: '127.0.0.1', partnerAddress: '127.0.0.2', port, partnerPort: partner.address().port, key: KEY,
    onHeartbeat: () => {},
    onRecords: (body) => {
      buffers.add(body.buffer);
      for (const r of recordsOf(body)) values.push(r.value[0]!);
    },
  });
  await link.start();
  try {
    const batches = 60;
    // 60 state datagrams of up to 32,000 B (a pair's), sent in bursts: they queue in the socket and are read many at a time
    for (let b = 0; b < batches; b += 6) {
      await Promise.all(Array.from({ length: 6 }, (_, i) => {
        const n = b + i + 1;
        const size = n % 3 === 0 ? 1000 : 100;
        return send(partner, encodeState(KEY, { node: 'r1b', epoch: 100, seq: n }, n, frameRecords(Array.from({ length: n % 3 === 0 ? 30 : 2 }, () => record(n, size))), n % 3 === 0 ? 30 : 2), port);
      }));
    }
    await settle(300);
    assert.is(link.counters.batchesReceived, batches);
    assert.equal(values, Array.from({ length: batches }, (_, i) => Array<number>((i + 1) % 3 === 0 ? 30 : 2).fill((i + 1) & 0xff)).flat(), 'every record, in order');
    assert.is(buffers.size, 1, `${buffers.size} ArrayBuffers under ${batches} datagrams`);
    assert.ok(SYNC_DATAGRAM >= 30 * 1005 + 100);
  } finally {
    link.close();
    partner.close();
  }
});

test.run();
