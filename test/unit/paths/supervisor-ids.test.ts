/**
 * The supervisor sends each path's packets to the path's id in the current tables (kept per path and renewed with
 * new tables, not looked up by name per packet): after a reload that renumbers the paths, each BFD session's
 * packets go to its path's new id.
 */
import { Subject } from 'rxjs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { CompiledBfd, ForwardingTables } from '../../../src/model/tables.js';
import { decodeBfdControl } from '../../../src/packet/bfd.js';
import { PathSupervisor } from '../../../src/paths/supervisor.js';
import { prng } from '../../support/prng.js';
import { VirtualTime } from './virtual-time.js';

const BFD: CompiledBfd = { desiredTxMs: 50, requiredMinRxMs: 50, multiplier: 3, holdDownMs: 5000, linkTestIntervalMs: 10_000, linkTestLength: 10 };

/** The fields of the tables the supervisor reads: paths by name and id, their BFD settings, the generation. */
const tablesOf = (generation: number, names: string[]): ForwardingTables =>
  ({ generation, paths: names.map((name, id) => ({ id, name, peer: 'r2', bfd: BFD })) }) as unknown as ForwardingTables;

test('after new tables that renumber the paths, each BFD session sends to its path\'s new id', () => {
  const vt = new VirtualTime();
  let tables = tablesOf(1, ['a', 'b']);
  const sent: Array<[number, number]> = []; // [path id, the session's My Discriminator]
  const sup = new PathSupervisor({
    tables: () => tables,
    send: (id, payload) => {
      const d = decodeBfdControl(payload);
      if (d.ok) sent.push([id, d.packet.myDiscriminator]);
      return true;
    },
    messages$: new Subject(),
    now: vt.now, setTimeout: vt.setTimeout, clearTimeout: vt.clearTimeout,
  }, { random: prng(7), slowStartMs: 50 });
  sup.start();
  vt.runFor(500);
  const idOf = (disc: number): number[] => [...new Set(sent.filter(([, d]) => d === disc).map(([id]) => id))];
  const discs = [...new Set(sent.map(([, d]) => d))];
  assert.equal(discs.length, 2, 'two sessions');
  const [da, db] = [0, 1].map((id) => sent.find(([i]) => i === id)![1]);
  assert.equal([idOf(da!), idOf(db!)], [[0], [1]]);
  tables = tablesOf(2, ['b', 'a']); // a reload: b is path 0 now, a path 1
  sent.length = 0;
  vt.runFor(500);
  assert.equal([idOf(da!), idOf(db!)], [[1], [0]], 'each session follows its path to the new id');
  sup.stop();
});

test.run();
