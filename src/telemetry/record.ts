/**
 * Session records (issue 12 Build 1): one record per session at its end, interim records every N seconds
 * for long sessions, and a record per denied first packet (rate limited, the rest counted).
 *
 * The builder knows nothing of the data path's rows' meaning beyond ids: it takes plain facts (`SessionFact`,
 * keyed by session id), or the same as calls without a fact object (openRow, totals, end: the records thread's
 * ring reader, fact-rows.ts, one call per row, ids as the row's 4 words), and returns records. Flow:
 *   session.opened   / openRow(...)   -> an open session (its static fields: tuples, tenant, service, interfaces, path)
 *   session.counters / totals(...)    -> latest totals of a live session (for interim records)
 *   session.migrated                  -> a path change {time, from, to, reason} appended to the session
 *   session.closed   / end(...)       -> the end record (totals, close reason); the session is forgotten
 *   session.denied                    -> an end record with close reason `denied` when the token bucket has a token
 *   due(now)                          -> interim records of sessions whose last record is `interimIntervalS` old
 * Open sessions live in typed arrays (open-sessions.ts: no object per open session), in the order of their
 * interim records' due times, as a session is put at the end when it opens and again after each interim
 * record; due() reads them from the start while sessions are due. A record object is made only when it is
 * due or the session ends. A session that ends leaves at once, so the builder holds nothing of ended sessions.
 * Counts in records are totals since the session started; `delta` is what changed since the session's
 * previous record (IPFIX octetDeltaCount/packetDeltaCount, RFC 7012 §5.10.1).
 */
import { randomUUID } from 'node:crypto';
import { SvrError } from '../errors.js';
import type { SessionRole } from '../dataplane/events.js';
import type { FiveTuple } from '../packet/svr-metadata-decode.js';
import { INTERIM_DEFAULT_S, INTERIM_MAX_S, INTERIM_MIN_S } from '../model/read-telemetry.js';
import { TokenBucket } from '../step/smoothing.js';
import { OpenSessions, reversed, type RowNames } from './open-sessions.js';

export { reversed };

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


export class SessionRecordBuilder {
  private readonly router: string;
  private intervalMs: number;
  /** live sessions, in the order of their next interim record's due time (but see scanUntilMs) */
  private readonly open: OpenSessions;
  /**
   * After a shorter interval, sessions opened before it are due after some opened since: until the last of
   * them has had its next record (then every due time is of the new interval, in order), due() reads them all.
   */
  private scanUntilMs = 0;
  private readonly deniedBucket: TokenBucket;
  private readonly c = { endRecords: 0, interimRecords: 0, deniedRecords: 0, deniedDropped: 0, unknownSession: 0 };

  constructor(opts: RecordBuilderOptions) {
    this.router = opts.router;
    this.open = new OpenSessions(opts.router);
    this.intervalMs = checkInterim(opts.interimIntervalS ?? INTERIM_DEFAULT_S) * 1000;
    const denied = opts.denied ?? { perSecond: 100, burst: 200 };
    if (!(denied.perSecond > 0) || !(denied.burst >= 1)) {
      throw new SvrError('SVR_ERR_TELEMETRY_OPTIONS', `denied-record rate must be > 0 per second with a burst >= 1, got ${denied.perSecond}/s burst ${denied.burst}`);
    }
    this.deniedBucket = new TokenBucket(Math.floor(denied.burst), 1000 / denied.perSecond, opts.nowMs ?? 0);
  }

  /** Room for `sessions` open sessions at once, made now (OpenSessions.reserve). */
  reserve(sessions: number): void {
    this.open.reserve(sessions);
  }

  /** Seconds between interim records (60-1800). Sessions already open keep their next due time. */
  setInterimInterval(seconds: number): void {
    const ms = checkInterim(seconds) * 1000;
    if (ms < this.intervalMs) for (let s = this.open.first(); s !== -1; s = this.open.after(s)) this.scanUntilMs = Math.max(this.scanUntilMs, this.open.dueMs(s));
    this.intervalMs = ms;
  }

  /** Applies one fact; returns the record it completes (end or denied), if any. */
  apply(f: SessionFact): SessionRecord | undefined {
    switch (f.kind) {
      case 'session.opened':
        this.open.openRecord(this.opened(f), f.atMs + this.intervalMs);
        return undefined;
      case 'session.counters': {
        const s = this.find(this.open.findText(f.sessionId));
        if (s === -1) return undefined;
        this.open.setTotals(s, f.packets[0], f.packets[1], f.bytes[0], f.bytes[1]);
        if (f.tcpRetransmissions !== undefined) this.open.setRetransmissions(s, f.tcpRetransmissions);
        return undefined;
      }
      case 'session.migrated': {
        const s = this.find(this.open.findText(f.sessionId));
        if (s !== -1) this.open.migrate(s, { atMs: f.atMs, from: f.from, to: f.to, reason: f.reason }, f.waypoint);
        return undefined;
      }
      case 'session.closed': {
        const s = this.find(this.open.findText(f.sessionId));
        if (s === -1) return undefined;
        if (f.tcpRetransmissions !== undefined) this.open.setRetransmissions(s, f.tcpRetransmissions);
        this.open.setTotals(s, f.packets[0], f.packets[1], f.bytes[0], f.bytes[1]);
        if (f.application !== undefined && f.application !== '') this.open.setApplication(s, f.application);
        return this.recordEnd(s, f.atMs, f.reason);
      }
      case 'session.denied':
        return this.denied(f);
    }
  }

  /**
   * A session opened (the fact ring's OPENED row at word `w`, its names resolved by the reader): its first
   * record is due an interval after its start. A session with the same id before it (replaced) is forgotten.
   */
  openRow(words: Uint32Array, w: number, atMs: number, names: RowNames): void {
    this.open.openRow(words, w, atMs, atMs + this.intervalMs, names);
  }

  /** A live session's totals (forward, reverse): its id the 4 words at `id`. */
  totals(words: Uint32Array, id: number, packetsFwd: number, packetsRev: number, bytesFwd: number, bytesRev: number): void {
    const s = this.find(this.open.findWords(words, id));
    if (s !== -1) this.open.setTotals(s, packetsFwd, packetsRev, bytesFwd, bytesRev);
  }

  /** A session ended (its id the 4 words at `id`): its end record (undefined when the session is not known); the session is forgotten. */
  end(words: Uint32Array, id: number, atMs: number, reason: CloseReason, packetsFwd: number, packetsRev: number, bytesFwd: number, bytesRev: number, application?: string): SessionRecord | undefined {
    const s = this.endSlot(words, id, packetsFwd, packetsRev, bytesFwd, bytesRev, application);
    return s === -1 ? undefined : this.recordEnd(s, atMs, reason);
  }

  /**
   * A session ended (its id the 4 words at `id`): its slot in `sessions` with its last totals (and application), or -1
   * when the session is not known. Then recordEnd, or hold.
   */
  endSlot(words: Uint32Array, id: number, packetsFwd: number, packetsRev: number, bytesFwd: number, bytesRev: number, application?: string): number {
    const s = this.find(this.open.findWords(words, id));
    if (s === -1) return -1;
    this.open.setTotals(s, packetsFwd, packetsRev, bytesFwd, bytesRev);
    if (application !== undefined && application !== '') this.open.setApplication(s, application);
    return s;
  }

  /** The ended session's end record (deltas since its previous record); the session is forgotten. */
  recordEnd(s: number, atMs: number, reason: CloseReason): SessionRecord {
    this.c.endRecords++;
    const r = this.open.record(s, 'end', atMs, reason);
    this.open.drop(s);
    return r;
  }

  /** The ended session is found no more, its slot kept for its flows (session-records.ts: a plain session's end
   *  waits for the batch's ipfixPlainFlows); then heldRecord and releaseHeld, or dropHeld. */
  hold(s: number): void {
    this.open.detach(s);
  }

  /** A held session's end record (its slot kept until releaseHeld). */
  heldRecord(s: number, atMs: number, reason: CloseReason): SessionRecord {
    this.c.endRecords++;
    return this.open.record(s, 'end', atMs, reason);
  }

  releaseHeld(s: number): void {
    this.open.free(s);
  }

  /** A held session is forgotten, its end counted: its flows went out from its slot, no record wanted. */
  dropHeld(s: number): void {
    this.c.endRecords++;
    this.open.free(s);
  }

  /** The open sessions (endSlot's slots: what they hold). */
  get sessions(): OpenSessions {
    return this.open;
  }

  /** Interim records of live sessions whose last record is at least the interval old at `nowMs`. */
  due(nowMs: number): SessionRecord[] {
    const out: SessionRecord[] = [];
    // those put at the end meanwhile are due an interval later: the loop ends with the last one there now
    const all = nowMs <= this.scanUntilMs;
    const last = this.open.last();
    for (let s = this.open.first(), next = s; s !== -1; s = next) {
      next = s === last ? -1 : this.open.after(s);
      if (this.open.dueMs(s) > nowMs) {
        if (all) continue;
        break;
      }
      this.c.interimRecords++;
      out.push(this.open.record(s, 'interim', nowMs));
      this.open.requeue(s, nowMs + this.intervalMs);
    }
    return out;
  }

  counters(): RecordBuilderCounters {
    return { open: this.open.size, ...this.c };
  }

  /** An opened session's static fields, as its first record to be. */
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


  private find(s: number): number {
    if (s === -1) this.c.unknownSession++;
    return s;
  }
}

function checkInterim(seconds: number): number {
  if (!Number.isInteger(seconds) || seconds < INTERIM_MIN_S || seconds > INTERIM_MAX_S) {
    throw new SvrError('SVR_ERR_TELEMETRY_OPTIONS', `interim record interval must be a whole number of seconds ${INTERIM_MIN_S}-${INTERIM_MAX_S}, got ${seconds}`);
  }
  return seconds;
}
