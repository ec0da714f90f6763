/**
 * The table of marked flows both native steady paths share (native/flow-table.c: nf for svr-out, ni for svr-in)
 * against a Set: random marks, re-marks and clears, each flow's mark looked up (<prefix>Marked). A clear zeroes only
 * the entries in use; a mark into a half-full table drops every mark first (flow-table.h svr_ft_insert).
 */
import * as assert from 'uvu/assert';
import { tryLoadAddon } from '../../../src/native/addon.js';
import { requires } from '../../support/prerequisites.js';
import { prng } from '../../support/prng.js';

const test = requires(import.meta.url); // the addon (skipped without it)

type Handle = object;
interface Calls {
  create(capacity: number): Handle;
  mark(h: Handle, desc: Uint32Array, until: number): void;
  clear(h: Handle): void;
  marked(h: Handle, desc: Uint32Array): boolean;
}

const mod = tryLoadAddon();
const addon = mod instanceof Error ? {} : (mod as unknown as Record<string, (...a: unknown[]) => unknown>);
const kinds: [string, number][] = [['nf', 20], ['ni', 24]];

for (const [prefix, words] of kinds) {
  test(`${prefix}: marks, re-marks and clears agree with a Set, through the half-full drop`, () => {
    assert.type(addon[`${prefix}Marked`], 'function', `the addon exports ${prefix}Marked (npm run build:native)`);
    const c = {
      create: addon[`${prefix}Create`], mark: addon[`${prefix}Mark`], clear: addon[`${prefix}Clear`], marked: addon[`${prefix}Marked`],
    } as unknown as Calls;
    const capacity = 256;
    const h = c.create(capacity);
    const rnd = prng(8);
    const flows = 400;
    const desc = new Uint32Array(words); // slots and the rest 0: in range for both directions
    const flow = (i: number): Uint32Array => {
      desc[0] = 1 + (i % 3); desc[1] = i % 2 === 0 ? 6 : 17; desc[2] = 0x0a000000 + i; desc[3] = 0x0a010000 + (i >>> 2); desc[4] = (i * 7919) >>> 0;
      return desc;
    };
    const model = new Set<number>();
    for (let step = 0; step < 20_000; step++) {
      const op = rnd();
      const i = Math.floor(rnd() * flows);
      if (op < 0.6) {
        if (model.size >= capacity / 2) model.clear(); // half full: every mark dropped first, even for a re-mark
        c.mark(h, flow(i), 1e12);
        model.add(i);
      } else if (op < 0.62) {
        c.clear(h);
        model.clear();
      } else assert.is(c.marked(h, flow(i)), model.has(i), `step ${step}: flow ${i}`);
    }
    for (let i = 0; i < flows; i++) assert.is(c.marked(h, flow(i)), model.has(i), `flow ${i}`);
  });
}

test.run();
