import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Dataplane } from '../../../src/dataplane/dataplane.js';
import { compileRouter } from '../../../src/model/compile.js';
import type { ForwardingTables } from '../../../src/model/tables.js';
import { parseConfig } from '../../../src/model/validate.js';
import type { SvrConfig } from '../../../src/model/config.js';
import { buildUdp } from '../../../src/packet/build.js';
import { packBatch, type ChannelBatch } from '../../../src/workers/channel-port.js';
import { PathUpBoards } from '../../../src/workers/path-up-boards.js';
import { WorkerHost } from '../../../src/workers/worker-host.js';
import { readFileSync } from 'node:fs';
import { EXAMPLE_CONFIG, exampleConfig, until } from '../../support/config.js';
import { createWorkerLab } from '../../support/worker-lab.js';

/**
 * r1 with a path to r2 and one to r3 (ids in router order), the service echo routed over both; `order` lists
 * the peers, so a reload in the other order renumbers the paths. 3,000 more services make a worker's reload
 * take many turns of its event loop (it runs the old tables meanwhile).
 */
function config(order: string[]): SvrConfig {
  const peer = (name: string, at: number) => [
    `    - name: ${name}`, '      interfaces:', '        - { name: lan0, kind: lan }',
    `        - { name: wan0, kind: wan, waypoint: 198.18.12.${at}, neighborhoods: [{ name: internet }] }`,
  ];
  const routers: Record<string, string[]> = { r2: peer('r2', 2), r3: peer('r3', 3) };
  return parseConfig([
    'authority:', '  name: renumber', `  secret: ${'5f2c8e1a9b3d4f60'.repeat(4)}`,
    '  tenants:', '    - { name: eng, members: [198.18.1.0/24] }',
    '  services:', '    - { name: echo, addresses: [198.18.3.0/24], transport: [{ protocol: udp }], access-policy: [{ source: eng }] }',
    ...Array.from({ length: 3_000 }, (_, i) => `    - { name: s${i}, addresses: [100.64.${i >> 8}.${i & 255}/32], access-policy: [{ source: eng }] }`),
    '  routers:', '    - name: r1', '      interfaces:', '        - { name: lan0, kind: lan }',
    '        - { name: wan0, kind: wan, waypoint: 198.18.12.1, neighborhoods: [{ name: internet }] }',
    '      service-routes:', '        - { name: via-r2, service: echo, peer: r2 }', '        - { name: via-r3, service: echo, peer: r3 }',
    ...order.flatMap((r) => routers[r]!),
  ].join('\n'), 'renumber.yaml');
}

const MARK = Buffer.from('a session packet');

test('a reload that renumbers paths while a path changes state: a worker still on the old tables reads each path\'s state by its old id, then by its new one', async () => {
  // as Router.applyValid drives the host: tables compiled first, then setTables and setPathUp by the new ids
  const before = config(['r2', 'r3']);
  const after = config(['r3', 'r2']);
  const tablesBefore = compileRouter(before, 'r1', 1);
  const tablesAfter = compileRouter(after, 'r1', 2);
  const id = (t: ForwardingTables, peer: string): number => t.paths.find((p) => p.name === `wan0->${peer}/wan0`)!.id;
  assert.equal([id(tablesBefore, 'r2'), id(tablesBefore, 'r3'), id(tablesAfter, 'r3'), id(tablesAfter, 'r2')], [0, 1, 0, 1], 'the reload renumbers');
  const host = new WorkerHost({ workers: 1, io: { kind: 'channel' } });
  const errors: string[] = [];
  host.open({ routerName: 'r1', tables: tablesBefore, config: before, pathsUp: true, onEvents: () => {}, log: (e, f) => errors.push(`${e} ${JSON.stringify(f)}`), alarm: () => {} });
  const wanOut: number[] = []; // the last byte of each session packet's outer destination: the peer of its path
  host.channel(0, 'wan0').on('message', (b: ChannelBatch) => {
    for (let i = 0; i < b.count; i++) {
      const p = b.data.subarray(b.offsets[i]!, b.offsets[i]! + b.lengths[i]!);
      if (Buffer.from(p).includes(MARK)) wanOut.push(p[19]!); // not a health check
    }
  });
  const lan = host.channel(0, 'lan0');
  const send = (srcPort: number): void => {
    const p = buildUdp({ src: Uint8Array.of(198, 18, 1, 10), dst: Uint8Array.of(198, 18, 3, 20), srcPort, dstPort: 7, payload: new Uint8Array(MARK) });
    const b = packBatch(p, Uint32Array.of(0), Uint32Array.of(p.length), 1);
    lan.postMessage(b, [b.data.buffer as ArrayBuffer, b.offsets.buffer as ArrayBuffer, b.lengths.buffer as ArrayBuffer]);
  };
  try {
    await host.start();
    host.setPathUp(id(tablesBefore, 'r3'), false);
    send(40_000);
    assert.ok(await until(() => wanOut.length === 1, 10_000), 'the first session went out');
    assert.is(wanOut[0], 2, 'over r2, the one path up');
    // the reload: the worker rebuilds and compiles it over many turns, forwarding by the old tables meanwhile;
    // r2's path goes down and r3's comes up in that time
    host.setTables(tablesAfter, after);
    host.setPathUp(id(tablesAfter, 'r3'), true);
    host.setPathUp(id(tablesAfter, 'r2'), false);
    send(40_001);
    assert.ok(await until(() => wanOut.length === 2, 10_000), 'the second session went out');
    assert.is(wanOut[1], 3, 'during the reload: over r3, the one path up now (not r2, whose old id is r3\'s new one)');
    // once the worker runs the new tables (its answer to a request comes after the swap), by the new ids
    await host.sessions();
    host.setPathUp(id(tablesAfter, 'r2'), true);
    host.setPathUp(id(tablesAfter, 'r3'), false);
    send(40_002);
    assert.ok(await until(() => wanOut.length === 3, 10_000), 'the third session went out');
    assert.is(wanOut[2], 2, 'after the reload: over r2');
    assert.equal(errors.filter((e) => !e.startsWith('worker.unresponsive')), []);
  } finally {
    await host.stop();
  }
});

test('path-up boards: a verdict lands on every board a worker still runs, at the path\'s id there; a board no worker runs is dropped', () => {
  const before = compileRouter(config(['r2', 'r3']), 'r1', 1);
  const after = compileRouter(config(['r3', 'r2']), 'r1', 2);
  const boards = new PathUpBoards(64);
  boards.open(before, true);
  boards.taken(0, 0);
  boards.taken(1, 0);
  const old = new Uint8Array(boards.newest.buffer);
  assert.is(boards.renumber(compileRouter(config(['r2', 'r3']), 'r1', 2)), undefined, 'the same numbering keeps its board');
  const next = boards.renumber(after)!;
  assert.is(next.epoch, 1);
  const now = new Uint8Array(next.buffer);
  assert.equal([...now.subarray(0, 2)], [1, 1], 'verdicts carried over by name');
  boards.set(0, false); // r3's path by the new ids
  assert.equal([[...old.subarray(0, 2)], [...now.subarray(0, 2)]], [[1, 0], [0, 1]], 'r3 down on both boards, at its id of each');
  boards.taken(0, 1);
  boards.set(1, false); // r2's
  assert.equal([...old.subarray(0, 2)], [0, 0], 'worker 1 still runs the old numbering');
  boards.taken(1, 1);
  boards.set(1, true);
  assert.equal([[...old.subarray(0, 2)], [...now.subarray(0, 2)]], [[0, 0], [0, 1]], 'the old board is no longer written once no worker runs it');
  assert.ok(boards.isUp(1) && !boards.isUp(0));
});

test('packets per path (BFD\'s sign of life) follow each path by name across a reload that renumbers paths: none read against the other path', async () => {
  // r0, listed before r2, takes path id 0 from r2's path (wan0->r2/wan0 becomes 1)
  const text = readFileSync(EXAMPLE_CONFIG, 'utf8').replace('    - name: r2\n', [
    '    - name: r0', '      interfaces:', '        - { name: wan0, kind: wan, waypoint: 198.18.12.9, neighborhoods: [{ name: internet }] }', '    - name: r2', '',
  ].join('\n'));
  const lab = await createWorkerLab(await exampleConfig(), 2);
  const id = (peer: string): number => lab.r1.tables.paths.find((p) => p.name === `wan0->${peer}/wan0`)!.id;
  try {
    let replies = 0;
    lab.server.udpBind(7, (d, f) => lab.server.udpSend(7, f.address, f.port, d));
    lab.client.udpBind(41000, () => replies++);
    const echo = async (n: number): Promise<void> => {
      const want = replies + n;
      for (let i = 0; i < n; i++) lab.client.udpSend(41000, '198.18.3.20', 7, Buffer.from(`echo ${i}`));
      assert.ok(await until(() => replies === want, 5000), `${n} echoes answered`);
    };
    await echo(3);
    assert.is(id('r2'), 0);
    const before = lab.r1.host.pathTraffic(0);
    assert.ok(before >= 3, 'r2\'s answers counted on its path');
    lab.r1.applyConfig(parseConfig(text, 'renumbered.yaml'));
    assert.equal([id('r0'), id('r2')], [0, 1], 'the reload renumbers');
    await lab.r1.host.sessions(); // answered after every worker's swap
    assert.is(lab.r1.host.pathTraffic(id('r2')), before, 'r2\'s count, by its new id');
    assert.is(lab.r1.host.pathTraffic(id('r0')), 0, 'nothing for r0, which sent nothing (before the fix: r2\'s count)');
    await echo(2);
    assert.ok(await until(() => lab.r1.host.pathTraffic(id('r2')) >= before + 2), 'later answers add to r2\'s');
    assert.is(lab.r1.host.pathTraffic(id('r0')), 0);
  } finally {
    await lab.close();
  }
});

test('in one thread, packets per path are carried by name at a reload that renumbers (not dropped to 0, which BFD reads as traffic)', () => {
  const dp = new Dataplane({ tables: compileRouter(config(['r2', 'r3']), 'r1', 1), ports: [null, null] });
  dp.ctx.pathRx[0] = 5; // r2's
  dp.ctx.pathRx[1] = 7; // r3's
  dp.setTables(compileRouter(config(['r3', 'r2']), 'r1', 2));
  assert.equal([...dp.ctx.pathRx], [7, 5]);
});

test.run();
