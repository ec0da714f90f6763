import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { serialize, deserialize } from 'node:v8';
import type { DpEvent } from '../../../src/dataplane/events.js';
import { EventPacker, EventUnpacker } from '../../../src/workers/event-wire.js';

const tuple = (src: string, srcPort: number) => ({ src, dst: '198.18.3.2', srcPort, dstPort: 7, protocol: 17 });

function created(row: number, waypoint: boolean): Extract<DpEvent, { kind: 'session.created' }> {
  return {
    kind: 'session.created', row, gen: 7, sessionId: `0c7f4a2e-6d1b-4e1a-9c55-2b8f7d1e0a${String(row).padStart(2, '0')}`, role: waypoint ? 'ingress' : 'local',
    service: 'bench', tenant: 'blue', atMs: 1234.5, application: '', forward: tuple('198.18.1.2', 40000 + row),
    waypoint: waypoint ? tuple('198.18.12.1', 16385) : undefined, nat: waypoint ? undefined : tuple('198.18.1.1', 1025),
    inIf: 0, inInterface: 'lan0', outIf: waypoint ? 1 : 0, outInterface: waypoint ? 'wan0' : 'lan0', path: waypoint ? 'r1-r2' : '', peer: waypoint ? 'r2' : '',
  };
}

function removed(row: number): Extract<DpEvent, { kind: 'session.removed' }> {
  return {
    kind: 'session.removed', row, gen: 7, sessionId: 'a', reason: 'fin', role: 'egress', tenant: 'blue', service: 'bench', application: 'web',
    path: 'r1-r2', atMs: 99, ageMs: 12.25, packets: [3, 4], bytes: [300, 4000],
  };
}

test('event wire: a batch crosses as it was, rows tagged with the worker, names sent once per thread', () => {
  const packer = new EventPacker();
  const unpacker = new EventUnpacker(3, 24);
  const denied: DpEvent = { kind: 'session.denied', atMs: 5, count: 1, records: new Uint32Array(14), suppressed: 0 };
  const migrated: DpEvent = { kind: 'session.migrated', row: 9, gen: 2, sessionId: 'm', service: 'bench', fromPath: 0, toPath: 1, handshake: false, reason: 'path-down', atMs: 1, from: 'a', to: 'b', waypoint: tuple('198.18.12.1', 16387) };
  const batch: DpEvent[] = [created(1, true), denied, { kind: 'session.reverseSeen', row: 1, gen: 7 }, created(2, false), migrated, removed(1)];
  const first = packer.pack(batch);
  const crossed = deserialize(serialize(first)) as typeof first; // what postMessage does to it
  const out = unpacker.unpack(crossed);
  const tag = 3 << 24;
  assert.equal(out, batch.map((e) => ('row' in e ? { ...e, row: tag | e.row } : e)));
  // the second batch sends no name again
  const second = packer.pack([created(4, true), removed(4)]);
  assert.equal(second.names, []);
  assert.equal(unpacker.unpack(deserialize(serialize(second)) as typeof second), [created(4, true), removed(4)].map((e) => ({ ...e, row: tag | e.row })));
});

test('event wire: a thread whose names pass the cap sends the later ones as strings', () => {
  const packer = new EventPacker();
  const unpacker = new EventUnpacker(0, 24);
  for (let i = 0; i < 65_536 / 7 + 1; i++) {
    const e = { ...created(i % 100, false), service: `s${i}`, tenant: `t${i}`, application: `a${i}`, inInterface: `i${i}`, outInterface: `o${i}`, path: `p${i}`, peer: `q${i}` };
    assert.equal(unpacker.unpack(packer.pack([e])), [e]);
  }
});

test.run();
