/**
 * What a running node does with its data path's facts, for the in-process memory and garbage benches: the
 * consumer router.ts wires (the handshake episodes, then the fan-out of control/event-fanout.ts over the
 * batch's events and session records) with the node's readers: its metrics' tallies and rate-limited session
 * log lines (node/visibility.ts, node/node.ts: onSessionFacts) and subscribers of every other event
 * (routing, alarms: eventsWithoutSessions$). `--listener none` gives the data paths no listener (as before
 * wave 19); `objects` an events$ subscriber (an embedder's), which takes an object per session event.
 * Without `episodes` no handshake is watched: the memory bench sends no reverse packet, so its ingress
 * handshakes would wait forever (a node's complete within a round trip).
 */
import type { DataplaneOptions } from '../src/dataplane/dataplane.js';
import type { ForwardingTables } from '../src/model/tables.js';
import { EpisodeSupervisor } from '../src/control/episodes.js';
import { fanOutFacts, type EventSinks } from '../src/control/event-fanout.js';
import { EventStream } from '../src/control/event-stream.js';
import type { RouterEvent } from '../src/control/events.js';
import { isPerSession, SessionFactListeners } from '../src/control/session-facts.js';
import { Subject } from 'rxjs';
import { PluginHost } from '../src/plugins/host.js';
import { NodeMetrics } from '../src/telemetry/metrics.js';
import { AlarmRegistry } from '../src/telemetry/alarms/registry.js';
import { NodeLog } from '../src/node/log.js';
import { logSessionFact } from '../src/node/node.js';

export type ListenerKind = 'node' | 'objects' | 'none';

export function listenerArg(argv: readonly string[]): ListenerKind {
  const i = argv.indexOf('--listener');
  const v = i >= 0 ? argv[i + 1] : 'node';
  if (v !== 'node' && v !== 'objects' && v !== 'none') throw new Error(`--listener ${v}: node, objects or none`);
  return v;
}

/** The Dataplane options that give it `kind`'s listener. */
export function nodeListener(tables: ForwardingTables, kind: ListenerKind, episodes: boolean): Pick<DataplaneOptions, 'onRecords' | 'countersWanted'> {
  if (kind === 'none') return {};
  const stream = new EventStream<RouterEvent>(isPerSession);
  const other: RouterEvent[] = [];
  stream.without.subscribe((e) => { if (e.type === 'path.up') other.push(e); });
  if (kind === 'objects') stream.observable.subscribe((e) => { if (e.type === 'path.down') other.push(e); });
  const facts = new SessionFactListeners();
  const metrics = new NodeMetrics({
    router: 'bench', version: '0', peers: () => [], tenants: () => [], services: () => [],
    status: () => ({ sessionsActive: 0, handshakesInFlight: 0, sessionsPerWorker: [] }), counters: () => ({}), threadLoad: () => [],
    plugins: () => [], ports: () => [], alarms: new AlarmRegistry(),
  });
  facts.add((f) => metrics.sessionFact(f));
  const log = new NodeLog('bench', 'text', () => {});
  facts.add((f) => logSessionFact(log, f));
  const noop = (): void => {};
  const sinks: EventSinks = {
    tables, events: stream, sessions: facts, pathMessages: new Subject(),
    plugins: new PluginHost({ parts: 'control', routerName: 'bench', store: null, counters: () => ({}), log: noop, egressShaping: false }),
    now: () => Date.now(), disabled: () => false, log: noop, alarm: noop,
  };
  const watch = episodes ? new EpisodeSupervisor({ probe: noop, teardown: noop, outcome: noop }) : null;
  return {
    onRecords: (events, sessions) => {
      watch?.handleFacts(events, sessions);
      fanOutFacts(events, sessions, sinks);
    },
    countersWanted: () => stream.sessionsWanted,
  };
}
