/**
 * The records thread (records-thread.ts starts it): lowers its own priority (`nice`: records wait while
 * forwarding needs the cores), opens the history database, runs SessionRecords (record
 * builder, IPFIX exporters, history) on the facts the control thread sends in batches, answers queries, and
 * sends its counters every COUNTERS_MS and with every answer. On `close` it sends what is queued, writes
 * what is pending, closes the database and answers; the control thread then ends it.
 */
import { readlinkSync } from 'node:fs';
import { setPriority } from 'node:os';
import { parentPort, workerData } from 'node:worker_threads';
import { Store } from '../store/store.js';
import { COUNTERS_MS, decodeFacts, toWire, type FromRecords, type RecordsThreadInit, type ThreadCounters, type ToRecords } from './records-thread.js';
import { SessionRecords } from './session-records.js';

const port = parentPort!;
const init = workerData as RecordsThreadInit;
const send = (m: FromRecords): void => port.postMessage(m);
let applied = 0;

/** This thread's nice value (Linux: setpriority(2) with a thread id changes only that thread); false where it cannot. */
function niceThread(nice: number): boolean {
  try {
    setPriority(Number(readlinkSync('/proc/thread-self').split('/').pop()), nice);
    return true;
  } catch {
    return false;
  }
}

try {
  if (init.nice !== undefined && init.nice !== 0) niceThread(init.nice);
  const store = await Store.open(init.historyDir);
  const records = await SessionRecords.open({
    ...init, store,
    onCollectorStatus: (collector, status, detail) => send({ t: 'status', collector, status, detail, counters: counters() }),
  });
  function counters(): ThreadCounters {
    return { ...records.counters(), applied };
  }
  const timer = setInterval(() => send({ t: 'counters', counters: counters() }), COUNTERS_MS);
  port.on('message', (m: ToRecords) => void onMessage(m));
  send({ t: 'ready', counters: counters() });

  async function onMessage(m: ToRecords): Promise<void> {
    if (m.t === 'facts') {
      for (const f of decodeFacts(m.bytes)) records.apply(f);
      applied += m.count;
      return;
    }
    try {
      let value: unknown;
      if (m.t === 'query') value = await records.query(m.q);
      else if (m.t === 'get') value = await records.get(m.sessionId);
      else if (m.t === 'reconfigure') await records.reconfigure(m.telemetry, m.observationDomainId);
      else {
        clearInterval(timer);
        await records.close();
        await store.close();
      }
      send({ t: 'reply', id: m.id, ok: true, value, counters: counters() });
    } catch (e) {
      send({ t: 'reply', id: m.id, ok: false, error: toWire(e), counters: counters() });
    }
  }
} catch (e) {
  send({ t: 'failed', error: toWire(e) });
}
