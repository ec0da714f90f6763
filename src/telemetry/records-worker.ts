/**
 * The records thread (records-thread.ts starts it): names itself RECORDS_THREAD_NAME (what `top -H`, `ps -L`
 * and the benchmark's per-thread CPU show), lowers its own priority (`nice`: records wait while
 * forwarding needs the cores), opens the history database, runs SessionRecords (record
 * builder, IPFIX exporters, history) on the rows of the data paths' fact rings, answers queries, and
 * sends its counters when they changed (at most every COUNTERS_MS) and with every answer. On `close` it sends what is queued, writes
 * what is pending, closes the database and answers; the control thread then ends it.
 */
import { readlinkSync, writeFileSync } from 'node:fs';
import { setPriority } from 'node:os';
import { parentPort, workerData } from 'node:worker_threads';
import { FactRing } from '../dataplane/fact-ring.js';
import { Store } from '../store/store.js';
import { FactReader, READ_ROWS } from './fact-rows.js';
import { COUNTERS_MS, RECORDS_THREAD_NAME, RING_IDLE_POLL_MS, RING_POLL_MS, toWire, type FromRecords, type RecordsThreadInit, type ThreadCounters, type ToRecords } from './records-thread.js';
import { SessionRecords } from './session-records.js';

const port = parentPort!;
const init = workerData as RecordsThreadInit;
const send = (m: FromRecords): void => port.postMessage(m);

/** Names this thread (Linux: its `comm`, 15 bytes at most); nothing where the platform has no /proc. */
function nameThread(name: string): void {
  try {
    writeFileSync('/proc/thread-self/comm', name);
  } catch {
    // not Linux: the thread keeps its name
  }
}

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
  nameThread(RECORDS_THREAD_NAME);
  if (init.nice !== undefined && init.nice !== 0) niceThread(init.nice);
  const store = await Store.open(init.historyDir);
  const records = await SessionRecords.open({
    ...init, store,
    onCollectorStatus: (collector, status, detail) => send({ t: 'status', collector, status, detail, counters: counters() }),
  });
  // One timer while recording (none while records are off: no history, no collector): the data paths' fact rings read every
  // RING_POLL_MS, at once again while a read found more, the wait doubling up to RING_IDLE_POLL_MS while they stay empty (a
  // hub with no sessions, a router carrying one long TCP transfer); with the read, the counters, at most every COUNTERS_MS and
  // only when they changed. The history and the exporters arm their own timers only when records come (vis15: an idle
  // records thread woke 46 times a second, now about 5).
  const readers = (init.rings ?? []).map((b) => new FactReader(new FactRing(b)));
  let ringTimer: NodeJS.Timeout | undefined;
  let idleMs = RING_POLL_MS;
  let countersAt = Infinity; // the first counters go with 'ready' (the first read, a ring's first touch, may take longer)
  let countersSent = '';
  const readRings = (): void => {
    let more = false;
    let rows = 0;
    for (const r of readers) {
      const n = r.read(records);
      rows += n;
      if (n === READ_ROWS) more = true;
    }
    idleMs = rows > 0 ? RING_POLL_MS : Math.min(2 * idleMs, RING_IDLE_POLL_MS);
    ringTimer = setTimeout(readRings, more ? 0 : idleMs);
    const now = performance.now();
    if (now - countersAt < COUNTERS_MS) return;
    countersAt = now;
    const c = counters();
    const text = JSON.stringify(c);
    if (text === countersSent) return;
    countersSent = text;
    send({ t: 'counters', counters: c });
  };
  const follow = (): void => {
    if (records.recording) {
      for (const r of readers) r.start();
      if (ringTimer === undefined) readRings();
      return;
    }
    clearTimeout(ringTimer);
    ringTimer = undefined;
    for (const r of readers) {
      r.read(records, Infinity); // rows written before records went off (not recorded; a later epoch would count them lost)
      r.stop();
    }
  };
  follow();
  function counters(): ThreadCounters {
    return { ...records.counters(), skipped: readers.reduce((n, r) => n + r.skipped, 0) };
  }
  port.on('message', (m: ToRecords) => void onMessage(m));
  send({ t: 'ready', counters: counters() });
  countersAt = performance.now();

  async function onMessage(m: ToRecords): Promise<void> {
    try {
      let value: unknown;
      if (m.t === 'query') value = await records.query(m.q);
      else if (m.t === 'get') value = await records.get(m.sessionId);
      else if (m.t === 'reconfigure') {
        await records.reconfigure(m.telemetry, m.observationDomainId);
        follow();
      } else {
        clearTimeout(ringTimer);
        for (const r of readers) {
          r.read(records, Infinity); // what the data paths wrote before the node stopped
          r.stop();
        }
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
