/**
 * A hub's BFD transmissions and link-test requests share the 10 ms grid (paths/bfd-schedule.ts, grid-timers.ts):
 * the packets both due at one grid point leave in one batch (one write), not one batch per timer; the rates and
 * the link tests' rounds stay what they were.
 */
import { Subject } from 'rxjs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { ForwardingTables } from '../../../src/model/tables.js';
import { LINK_TEST_REQUEST } from '../../../src/paths/messages.js';
import { PathSupervisor } from '../../../src/paths/supervisor.js';
import { prng } from '../../support/prng.js';
import { VirtualTime } from './virtual-time.js';

const PATHS = 40;
const BFD = { desiredTxMs: 1000, requiredMinRxMs: 500, multiplier: 3, holdDownMs: 5000, linkTestIntervalMs: 10_000, linkTestLength: 10 };
const tables = { generation: 1, paths: Array.from({ length: PATHS }, (_, id) => ({ id, name: `p${id}`, peer: 'r2', bfd: BFD })) } as unknown as ForwardingTables;

interface Batch { atMs: number; bfd: number; linkTests: number }

test('BFD packets and link-test requests due at one grid point leave in one batch', () => {
  const vt = new VirtualTime();
  const inbox = [new Subject<{ path: number; payload: Uint8Array; atMs: number }>(), new Subject<{ path: number; payload: Uint8Array; atMs: number }>()];
  const batches: Batch[] = [];
  let open: Batch | null = null;
  let rounds = 0;
  const side = (me: 0 | 1): PathSupervisor => {
    const s = new PathSupervisor({
      tables: () => tables,
      send: (path, payload) => {
        if (me === 0 && open !== null) {
          if (payload[0]! >>> 5 === 1) open.bfd++; // BFD version 1
          else if (payload[0] === LINK_TEST_REQUEST) open.linkTests++;
        }
        const copy = payload.slice();
        vt.setTimeout(() => inbox[1 - me]!.next({ path, payload: copy, atMs: vt.now() }), 0.2);
        return true;
      },
      messages$: inbox[me]!,
      now: vt.now, setTimeout: vt.setTimeout, clearTimeout: vt.clearTimeout,
      qualityChanged: () => me === 0 && rounds++,
      ...(me === 0 ? {
        batch: (fn: () => void): void => {
          if (open !== null) return fn();
          open = { atMs: vt.now(), bfd: 0, linkTests: 0 };
          try {
            fn();
          } finally {
            if (open.bfd + open.linkTests > 0) batches.push(open);
            open = null;
          }
        },
      } : {}),
    }, { random: prng(me + 1) });
    s.start();
    return s;
  };
  const sides = [side(0), side(1)];
  vt.runFor(20_000); // up after the slow start, link tests running
  batches.length = 0;
  rounds = 0;
  vt.runFor(30_000);
  const bfd = batches.reduce((a, b) => a + b.bfd, 0);
  const linkTests = batches.reduce((a, b) => a + b.linkTests, 0);
  // §6.8.7: 75-100 % of the 1 s interval between two transmissions
  assert.ok(bfd >= PATHS * 30 && bfd <= PATHS * 30 / 0.75 + PATHS, `${bfd} BFD packets in 30 s`);
  assert.is(linkTests, PATHS * 30, 'one request per path every 100 ms of its rounds (10 every 10 s)');
  assert.is(rounds, PATHS * 3, 'every path finished 3 link-test rounds');
  const both = batches.filter((b) => b.bfd > 0 && b.linkTests > 0).length;
  assert.ok(both > 100, `${both} batches carried both kinds`);
  const sameInstant = batches.filter((b, i) => i > 0 && b.atMs === batches[i - 1]!.atMs).length;
  assert.is(sameInstant, 0, `${sameInstant} grid points sent two batches`);
  for (const s of sides) s.stop();
});

test.run();
