/**
 * The node's Prometheus metrics (prom-client): one registry, read at each scrape from the router's views,
 * the data path's counters, the alarm registry and (when wired) the session records (builder, history, IPFIX
 * exporters: SessionRecords.counters()); session counts by
 * tenant, service and reason come from the router's session events. Every label value is a name from the
 * config or a fixed set (reasons, states, directions): no per-session label, so the series stay bounded.
 *
 * A scrape takes one snapshot of every source (so one table walk, not one per metric) and renders it.
 * Names (all `svr_`; times in seconds, loss as a ratio, as Prometheus' conventions want):
 *   paths      svr_peer_reachable{peer} svr_path_up{peer,path} svr_path_bfd_state{peer,path,state}
 *              svr_path_latency_seconds svr_path_jitter_seconds svr_path_loss_ratio svr_path_mos
 *              svr_path_sessions svr_path_flaps_total svr_path_udp_transform   (all {peer,path})
 *   sessions   svr_sessions_active svr_tenant_sessions_active{tenant} svr_service_sessions_active{service}
 *              svr_sessions_created_total{tenant,service,role} svr_sessions_closed_total{tenant,service,reason}
 *              svr_sessions_denied_total{tenant,service,reason} svr_handshakes_in_flight
 *   traffic    svr_interface_packets_total{interface,direction} svr_interface_bytes_total{interface,direction}
 *              svr_interface_drops_total{interface} svr_drops_total{reason} svr_counter_total{name}
 *   shaping    svr_shaper_queue_bytes{interface,queue} svr_shaper_queue_packets{interface,queue}
 *              svr_shaper_sent_bytes_total{interface,queue} svr_shaper_dropped_total{interface,queue}
 *   threads    svr_worker_busy_seconds_total{worker} svr_worker_sessions_active{worker}
 *   plugins    svr_plugin_info{plugin,version,state} svr_plugin_counter_total{plugin,counter}
 *   records    svr_records_total{kind} svr_records_denied_unrecorded_total svr_records_open_sessions
 *              svr_records_facts_waiting svr_records_facts_dropped_total svr_records_facts_lost_total
 *              svr_records_thread_restarts_total
 *              svr_history_records_total{outcome} svr_history_pending svr_history_bytes
 *              svr_history_write_errors_total svr_history_busy_seconds_total
 *   ipfix      svr_ipfix_collector_up{collector} svr_ipfix_records_total{collector,outcome}
 *              svr_ipfix_messages_total{collector} svr_ipfix_bytes_total{collector} svr_ipfix_errors_total{collector}
 *              svr_ipfix_queue_depth{collector}
 *   alarms     svr_alarm_raised_total{alarm,source} svr_alarm_active{alarm,source,severity} svr_events_dropped_total
 *   node       svr_node_info{router,version} and prom-client's process metrics (svr_process_*, svr_nodejs_*; the
 *              event-loop lag histogram sampled every EVENT_LOOP_SAMPLE_MS)
 */
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import type { AlarmRegistry } from './alarms/registry.js';
import type { SessionRecordsCounters } from './session-records.js';

export interface PathMetricsView {
  name: string;
  up: boolean;
  bfd: string;
  latencyMs?: number;
  jitterMs?: number;
  lossPct?: number;
  mos?: number;
  sessions: number;
  flaps: number;
  /** `udp-transform` while new TCP sessions on the path are carried as UDP */
  transport?: string;
}

export interface PeerMetricsView {
  name: string;
  reachable: boolean;
  paths: readonly PathMetricsView[];
}

/** One queue of the node's kernel egress shaper (node/egress-shaper.ts). */
export interface ShaperQueueView {
  queue: string;
  'sent-bytes': number;
  dropped: number;
  'queue-bytes': number;
  'queue-packets': number;
}

export interface InterfacePortView {
  interface: string;
  txDrops: number;
}

/** What the metrics read at each scrape (the node passes its router's views). */
export interface NodeMetricsSource {
  router: string;
  version: string;
  peers(): readonly PeerMetricsView[];
  tenants(): readonly { name: string; sessions: number }[];
  services(): readonly { name: string; sessions: number }[];
  status(): { sessionsActive: number; handshakesInFlight: number; sessionsPerWorker: readonly number[] };
  /** the data path's counters (all threads) and control's */
  counters(): Record<string, number>;
  /** event-loop time of each data-path thread */
  threadLoad(): readonly { activeMs: number }[];
  plugins(): readonly { name: string; version: string; state: string; counters: Record<string, number> }[];
  /** ports that count their own write drops (TUN devices on the node's thread); none with worker threads */
  ports(): readonly InterfacePortView[];
  alarms: AlarmRegistry;
}

interface Snapshot {
  peers: readonly PeerMetricsView[];
  tenants: readonly { name: string; sessions: number }[];
  services: readonly { name: string; sessions: number }[];
  status: ReturnType<NodeMetricsSource['status']>;
  counters: Record<string, number>;
  load: readonly { activeMs: number }[];
  plugins: ReturnType<NodeMetricsSource['plugins']>;
  ports: readonly InterfacePortView[];
  /** the session records' counters; undefined until wired */
  records: SessionRecordsCounters | undefined;
  shaping: readonly { interface: string; queues: readonly ShaperQueueView[] }[];
}

const BFD_STATES = ['admin-down', 'down', 'init', 'up', 'static'] as const;
const INTERFACE_COUNTER = /^interface\.(.+)\.(rx|tx)-(packets|bytes)$/;

/** A router pair's node (node/ha.ts), as the HA metrics read it. */
export interface HaMetricsView {
  node: string;
  role: string;
  /** the last measured sync lag, ms */
  lagMs: number | undefined;
  /** records not yet on the wire */
  pending: number;
  /** the last change lag, ms: a session change marked in the data path to its acknowledgement by the partner */
  changeLagMs: number | undefined;
  /** session rows marked changed, not yet collected, and the age of the oldest of them (ms) */
  dirtyRows: number;
  dirtyOldestMs: number;
  /** session records sent: upserts and deletes */
  sessionRecords: { upsert: number; delete: number; purge: number };
  /** sync messages dropped, by reason */
  dropped: Record<string, number>;
}

const HA_ROLES = ['init', 'standby', 'taking-over', 'active', 'handing-over', 'fenced'] as const;

/**
 * prom-client's event-loop lag histogram (`svr_nodejs_eventloop_lag_*`) is a repeating libuv timer: at its default
 * 10 ms it was ~100 of an idle node's ~115 main-thread wake-ups a second (rtt9). At 100 ms a stall of 100 ms or more
 * still shows in the max; shorter ones only when a sample falls inside them.
 */
const EVENT_LOOP_SAMPLE_MS = 100;

/** `reset()` then `set`/`inc` from the snapshot: prom-client's collect() runs once per scrape. */
type Fill<M> = (m: M, s: Snapshot) => void;

export class NodeMetrics {
  readonly registry = new Registry();
  private snap: Snapshot | undefined;
  private records: () => SessionRecordsCounters | undefined = () => undefined;
  private shaping: () => readonly { interface: string; queues: readonly ShaperQueueView[] }[] = () => [];
  private ha: () => HaMetricsView | undefined = () => undefined;
  private readonly createdTally = new Tally3();
  private readonly closedTally = new Tally3();
  private readonly denied: Counter<'tenant' | 'service' | 'reason'>;

  constructor(private readonly src: NodeMetricsSource) {
    const r = this.registry;
    collectDefaultMetrics({ register: r, prefix: 'svr_', eventLoopMonitoringPrecision: EVENT_LOOP_SAMPLE_MS });
    this.gauge('svr_node_info', 'The router this node runs (value 1)', ['router', 'version'], (g) => g.set({ router: src.router, version: src.version }, 1));

    const eachPath = (s: Snapshot, fn: (peer: string, p: PathMetricsView) => void): void => {
      for (const peer of s.peers) for (const p of peer.paths) fn(peer.name, p);
    };
    this.gauge('svr_peer_reachable', 'Whether the peer has a usable path (1) or not (0)', ['peer'], (g, s) => {
      for (const p of s.peers) g.set({ peer: p.name }, p.reachable ? 1 : 0);
    });
    this.gauge('svr_path_up', 'Whether the peer path is usable (BFD up and out of hold-down): 1 or 0', ['peer', 'path'], (g, s) => eachPath(s, (peer, p) => g.set({ peer, path: p.name }, p.up ? 1 : 0)));
    this.gauge('svr_path_bfd_state', 'BFD state of the peer path (1 for the current state)', ['peer', 'path', 'state'], (g, s) => eachPath(s, (peer, p) => {
      for (const state of BFD_STATES) g.set({ peer, path: p.name, state }, p.bfd === state ? 1 : 0);
    }));
    const quality = (name: string, help: string, pick: (p: PathMetricsView) => number | undefined): void =>
      this.gauge(name, help, ['peer', 'path'], (g, s) => eachPath(s, (peer, p) => {
        const v = pick(p);
        if (v !== undefined) g.set({ peer, path: p.name }, v);
      }));
    quality('svr_path_latency_seconds', 'Latency of the peer path from its last link test (as svr show peers)', (p) => (p.latencyMs === undefined ? undefined : microseconds(p.latencyMs)));
    quality('svr_path_jitter_seconds', 'Jitter of the peer path from its last link test', (p) => (p.jitterMs === undefined ? undefined : microseconds(p.jitterMs)));
    quality('svr_path_loss_ratio', 'Loss of the peer path from its last link test, 0-1', (p) => (p.lossPct === undefined ? undefined : Math.round(p.lossPct * 1e4) / 1e6));
    quality('svr_path_mos', 'Mean opinion score of the peer path (1-5)', (p) => p.mos);
    quality('svr_path_sessions', 'Sessions on the peer path now', (p) => p.sessions);
    this.gauge('svr_path_udp_transform', 'Whether new TCP sessions on the peer path are carried as UDP (UDP transform): 1 or 0', ['peer', 'path'], (g, s) => eachPath(s, (peer, p) => g.set({ peer, path: p.name }, p.transport === 'udp-transform' ? 1 : 0)));
    this.counter('svr_path_flaps_total', 'Times the peer path went down', ['peer', 'path'], (c, s) => eachPath(s, (peer, p) => c.inc({ peer, path: p.name }, p.flaps)));

    this.gauge('svr_sessions_active', 'Sessions in the session table', [], (g, s) => g.set(s.status.sessionsActive));
    this.gauge('svr_tenant_sessions_active', 'Sessions of the tenant', ['tenant'], (g, s) => { for (const t of s.tenants) g.set({ tenant: t.name }, t.sessions); });
    this.gauge('svr_service_sessions_active', 'Sessions of the service', ['service'], (g, s) => { for (const x of s.services) g.set({ service: x.name }, x.sessions); });
    this.gauge('svr_handshakes_in_flight', 'Sessions waiting for reverse metadata', [], (g, s) => g.set(s.status.handshakesInFlight));
    // per session: counted in tallies (three map lookups) and added to the counters when scraped; a labelled
    // inc() per session (label hashing, ~1.7 % of a router's CPU at 16,000 sessions/s) is not
    const created = this.createdTally, closed = this.closedTally;
    new Counter({
      name: 'svr_sessions_created_total', help: 'Sessions opened here, by role (ingress, egress, local)', labelNames: ['tenant', 'service', 'role'], registers: [r],
      collect() { created.drain((tenant, service, role, n) => this.inc({ tenant, service, role }, n)); },
    });
    new Counter({
      name: 'svr_sessions_closed_total', help: 'Sessions removed, by reason', labelNames: ['tenant', 'service', 'reason'], registers: [r],
      collect() { closed.drain((tenant, service, reason, n) => this.inc({ tenant, service, reason }, n)); },
    });
    this.denied = new Counter({ name: 'svr_sessions_denied_total', help: 'First packets refused, by reason (tenant and service empty when not known)', labelNames: ['tenant', 'service', 'reason'], registers: [r] });

    this.counter('svr_interface_packets_total', 'Packets in (rx) and out (tx) of the interface, data path', ['interface', 'direction'], (c, s) => this.eachInterfaceCounter(s, 'packets', c));
    this.counter('svr_interface_bytes_total', 'Bytes (IP packets) in and out of the interface, data path', ['interface', 'direction'], (c, s) => this.eachInterfaceCounter(s, 'bytes', c));
    this.counter('svr_interface_drops_total', 'Packets the interface device could not write (TUN queue full)', ['interface'], (c, s) => {
      for (const p of s.ports) c.inc({ interface: p.interface }, p.txDrops);
    });
    this.counter('svr_drops_total', 'Packets the data path dropped, by reason (the drop-<reason> counters of svr show stats)', ['reason'], (c, s) => {
      for (const [k, v] of Object.entries(s.counters)) if (k.startsWith('drop-')) c.inc({ reason: k.slice(5) }, v);
    });
    this.counter('svr_counter_total', 'Every other counter of svr show stats, by name', ['name'], (c, s) => {
      for (const [k, v] of Object.entries(s.counters)) if (!k.startsWith('drop-') && !INTERFACE_COUNTER.test(k)) c.inc({ name: k }, v);
    });

    this.counter('svr_worker_busy_seconds_total', "Time each data-path thread's event loop was busy (rate() = its load, 0-1)", ['worker'], (c, s) => {
      s.load.forEach((l, i) => c.inc({ worker: String(i) }, l.activeMs / 1000));
    });
    this.gauge('svr_worker_sessions_active', 'Sessions owned by each data-path thread', ['worker'], (g, s) => {
      s.status.sessionsPerWorker.forEach((n, i) => g.set({ worker: String(i) }, n));
    });

    this.gauge('svr_plugin_info', 'Loaded plugins (value 1) with version and state', ['plugin', 'version', 'state'], (g, s) => {
      for (const p of s.plugins) g.set({ plugin: p.name, version: p.version, state: p.state }, 1);
    });
    this.counter('svr_plugin_counter_total', "The plugins' own counters", ['plugin', 'counter'], (c, s) => {
      for (const p of s.plugins) for (const [k, v] of Object.entries(p.counters)) c.inc({ plugin: p.name, counter: k }, v);
    });

    const kinds = [['end', 'endRecords'], ['interim', 'interimRecords'], ['denied', 'deniedRecords']] as const;
    this.counter('svr_records_total', 'Session records made: end (a session ended), interim (still open), denied (a refused first packet)', ['kind'], (c, s) => {
      if (s.records !== undefined) for (const [kind, k] of kinds) c.inc({ kind }, s.records.records[k]);
    });
    this.counter('svr_records_denied_unrecorded_total', 'Denied first packets that got no record (rate limit or suppressed by the data path)', [], (c, s) => {
      if (s.records !== undefined) c.inc(s.records.records.deniedDropped);
    });
    this.gauge('svr_records_open_sessions', 'Sessions the record builder follows', [], (g, s) => { if (s.records !== undefined) g.set(s.records.records.open); });
    this.gauge('svr_records_facts_waiting', 'Session facts waiting for the records thread (fact rows not read yet)', [], (g, s) => { if (s.records !== undefined) g.set(s.records.waiting?.facts ?? 0); });
    this.counter('svr_records_facts_dropped_total', 'Session facts dropped because too many waited for the records thread (a full fact ring)', [], (c, s) => {
      if (s.records !== undefined) c.inc(s.records.waiting?.dropped ?? 0);
    });
    this.counter('svr_records_facts_lost_total', 'Session facts a records thread that ended had not read', [], (c, s) => {
      if (s.records !== undefined) c.inc(s.records.waiting?.lost ?? 0);
    });
    this.counter('svr_records_thread_restarts_total', 'Times the session records thread was started again after it ended', [], (c, s) => {
      if (s.records !== undefined) c.inc(s.records.waiting?.restarts ?? 0);
    });
    const outcomes = [['written', 'written'], ['dropped', 'droppedFull'], ['lost', 'lostTotal'], ['retired', 'retiredRecords']] as const;
    this.counter('svr_history_records_total', 'Session history: written, dropped (too many waiting), lost (by crashes, found at start), retired (retention)', ['outcome'], (c, s) => {
      if (s.records !== undefined) for (const [outcome, k] of outcomes) c.inc({ outcome }, s.records.history[k]);
    });
    this.gauge('svr_history_pending', 'Session records waiting for the next history write', [], (g, s) => { if (s.records !== undefined) g.set(s.records.history.pending); });
    this.gauge('svr_history_bytes', 'Size of the session history (keys and values as written)', [], (g, s) => { if (s.records !== undefined) g.set(s.records.history.bytes); });
    this.counter('svr_history_write_errors_total', 'Session history writes that failed', [], (c, s) => { if (s.records !== undefined) c.inc(s.records.history.writeErrors); });
    this.counter('svr_history_busy_seconds_total', 'Time spent building and writing history batches', [], (c, s) => { if (s.records !== undefined) c.inc(s.records.history.busyMs / 1000); });

    const queues = (s: Snapshot, f: (labels: { interface: string; queue: string }, q: ShaperQueueView) => void): void => {
      for (const i of s.shaping) for (const q of i.queues) f({ interface: i.interface, queue: q.queue }, q);
    };
    this.gauge('svr_shaper_queue_bytes', 'Bytes waiting in the egress shaper\'s queue', ['interface', 'queue'], (g, s) => queues(s, (l, q) => g.set(l, q['queue-bytes'])));
    this.gauge('svr_shaper_queue_packets', 'Packets waiting in the egress shaper\'s queue', ['interface', 'queue'], (g, s) => queues(s, (l, q) => g.set(l, q['queue-packets'])));
    this.counter('svr_shaper_sent_bytes_total', 'Bytes the egress shaper released from the queue', ['interface', 'queue'], (c, s) => queues(s, (l, q) => c.inc(l, q['sent-bytes'])));
    this.counter('svr_shaper_dropped_total', 'Packets dropped at the tail of the full queue', ['interface', 'queue'], (c, s) => queues(s, (l, q) => c.inc(l, q.dropped)));

    const collectors = (s: Snapshot) => s.records?.collectors ?? [];
    this.gauge('svr_ipfix_collector_up', 'Whether the IPFIX collector is reachable (1), down (0) or not known yet (-1)', ['collector'], (g, s) => {
      for (const x of collectors(s)) g.set({ collector: x.name }, x.status === 'up' ? 1 : x.status === 'down' ? 0 : -1);
    });
    this.counter('svr_ipfix_records_total', 'Session records per collector: exported, dropped (queue full or send failed), filtered (not for it)', ['collector', 'outcome'], (c, s) => {
      for (const x of collectors(s)) {
        c.inc({ collector: x.name, outcome: 'exported' }, x.exported);
        c.inc({ collector: x.name, outcome: 'dropped' }, x.dropped);
        c.inc({ collector: x.name, outcome: 'filtered' }, x.filtered);
      }
    });
    this.counter('svr_ipfix_messages_total', 'IPFIX messages sent', ['collector'], (c, s) => { for (const x of collectors(s)) c.inc({ collector: x.name }, x.messages); });
    this.counter('svr_ipfix_bytes_total', 'IPFIX bytes sent', ['collector'], (c, s) => { for (const x of collectors(s)) c.inc({ collector: x.name }, x.bytes); });
    this.counter('svr_ipfix_errors_total', 'IPFIX send or connection errors', ['collector'], (c, s) => { for (const x of collectors(s)) c.inc({ collector: x.name }, x.errors); });
    this.gauge('svr_ipfix_queue_depth', 'Session records waiting for the collector', ['collector'], (g, s) => { for (const x of collectors(s)) g.set({ collector: x.name }, x.queueDepth); });

    this.counter('svr_alarm_raised_total', 'Times each alarm was raised', ['alarm', 'source'], (c) => {
      for (const [id, n] of src.alarms.raisedCounts()) c.inc(splitAlarmId(id), n);
    });
    this.gauge('svr_alarm_active', 'Active alarms (value 1)', ['alarm', 'source', 'severity'], (g) => {
      for (const a of src.alarms.active()) g.set({ ...splitAlarmId(a.id), severity: a.severity }, 1);
    });
    this.counter('svr_events_dropped_total', 'Events dropped from the bounded event log (oldest first)', [], (c) => c.inc(src.alarms.counters().eventsDropped));

    this.gauge('svr_ha_role', "A router pair's node: its role (1 for the current one)", ['node', 'role'], (g) => {
      const h = this.ha();
      if (h !== undefined) for (const role of HA_ROLES) g.set({ node: h.node, role }, h.role === role ? 1 : 0);
    });
    this.gauge('svr_ha_sync_lag_seconds', 'The last sync lag: a state batch sent to its acknowledgement by the partner', ['node'], (g) => {
      const h = this.ha();
      if (h?.lagMs !== undefined) g.set({ node: h.node }, h.lagMs / 1000);
    });
    this.gauge('svr_ha_sync_pending_records', 'State records waiting to go to the partner', ['node'], (g) => {
      const h = this.ha();
      if (h !== undefined) g.set({ node: h.node }, h.pending);
    });
    this.gauge('svr_ha_sync_change_lag_seconds', 'The last session change lag: a change marked in the data path to its acknowledgement by the partner', ['node'], (g) => {
      const h = this.ha();
      if (h?.changeLagMs !== undefined) g.set({ node: h.node }, h.changeLagMs / 1000);
    });
    this.gauge('svr_ha_sync_dirty_rows', 'Session rows marked changed and not yet collected for the partner (beyond a collection\'s budget)', ['node'], (g) => {
      const h = this.ha();
      if (h !== undefined) g.set({ node: h.node }, h.dirtyRows);
    });
    this.gauge('svr_ha_sync_dirty_age_seconds', 'The age of the oldest session change not yet collected for the partner', ['node'], (g) => {
      const h = this.ha();
      if (h !== undefined) g.set({ node: h.node }, h.dirtyOldestMs / 1000);
    });
    this.counter('svr_ha_sync_session_records_total', 'Session records sent to the partner: upsert (created or changed), delete (removed) and purge (every row of a replaced worker)', ['node', 'op'], (c) => {
      const h = this.ha();
      if (h !== undefined) for (const [op, n] of Object.entries(h.sessionRecords)) c.inc({ node: h.node, op }, n);
    });
    this.counter('svr_ha_sync_dropped_total', 'Sync messages dropped: malformed, bad-auth, not-partner, out-of-order', ['node', 'reason'], (c) => {
      const h = this.ha();
      if (h !== undefined) for (const [reason, n] of Object.entries(h.dropped)) c.inc({ node: h.node, reason }, n);
    });
  }

  /** Where the HA metrics come from (a router pair's node; none for one node). */
  setHaSource(read: () => HaMetricsView | undefined): void {
    this.ha = read;
  }

  /** Where the records, history and IPFIX metrics come from (the node's session records). */
  setRecordsSource(read: () => SessionRecordsCounters): void {
    this.records = read;
  }

  /** The egress shaper's queues (read from the kernel every second by the node). */
  setShapingSource(read: () => readonly { interface: string; queues: readonly ShaperQueueView[] }[]): void {
    this.shaping = read;
  }

  sessionCreated(e: { tenant: string; service: string; role: string }): void {
    this.createdTally.add(e.tenant, e.service, e.role);
  }

  sessionClosed(e: { tenant: string; service: string; reason: string }): void {
    this.closedTally.add(e.tenant, e.service, e.reason);
  }

  /** A session created or removed, as the data path's facts give it (control/session-facts.ts). */
  sessionFact(f: { kind: 'session.created' | 'session.removed'; tenant: string; service: string; role: string; reason: string }): void {
    if (f.kind === 'session.created') this.sessionCreated(f);
    else this.sessionClosed(f);
  }

  sessionDenied(e: { tenant: string; service: string; reason: string }, count = 1): void {
    this.denied.inc({ tenant: e.tenant, service: e.service, reason: e.reason }, count);
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  /** The exposition text: one snapshot of every source, rendered. */
  async metrics(): Promise<string> {
    const s = this.src;
    this.snap = {
      peers: s.peers(), tenants: s.tenants(), services: s.services(), status: s.status(), counters: s.counters(),
      load: s.threadLoad(), plugins: s.plugins(), ports: s.ports(), records: this.records(), shaping: this.shaping(),
    };
    try {
      return await this.registry.metrics();
    } finally {
      this.snap = undefined;
    }
  }

  private eachInterfaceCounter(s: Snapshot, unit: 'packets' | 'bytes', c: Counter<'interface' | 'direction'>): void {
    for (const [k, v] of Object.entries(s.counters)) {
      const m = INTERFACE_COUNTER.exec(k);
      if (m !== null && m[3] === unit) c.inc({ interface: m[1]!, direction: m[2]! }, v);
    }
  }

  private gauge<L extends string>(name: string, help: string, labelNames: readonly L[], fill: Fill<Gauge<L>>): void {
    const read = (): Snapshot | undefined => this.snap;
    new Gauge<L>({
      name, help, labelNames, registers: [this.registry],
      collect() {
        this.reset();
        const s = read();
        if (s !== undefined) fill(this, s);
      },
    });
  }

  private counter<L extends string>(name: string, help: string, labelNames: readonly L[], fill: Fill<Counter<L>>): void {
    const read = (): Snapshot | undefined => this.snap;
    new Counter<L>({
      name, help, labelNames, registers: [this.registry],
      collect() {
        this.reset();
        const s = read();
        if (s !== undefined) fill(this, s);
      },
    });
  }
}

/** Counts by three labels without building a key per count; drain hands over the counts and clears them. */
class Tally3 {
  private readonly counts = new Map<string, Map<string, Map<string, number>>>();

  add(a: string, b: string, c: string): void {
    let byB = this.counts.get(a);
    if (byB === undefined) this.counts.set(a, byB = new Map());
    let byC = byB.get(b);
    if (byC === undefined) byB.set(b, byC = new Map());
    byC.set(c, (byC.get(c) ?? 0) + 1);
  }

  drain(fn: (a: string, b: string, c: string, n: number) => void): void {
    for (const [a, byB] of this.counts) {
      for (const [b, byC] of byB) {
        for (const [c, n] of byC) if (n > 0) fn(a, b, c, n);
        byC.clear();
      }
    }
  }
}

/** ms -> s, to the µs (the views round to 0.01 ms; no 0.07232999999999999) */
function microseconds(ms: number): number {
  return Math.round(ms * 1000) / 1e6;
}

/** `peer-path-down:r2/wan1` -> { alarm: peer-path-down, source: r2/wan1 } */
function splitAlarmId(id: string): { alarm: string; source: string } {
  const i = id.indexOf(':');
  return i < 0 ? { alarm: id, source: '' } : { alarm: id.slice(0, i), source: id.slice(i + 1) };
}
