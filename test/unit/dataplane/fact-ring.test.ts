/**
 * The fact ring's producer side (dataplane/fact-ring.ts): it keeps its own copy of HEAD and of the rows it
 * knows free; it commits rows without a store the consumer sees and publishes what it committed with one atomic
 * store (a data path's batch). What the consumer sees and frees still decides: published rows become available at once, a full ring refuses until the consumer frees rows (and then fits
 * again, wrapping), and a producer made again on the same ring (a data path started again) goes on from HEAD.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { FactRing, ROW_WORDS } from '../../../src/dataplane/fact-ring.js';

test('published rows are the consumer\'s at once; a full ring refuses until the consumer frees rows, then wraps', () => {
  const buffer = FactRing.buffer(8);
  const producer = new FactRing(buffer);
  const consumer = new FactRing(buffer);
  assert.ok(producer.fits(8));
  assert.not.ok(producer.fits(9));
  for (let i = 0; i < 6; i++) {
    producer.words[producer.nextRow(0)] = 100 + i;
    producer.publish(1);
  }
  assert.is(consumer.available(), 6);
  assert.is(consumer.words[consumer.row(0)], 100);
  assert.ok(producer.fits(2));
  assert.not.ok(producer.fits(3), 'two rows left of eight');
  consumer.consume(4);
  assert.ok(producer.fits(6), 'the rows the consumer freed are seen when the known ones run out');
  for (let i = 6; i < 12; i++) {
    producer.words[producer.nextRow(0)] = 100 + i;
    producer.publish(1);
  }
  assert.is(consumer.available(), 8);
  assert.equal(Array.from({ length: 8 }, (_, k) => consumer.words[consumer.row(k)]), [104, 105, 106, 107, 108, 109, 110, 111], 'in order across the wrap');
  assert.is(producer.nextRow(0), 4 * ROW_WORDS, 'row 12 is slot 4');
  assert.not.ok(producer.fits(1));
});

test('a producer made again on the same ring goes on from HEAD', () => {
  const buffer = FactRing.buffer(8);
  const first = new FactRing(buffer);
  first.publish(3);
  const consumer = new FactRing(buffer);
  consumer.consume(3);
  const again = new FactRing(buffer);
  assert.is(again.nextRow(0), 3 * ROW_WORDS);
  assert.ok(again.fits(8));
  again.words[again.nextRow(0)] = 7;
  again.publish(1);
  assert.is(consumer.available(), 1);
  assert.is(consumer.words[consumer.row(0)], 7);
});

test.run();
