/**
 * Helpers for test/unit/node/wan-packet-rx.test.ts's packet ring with two devices, each run in a namespace the
 * test created (`ip netns exec NS node dist/test/support/ring-fair.js MODE JSON`):
 *
 *   send {from, port, count}   sends `count` UDP datagrams of 200 bytes from `from`:`port` to 198.18.253.129:9
 *        (the route of `from` picks the device) and prints `RESULT {sent}`.
 *   recv {name, sender, flood, trickle, ms}   opens TUN `name` as a WAN queue reads (offload, the reader thread,
 *        batches of BATCH), takes 198.18.253.129's packets from a packet ring on every Ethernet device with the
 *        ingress rule that drops them (src/node/wan-packet-rx.ts), then, its JS thread blocked (so the reader
 *        fills its buffers and stops taking), runs `send` in namespace `sender` twice: `flood` datagrams from
 *        198.18.252.1:5000 (device 0), then `trickle` from 198.18.252.5:6000 (device 1). Then reads for `ms` and
 *        prints `RESULT <json>`: the datagrams of each, how many flood datagrams were delivered before each
 *        trickle datagram, and the device's rx counters.
 */
import { spawnSync } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { fileURLToPath } from 'node:url';
import { TunPort } from '../../src/io/tun/tun-port.js';
import { runIp } from '../../src/io/tun/link.js';
import type { Interface } from '../../src/model/config.js';
import { WanPacketRx } from '../../src/node/wan-packet-rx.js';
import { PacketInfo, parsePacket, PROTO_UDP } from '../../src/packet/ip.js';
import { ringOf, runHelperModes } from './tun-uso.js';

type Json = Record<string, unknown>;

export const RING_FAIR_WAYPOINT = '198.18.253.129';
/** The reader's batch: the test's bound is in batches (takes). */
export const RING_FAIR_BATCH = 16;
const FLOOD_PORT = 5000;
const TRICKLE_PORT = 6000;

const print = (line: string): void => {
  process.stdout.write(`${line}\n`);
};

async function modeSend(a: Json): Promise<void> {
  const s = createSocket('udp4');
  await new Promise<void>((resolve) => s.bind(Number(a.port), String(a.from), resolve));
  const payload = new Uint8Array(200);
  let sent = 0;
  for (let i = 0; i < Number(a.count); i++) {
    await new Promise<void>((resolve) => s.send(payload, 9, RING_FAIR_WAYPOINT, (e) => {
      if (!e) sent++;
      resolve();
    }));
  }
  s.close();
  print(`RESULT ${JSON.stringify({ sent })}`);
}

function sendFrom(sender: string, from: string, port: number, count: number): void {
  const r = spawnSync('ip', ['netns', 'exec', sender, process.execPath, fileURLToPath(import.meta.url), 'send', JSON.stringify({ from, port, count })],
    { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`send from ${from} failed: ${r.stderr}`);
}

async function modeRecv(a: Json): Promise<void> {
  const port = TunPort.open({ name: String(a.name), offload: true, reader: 'thread', batchSize: RING_FAIR_BATCH });
  await runIp(['link', 'set', 'dev', port.name, 'up']);
  const got = { flood: 0, trickle: 0, floodBefore: [] as number[] };
  const pi = new PacketInfo();
  port.start((data, offsets, lengths, n) => {
    for (let i = 0; i < n; i++) {
      if (parsePacket(data, offsets[i]!, lengths[i]!, pi) !== 0 || pi.protocol !== PROTO_UDP) continue;
      if (pi.srcPort === FLOOD_PORT) got.flood++;
      if (pi.srcPort === TRICKLE_PORT) {
        got.trickle++;
        got.floodBefore.push(got.flood);
      }
    }
  });
  const wan = { name: 'wan0', kind: 'wan', device: port.name, waypoint: RING_FAIR_WAYPOINT } as Interface;
  const events: string[] = [];
  await WanPacketRx.start([wan], (e, f) => events.push(`${e} ${JSON.stringify(f)}`), undefined, ringOf(port), false);
  sendFrom(String(a.sender), '198.18.252.1', FLOOD_PORT, Number(a.flood)); // synchronous: this thread takes nothing meanwhile
  sendFrom(String(a.sender), '198.18.252.5', TRICKLE_PORT, Number(a.trickle));
  setTimeout(() => {
    print(`RESULT ${JSON.stringify({ ...got, events, device: port.device.stats })}`);
    port.close();
  }, Number(a.ms));
}

runHelperModes(import.meta.url, { send: modeSend, recv: modeRecv });
