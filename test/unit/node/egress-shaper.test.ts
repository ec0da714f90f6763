/**
 * The kernel egress shaper's tree (node/egress-shaper.ts) as tc batch lines: the redirect of the TUN's
 * ingress to the IFB device, the four priority queues by share, a plugin's shaped DSCP with its own
 * capped class, and the DSCP filters. The real kernel runs it in test/e2e/shaper.test.ts.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { Interface } from '../../../src/model/config.js';
import { ifbName, shaperCommands } from '../../../src/node/egress-shaper.js';

const wan = (extra: Partial<Interface> = {}): Interface => ({
  name: 'wan0', kind: 'wan', neighborhoods: [], security: 'internal', portRange: { from: 16384, to: 65534 }, device: 'svr-wan0', mtu: 1700,
  enforcedMss: 'automatic', kernelRoutes: [], ...extra,
});

test('ifb names: q-<device>, at most 15 characters', () => {
  assert.is(ifbName('svr-wan0'), 'q-svr-wan0');
  assert.is(ifbName('a-very-long-tun'), 'q-a-very-long-t');
});

test('a shaped interface: ingress redirect, root at the rate, queues at their shares with the rate as ceiling, bounded queues, precedence filters', () => {
  const { lines, leaves, rate } = shaperCommands(wan({ shapingRate: 30e6, shapingShares: [50, 30, 20, 0] }), 'q-svr-wan0', []);
  assert.is(rate, 30e6);
  assert.ok(lines.includes('qdisc add dev svr-wan0 handle ffff: ingress'));
  assert.ok(lines.includes('filter add dev svr-wan0 parent ffff: protocol all prio 1 u32 match u32 0 0 action mirred egress redirect dev q-svr-wan0'));
  assert.ok(lines.some((l) => l.startsWith('class add dev q-svr-wan0 parent 1: classid 1:1 htb rate 30000000bit ceil 30000000bit')));
  assert.equal(leaves.map((l) => [l.queue, l.classid, l.rate, l.ceil]), [
    ['high', '1:10', 15e6, 30e6], ['medium', '1:20', 9e6, 30e6], ['low', '1:30', 6e6, 30e6], ['best-effort', '1:40', 8000, 30e6],
  ]);
  assert.ok(leaves.every((l) => l.limit === 187_500), '50 ms of the rate per queue');
  assert.ok(lines.includes('class add dev q-svr-wan0 parent 1:1 classid 1:10 htb rate 15000000bit ceil 30000000bit burst 3400 cburst 3750 prio 0 quantum 1700'));
  // EF (46) has precedence 5: high; AF41 (34) precedence 4: medium; AF11 (10) precedence 1: low
  assert.ok(lines.includes(`filter add dev q-svr-wan0 parent 1: protocol ip prio 20 u32 match ip tos ${5 << 5} 0xe0 flowid 1:10`));
  assert.ok(lines.includes(`filter add dev q-svr-wan0 parent 1: protocol ip prio 20 u32 match ip tos ${4 << 5} 0xe0 flowid 1:20`));
  assert.ok(lines.includes(`filter add dev q-svr-wan0 parent 1: protocol ipv6 prio 21 u32 match ip6 priority ${1 << 5} 0xe0 flowid 1:30`));
  assert.not.ok(lines.some((l) => l.includes('0xe0 flowid 1:40')), 'precedence 0 is the default class');
});

test('a plugin\'s shaped DSCP: its own class at rate = ceil, in its precedence\'s priority, matched before the precedence filters', () => {
  const { lines, leaves, rate } = shaperCommands(wan(), 'q-svr-wan0', [{ dscp: 10, rate: 20e6, queueBytes: 250_000 }]);
  assert.is(rate, 10e9, 'a WAN interface without shaping-rate: a root that does not limit');
  const own = leaves.find((l) => l.queue === 'dscp-10')!;
  assert.equal([own.classid, own.rate, own.ceil, own.limit], ['1:10a', 20e6, 20e6, 250_000]);
  assert.ok(lines.some((l) => l.startsWith('class add dev q-svr-wan0 parent 1:1 classid 1:10a htb rate 20000000bit ceil 20000000bit') && l.includes(' prio 2 ')));
  assert.ok(lines.includes(`filter add dev q-svr-wan0 parent 1: protocol ip prio 10 u32 match ip tos ${10 << 2} 0xfc flowid 1:10a`));
  assert.ok(lines.includes(`filter add dev q-svr-wan0 parent 1: protocol ipv6 prio 11 u32 match ip6 priority ${10 << 2} 0xfc flowid 1:10a`));
});

test.run();
