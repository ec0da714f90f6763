/** What the sync link's tests share: keys, a heartbeat and records, loopback sockets, and the drops check run over
 *  either socket (sync-link.test.ts: node's dgram; sync-socket.test.ts: the addon's). */
import * as assert from 'uvu/assert';
import { createSocket, type Socket } from 'node:dgram';
import { SyncLink } from '../../../src/ha/sync-link.js';
import { OP_UPSERT, encodeHeartbeat, encodeState, frameRecords, type SyncRecord } from '../../../src/ha/sync-wire.js';
import type { HaHeartbeat } from '../../../src/machines/ha-node.js';

export const KEY = Buffer.alloc(32, 9);
export const OTHER_KEY = Buffer.alloc(32, 8);
export const HB: HaHeartbeat = { node: 'r1b', role: 'standby', priority: 100, linksUp: 2, wantActive: true, released: true, tookOver: true };
export const record = (i: number, value = 40): SyncRecord => ({ kind: 1, op: OP_UPSERT, key: Buffer.alloc(16, i & 0xff), value: Buffer.alloc(value, i & 0xff) });

export function bind(address: string, port = 0): Promise<Socket> {
  const s = createSocket('udp4');
  return new Promise((resolve) => s.bind(port, address, () => resolve(s)));
}
export const send = (s: Socket, buf: Buffer, port: number): Promise<void> => new Promise((resolve) => s.send(buf, port, '127.0.0.1', () => resolve()));
export const settle = (ms = 150): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Only authenticated, newer messages from the partner's address and name are accepted; the rest is counted by reason. */
export async function acceptsOnly(kind: 'native' | 'dgram'): Promise<void> {
  const partner = await bind('127.0.0.2');
  const stranger = await bind('127.0.0.3');
  const heard: HaHeartbeat[] = [];
  const applied: number[] = [];
  const probe = await bind('127.0.0.1');
  const port = (probe.address()).port;
  probe.close();
  const link = new SyncLink({
    node: 'r1a', partner: 'r1b', localAddress: '127.0.0.1', partnerAddress: '127.0.0.2', port, partnerPort: partner.address().port, key: KEY,
    onHeartbeat: (hb) => heard.push(hb), onRecords: (_, count) => applied.push(count), dgram: kind === 'dgram',
  });
  await link.start();
  try {
    assert.is(link.socketKind, kind);
    const ok = encodeHeartbeat(KEY, { node: 'r1b', epoch: 100, seq: 5 }, HB, 0);
    await send(partner, ok, port);
    await send(partner, ok, port); // replayed
    await send(partner, encodeHeartbeat(KEY, { node: 'r1b', epoch: 100, seq: 4 }, HB, 0), port); // older
    await send(partner, encodeHeartbeat(OTHER_KEY, { node: 'r1b', epoch: 100, seq: 6 }, HB, 0), port); // wrong key
    await send(partner, encodeHeartbeat(KEY, { node: 'r1c', epoch: 100, seq: 7 }, { ...HB, node: 'r1c' }, 0), port); // not the partner's name
    await send(partner, Buffer.from('garbage'), port);
    await send(stranger, encodeHeartbeat(KEY, { node: 'r1b', epoch: 100, seq: 8 }, HB, 0), port); // another address
    await send(partner, encodeState(KEY, { node: 'r1b', epoch: 100, seq: 9 }, 1, frameRecords([record(1), record(2)]), 2), port);
    await send(partner, encodeHeartbeat(KEY, { node: 'r1b', epoch: 99, seq: 50 }, HB, 0), port); // an older epoch
    await send(partner, encodeHeartbeat(KEY, { node: 'r1b', epoch: 101, seq: 1 }, HB, 0), port); // the partner restarted
    await settle();
    assert.is(heard.length, 2, 'the first heartbeat and the restarted partner\'s');
    assert.is(applied.length, 1);
    assert.is(applied[0], 2);
    assert.equal(link.counters.dropped, { malformed: 1, 'bad-auth': 1, 'not-partner': 2, 'out-of-order': 3 });
    assert.is(link.counters.recordsReceived, 2);
  } finally {
    link.close();
    partner.close();
    stranger.close();
  }
}
