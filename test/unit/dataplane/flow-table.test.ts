/** The flow table against a Map: insert (one probe, an existing key left as it is), find/valueAt/deleteAt, growth, backward-shift deletion. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { FlowTable } from '../../../src/dataplane/flow-table.js';
import { prng } from '../../../src/util/prng.js';

const KW = 4;

function writeKey(t: FlowTable, id: number): void {
  // keys that share words, as flow keys do (one server, a few clients): probe chains form
  t.key[0] = 0xc6120300 + (id & 7);
  t.key[1] = 0xc6120114;
  t.key[2] = ((20000 + (id >>> 3)) << 16) | 7;
  t.key[3] = 17;
}

test('insert stores a new key at once and returns -1; an existing key keeps its value and is returned', () => {
  const t = new FlowTable(KW, 16);
  writeKey(t, 1);
  assert.is(t.insert(5), -1);
  assert.is(t.get(), 5);
  assert.is(t.insert(9), 5, 'the key is there: its value comes back');
  assert.is(t.get(), 5, 'and stays');
  assert.is(t.size, 1);
});

test('random inserts and deletes (find + deleteAt) agree with a Map through growth and backward shifts', () => {
  const t = new FlowTable(KW, 16);
  const model = new Map<number, number>();
  const rnd = prng(19);
  for (let i = 0; i < 40_000; i++) {
    const id = Math.floor(rnd() * 3000);
    writeKey(t, id);
    if (rnd() < 0.55) {
      const had = model.get(id);
      assert.is(t.insert(i), had ?? -1);
      if (had === undefined) model.set(id, i);
    } else {
      const slot = t.find();
      assert.is(slot >= 0, model.has(id));
      if (slot >= 0) {
        assert.is(t.valueAt(slot), model.get(id));
        assert.is(t.deleteAt(slot), model.get(id));
        model.delete(id);
      }
    }
  }
  assert.is(t.size, model.size);
  for (let id = 0; id < 3000; id++) {
    writeKey(t, id);
    assert.is(t.get(), model.get(id) ?? -1, `key ${id}`);
  }
});

test.run();
