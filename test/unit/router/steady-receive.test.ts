/**
 * svr-in's native finish (src/dataplane/steady-receive.ts) in a router: a TCP transfer each way through r1 and
 * r2 with it on and off (SVR_NATIVE_RECEIVE=0), TCP as TCP and as UDP (always-transform), HMAC only and with
 * AES-CBC and AES-GCM payloads: r2 finishes the client's packets toward the server, r1 the server's toward the
 * client. Golden: every packet either router delivers on a LAN has a valid IPv4 header checksum and L4
 * checksum and equals, TTL and IP checksum aside, the one its host sent (in order); the transfer is intact, and
 * the routers' counters do not depend on the switch.
 */
import * as assert from 'uvu/assert';
import { createHash, randomBytes } from 'node:crypto';
import { createMemoryLab } from '../../../src/sim/memory-lab.js';
import type { MemorySegment } from '../../../src/io/memory/segment.js';
import { SteadyReceive } from '../../../src/dataplane/steady-receive.js';
import { finish, sumBytes } from '../../../src/packet/checksum.js';
import { PacketInfo, parsePacket } from '../../../src/packet/ip.js';
import { verifyL4Checksum } from '../../../src/packet/rewrite.js';
import { until } from '../../support/config.js';
import { withSwitch, withSwitchSync } from '../../support/env.js';
import { requires } from '../../support/prerequisites.js';
import { steadyConfig, steadyCounters, type SteadyCipher } from '../../support/steady.js';

const test = requires(import.meta.url); // the addon (skipped without it)
const available = withSwitchSync('SVR_NATIVE_RECEIVE', true, () => new SteadyReceive().steady.on);

const CLIENT = '198.18.1.10', SERVER = '198.18.3.20';
const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

/** packets the native finish took (SteadyReceive.finish watched), so a run shows which path it tested */
let finished = 0;
const finishOriginal = SteadyReceive.prototype.finish;
SteadyReceive.prototype.finish = function (this: SteadyReceive, data: Uint8Array): void {
  finished += this.steady.count;
  finishOriginal.call(this, data);
};

/** The TCP packets from `src` seen on a LAN segment (not SYNs), in order, with TTL and IPv4 header checksum zeroed (checked first). */
function record(lan: MemorySegment, src: string, out: string[]): void {
  const pi = new PacketInfo();
  const prefix = src.split('.').map(Number);
  lan.observe((pkt) => {
    if (parsePacket(pkt, 0, pkt.length, pi) !== 0 || pi.protocol !== 6 || pi.family !== 4) return;
    if (pkt[pi.srcOff] !== prefix[0] || pkt[pi.srcOff + 1] !== prefix[1] || pkt[pi.srcOff + 2] !== prefix[2] || pkt[pi.srcOff + 3] !== prefix[3]) return;
    assert.is(finish(sumBytes(pkt, pi.l3, pi.l4 - pi.l3, 0)), 0, 'the IPv4 header checksum');
    assert.ok(verifyL4Checksum(pkt, pi), 'the L4 checksum');
    if ((pi.tcpFlags & 0x02) !== 0) return; // a SYN's MSS is clamped on the way (mss-clamp.ts)
    const q = Buffer.from(pkt.subarray(0, pi.end));
    q[8] = 0;
    q[10] = 0;
    q[11] = 0;
    out.push(q.toString('hex'));
  });
}

async function run(cipher: SteadyCipher, asUdp: boolean, on: boolean): Promise<{ r1: Record<string, number>; r2: Record<string, number> }> {
  const cfg = await steadyConfig(cipher, asUdp);
  const lab = await withSwitch('SVR_NATIVE_RECEIVE', on, async () => createMemoryLab({ config: cfg, clients: [CLIENT], servers: [SERVER] }));
  const sentUp: string[] = [], gotUp: string[] = [], sentDown: string[] = [], gotDown: string[] = [];
  // the client's packets as it sent them and as r2 delivered them; the server's, as r1 delivered them
  record(lab.clientLan, CLIENT, sentUp);
  record(lab.serverLan, CLIENT, gotUp);
  record(lab.serverLan, SERVER, sentDown);
  record(lab.clientLan, SERVER, gotDown);
  finished = 0;
  const up = randomBytes(200_000), down = randomBytes(200_000);
  let serverGot = '';
  lab.servers[0]!.tcpListen(80, (c) => void c.readAll().then((d) => { serverGot = sha(d); c.write(down); c.end(); }));
  const conn = await lab.clients[0]!.tcpConnect(SERVER, 80);
  conn.write(up);
  conn.end();
  assert.is(sha(await conn.readAll()), sha(down), 'the download');
  assert.ok(await until(() => serverGot !== ''));
  assert.is(serverGot, sha(up), 'the upload');
  assert.ok(gotUp.length > 100 && gotDown.length > 100, `delivered ${gotUp.length} up, ${gotDown.length} down`);
  // what each LAN host got is what the other sent (the segments in flight when recording ends aside)
  for (const [sent, got, way] of [[sentUp, gotUp, 'up'], [sentDown, gotDown, 'down']] as const) {
    for (let i = 0; i < got.length; i++) if (got[i] !== sent[i]) assert.unreachable(`${way}: delivered packet ${i} of ${got.length} differs from the one sent:\n${got[i]}\n${sent[i]}`);
  }
  // HMAC only, TCP as TCP: an established packet loses nothing but its trailer (wan-verify's), so svr-in's rewrite stays incremental in JS
  if (on && (cipher !== 'none' || asUdp)) assert.ok(finished > (gotUp.length + gotDown.length) / 4, `the native finish took ${finished} packets`);
  else if (!on) assert.is(finished, 0, 'SVR_NATIVE_RECEIVE=0: all in JS');
  const out = { r1: steadyCounters(lab.r1.counters()), r2: steadyCounters(lab.r2.counters()) };
  await lab.close();
  return out;
}

for (const asUdp of [false, true]) {
  for (const cipher of ['none', 'aes-cbc-256', 'aes-gcm-256'] as const) {
    test(`TCP as ${asUdp ? 'UDP' : 'TCP'}, ${cipher === 'none' ? 'HMAC only' : cipher}: delivered packets equal the sent ones, the same counters with the native finish on and off`, async () => {
      assert.ok(available, 'SVR_NATIVE_RECEIVE=1 turns the native finish on (the addon has native/steady-send.c: npm run build:native)');
      const on = await run(cipher, asUdp, true);
      const off = await run(cipher, asUdp, false);
      assert.equal(on.r1, off.r1, 'r1 counters');
      assert.equal(on.r2, off.r2, 'r2 counters');
    });
  }
}

test.run();
