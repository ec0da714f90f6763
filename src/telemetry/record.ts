/**
 * Session records (issue 12 Build 1): one record per session at its end, interim records every N seconds
 * for long sessions, and a record per denied first packet (rate limited, the rest counted).
 *
 * The builder knows nothing of the data path's rows: it takes plain facts (`SessionFact`, keyed by session
 * id), or the same as calls without a fact object (start, totals, end: the records thread's ring reader,
 * fact-rows.ts, one call per row), and returns records. Flow:
 *   session.opened   / start(record)  -> an open session (its static fields: tuples, tenant, service, interfaces, path)
 *   session.counters / totals(...)    -> latest totals of a live session (for interim records)
 *   session.migrated                  -> a path change {time, from, to, reason} appended to the session
 *   session.closed   / end(...)       -> the end record (totals, close reason); the session is forgotten
 *   session.denied                    -> an end record with close reason `denied` when the token bucket has a token
 *   due(now)                          -> interim records of sessions whose last record is `interimIntervalS` old
 * The open sessions' map is also the queue of interim records: its order (insertion) is the order of due
 * times, as a session is put at its end when it opens and again after each interim record; due() reads it
 * from the start while sessions are due. A session that ends leaves it at once, so the builder holds nothing
 * of ended sessions.
 * Counts in records are totals since the session started; `delta` is what changed since the session's
 * previous record (IPFIX octetDeltaCount/packetDeltaCount, RFC 7012 §5.10.1).
 */
import { randomUUID } from 'node:crypto';
import { SvrError } from '../errors.js';
import type { SessionRole } from '../dataplane/events.js';
import type { FiveTuple } from '../packet/svr-metadata-decode.js';
import { INTERIM_DEFAULT_S, INTERIM_MAX_S, INTERIM_MIN_S } from '../model/read-telemetry.js';
import { TokenBucket } from '../step/smoothing.js';

/** A transport 5-tuple in one direction: addresses as text (`198.18.1.10`, `2001:db8::1`), the IP protocol number. */
export type { FiveTuple };

/** A router interface as IPFIX names it: ingressInterface/egressInterface take the index. */
export interface InterfaceRef {
  name: string;
  index: number;
}

export type RecordKind = 'end' | 'interim';

/** Why a session ended. `fin-rst`: TCP closed (FIN both ways or RST); `admin`: removed by control or an
 *  operator; `handshake-failed`: the metadata handshake gave up; `replaced`: a new session took its 5-tuple;
 *  `config`: a config change removed it; `no-route`: the RIB route it was delivered along is gone; `shutdown`: the router stopped;
 *  `standby`: this node of a router pair stopped forwarding, its partner carries the session. */
export type CloseReason =
  | 'idle' | 'fin-rst' | 'denied' | 'path-lost' | 'admin' | 'handshake-failed' | 'replaced' | 'config' | 'no-route' | 'shutdown' | 'standby';
export const CLOSE_REASONS: readonly CloseReason[] = [
  'idle', 'fin-rst', 'denied', 'path-lost', 'admin', 'handshake-failed', 'replaced', 'config', 'no-route', 'shutdown', 'standby',
];

/** Why a first packet opened no session (the first-packet stage's drop reasons, plus plugin refusals). */
export type DenyReason =
  | 'no-tenant' | 'no-service' | 'access-denied' | 'no-route' | 'no-path-meets-sla'
  | 'waypoint-ports-exhausted' | 'tcp-no-session' | 'nat-collision' | 'plugin-refused';

/** Why a session moved to another path. */
export type MigrationReason = 'path-down' | 'sla-breach' | 'better-path' | 'peer-moved' | 'admin';

export interface PathChange {
  atMs: number;
  from: string;
  to: string;
  reason: MigrationReason;
}

/** [forward (client -> server), reverse (server -> client)] */
export type PerDirection = [number, number];

/**
 * What a new record starts with, shared: a record's counts, deltas and path changes are replaced, never
 * changed in place (frozen: a change in place throws).
 */
export const ZERO = Object.freeze([0, 0]) as unknown as PerDirection;
export const NO_DELTA: SessionRecord['delta'] = Object.freeze({ packets: ZERO, bytes: ZERO });
export const NO_CHANGES = Object.freeze([]) as unknown as PathChange[];

export interface SessionRecord {
  kind: RecordKind;
  sessionId: string;
  /** 0 for the first record of a session, +1 for each interim record after it */
  seq: number;
  /** the router that wrote the record */
  router: string;
  role: SessionRole;
  /** '' when the first packet matched no tenant */
  tenant: string;
  /** '' when no service matched */
  service: string;
  /** '' when unknown */
  application: string;
  ingressRouter: string;
  /** '' when the session never left this router toward a peer and was not delivered locally */
  egressRouter: string;
  /** the client's 5-tuple, as it sent the first packet */
  forward: FiveTuple;
  /** the server's reply 5-tuple (differs from `forward` reversed when NAT changed the server's view) */
  reverse: FiveTuple;
  /** the SVR 5-tuple between this router and its peer on the last path (this router's side first) */
  waypoint?: FiveTuple;
  /** the forward 5-tuple after this router's NAT toward the server */
  nat?: FiveTuple;
  ingressInterface?: InterfaceRef;
  egressInterface?: InterfaceRef;
  /** peer paths used, in order of use (the last one is current) */
  paths: string[];
  pathChanges: PathChange[];
  packets: PerDirection;
  bytes: PerDirection;
  /** since this session's previous record */
  delta: { packets: PerDirection; bytes: PerDirection };
  /** where the data path saw them (TCP only) */
  tcpRetransmissions?: PerDirection;
  startMs: number;
  /** end records: when the session ended; interim records: when the record was made */
  endMs: number;
  /** end records only */
  closeReason?: CloseReason;
  /** close reason `denied` only */
  deniedReason?: DenyReason;
}

/** What control knows when a session opens. */
export interface SessionOpened {
  kind: 'session.opened';
  atMs: number;
  sessionId: string;
  role: SessionRole;
  tenant: string;
  service: string;
  application?: string;
  ingressRouter: string;
  egressRouter: string;
  forward: FiveTuple;
  /** default: `forward` reversed */
  reverse?: FiveTuple;
  waypoint?: FiveTuple;
  nat?: FiveTuple;
  ingressInterface?: InterfaceRef;
  egressInterface?: InterfaceRef;
  /** the first path ('' or absent for a local session) */
  path?: string;
}

export type SessionFact =
  | SessionOpened
  | { kind: 'session.counters'; atMs: number; sessionId: string; packets: PerDirection; bytes: PerDirection; tcpRetransmissions?: PerDirection }
  | { kind: 'session.migrated'; atMs: number; sessionId: string; from: string; to: string; reason: MigrationReason; waypoint?: FiveTuple }
  | {
      kind: 'session.closed'; atMs: number; sessionId: string; reason: CloseReason;
      packets: PerDirection; bytes: PerDirection; tcpRetransmissions?: PerDirection;
      /** the application a classifier named during the session, when it did */
      application?: string;
    }
  | {
      kind: 'session.denied'; atMs: number; reason: DenyReason; forward: FiveTuple; tenant?: string; service?: string;
      ingressInterface?: InterfaceRef;
      /** denied first packets the data path did not report (its own per-batch cap), counted as dropped here */
      suppressed?: number;
    };

export interface RecordBuilderOptions {
  /** this router's name (in every record) */
  router: string;
  /** seconds between interim records of a live session, 60-1800; default 60 (ssr-reference §1.11) */
  interimIntervalS?: number;
  /** denied-first-packet records: `perSecond` on average, `burst` at once; default 100/s, burst 200 */
  denied?: { perSecond: number; burst: number };
  /** start of the denied bucket's clock (ms); default 0 */
  nowMs?: number;
}

export interface RecordBuilderCounters {
  /** sessions open in the builder */
  open: number;
  endRecords: number;
  interimRecords: number;
  deniedRecords: number;
  /** denied first packets that got no record (token bucket empty, or suppressed by the data path) */
  deniedDropped: number;
  /** facts about a session the builder never saw open (ignored) */
  unknownSession: number;
}


interface OpenSession {
  record: SessionRecord;
  /** totals at the previous record */
  lastPackets: PerDirection;
  lastBytes: PerDirection;
  /** when the next interim record is due */
  dueMs: number;
}

export class SessionRecordBuilder {
  private readonly router: string;
  private intervalMs: number;
  /** live sessions, in the order of their next interim record's due time (but see scanUntilMs) */
  private readonly open = new Map<string, OpenSession>();
  /**
   * After a shorter interval, sessions opened before it are due after some opened since: until the last of
   * them has had its next record (then every due time is of the new interval, in order), due() reads them all.
   */
  private scanUntilMs = 0;
  private readonly deniedBucket: TokenBucket;
  private readonly c = { endRecords: 0, interimRecords: 0, deniedRecords: 0, deniedDropped: 0, unknownSession: 0 };

  constructor(opts: RecordBuilderOptions) {
    this.router = opts.router;
    this.intervalMs = checkInterim(opts.interimIntervalS ?? INTERIM_DEFAULT_S) * 1000;
    const denied = opts.denied ?? { perSecond: 100, burst: 200 };
    if (!(denied.perSecond > 0) || !(denied.burst >= 1)) {
      throw new SvrError('SVR_ERR_TELEMETRY_OPTIONS', `denied-record rate must be > 0 per second with a burst >= 1, got ${denied.perSecond}/s burst ${denied.burst}`);
    }
    this.deniedBucket = new TokenBucket(Math.floor(denied.burst), 1000 / denied.perSecond, opts.nowMs ?? 0);
  }

  /** Seconds between interim records (60-1800). Sessions already open keep their next due time. */
  setInterimInterval(seconds: number): void {
    const ms = checkInterim(seconds) * 1000;
    if (ms < this.intervalMs) for (const s of this.open.values()) this.scanUntilMs = Math.max(this.scanUntilMs, s.dueMs);
    this.intervalMs = ms;
  }

  /** Applies one fact; returns the record it completes (end or denied), if any. */
  apply(f: SessionFact): SessionRecord | undefined {
    switch (f.kind) {
      case 'session.opened':
        this.start(this.opened(f));
        return undefined;
      case 'session.counters': {
        const s = this.totals(f.sessionId, f.packets[0], f.packets[1], f.bytes[0], f.bytes[1]);
        if (s !== undefined && f.tcpRetransmissions !== undefined) s.tcpRetransmissions = [f.tcpRetransmissions[0], f.tcpRetransmissions[1]];
        return undefined;
      }
      case 'session.migrated': {
        const s = this.find(f.sessionId);
        if (s === undefined) return undefined;
        s.record.pathChanges = [...s.record.pathChanges, { atMs: f.atMs, from: f.from, to: f.to, reason: f.reason }];
        if (!s.record.paths.includes(f.to)) s.record.paths = [...s.record.paths, f.to];
        if (f.waypoint !== undefined) s.record.waypoint = f.waypoint;
        return undefined;
      }
      case 'session.closed': {
        const r = this.end(f.sessionId, f.atMs, f.reason, f.packets[0], f.packets[1], f.bytes[0], f.bytes[1], f.application);
        if (r !== undefined && f.tcpRetransmissions !== undefined) r.tcpRetransmissions = [f.tcpRetransmissions[0], f.tcpRetransmissions[1]];
        return r;
      }
      case 'session.denied':
        return this.denied(f);
    }
  }

  /**
   * A session opened: `record` is its first record to be (kind `interim`, seq 0, totals and deltas 0, endMs
   * its start), the builder's from now on. A session with the same id before it (replaced) is forgotten.
   */
  start(record: SessionRecord): void {
    const s: OpenSession = { record, lastPackets: ZERO, lastBytes: ZERO, dueMs: record.startMs + this.intervalMs };
    this.open.delete(record.sessionId); // at the end of the due order
    this.open.set(record.sessionId, s);
  }

  /** A live session's totals (forward, reverse); its record, undefined when the session is not known. */
  totals(sessionId: string, packetsFwd: number, packetsRev: number, bytesFwd: number, bytesRev: number): SessionRecord | undefined {
    const s = this.find(sessionId);
    if (s === undefined) return undefined;
    const r = s.record;
    r.packets = [packetsFwd, packetsRev];
    r.bytes = [bytesFwd, bytesRev];
    return r;
  }

  /** A session ended: its end record (undefined when the session is not known); the session is forgotten. */
  end(sessionId: string, atMs: number, reason: CloseReason, packetsFwd: number, packetsRev: number, bytesFwd: number, bytesRev: number, application?: string): SessionRecord | undefined {
    const s = this.find(sessionId);
    if (s === undefined) return undefined;
    this.open.delete(sessionId);
    const r = s.record;
    r.packets = [packetsFwd, packetsRev];
    r.bytes = [bytesFwd, bytesRev];
    r.closeReason = reason;
    if (application !== undefined && application !== '') r.application = application;
    this.c.endRecords++;
    return this.finish(s, atMs);
  }

  /** Interim records of live sessions whose last record is at least the interval old at `nowMs`. */
  due(nowMs: number): SessionRecord[] {
    const out: SessionRecord[] = [];
    // those put at the end meanwhile are due an interval later: the loop stops at the first of them
    const all = nowMs <= this.scanUntilMs;
    for (const [id, s] of this.open) {
      if (s.dueMs > nowMs) {
        if (all) continue;
        break;
      }
      this.c.interimRecords++;
      out.push(this.emit(s, 'interim', nowMs));
      s.dueMs = nowMs + this.intervalMs;
      this.open.delete(id);
      this.open.set(id, s);
    }
    return out;
  }

  counters(): RecordBuilderCounters {
    return { open: this.open.size, ...this.c };
  }

  /** An opened session's first record to be. */
  private opened(f: SessionOpened): SessionRecord {
    const record: SessionRecord = {
      kind: 'interim', sessionId: f.sessionId, seq: 0, router: this.router, role: f.role,
      tenant: f.tenant, service: f.service, application: f.application ?? '',
      ingressRouter: f.ingressRouter, egressRouter: f.egressRouter,
      forward: f.forward, reverse: f.reverse ?? reversed(f.forward),
      paths: f.path !== undefined && f.path !== '' ? [f.path] : [], pathChanges: NO_CHANGES,
      packets: ZERO, bytes: ZERO, delta: NO_DELTA,
      startMs: f.atMs, endMs: f.atMs,
    };
    if (f.waypoint !== undefined) record.waypoint = f.waypoint;
    if (f.nat !== undefined) record.nat = f.nat;
    if (f.ingressInterface !== undefined) record.ingressInterface = f.ingressInterface;
    if (f.egressInterface !== undefined) record.egressInterface = f.egressInterface;
    return record;
  }

  private denied(f: Extract<SessionFact, { kind: 'session.denied' }>): SessionRecord | undefined {
    this.c.deniedDropped += f.suppressed ?? 0;
    if (!this.deniedBucket.take(f.atMs)) {
      this.c.deniedDropped++;
      return undefined;
    }
    this.c.deniedRecords++;
    const r: SessionRecord = {
      kind: 'end', sessionId: randomUUID(), seq: 0, router: this.router, role: 'ingress',
      tenant: f.tenant ?? '', service: f.service ?? '', application: '',
      ingressRouter: this.router, egressRouter: '', forward: f.forward, reverse: reversed(f.forward),
      paths: [], pathChanges: [], packets: [1, 0], bytes: [0, 0], delta: { packets: [1, 0], bytes: [0, 0] },
      startMs: f.atMs, endMs: f.atMs, closeReason: 'denied', deniedReason: f.reason,
    };
    if (f.ingressInterface !== undefined) r.ingressInterface = f.ingressInterface;
    return r;
  }

  /** The ended session's record itself (nothing holds it any more), with deltas since its previous record. */
  private finish(s: OpenSession, atMs: number): SessionRecord {
    const r = s.record;
    r.kind = 'end';
    r.endMs = atMs;
    // the session's only record: its delta is its totals (the same arrays: never changed in place)
    r.delta = s.lastPackets === ZERO && s.lastBytes === ZERO ? { packets: r.packets, bytes: r.bytes } : {
      packets: [r.packets[0] - s.lastPackets[0], r.packets[1] - s.lastPackets[1]],
      bytes: [r.bytes[0] - s.lastBytes[0], r.bytes[1] - s.lastBytes[1]],
    };
    return r;
  }

  /** A snapshot of the live session as a record of `kind`, with deltas since its previous record. */
  private emit(s: OpenSession, kind: RecordKind, atMs: number): SessionRecord {
    const r = s.record;
    const out: SessionRecord = {
      ...r, kind, endMs: atMs, // paths and path changes shared: replaced, never changed in place
      packets: [r.packets[0], r.packets[1]], bytes: [r.bytes[0], r.bytes[1]],
      delta: {
        packets: [r.packets[0] - s.lastPackets[0], r.packets[1] - s.lastPackets[1]],
        bytes: [r.bytes[0] - s.lastBytes[0], r.bytes[1] - s.lastBytes[1]],
      },
    };
    s.lastPackets = [r.packets[0], r.packets[1]];
    s.lastBytes = [r.bytes[0], r.bytes[1]];
    r.seq++;
    return out;
  }

  private find(sessionId: string): OpenSession | undefined {
    const s = this.open.get(sessionId);
    if (s === undefined) this.c.unknownSession++;
    return s;
  }
}

/** The same flow seen from the other end. */
export function reversed(t: FiveTuple): FiveTuple {
  return { src: t.dst, dst: t.src, srcPort: t.dstPort, dstPort: t.srcPort, protocol: t.protocol };
}

function checkInterim(seconds: number): number {
  if (!Number.isInteger(seconds) || seconds < INTERIM_MIN_S || seconds > INTERIM_MAX_S) {
    throw new SvrError('SVR_ERR_TELEMETRY_OPTIONS', `interim record interval must be a whole number of seconds ${INTERIM_MIN_S}-${INTERIM_MAX_S}, got ${seconds}`);
  }
  return seconds;
}
