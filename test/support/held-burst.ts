import * as assert from 'uvu/assert';
import type { MemoryLab } from '../../src/sim/memory-lab.js';
import { PacketInfo, parsePacket, PROTO_UDP } from '../../src/packet/ip.js';
import { hasCookie } from '../../src/packet/svr-metadata.js';
import { until } from './config.js';

/**
 * With the session of client port 41000 -> 198.18.3.20:7 open both ways: `count` datagrams (100 + 29 i bytes,
 * filled with i) sent in one turn, r1's data packets (no metadata) captured on the WAN and held back from r2.
 * The wire is open again when this returns; the captured packets, in order.
 */
export async function heldBurst(lab: MemoryLab, count = 40): Promise<Uint8Array[]> {
  const sent: Uint8Array[] = [];
  const pi = new PacketInfo();
  lab.wan.observe((p, dir) => {
    if (dir === 'a->b' && parsePacket(p, 0, p.length, pi) === 0 && pi.protocol === PROTO_UDP && !hasCookie(p, pi.payload, pi.end - pi.payload)) sent.push(p.slice());
  });
  lab.wan.setFilter((_, dir) => dir !== 'a->b');
  for (let i = 0; i < count; i++) lab.clients[0]!.udpSend(41000, '198.18.3.20', 7, Buffer.alloc(100 + 29 * i, i));
  assert.ok(await until(() => sent.length === count), `r1 sent ${sent.length} of ${count}`);
  lab.wan.setFilter(null);
  return sent;
}
