/**
 * Child of history-crash.test: writes session records into the history of the store at argv[2] at about
 * 20,000 a second until it is killed, printing `<marked accepted> <written> <accepted>` every 5 ms.
 */
import { Store } from '../../../src/store/store.js';
import { SessionHistory } from '../../../src/telemetry/history/history.js';
import { makeRecord } from './records.js';

const store = await Store.open(process.argv[2]!);
const history = await SessionHistory.open(store);
let i = 0;
setInterval(() => {
  const now = Date.now();
  for (let k = 0; k < 200; k++) history.put(makeRecord(i++, { endMs: now }));
}, 10);
setInterval(() => {
  const c = history.counters();
  process.stdout.write(`${c.markedAccepted} ${c.written} ${c.accepted}\n`);
}, 5);
