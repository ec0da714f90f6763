import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createMemoryLab } from '../../../src/sim/memory-lab.js';
import { decodeMetadata } from '../../../src/packet/svr-metadata-decode.js';
import { PacketInfo, parsePacket } from '../../../src/packet/ip.js';
import { formatAddress } from '../../../src/packet/addr.js';
import { exampleConfig, waitFor } from '../../support/config.js';

test('UDP exchange client -> r1 -> r2 -> server and back', async () => {
  const lab = createMemoryLab({ config: await exampleConfig(), clients: ['198.18.1.10'], servers: ['198.18.3.20'] });
  const wire: { dir: string; src: string; dst: string; sport: number; dport: number; meta: ReturnType<typeof decodeMetadata> }[] = [];
  lab.wan.observe((pkt, dir) => {
    const pi = new PacketInfo();
    parsePacket(pkt, 0, pkt.length, pi);
    wire.push({
      dir, src: formatAddress(pkt, pi.srcOff, pi.family), dst: formatAddress(pkt, pi.dstOff, pi.family),
      sport: pi.srcPort, dport: pi.dstPort, meta: decodeMetadata(pkt, pi.payload, pi.end - pi.payload - 16),
    });
  });
  const [client] = lab.clients;
  const [server] = lab.servers;
  const seen: string[] = [];
  server!.udpBind(7, (data, from) => {
    seen.push(`${from.address}:${from.port} ${Buffer.from(data).toString()}`);
    server!.udpSend(7, from.address, from.port, data);
  });
  const replies: string[] = [];
  client!.udpBind(40000, (data) => replies.push(Buffer.from(data).toString()));
  for (let i = 0; i < 3; i++) {
    client!.udpSend(40000, '198.18.3.20', 7, Buffer.from(`ping ${i}`));
    await waitFor(`reply ${i}`, () => replies.length === i + 1);
  }
  assert.equal(replies, ['ping 0', 'ping 1', 'ping 2']);
  assert.equal(seen[0], '198.18.1.10:40000 ping 0', 'the server sees the original client address and port');
  // on the wire: waypoints only, metadata on the first packet of each direction only
  assert.ok(wire.length >= 6);
  for (const w of wire) {
    assert.ok(['198.18.12.1', '198.18.12.2'].includes(w.src) && ['198.18.12.1', '198.18.12.2'].includes(w.dst), `${w.src} -> ${w.dst}`);
  }
  const fwd = wire.filter((w) => w.dir === 'a->b');
  const rev = wire.filter((w) => w.dir === 'b->a');
  assert.ok(fwd[0]!.meta, 'first forward packet carries metadata');
  assert.equal(fwd[0]!.meta!.forward, { src: '198.18.1.10', dst: '198.18.3.20', srcPort: 40000, dstPort: 7, protocol: 17 });
  assert.equal(fwd[0]!.meta!.tenant, 'engineering');
  assert.equal(fwd[0]!.meta!.service, 'echo');
  assert.equal(fwd[0]!.meta!.sourceRouter, 'r1');
  assert.ok(rev[0]!.meta?.disableForwardMetadata, 'reverse metadata carries TLV 18');
  assert.equal(rev[0]!.meta!.reverse, { src: '198.18.3.20', dst: '198.18.1.10', srcPort: 7, dstPort: 40000, protocol: 17 });
  for (const w of [...fwd.slice(1), ...rev.slice(1)]) assert.is(w.meta, null, 'later packets carry no metadata');
  // path symmetry: replies use the mirrored waypoint 5-tuple
  assert.is(fwd[0]!.sport % 2, 0);
  assert.is(fwd[0]!.dport % 2, 1);
  for (const w of fwd) assert.equal([w.sport, w.dport], [fwd[0]!.sport, fwd[0]!.dport]);
  for (const w of rev) assert.equal([w.sport, w.dport], [fwd[0]!.dport, fwd[0]!.sport]);
  const s1 = (await lab.r1.sessions());
  const s2 = (await lab.r2.sessions());
  assert.is(s1.length, 1);
  assert.is(s2.length, 1);
  assert.is(s1[0]!.id, s2[0]!.id, 'both routers show the same session id');
  assert.is(s1[0]!.handshake, 'complete');
  assert.is(s2[0]!.handshake, 'complete');
  await lab.close();
});

test.run();
