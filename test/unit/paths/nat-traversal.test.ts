/**
 * NAT traversal in control (src/paths/nat-traversal.ts): the NAT address message's bytes; the hub learns a
 * peer behind NAT from its messages' source and follows it; the spoke re-signals on a rebinding, damped;
 * the config fields compile into the paths of both ends.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Subject } from 'rxjs';
import { compileRouter } from '../../../src/model/compile.js';
import type { SvrConfig } from '../../../src/model/config.js';
import type { ForwardingTables } from '../../../src/model/tables.js';
import { encodeFirewallProbe } from '../../../src/paths/firewall-detector.js';
import { encodeLinkTest, type PathMessage } from '../../../src/paths/messages.js';
import { decodeNatAddress, encodeNatAddress, NatTraversal, type NatCounter } from '../../../src/paths/nat-traversal.js';
import { exampleConfig } from '../../support/config.js';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

/** The example config with r1's wan neighborhoods outbound-only (r1 behind NAT). */
async function natConfig(keepAliveS?: number): Promise<SvrConfig> {
  const c = await exampleConfig();
  const r1 = c.authority.routers.find((r) => r.name === 'r1')!;
  for (const i of r1.interfaces) {
    for (const n of i.neighborhoods) {
      n.peerConnectivity = 'outbound-only';
      if (keepAliveS !== undefined) n.natKeepAlive = keepAliveS;
    }
  }
  return c;
}

function harness(tables: ForwardingTables) {
  const messages = new Subject<PathMessage>();
  const sent: { path: number; payload: Uint8Array }[] = [];
  const peers: { path: number; address: string; port: number }[] = [];
  const resignalled: number[] = [];
  const logs: string[] = [];
  const counts = new Map<NatCounter, number>();
  let now = 0;
  const nat = new NatTraversal({
    tables: () => tables,
    messages$: messages,
    send: (path, payload) => sent.push({ path, payload }) > 0,
    setPathPeer: (path, a, port) => void peers.push({ path, address: [...a].join('.'), port }),
    resignal: (p) => void resignalled.push(p),
    now: () => now,
    log: (e) => void logs.push(e),
    count: (n) => void counts.set(n, (counts.get(n) ?? 0) + 1),
  });
  nat.start();
  const from = (path: number, port: number, address = [198, 18, 29, 1]): void => messages.next({
    path, pathName: tables.paths[path]!.name, payload: encodeLinkTest({ sequence: 1, sentAtMs: 0 }), atMs: now, from: { address: Uint8Array.from(address), port },
  });
  const told = (path: number, port: number): void => messages.next({
    path, pathName: tables.paths[path]!.name, payload: encodeNatAddress({ family: 4, address: Uint8Array.of(198, 18, 29, 1), port }), atMs: now,
  });
  return { nat, messages, sent, peers, resignalled, logs, counts, from, told, advance: (ms: number) => { now += ms; } };
}

test('NAT address message: golden bytes, round trip, malformed ones refused', () => {
  const b = encodeNatAddress({ family: 4, address: Uint8Array.of(198, 18, 29, 1), port: 0x7531 });
  assert.is(hex(b), 'cc000400' + '75310000' + 'c6121d01' + '00'.repeat(12));
  assert.equal(decodeNatAddress(b), { family: 4, address: Uint8Array.of(198, 18, 29, 1), port: 0x7531 });
  const v6 = encodeNatAddress({ family: 6, address: Uint8Array.from({ length: 16 }, (_, i) => i + 1), port: 443 });
  assert.is(decodeNatAddress(v6)?.port, 443);
  assert.is(decodeNatAddress(b.subarray(0, 23)), undefined, 'short');
  for (const [at, v] of [[1, 1], [2, 5], [3, 1], [6, 1], [20, 1]] as const) {
    const bad = b.slice();
    bad[at] = v;
    assert.is(decodeNatAddress(bad), undefined, `byte ${at} = ${v}`);
  }
});

test('config: outbound-only compiles into the spoke\'s path (outboundOnly, keep-alive) and the hub\'s (peerBehindNat)', async () => {
  const c = await natConfig(7);
  const r1 = compileRouter(c, 'r1', 1);
  const r2 = compileRouter(c, 'r2', 1);
  assert.ok(r1.paths.length > 0 && r1.paths.every((p) => p.outboundOnly && !p.peerBehindNat && p.natKeepAliveMs === 7000));
  assert.ok(r2.paths.length > 0 && r2.paths.every((p) => !p.outboundOnly && p.peerBehindNat));
  const plain = compileRouter(await exampleConfig(), 'r2', 1);
  assert.ok(plain.paths.every((p) => !p.outboundOnly && !p.peerBehindNat && p.natKeepAliveMs === 20_000), 'default: bidirectional, 20 s');
});

test('hub: learns the peer from its first message, tells it, follows a new port once, repeats the address every 5 s', async () => {
  const tables = compileRouter(await natConfig(), 'r2', 1);
  const h = harness(tables);
  const name = tables.paths[0]!.name;
  h.from(0, 27801);
  assert.equal(h.peers, [{ path: 0, address: '198.18.29.1', port: 27801 }]);
  assert.is(h.sent.length, 1, 'told where it is seen');
  assert.is(decodeNatAddress(h.sent[0]!.payload)?.port, 27801);
  assert.equal(h.nat.view(name), { learned: '198.18.29.1:27801', addressChanges: 0 });
  h.advance(1000);
  h.from(0, 27801);
  assert.is(h.peers.length, 1, 'the same source changes nothing');
  assert.is(h.sent.length, 1, 'and is not told again within 5 s');
  h.advance(4000);
  h.from(0, 27801);
  assert.is(h.sent.length, 2, 'repeated after 5 s');
  h.from(0, 35715);
  assert.equal(h.peers[1], { path: 0, address: '198.18.29.1', port: 35715 });
  assert.is(decodeNatAddress(h.sent[2]!.payload)?.port, 35715, 'told at once about the new binding');
  assert.equal(h.nat.view(name), { learned: '198.18.29.1:35715', addressChanges: 1 });
  assert.is(h.counts.get('nat-peer-address-changes'), 1);
  assert.equal(h.logs, ['nat.peer-learned', 'nat.peer-moved']);
  assert.is(h.resignalled.length, 0, 'the hub re-signals nothing: the spoke does');
});

test('hub: a firewall-detector probe (TCP 1283, mapped apart by the NAT) from a new source is not followed', async () => {
  const tables = compileRouter(await natConfig(), 'r2', 1);
  const h = harness(tables);
  h.from(0, 27801);
  h.messages.next({ path: 0, pathName: tables.paths[0]!.name, payload: encodeFirewallProbe(1, 1), atMs: 0, from: { address: Uint8Array.of(198, 18, 29, 1), port: 24011 } });
  assert.equal(h.peers, [{ path: 0, address: '198.18.29.1', port: 27801 }], 'the control channel\'s binding stays');
  assert.is(h.counts.get('nat-peer-address-changes') ?? 0, 0);
});

test('hub: a handshake message (unsigned) from a new source is learned only once the key exchange proved it the peer\'s', async () => {
  const tables = compileRouter(await natConfig(), 'r2', 1);
  const h = harness(tables);
  const m: PathMessage = { path: 0, pathName: tables.paths[0]!.name, payload: new Uint8Array(148).fill(0xc8), atMs: 0, from: { address: Uint8Array.of(198, 18, 29, 1), port: 24011 } };
  h.messages.next(m);
  assert.equal(h.peers, [], 'not on its own');
  h.nat.authenticated(m);
  assert.equal(h.peers, [{ path: 0, address: '198.18.29.1', port: 24011 }]);
  assert.equal(h.logs, ['nat.peer-learned']);
  h.nat.authenticated({ ...m, from: undefined });
  const plain = harness(compileRouter(await exampleConfig(), 'r2', 1));
  plain.nat.authenticated(m);
  assert.equal([h.peers.length, plain.peers.length], [1, 0], 'no source, or a path not to a peer behind NAT: nothing');
});

test('hub: a message without a source (a path not behind NAT) or a NAT address message it did not ask for changes nothing', async () => {
  const tables = compileRouter(await exampleConfig(), 'r2', 1);
  const h = harness(tables);
  h.from(0, 27801);
  h.told(0, 27801);
  assert.is(h.peers.length + h.sent.length + h.resignalled.length, 0);
  assert.is(h.nat.view(tables.paths[0]!.name), undefined);
});

test('spoke: the first address is noted, a new one re-signals the path, the fourth 3 s apart is damped (one re-signal later)', async () => {
  const tables = compileRouter(await natConfig(), 'r1', 1);
  const h = harness(tables);
  const name = tables.paths[0]!.name;
  h.told(0, 27801);
  assert.equal(h.resignalled, [], 'first sighting: nothing to re-signal');
  assert.equal(h.nat.view(name), { seenAs: '198.18.29.1:27801', damped: 0, suppressed: false, addressChanges: 0 });
  h.told(0, 27801);
  assert.equal(h.resignalled, []);
  h.advance(3000);
  h.told(0, 35715);
  assert.equal(h.resignalled, [0]);
  h.advance(3000);
  h.told(0, 21000);
  assert.equal(h.resignalled, [0, 0], 'two rebindings 3 s apart: figure ~1870');
  h.advance(3000);
  h.told(0, 36000);
  assert.equal(h.resignalled, [0, 0, 0], 'the third: figure ~2630');
  h.advance(3000);
  h.told(0, 22000);
  assert.equal(h.resignalled, [0, 0, 0], 'the fourth: figure ~2290 + 1000 >= 3000, held back');
  assert.is(h.counts.get('nat-rebinds'), 4);
  assert.is(h.counts.get('nat-rebinds-damped'), 1);
  assert.equal(h.nat.view(name), { seenAs: '198.18.29.1:22000', damped: 1, suppressed: true, addressChanges: 4 });
  assert.ok(h.logs.includes('nat.rebind-damped'));
  h.nat.stop(); // clears the deferred re-signal's timer
});

test('spoke: a malformed NAT address message is counted and ignored', async () => {
  const tables = compileRouter(await natConfig(), 'r1', 1);
  const h = harness(tables);
  const bad = encodeNatAddress({ family: 4, address: Uint8Array.of(1, 2, 3, 4), port: 1 });
  bad[2] = 9;
  h.messages.next({ path: 0, pathName: tables.paths[0]!.name, payload: bad, atMs: 0 });
  assert.is(h.counts.get('nat-address-malformed'), 1);
  assert.is(h.nat.view(tables.paths[0]!.name), undefined);
});

test.run();
