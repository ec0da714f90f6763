/** DeadlineHeap (paths/deadline-heap.ts): the top is always the earliest key, through inserts, changes, deletes and growth. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { DeadlineHeap } from '../../../src/paths/deadline-heap.js';

test('random inserts, key changes (both ways) and deletes: top() is a slot with the earliest key, earliest() that key', () => {
  let keys = new Float64Array(4);
  const heap = new DeadlineHeap(() => keys);
  heap.grow(4);
  let seed = 12345;
  const rnd = (): number => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 4294967296);
  const inHeap = new Set<number>();
  for (let step = 0; step < 5000; step++) {
    const slot = Math.floor(rnd() * 64);
    if (slot >= keys.length) { // the caller's array is replaced when it grows
      const k = new Float64Array(keys.length * 2);
      k.set(keys);
      keys = k;
      heap.grow(keys.length);
    }
    const op = rnd();
    if (op < 0.4) {
      keys[slot] = rnd() < 0.1 ? Infinity : Math.floor(rnd() * 1000);
      heap.insert(slot);
      inHeap.add(slot);
    } else if (op < 0.8) {
      keys[slot] = Math.floor(rnd() * 1000);
      heap.fix(slot); // a no-op for a slot not in the heap
    } else {
      heap.delete(slot);
      inHeap.delete(slot);
    }
    const min = Math.min(...[...inHeap].map((s) => keys[s]!));
    assert.is(heap.earliest(), inHeap.size === 0 ? Infinity : min, `step ${step}`);
    assert.is(heap.top() < 0 ? Infinity : keys[heap.top()], inHeap.size === 0 ? Infinity : min);
    assert.is(heap.has(slot), inHeap.has(slot));
  }
});

test('popping in order: fix() after moving the top later yields every slot by key', () => {
  const keys = new Float64Array([5, 3, 9, 1, 7]);
  const heap = new DeadlineHeap(() => keys);
  heap.grow(5);
  for (let s = 0; s < 5; s++) heap.insert(s);
  const order: number[] = [];
  for (let s = heap.top(); keys[s]! < Infinity; s = heap.top()) {
    order.push(s);
    keys[s] = Infinity;
    heap.fix(s);
  }
  assert.equal(order, [3, 1, 0, 4, 2]);
});

test.run();
