/**
 * NAT bindings across a failover (issue 15: "session state (table rows, waypoints, NAT bindings ...) is
 * synchronised"): r2, the egress router, source-NATs to a pool (builtin.nat). Its session rows go to a fresh r2
 * with the same config and plugin, as the standby of a pair installs them when it takes over
 * (`importSessions`). The existing session keeps its binding (the server sees the same pool address and port), and
 * builtin.nat on the new node takes the installed rows' ports (`onSessionInstalled`): a session opened after the
 * takeover gets another port, and the installed session is not replaced as stale.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createMemoryLab, type MemoryLab } from '../../../src/sim/memory-lab.js';
import { until } from '../../support/config.js';
import { builtin, labConfig } from '../builtin/services-lab.js';

const natRange = (range: string) => builtin('nat', { pools: [{ name: 'public', addresses: ['198.18.3.1'], type: 'dynamic' }], 'port-range': range });
const NAT = natRange('20000-20009');

/** the server's echo on UDP 7, noting the source it saw per payload */
function echo(lab: MemoryLab, seen: Map<string, string>): void {
  lab.servers[0]!.udpBind(7, (d, f) => {
    seen.set(Buffer.from(d).toString(), `${f.address}:${f.port}`);
    lab.servers[0]!.udpSend(7, f.address, f.port, d);
  });
}

/**
 * The old pair (`before`) and the fresh one (`after`), builtin.nat on both r2s, the server's echo on both; a first
 * session (client port 30000, payload a1) answered through `before`. `replies`: what the client got on port 30000.
 * `afterNat`: the fresh r2's builtin.nat (another port range: a partner configured otherwise).
 */
async function takeoverLabs(afterNat = NAT): Promise<{ before: MemoryLab; after: MemoryLab; seen: Map<string, string>; replies: string[] }> {
  const before = createMemoryLab({ config: labConfig(), clients: ['198.18.1.10'], servers: ['198.18.3.20'] });
  const after = createMemoryLab({ config: labConfig(), clients: ['198.18.1.10'], servers: ['198.18.3.20'] });
  assert.equal(await before.r2.applyPlugins([NAT]), []);
  assert.equal(await after.r2.applyPlugins([afterNat]), []);
  const seen = new Map<string, string>();
  echo(before, seen);
  echo(after, seen);
  const replies: string[] = [];
  for (const lab of [before, after]) lab.clients[0]!.udpBind(30000, (d) => replies.push(Buffer.from(d).toString()));
  before.clients[0]!.udpSend(30000, '198.18.3.20', 7, Buffer.from('a1'));
  assert.ok(await until(() => replies.length === 1), 'the first session answered');
  return { before, after, seen, replies };
}

/** `before`'s row of router `r` installed into `after`'s (as the standby of a pair installs it at a takeover). */
async function install(before: MemoryLab, after: MemoryLab, r: 'r1' | 'r2'): Promise<void> {
  const rows = await before[r].host.collectSessionChanges(true);
  assert.equal((await after[r].host.importSessions(rows.rows)).installed, 1, `${r}'s row installed`);
}

/** The installed session (client port 30000) answers on the new node, with its binding (payload a2). */
async function answersWithBinding(after: MemoryLab, seen: Map<string, string>, replies: string[]): Promise<void> {
  after.clients[0]!.udpSend(30000, '198.18.3.20', 7, Buffer.from('a2'));
  assert.ok(await until(() => replies.length === 2), 'the installed session answers on the new node');
  assert.is(seen.get('a2'), seen.get('a1'), 'with its binding');
}

test('a NATed session installed on the node that takes over keeps its binding (the server sees the same pool address and port); a new session gets another port and does not replace it', async () => {
  const { before, after, seen, replies } = await takeoverLabs();
  try {
    const bound = seen.get('a1')!;
    assert.match(bound, /^198\.18\.3\.1:200\d\d$/, 'source NAT to the pool');

    // the takeover: both routers' rows installed into the fresh pair of routers
    for (const r of ['r1', 'r2'] as const) await install(before, after, r);
    after.clients[0]!.udpSend(30000, '198.18.3.20', 7, Buffer.from('a2'));
    assert.ok(await until(() => replies.length === 2), 'the installed session answered on the new node');
    assert.is(seen.get('a2'), bound, 'the installed session keeps its NAT binding');
    assert.equal(replies, ['a1', 'a2']);

    // a new session after the takeover: another pool port (one pool address, so the port alone tells them apart)
    const fresh: string[] = [];
    after.clients[0]!.udpBind(30001, (d) => fresh.push(Buffer.from(d).toString()));
    after.clients[0]!.udpSend(30001, '198.18.3.20', 7, Buffer.from('b1'));
    assert.ok(await until(() => fresh.length === 1), 'the new session answered');
    assert.match(seen.get('b1')!, /^198\.18\.3\.1:200\d\d$/, 'the new session is source-NATed too');
    assert.is.not(seen.get('b1'), bound, 'the new session does not get the installed session\'s pool port');
    after.clients[0]!.udpSend(30000, '198.18.3.20', 7, Buffer.from('a3'));
    assert.ok(await until(() => replies.length === 3), 'the installed session still answers');
    assert.is(seen.get('a3'), bound);
    assert.is(after.r2.counters()['sessions-replaced'] ?? 0, 0, 'no session replaced as stale');
    assert.is(after.r2.counters()['plugin.builtin.nat.ports-in-use'], 2, 'both ports counted in use');
    after.r2.host.removeAllSessions('admin');
    assert.is(after.r2.counters()['plugin.builtin.nat.ports-in-use'], 0, 'the close hook frees the installed session\'s port too');
  } finally {
    await before.close();
    await after.close();
  }
});

test('an installed session whose pool port a session opened on the new node holds already: installed, still answering, and counted (install-collisions)', async () => {
  const { before, after, seen, replies } = await takeoverLabs();
  try {
    await install(before, after, 'r1'); // first: r1's sessions below take other waypoint ports
    // sessions opened on the new r2 first (to the discard service, so their keys differ) hold all 10 pool ports
    for (let i = 0; i < 10; i++) after.clients[0]!.udpSend(31000 + i, '198.18.3.20', 9, Buffer.from(`d${i}`));
    assert.ok(await until(() => after.r2.counters()['plugin.builtin.nat.ports-in-use'] === 10), 'every pool port held');
    await install(before, after, 'r2');
    assert.is(after.r2.counters()['plugin.builtin.nat.install-collisions'], 1, 'the collision counted');
    assert.is(after.r2.counters()['plugin.builtin.nat.ports-in-use'], 10, 'the port stays the other session\'s');
    await answersWithBinding(after, seen, replies);
  } finally {
    await before.close();
    await after.close();
  }
});

test('an installed session whose pool port is outside this node\'s port range: installed and answering, not a collision, not a port in use', async () => {
  const { before, after, seen, replies } = await takeoverLabs(natRange('21000-21009'));
  try {
    for (const r of ['r1', 'r2'] as const) await install(before, after, r);
    assert.is(after.r2.counters()['plugin.builtin.nat.install-collisions'] ?? 0, 0, 'no session here holds a port outside the range');
    assert.is(after.r2.counters()['plugin.builtin.nat.ports-in-use'] ?? 0, 0, 'nothing of this node\'s range taken');
    await answersWithBinding(after, seen, replies);
  } finally {
    await before.close();
    await after.close();
  }
});

test.run();
