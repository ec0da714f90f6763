/**
 * Control's readers of the facts every session has (created, removed) without an object per fact: a listener
 * gets one reused `SessionFact` that reads the data path's typed record in place (dataplane/session-records.ts),
 * or, from worker threads, the event object that crossed (EventFact). A field is built only when read (the id's
 * text, the 5-tuple), and is valid only during the call. The node's metrics and log lines listen here, not on
 * `events$`, so a node whose `events$` has no other subscriber builds no object per session.
 */
import type { CloseReason, DpEvent, FiveTuple, SessionRole } from '../dataplane/events.js';
import { REC_CREATED, REC_REMOVED, type SessionRecords } from '../dataplane/session-records.js';
import type { RouterEvent } from './events.js';

export interface SessionFact {
  readonly kind: 'session.created' | 'session.removed';
  /** built at each read */
  readonly sessionId: string;
  readonly role: SessionRole;
  readonly tenant: string;
  readonly service: string;
  /** the peer path ('' for a local session) */
  readonly path: string;
  /** session.removed's reason ('idle' for session.created) */
  readonly reason: CloseReason;
  /** the client's 5-tuple, built at each read */
  readonly forward: FiveTuple;
}

export type SessionFactListener = (f: SessionFact) => void;

/** Record `at` of a batch's session records. */
class RecordFact implements SessionFact {
  s!: SessionRecords;
  at = 0;
  get kind(): SessionFact['kind'] { return this.s.kind(this.at) === REC_CREATED ? 'session.created' : 'session.removed'; }
  get sessionId(): string { return this.s.sessionId(this.at); }
  get role(): SessionRole { return this.s.role(this.at); }
  get tenant(): string { return this.s.tenant(this.at); }
  get service(): string { return this.s.service(this.at); }
  get path(): string { return this.s.path(this.at); }
  get reason(): CloseReason { return this.s.kind(this.at) === REC_REMOVED ? this.s.reason(this.at) : 'idle'; }
  get forward(): FiveTuple { return this.s.forward(this.at); }
}

type CreatedOrRemoved = Extract<DpEvent, { kind: 'session.created' | 'session.removed' }>;
const NO_TUPLE: FiveTuple = { src: '', dst: '', srcPort: 0, dstPort: 0, protocol: 0 };

/** An event object from a worker thread. */
class EventFact implements SessionFact {
  e!: CreatedOrRemoved;
  get kind(): SessionFact['kind'] { return this.e.kind; }
  get sessionId(): string { return this.e.sessionId; }
  get role(): SessionRole { return this.e.role; }
  get tenant(): string { return this.e.tenant; }
  get service(): string { return this.e.service; }
  get path(): string { return this.e.path; }
  get reason(): CloseReason { return this.e.kind === 'session.removed' ? this.e.reason : 'idle'; }
  get forward(): FiveTuple { return this.e.kind === 'session.created' ? this.e.forward : NO_TUPLE; }
}

export class SessionFactListeners {
  private list: readonly SessionFactListener[] = [];
  private readonly rec = new RecordFact();
  private readonly obj = new EventFact();

  /** Adds a listener; returns its removal. */
  add(fn: SessionFactListener): () => void {
    this.list = [...this.list, fn];
    return () => {
      this.list = this.list.filter((x) => x !== fn);
    };
  }

  get any(): boolean {
    return this.list.length > 0;
  }

  /** Session record i (created or removed; reverseSeen is the episodes' only). */
  record(s: SessionRecords, i: number): void {
    const k = s.kind(i);
    if (k !== REC_CREATED && k !== REC_REMOVED) return;
    const f = this.rec;
    f.s = s;
    f.at = i;
    const l = this.list;
    for (let j = 0; j < l.length; j++) l[j]!(f);
  }

  event(e: CreatedOrRemoved): void {
    const f = this.obj;
    f.e = e;
    const l = this.list;
    for (let j = 0; j < l.length; j++) l[j]!(f);
  }
}

/** The events a session always has, one each per session (created, confirmed, removed), and its periodic totals
 *  (counters: at 1 M sessions 16,700 a second, each an object and a UUID string): what `events$` subscribers that do
 *  not take them skip (control/event-stream.ts). */
export function isPerSession(e: RouterEvent): boolean {
  return e.type === 'session.created' || e.type === 'session.confirmed' || e.type === 'session.removed' || e.type === 'session.counters';
}
