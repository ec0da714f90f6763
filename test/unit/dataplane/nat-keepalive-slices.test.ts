/**
 * The NAT keep-alive's look over the session table (session-probes.ts, docs/wan.md "NAT keep-alive") goes in
 * slices: a sweep looks at `keepaliveRows` rows at most and asks for the next sweep while rows are left, and every
 * idle ingress session on the outbound-only path still sends its keep-alive once a second.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Sink } from '../../../bench/inprocess-config.js';
import { stampFlows, udpSlab } from '../../../bench/udp-slab.js';
import { Dataplane } from '../../../src/dataplane/dataplane.js';
import { compileRouter } from '../../../src/model/compile.js';
import { exampleConfig } from '../../support/config.js';

const SESSIONS = 40;
const ROWS = 8;

test('the keep-alive looks at a bounded slice of rows a sweep, and every idle session still sends one each second', async () => {
  const config = await exampleConfig(); // r1's wan behind NAT, keep-alives after 1 s idle
  const r1 = config.authority.routers.find((r) => r.name === 'r1')!;
  for (const n of r1.interfaces.flatMap((i) => i.neighborhoods)) Object.assign(n, { peerConnectivity: 'outbound-only', natKeepAlive: 1 });
  const tables = compileRouter(config, 'r1', 1);
  let now = 1_000_000;
  const dp = new Dataplane({ tables, ports: tables.interfaces.map(() => new Sink()), clock: () => now, keepaliveRows: ROWS, sessionCountersMs: 0 });
  for (const p of tables.paths) dp.setPathUp(p.id, true);
  const { slab, offs, lens, stamp } = udpSlab(SESSIONS);
  stampFlows(stamp, 0, SESSIONS);
  dp.receive(tables.interfaceIndex('lan0'), slab, offs, lens, SESSIONS);
  assert.is(dp.sessions.active, SESSIONS, 'one ingress session a flow');
  const sent = (): number => dp.counters.snapshot()['nat-keepalives-sent'] ?? 0;
  dp.sweepAll(); // the first look: nothing idle yet
  assert.is(sent(), 0);
  for (const second of [1, 2]) {
    now += 1000;
    const before = sent();
    let sweeps = 0;
    let more = true;
    while (more) {
      const at = sent();
      more = dp.sweep();
      sweeps++;
      assert.ok(sent() - at <= ROWS, `a sweep sent ${sent() - at} keep-alives: it looked at more than ${ROWS} rows`);
    }
    assert.is(sent() - before, SESSIONS, `second ${second}: every idle session sent its keep-alive`);
    assert.ok(sweeps >= SESSIONS / ROWS, `${sweeps} sweeps for ${SESSIONS} rows`);
    assert.not.ok(dp.sweep(), 'no look again within the second');
    assert.is(sent() - before, SESSIONS);
  }
});

test.run();
