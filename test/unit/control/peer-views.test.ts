/**
 * peerConditions with kept objects (what a node's alarms observe every second): the same path, peer and list
 * objects while nothing changed, new ones for exactly what changed, and always what a fresh build says.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { KeptConditions, peerConditions, type PeerConditionSource } from '../../../src/control/peer-views.js';
import type { MtuView } from '../../../src/paths/path-mtu.js';
import type { TransformView } from '../../../src/paths/firewall-detector.js';
import { compileRouter } from '../../../src/model/compile.js';
import { parseConfig } from '../../../src/model/validate.js';
import { hubConfigYaml } from '../../../bench/hub-config.js';

/** A hub of 3 spokes (2 paths each) whose conditions the test sets; spoke 1's first path detects firewalls. */
function hub() {
  const compiled = compileRouter(parseConfig(hubConfigYaml(3, 'ab'.repeat(32))), 'hub', 0);
  const auto = compiled.peers[1]!.paths[0]!;
  const tables = { ...compiled, paths: compiled.paths.map((p, i) => (i === auto ? { ...p, udpTransform: { ...p.udpTransform, mode: 'auto-detect' as const } } : p)) } as typeof compiled;
  const up = tables.paths.map(() => true);
  const bfd = new Map(tables.paths.map((p) => [p.name, 'up']));
  const standby = new Set<string>();
  const unreachable = new Set<string>();
  const mtu = new Map<string, MtuView>();
  const transform = new Map<string, TransformView>();
  const source: PeerConditionSource = {
    tables, liveness: 'bfd',
    reachable: (peer) => !unreachable.has(peer), isPathUp: (p) => up[p]!,
    bfdState: (name) => bfd.get(name), peerStandby: (name) => standby.has(name),
    nat: () => undefined, mtu: (name) => mtu.get(name), transform: (name) => transform.get(name),
  };
  return { tables, source, up, bfd, standby, unreachable, mtu, transform };
}

test('nothing changed: the same list, peers and paths; one path changed: only it, its peer and the list are new', () => {
  const h = hub();
  const kept = new KeptConditions();
  const first = peerConditions(h.source, kept);
  assert.equal(first, peerConditions(h.source), 'what a fresh build says');
  assert.is(first.length, 3);
  assert.is(peerConditions(h.source, kept), first, 'the same list');

  const p = h.tables.peers[1]!.paths[1]!;
  h.up[p] = false;
  h.bfd.set(h.tables.paths[p]!.name, 'down');
  const second = peerConditions(h.source, kept);
  assert.is.not(second, first);
  assert.equal(second, peerConditions(h.source));
  assert.is(second[0], first[0], 'an unchanged peer is the same object');
  assert.is(second[2], first[2]);
  assert.is.not(second[1], first[1]);
  assert.is(second[1]!.paths[0], first[1]!.paths[0], 'its unchanged path is the same object');
  assert.equal([second[1]!.paths[1]!.up, second[1]!.paths[1]!.bfd], [false, 'down']);
  assert.is(peerConditions(h.source, kept), second);
});

test('each condition makes its path new: standby, MTU discovery, UDP transform view, and a peer its reachability', () => {
  const h = hub();
  const kept = new KeptConditions();
  let last = peerConditions(h.source, kept);
  const step = (what: string, change: () => void, peer: number, path: number | null): void => {
    change();
    const now = peerConditions(h.source, kept);
    assert.equal(now, peerConditions(h.source), `${what}: what a fresh build says`);
    assert.is.not(now[peer], last[peer], `${what}: its peer is new`);
    for (let k = 0; k < 2; k++) {
      if (k === path) assert.is.not(now[peer]!.paths[k], last[peer]!.paths[k], `${what}: the path is new`);
      else assert.is(now[peer]!.paths[k], last[peer]!.paths[k], `${what}: the other path is kept`);
    }
    last = now;
  };
  const name = (peer: number, k: number): string => h.tables.paths[h.tables.peers[peer]!.paths[k]!]!.name;
  step('standby', () => h.standby.add(name(0, 0)), 0, 0);
  step('mtu', () => h.mtu.set(name(2, 1), { mtu: 1400, state: 'discovered', probesSent: 3 }), 2, 1);
  step('mtu state', () => h.mtu.set(name(2, 1), { mtu: 1400, state: 'searching', probesSent: 3 }), 2, 1);
  const view: TransformView = { mode: 'auto-detect', active: false, state: 'probing', reasons: [], episodes: 0, peerReasons: [] };
  step('transform', () => h.transform.set(name(1, 0), view), 1, 0);
  assert.is(last[1]!.paths[0]!.transport, 'tcp');
  step('transform active', () => h.transform.set(name(1, 0), { ...view, active: true, reasons: ['TCP SYN'], episodes: 1 }), 1, 0);
  assert.is(last[1]!.paths[0]!.transport, 'udp-transform');
  step('reachability', () => h.unreachable.add(h.tables.peers[2]!.name), 2, null);
});

test('new tables: every object is built again', () => {
  const h = hub();
  const kept = new KeptConditions();
  const first = peerConditions(h.source, kept);
  const tables = compileRouter(parseConfig(hubConfigYaml(3, 'ab'.repeat(32))), 'hub', 1);
  const again = peerConditions({ ...h.source, tables }, kept);
  assert.equal(again, peerConditions({ ...h.source, tables }));
  assert.is(again.length, first.length);
  assert.is.not(again[0]!.paths[0], first[0]!.paths[0]);
});

test.run();
