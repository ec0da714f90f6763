/** Wan queues that carry path control only gather longer (src/control/wan-gather.ts). */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { CONTROL_ONLY_MIN_PACKETS, controlGatherUs, controlOnly } from '../../../src/control/wan-gather.js';
import { Router } from '../../../src/control/router.js';
import { InThreadHost, type InThreadHostOptions } from '../../../src/control/in-thread-host.js';
import type { PacketPort } from '../../../src/dataplane/port.js';
import { MemoryLink } from '../../../src/io/memory/link.js';
import { MemorySegment } from '../../../src/io/memory/segment.js';
import { parseAddress } from '../../../src/packet/addr.js';
import { buildUdp } from '../../../src/packet/build.js';
import { exampleConfig, until } from '../../support/config.js';

test('controlOnly: on at <= 5 % other packets, off above 10 % (hysteresis), never below a hub\'s rate', () => {
  assert.is(controlOnly(false, 1000, 950), true);
  assert.is(controlOnly(false, 1000, 949), false);
  assert.is(controlOnly(true, 1000, 900), true);
  assert.is(controlOnly(true, 1000, 899), false);
  assert.is(controlOnly(true, 0, 0), false, 'an idle second: off, so the first data packets after it are not held');
  assert.is(controlOnly(false, 0, 0), false);
  assert.is(controlOnly(false, CONTROL_ONLY_MIN_PACKETS - 1, CONTROL_ONLY_MIN_PACKETS - 1), false, 'a small router\'s BFD alone: its default window');
  assert.is(controlOnly(true, CONTROL_ONLY_MIN_PACKETS - 1, CONTROL_ONLY_MIN_PACKETS - 1), false);
  assert.is(controlOnly(false, CONTROL_ONLY_MIN_PACKETS, CONTROL_ONLY_MIN_PACKETS), true);
  assert.is(controlOnly(false, 100, 120, 1), true, 'more control than wan packets in a second (counted across a tick) is control only');
});

test('controlGatherUs: SVR_TUN_CONTROL_GATHER_US, at most 1000 µs; 0 turns it off; anything else the default', () => {
  assert.is(controlGatherUs({}), 1000);
  assert.is(controlGatherUs({ SVR_TUN_CONTROL_GATHER_US: '0' }), 0);
  assert.is(controlGatherUs({ SVR_TUN_CONTROL_GATHER_US: '500' }), 500);
  assert.is(controlGatherUs({ SVR_TUN_CONTROL_GATHER_US: '5000' }), 1000);
  assert.is(controlGatherUs({ SVR_TUN_CONTROL_GATHER_US: '-1' }), 1000);
  assert.is(controlGatherUs({ SVR_TUN_CONTROL_GATHER_US: 'x' }), 1000);
});

/** The port, with the windows the router asked of it. */
function telling(port: PacketPort): PacketPort & { told: (number | undefined)[] } {
  const told: (number | undefined)[] = [];
  return {
    name: port.name,
    start: (deliver) => port.start(deliver),
    transmit: (data, offsets, lengths, count, control) => port.transmit(data, offsets, lengths, count, control),
    close: () => port.close(),
    readGather: (us) => told.push(us),
    told,
  };
}

/** Two in-thread routers over a memory wan, BFD every 50 ms; r1's wan port records the windows it is told. */
async function bfdPair(opts: InThreadHostOptions) {
  const config = await exampleConfig();
  for (const r of config.authority.routers) for (const i of r.interfaces) for (const n of i.neighborhoods) {
    n.bfd = { desiredTxInterval: 50, requiredMinRxInterval: 50, multiplier: 3, holdDownTime: 1, linkTestInterval: 1, linkTestLength: 3 };
  }
  const wan = new MemoryLink('wan');
  const lan1 = new MemorySegment('lan1');
  const lan2 = new MemorySegment('lan2');
  const wan1 = telling(wan.a);
  const bfd = { slowStartMs: 50, linkTestSpacingMs: 10 };
  const host1 = new InThreadHost({ lan0: lan1.gatewayPort(), wan0: wan1 }, opts);
  const r1 = new Router(config, host1, { name: 'r1', liveness: 'bfd', bfd });
  const r2 = new Router(config, new InThreadHost({ lan0: lan2.gatewayPort(), wan0: wan.b }, opts), { name: 'r2', liveness: 'bfd', bfd });
  await r1.start();
  await r2.start();
  const stop = async (): Promise<void> => {
    await r1.stop();
    await r2.stop();
    wan.close();
    lan1.close();
    lan2.close();
  };
  return { wan, wan1, host1, stop };
}

test('an in-thread router (at a hub\'s rate, here from 1 packet a second): its wan port gathers 1000 µs while BFD alone arrives, its default again once other packets do', async () => {
  const { wan, wan1, stop } = await bfdPair({ controlOnlyMinPackets: 1 });
  let junk: NodeJS.Timeout | undefined;
  try {
    assert.ok(await until(() => wan1.told.length > 0, 5000), 'told to gather once a second of BFD had arrived');
    assert.equal(wan1.told, [1000]);
    // UDP to r1's waypoint that is not path control (dropped there, but received on the wan): 100 a second
    const pkt = buildUdp({ src: parseAddress('198.18.12.2')!.bytes, dst: parseAddress('198.18.12.1')!.bytes, srcPort: 4000, dstPort: 4001, payload: new Uint8Array(32) });
    junk = setInterval(() => wan.b.transmit(pkt, new Uint32Array([0]), new Uint32Array([pkt.length]), 1), 10);
    assert.ok(await until(() => wan1.told.length > 1, 4000), `told back: ${JSON.stringify(wan1.told)}`);
    assert.equal(wan1.told, [1000, undefined]);
  } finally {
    clearInterval(junk);
    await stop();
  }
});

test('an in-thread router with a few paths (below a hub\'s rate): its wan port keeps its default window', async () => {
  const { wan1, host1, stop } = await bfdPair({});
  try {
    const consumed = host1.dataplane.counters;
    assert.ok(await until(() => consumed.values[consumed.id('consumed-path-messages')]! > 20, 5000), 'BFD arrives');
    await new Promise((r) => setTimeout(r, 2500)); // two ticks of BFD alone
    assert.equal(wan1.told, []);
  } finally {
    await stop();
  }
});

test.run();
