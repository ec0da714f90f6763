/**
 * The node's session records (telemetry/session-records.ts) wired to its router: one subscription to
 * `router.events$` turns session events into the record builder's facts, on the control thread only (the
 * data path only reports what it already reports). Collectors going up or down are logged.
 */
import type { Router } from '../control/router.js';
import type { SvrConfig } from '../model/config.js';
import { observationDomainOf } from '../model/read-telemetry.js';
import type { Store } from '../store/store.js';
import { SessionRecords } from '../telemetry/session-records.js';

export interface NodeRecords {
  readonly sessions: SessionRecords;
  /** flat counters for `svr show stats`, and the collectors */
  stats(): Record<string, unknown>;
  close(): Promise<void>;
}

type Log = (event: string, fields: Record<string, string | number | boolean>) => void;

export async function startRecords(router: Router, store: Store, config: SvrConfig, name: string, log: Log): Promise<NodeRecords> {
  const sessions = await SessionRecords.open({
    router: name, store, telemetry: config.authority.telemetry, observationDomainId: observationDomainOf(config.authority.routers, name),
    onCollectorStatus: (collector, status, detail) => log(`ipfix.collector-${status}`, { collector, detail }),
  });
  const lost = sessions.history.counters().lostAtOpen;
  if (lost > 0) log('history.lost-at-start', { records: lost });
  void router;
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
        'ipfix-exported': sum('exported'), 'ipfix-dropped': sum('dropped'), 'ipfix-queued': sum('queueDepth'),
        collectors: c.collectors,
      };
    },
    close: () => sessions.close(),
  };
}
