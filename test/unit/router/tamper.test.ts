import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createMemoryLab } from '../../../src/sim/memory-lab.js';
import { exampleConfig, sleep, until, waitFor } from '../../support/config.js';
import { SIGNED_TRAILER, recordWire } from '../../support/wire.js';
import type { SvrConfig } from '../../../src/model/config.js';
import { PacketInfo, parsePacket } from '../../../src/packet/ip.js';
import { fillIpv4HeaderChecksum, fillL4Checksum } from '../../../src/packet/rewrite.js';

async function firstMetadataPacket(config: SvrConfig) {
  const lab = createMemoryLab({ config, clients: ['198.18.1.10'], servers: ['198.18.3.20'] });
  const wire = recordWire(lab.wan, config.authority.securityPolicies.find((p) => p.name === 'internal')?.hmacMode === 'disabled' ? 0 : SIGNED_TRAILER);
  lab.wan.setFilter((_, dir) => dir === 'b->a'); // the first forward packet never arrives: we replay it
  lab.clients[0]!.udpSend(41000, '198.18.3.20', 7, Buffer.from('hello'));
  await waitFor('the first forward packet on the wire', () => wire.length > 0);
  lab.wan.setFilter(null);
  return { lab, pkt: wire[0]!.bytes, meta: wire[0]!.meta! };
}

test('a packet whose metadata was tampered with is dropped (bad HMAC), a clean replay is accepted', async () => {
  const { lab, pkt, meta } = await firstMetadataPacket(await exampleConfig());
  assert.is(meta.tenant, 'engineering');
  const tampered = pkt.slice();
  const at = Buffer.from(tampered).indexOf(Buffer.from('engineering'));
  tampered[at] = 'E'.charCodeAt(0);
  let got = 0;
  lab.servers[0]!.udpBind(7, () => got++);
  const traffic0 = lab.r2.host.pathTraffic(0);
  lab.wan.a.send(tampered);
  await sleep(20);
  assert.is(lab.r2.counters()['drop-bad-hmac'], 1);
  assert.is((await lab.r2.sessions()).length, 0, 'no session from tampered metadata');
  const badTrailer = pkt.slice();
  badTrailer[badTrailer.length - 1]! ^= 0xff;
  lab.wan.a.send(badTrailer);
  await sleep(20);
  assert.is(lab.r2.counters()['drop-bad-hmac'], 2);
  assert.is(got, 0);
  assert.is(lab.r2.host.pathTraffic(0), traffic0, 'packets failing HMAC are no sign of path liveness');
  lab.wan.a.send(pkt);
  assert.ok(await until(() => got === 1), 'the untouched packet is accepted');
  assert.is(lab.r2.host.pathTraffic(0), traffic0 + 1, 'a verified data packet counts for the path (BFD liveness)');
  assert.is((await lab.r2.sessions()).length, 1);
  await lab.close();
});

test('without HMAC, metadata lengths that disagree with the packet are counted drops', async () => {
  const config = await exampleConfig();
  config.authority.securityPolicies = config.authority.securityPolicies.map((p) => ({ ...p, hmacMode: 'disabled' as const }));
  const { lab, pkt } = await firstMetadataPacket(config);
  const l4 = 20 + 8;
  const overrun = pkt.slice();
  overrun[l4 + 10] = 0xff; // payload_length far past the packet
  overrun[l4 + 11] = 0xff;
  const badCtx = pkt.slice();
  // the forward context TLV (type 2) is the first payload TLV: its length byte says 12 instead of 13
  const hl = ((badCtx[l4 + 8]! & 0x0f) << 8) | badCtx[l4 + 9]!;
  badCtx[l4 + hl + 3] = 12;
  for (const p of [overrun, badCtx]) lab.wan.a.send(p);
  await sleep(20);
  const c = lab.r2.counters();
  assert.is(c['drop-bad-metadata'], 2);
  assert.is(c['bad-metadata-lengths-exceed-packet'], 1);
  assert.is(c['bad-metadata-bad-context-length'], 1);
  assert.is((await lab.r2.sessions()).length, 0);
  await lab.close();
});

test('SSR-style encrypted metadata on a path without a metadata key is counted as encrypted, not malformed', async () => {
  const config = await exampleConfig();
  config.authority.securityPolicies = config.authority.securityPolicies.map((p) => ({ ...p, hmacMode: 'disabled' as const }));
  const { lab, pkt } = await firstMetadataPacket(config);
  const l4 = 20 + 8;
  const hl = ((pkt[l4 + 8]! & 0x0f) << 8) | pkt[l4 + 9]!;
  const ssr = new Uint8Array(l4 + hl + 80);
  ssr.set(pkt.subarray(0, l4 + hl)); // IP, UDP, base header and the security id header TLV
  for (let i = 0; i < 80; i++) ssr[l4 + hl + i] = (i * 37 + 11) & 0xff; // 16-byte IV + 4 AES blocks, opaque
  ssr[l4 + 10] = 0;
  ssr[l4 + 11] = 80;
  const pi = new PacketInfo();
  ssr[2] = ssr.length >> 8; // IP total length
  ssr[3] = ssr.length & 0xff;
  ssr[24] = (ssr.length - 20) >> 8; // UDP length
  ssr[25] = (ssr.length - 20) & 0xff;
  parsePacket(ssr, 0, ssr.length, pi);
  fillIpv4HeaderChecksum(ssr, 0);
  fillL4Checksum(ssr, pi);
  lab.wan.a.send(ssr);
  await waitFor('drop-metadata-encrypted', () => (lab.r2.counters()['drop-metadata-encrypted'] ?? 0) === 1);
  assert.is(lab.r2.counters()['drop-metadata-encrypted'], 1);
  assert.is(lab.r2.counters()['drop-bad-metadata'] ?? 0, 0, 'not called malformed');
  assert.is((await lab.r2.sessions()).length, 0);
  await lab.close();
});

test.run();
