/**
 * The node's session records wired to its router: the records thread (telemetry/records-thread.ts) reads
 * the session facts straight from the data paths' fact rings (router.factRings(), dataplane/fact-ring.ts:
 * no object and no message per session on this thread), builds the records, exports them and writes the
 * history (its own database, `<data dir>/history`).
 * Collectors going up or down are logged; so is a records thread that ended and was started again.
 */
import type { Router } from '../control/router.js';
import type { SvrConfig } from '../model/config.js';
import { observationDomainOf } from '../model/read-telemetry.js';
import type { Store } from '../store/store.js';
import type { CollectorStatus } from '../telemetry/ipfix/exporter.js';
import { historyDirOf, RecordsThread, type RecordsService } from '../telemetry/records-thread.js';
import { openSessionsAtStart } from '../telemetry/session-records.js';

export interface NodeRecords {
  readonly sessions: RecordsService;
  /** flat counters for `svr show stats`, and the collectors */
  stats(): Record<string, unknown>;
  close(): Promise<void>;
}

type Log = (event: string, fields: Record<string, string | number | boolean>) => void;

/**
 * The session history of nodes before the records thread lived in the node's own store (sublevel `history`,
 * format 1, not read since): found at start, its records are counted, its keys removed in the background,
 * and the log says so (`history.old-store-removed`); `<data dir>/history` holds the history now.
 */
export async function removeOldHistory(store: Store, log: Log): Promise<number> {
  const old = store.db.sublevel<string, Uint8Array>('history', { keyEncoding: 'utf8', valueEncoding: 'view' });
  let keys = 0;
  let records = 0;
  try {
    for await (const k of old.keys()) {
      keys++;
      if (k.startsWith('r/')) records++;
    }
    if (keys === 0) return 0;
    await old.clear();
    log('history.old-store-removed', { records, keys, detail: 'a session history of format 1 in the node store (not read since the history moved to <data dir>/history)' });
  } catch (e) {
    // the node stopping (its store closing) ends the search quietly
    if (store.db.status === 'open') log('history.old-store-unreadable', { error: e instanceof Error ? e.message : String(e) });
  }
  return records;
}

/** What the node's alarms hear of its records. */
export interface RecordsAlarms {
  /** each collector going up or down (the node's ipfix-collector-unreachable alarm) */
  collector(collector: string, status: CollectorStatus, detail: string): void;
  /** the records thread ended (running false) or runs again (records-thread-restarted) */
  thread(running: boolean, detail: string): void;
}

/**
 * Starts the records thread on the router's fact rings (it opens the history database `<store dir>/history`
 * and starts the exporters).
 */
export async function startRecords(router: Router, store: Store, config: SvrConfig, name: string, log: Log, alarms?: RecordsAlarms): Promise<NodeRecords> {
  const sessions = await RecordsThread.open({
    router: name, historyDir: historyDirOf(store.dir), rings: router.factRings(), telemetry: config.authority.telemetry, observationDomainId: observationDomainOf(config.authority.routers, name),
    openSessions: openSessionsAtStart(config.authority.routers.find((r) => r.name === name)?.sessionCapacity),
  }, {
    onCollectorStatus: (collector, status, detail) => {
      log(`ipfix.collector-${status}`, { collector, detail });
      alarms?.collector(collector, status, detail);
    },
    onFailure: (e) => {
      log('records.thread-ended', { error: e.message });
      alarms?.thread(false, e.message);
    },
    onRestarted: (restarts) => {
      log('records.thread-restarted', { restarts });
      alarms?.thread(true, `started again (${restarts} times)`);
    },
  });
  const lost = sessions.counters().history.lostAtOpen;
  if (lost > 0) log('history.lost-at-start', { records: lost });
  void removeOldHistory(store, log);
  return {
    sessions,
    stats: () => {
      const c = sessions.counters();
      const sum = (k: 'exported' | 'dropped' | 'queueDepth'): number => c.collectors.reduce((n, x) => n + x[k], 0);
      return {
        'records-end': c.records.endRecords, 'records-interim': c.records.interimRecords, 'records-denied': c.records.deniedRecords,
        'records-denied-dropped': c.records.deniedDropped,
        'history-written': c.history.written, 'history-pending': c.history.pending, 'history-dropped': c.history.droppedFull,
        'history-lost': c.history.lostTotal, 'history-bytes': c.history.bytes, 'history-retired': c.history.retiredRecords,
        'history-busy-ms': Math.round(c.history.busyMs), 'history-write-errors': c.history.writeErrors,
        'ipfix-exported': sum('exported'), 'ipfix-dropped': sum('dropped'), 'ipfix-queued': sum('queueDepth'),
        'records-waiting': c.waiting?.facts ?? 0, 'records-waiting-dropped': c.waiting?.dropped ?? 0,
        'records-lost': c.waiting?.lost ?? 0, 'records-thread-restarts': c.waiting?.restarts ?? 0,
        collectors: c.collectors,
      };
    },
    close: async () => {
      await sessions.close();
    },
  };
}
