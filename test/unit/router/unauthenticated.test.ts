/**
 * No unauthenticated state change (docs/security.md): under hmac-mode metadata-only, packets without a
 * trailer carry data but cannot open, refresh, reset or close a session; the sender signs the packets
 * that must change its peer's state (TCP SYN/FIN/RST, one a second per session). Simulated clock.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createMemoryLab, type MemoryLab } from '../../../src/sim/memory-lab.js';
import { PacketInfo, TCP_ACK, TCP_FIN, TCP_RST, parsePacket } from '../../../src/packet/ip.js';
import { fillL4Checksum } from '../../../src/packet/rewrite.js';
import { SF_FIN_FWD } from '../../../src/dataplane/session-table.js';
import { hasCookie } from '../../../src/packet/svr-metadata.js';
import { exampleConfig, sleep, until } from '../../support/config.js';

interface Lab {
  lab: MemoryLab;
  setNow(ms: number): void;
  now(): number;
  /** r1 -> r2 packets: signed (payload starts with the cookie) or not */
  forward: { bytes: Uint8Array; signed: boolean }[];
}

async function metadataOnlyLab(udpTimeout: number): Promise<Lab> {
  let now = 1_700_000_000_000;
  const config = await exampleConfig();
  for (const p of config.authority.securityPolicies) p.hmacMode = 'metadata-only';
  for (const s of config.authority.services) s.timeouts.udp = udpTimeout;
  const lab = createMemoryLab({ config, clients: ['198.18.1.10'], servers: ['198.18.3.20'], router: { clock: () => now, sweepIntervalMs: 0 } });
  const forward: Lab['forward'] = [];
  const pi = new PacketInfo();
  lab.wan.observe((pkt, dir) => {
    if (dir !== 'a->b' || parsePacket(pkt, 0, pkt.length, pi) !== 0) return;
    forward.push({ bytes: pkt.slice(), signed: hasCookie(pkt, pi.payload, pi.end - pi.payload) });
  });
  return { lab, forward, setNow: (ms) => (now = ms), now: () => now };
}

/** SF_FIN_FWD of r2's only session. */
function finBits(lab: MemoryLab): number {
  const t = lab.r2.host.dataplane.sessions;
  const row = [...Array(t.capacity).keys()].find((r) => t.isActive(r))!;
  return t.flags[row]! & SF_FIN_FWD;
}

function sweep(lab: MemoryLab): void {
  lab.r1.sweep();
  lab.r2.sweep();
}

test('metadata-only: a UDP session stays up on one signed packet a second; replayed unsigned packets keep nothing alive', async () => {
  const { lab, forward, setNow, now } = await metadataOnlyLab(2);
  let got = 0;
  lab.servers[0]!.udpBind(7, (d, from) => {
    got++;
    if (got === 1) lab.servers[0]!.udpSend(7, from.address, from.port, d); // one reply completes the handshake
  });
  for (let i = 0; i < 20; i++) { // 10 s, a datagram every 0.5 s
    lab.clients[0]!.udpSend(41000, '198.18.3.20', 7, Buffer.from(`datagram ${i}`));
    assert.ok(await until(() => got === i + 1), `datagram ${i}`);
    setNow(now() + 500);
    sweep(lab);
    assert.is((await lab.r2.sessions()).length, 1, `egress session alive at ${i / 2} s`);
  }
  const signed = forward.filter((f) => f.signed).length;
  assert.ok(signed >= 10 && signed <= 12, `about one signed packet a second (${signed} of ${forward.length})`);
  // now only an attacker replays an unsigned datagram: delivered (metadata-only does not protect data), but
  // the session is not refreshed by it and expires on time
  const unsigned = forward.filter((f) => !f.signed).at(-1)!.bytes;
  for (let i = 0; i < 8; i++) {
    lab.wan.a.send(unsigned);
    await sleep(5);
    setNow(now() + 500);
    sweep(lab);
  }
  assert.is((await lab.r2.sessions()).length, 0, 'expired although unsigned packets kept coming');
  assert.ok((lab.r2.counters()['drop-no-session'] ?? 0) >= 1, 'after that they find no session');
  await lab.close();
});

test('metadata-only: an unsigned TCP RST or FIN is dropped and counted; the session stays open; a signed FIN closes it', async () => {
  const { lab, forward } = await metadataOnlyLab(180);
  const received: Buffer[] = [];
  let server: { end(): void } | undefined;
  lab.servers[0]!.tcpListen(80, (c) => {
    server = c;
    c.on('data', (d: Uint8Array) => received.push(Buffer.from(d)));
  });
  const conn = await lab.clients[0]!.tcpConnect('198.18.3.20', 80);
  for (let i = 0; i < 3; i++) {
    conn.write(Buffer.from(`chunk ${i} `));
    assert.ok(await until(() => received.length === i + 1));
  }
  const data = forward.filter((f) => !f.signed).map((f) => f.bytes);
  assert.ok(data.length >= 1, 'unsigned data segments on the wire');
  const pi = new PacketInfo();
  for (const [flag, name] of [[TCP_RST, 'RST'], [TCP_FIN, 'FIN']] as const) {
    const forged = data.at(-1)!.slice();
    parsePacket(forged, 0, forged.length, pi);
    forged[pi.l4 + 13] = flag | TCP_ACK;
    fillL4Checksum(forged, pi);
    const before = lab.r2.counters()['drop-unauthenticated'] ?? 0;
    lab.wan.a.send(forged);
    assert.ok(await until(() => lab.r2.counters()['drop-unauthenticated'] === before + 1), `unsigned ${name} counted`);
    assert.is((await lab.r2.sessions())[0]!.state, 'established', `the ${name} changed nothing`);
    assert.is(finBits(lab), 0, `the ${name} left no FIN mark`);
  }
  conn.write(Buffer.from('still flowing'));
  assert.ok(await until(() => Buffer.concat(received).toString().endsWith('still flowing')));
  conn.end(); // a real FIN: signed by r1, so r2 follows it
  assert.ok(await until(() => finBits(lab) !== 0), 'the signed FIN changed the state');
  const fin = forward.filter((f) => f.signed).at(-1)!.bytes;
  parsePacket(fin, 0, fin.length, pi);
  assert.ok((pi.tcpFlags & TCP_FIN) !== 0, 'the FIN went signed (bare header + trailer)');
  server?.end();
  await lab.close();
});

test.run();
