/** The router's control part over both data-path hosts: peers and path liveness across config changes. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Router, createRouter } from '../../../src/control/router.js';
import { MemoryLink } from '../../../src/io/memory/link.js';
import { MemorySegment } from '../../../src/io/memory/segment.js';
import { parseConfig } from '../../../src/model/validate.js';
import { WorkerHost } from '../../../src/workers/worker-host.js';
import { buildUdp } from '../../../src/packet/build.js';
import { parseAddress } from '../../../src/packet/addr.js';
import { packBatch } from '../../../src/workers/channel-port.js';
import { until } from '../../support/config.js';
import { TWO_PATHS } from '../../support/two-paths.js';

/** r3 joins path1 next to r2 (a new peer of r1 on wan0). */
const WITH_R3 = TWO_PATHS + `
    - name: r3
      interfaces:
        - { name: lan0, kind: lan }
        - { name: wan0, kind: wan, waypoint: 198.18.12.3, neighborhoods: [{ name: path1, vector: mpls }] }
`;
/** r2 leaves path1: r1's path over wan0 is gone and its path over wan1 moves from id 1 to id 0. */
const WITHOUT_PATH1 = TWO_PATHS.replace('waypoint: 198.18.12.2, neighborhoods: [{ name: path1, vector: mpls }]', 'waypoint: 198.18.12.2, neighborhoods: [{ name: elsewhere }]');

function r1Io() {
  const lan = new MemorySegment('lan');
  const wans = [new MemoryLink('wan0'), new MemoryLink('wan1')];
  return { io: { lan0: lan.gatewayPort(), wan0: wans[0]!.a, wan1: wans[1]!.a }, lan, close: () => { lan.close(); for (const w of wans) w.close(); } };
}

test('a peer added by a config change starts from its paths\' state: unreachable under BFD until a path is up', async () => {
  const { io, close } = r1Io();
  const r1 = createRouter(parseConfig(TWO_PATHS, 'a.yaml'), io, { name: 'r1', liveness: 'bfd' });
  await r1.start();
  try {
    assert.equal(r1.peers().map((p) => [p.name, p.reachable]), [['r2', false]], 'no BFD peer answers: r2 unreachable');
    r1.applyConfig(parseConfig(WITH_R3, 'b.yaml'));
    const r3 = r1.peers().find((p) => p.name === 'r3');
    assert.ok(r3 !== undefined, 'r3 is a peer now');
    assert.is(r3!.reachable, false, 'a new peer is not reachable before any of its paths is up');
    assert.is(r3!.paths[0]!.up, false);
    r1.setPathUp('wan0->r3/wan0', true);
    assert.is(r1.peers().find((p) => p.name === 'r3')!.reachable, true, 'reachable once its path is up');
    r1.applyConfig(parseConfig(TWO_PATHS, 'a.yaml'));
    assert.equal(r1.peers().map((p) => p.name), ['r2'], 'a removed peer is gone');
  } finally {
    await r1.stop();
    close();
  }
});

test('static liveness: a peer added by a config change is reachable at once', async () => {
  const { io, close } = r1Io();
  const r1 = createRouter(parseConfig(TWO_PATHS, 'a.yaml'), io, { name: 'r1', liveness: 'static' });
  await r1.start();
  try {
    r1.applyConfig(parseConfig(WITH_R3, 'b.yaml'));
    assert.is(r1.peers().find((p) => p.name === 'r3')?.reachable, true);
  } finally {
    await r1.stop();
    close();
  }
});

for (const kind of ['in-thread', 'worker threads'] as const) {
  test(`path liveness follows path names when a config change moves path ids (${kind})`, async () => {
    const { io, close } = r1Io();
    const config = parseConfig(TWO_PATHS, 'a.yaml');
    const r1 = kind === 'in-thread'
      ? createRouter(config, io, { name: 'r1', liveness: 'static' })
      : new Router(config, new WorkerHost({ workers: 2, io: { kind: 'channel' } }), { name: 'r1', liveness: 'static' });
    await r1.start();
    try {
      assert.equal(r1.tables.paths.map((p) => p.name), ['wan0->r2/wan0', 'wan1->r2/wan1']);
      r1.setPathUp('wan1->r2/wan1', false);
      r1.applyConfig(parseConfig(WITHOUT_PATH1, 'b.yaml'));
      assert.equal(r1.tables.paths.map((p) => p.name), ['wan1->r2/wan1'], 'the wan1 path has id 0 now');
      assert.is(r1.isPathUp(0), false, 'id 0 (wan1) is still down');
      assert.equal(r1.peers()[0]!.paths.map((p) => [p.name, p.up]), [['wan1->r2/wan1', false]]);
      assert.is(r1.peers()[0]!.reachable, false, 'r2 is unreachable: its only path is down');
    } finally {
      await r1.stop();
      close();
    }
  });
}

test('a handshake that gives up is counted by control, over both hosts', async () => {
  const datagram = buildUdp({ src: parseAddress('198.18.1.10')!.bytes, dst: parseAddress('198.18.3.20')!.bytes, srcPort: 40000, dstPort: 5000, payload: new Uint8Array(8) });
  const one = { offsets: Uint32Array.of(0), lengths: Uint32Array.of(datagram.length), count: 1 };
  for (const kind of ['in-thread', 'worker threads'] as const) {
    const { io, lan, close } = r1Io();
    const config = parseConfig(TWO_PATHS, 'a.yaml');
    const opts = { name: 'r1', liveness: 'static' as const, handshake: { baseDelayMs: 10, maxTries: 1 } };
    const host = kind === 'in-thread' ? null : new WorkerHost({ workers: 2, io: { kind: 'channel' } });
    const r1 = host === null ? createRouter(config, io, opts) : new Router(config, host, opts);
    await r1.start();
    try {
      // a client's datagram to the stream service; nothing answers on the WAN, so no reverse metadata comes back
      if (host === null) lan.hostPort('198.18.1.10').transmit(datagram, one.offsets, one.lengths, 1);
      else host.channel(0, 'lan0').postMessage(packBatch(datagram, one.offsets, one.lengths, 1));
      assert.ok(await until(() => r1.counters()['handshakes-failed'] === 1, 3000), `${kind}: handshakes-failed ${r1.counters()['handshakes-failed']}`);
    } finally {
      await r1.stop();
      close();
    }
  }
});

test.run();
