/**
 * A value sent between threads in slices (src/util/sliced-clone.ts) comes back equal, its long arrays (at any
 * depth) rebuilt one slice per pause, so that this thread runs other work between the slices.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { sliceValue, unsliceValue } from '../../../src/util/sliced-clone.js';

const value = {
  name: 'scale',
  list: Array.from({ length: 1001 }, (_, i) => ({ i, tags: [`t${i}`], nested: { deep: Array.from({ length: 3 }, (_, j) => j) } })),
  routers: [{ name: 'r1', routes: Array.from({ length: 600 }, (_, i) => `10.0.${i >> 8}.${i & 255}/32`) }, { name: 'r2', routes: [] }],
  flags: { on: true, none: null, nothing: undefined, n: 1.5 },
};

test('the value comes back equal; each long array in slices of maxItems, one per pause', async () => {
  const { sliced, transfer } = sliceValue(value, 250);
  assert.equal(sliced.arrays.map((a) => [a.path, a.slices.length]), [[['list'], 5], [['routers', 0, 'routes'], 3]]);
  assert.is(transfer.length, 1 + 5 + 3, 'the head and every slice are buffers to transfer');
  let pauses = 0;
  const back = await unsliceValue(structuredClone(sliced, { transfer }), async () => { pauses++; });
  assert.equal(back, value);
  assert.is(pauses, 8);
  assert.is(value.list.length, 1001, 'the value itself is not changed');
});

test('shared: the slices are SharedArrayBuffers (nothing to transfer) that several receivers rebuild alike', async () => {
  const { sliced, transfer } = sliceValue(value, 250, true);
  assert.is(transfer.length, 0);
  assert.ok(sliced.head instanceof SharedArrayBuffer && sliced.arrays.every((a) => a.slices.every((b) => b instanceof SharedArrayBuffer)));
  const copy = structuredClone(sliced);
  assert.ok(copy.head instanceof SharedArrayBuffer, 'a posted copy shares the bytes');
  assert.equal(await unsliceValue(copy, async () => {}), value);
  assert.equal(await unsliceValue(sliced, async () => {}), value, 'and so does the sender, again');
});

test('short arrays and plain values travel in the head alone', async () => {
  const small = { a: [1, 2, 3], b: 'x' };
  const { sliced } = sliceValue(small, 250);
  assert.is(sliced.arrays.length, 0);
  assert.equal(await unsliceValue(sliced, async () => {}), small);
  assert.equal(await unsliceValue(sliceValue([1, 2, 3, 4], 2).sliced, async () => {}), [1, 2, 3, 4], 'a long array at the top');
});

test('timers of this thread run between the slices', async () => {
  const big = { items: Array.from({ length: 20_000 }, (_, i) => ({ i, text: `item ${i}`, more: [i, i + 1] })) };
  const { sliced } = sliceValue(big, 500);
  let ticks = 0;
  const timer = setInterval(() => ticks++, 0);
  try {
    const back = await unsliceValue(sliced, () => new Promise((r) => setTimeout(r, 1)));
    assert.equal(back, big);
  } finally {
    clearInterval(timer);
  }
  assert.ok(ticks >= 10, `a timer ran ${ticks} times during 40 slices`);
});

test.run();
