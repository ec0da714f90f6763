/**
 * The router's event stream (control/event-stream.ts): events reach every subscriber in order of
 * subscription, one subscribed or unsubscribed while an event is handed out changes only later events (as
 * RxJS's Subject), complete ends them all and completes a later subscriber at once, and handing an event to
 * a subscriber allocates nothing (RxJS's Subject.next allocated ~190 B per event).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { filter } from 'rxjs';
import { EventStream } from '../../../src/control/event-stream.js';

test('every subscriber in order; (un)subscribing during an event counts from the next one', () => {
  const s = new EventStream<number>();
  const seen: string[] = [];
  const late: number[] = [];
  const a = s.observable.subscribe((n) => {
    seen.push(`a${n}`);
    if (n === 1) s.observable.subscribe((m) => late.push(m));
  });
  const b = s.observable.pipe(filter((n) => n !== 2)).subscribe((n) => {
    seen.push(`b${n}`);
    if (n === 3) a.unsubscribe();
  });
  s.next(1);
  s.next(2);
  s.next(3);
  s.next(4);
  assert.equal(seen, ['a1', 'b1', 'a2', 'a3', 'b3', 'b4']);
  assert.equal(late, [2, 3, 4]);
  b.unsubscribe();
  s.next(5);
  assert.equal(seen.length, 6);
});

test('complete ends every subscription, and completes a later one at once', () => {
  const s = new EventStream<number>();
  let ended = 0;
  s.observable.subscribe({ complete: () => ended++ });
  s.observable.subscribe({ complete: () => ended++ });
  s.complete();
  assert.is(ended, 2);
  s.observable.subscribe({ complete: () => ended++ });
  assert.is(ended, 3);
  s.next(1); // nobody left: no throw
});

test('an event handed to two subscribers allocates nothing', () => {
  const s = new EventStream<{ n: number }>();
  let sum = 0;
  s.observable.subscribe((e) => { sum += e.n; });
  s.observable.subscribe((e) => { sum -= e.n; });
  const e = { n: 1 };
  for (let i = 0; i < 20_000; i++) s.next(e); // warm (optimized)
  const best = (): number => {
    let least = Infinity;
    for (let round = 0; round < 5; round++) {
      const before = process.memoryUsage().heapUsed;
      for (let i = 0; i < 100_000; i++) s.next(e);
      const grew = process.memoryUsage().heapUsed - before;
      if (grew >= 0) least = Math.min(least, grew); // a round with a collection in it says nothing
    }
    return least;
  };
  const bytes = best();
  assert.ok(bytes < 100_000, `${bytes} B for 100,000 events`);
  assert.is(sum, 0);
});

test.run();
