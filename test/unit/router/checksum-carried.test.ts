/**
 * A packet that gets metadata keeps its L4 checksum by increments (svr-out.ts, packet-ops.ts
 * adjustChecksumForInsert): a right one stays right, a wrong one stays wrong and is dropped where the metadata comes
 * off (r2's svr-in), not verified and recomputed at r1 as well.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createMemoryLab } from '../../../src/sim/memory-lab.js';
import { buildUdp } from '../../../src/packet/build.js';
import { parseAddress } from '../../../src/packet/addr.js';
import { PacketInfo, parsePacket } from '../../../src/packet/ip.js';
import { decodeMetadata } from '../../../src/packet/svr-metadata-decode.js';
import { verifyL4Checksum } from '../../../src/packet/rewrite.js';
import { exampleConfig, waitFor } from '../../support/config.js';

test('metadata packets: checksums right on the wire, a corrupted datagram carried wrong to r2 and dropped there', async () => {
  const lab = createMemoryLab({ config: await exampleConfig(), clients: ['198.18.1.10'], servers: ['198.18.3.20'] });
  const wire: { meta: boolean; checksumOk: boolean }[] = [];
  lab.wan.observe((pkt, dir) => {
    if (dir !== 'a->b') return;
    const pi = new PacketInfo();
    parsePacket(pkt, 0, pkt.length, pi);
    wire.push({ meta: decodeMetadata(pkt, pi.payload, pi.end - pi.payload - 16) !== null, checksumOk: verifyL4Checksum(pkt, pi) });
  });
  const [client] = lab.clients;
  const [server] = lab.servers;
  const seen: string[] = [];
  server!.udpBind(7, (data) => seen.push(Buffer.from(data).toString())); // no answer: every forward packet carries metadata
  client!.udpSend(40000, '198.18.3.20', 7, Buffer.from('first'));
  await waitFor('first', () => seen.length === 1);
  const bad = buildUdp({ src: parseAddress('198.18.1.10')!.bytes, dst: parseAddress('198.18.3.20')!.bytes, srcPort: 40000, dstPort: 7, payload: Buffer.from('second') });
  bad[bad.length - 1]! ^= 0x20; // 'd' -> 'D' after the checksum was computed
  client!.transmit(bad);
  await waitFor('r2 drops it', () => (lab.r2.counters()['drop-bad-checksum'] ?? 0) === 1);
  client!.udpSend(40000, '198.18.3.20', 7, Buffer.from('third'));
  await waitFor('third', () => seen.length === 2);
  assert.equal(seen, ['first', 'third']);
  assert.equal(wire, [{ meta: true, checksumOk: true }, { meta: true, checksumOk: false }, { meta: true, checksumOk: true }]);
  assert.is(lab.r1.counters()['drop-bad-checksum'] ?? 0, 0, 'r1 forwards it as it came: no second verify there');
  await lab.close();
});

test.run();
