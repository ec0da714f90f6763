/**
 * The records thread's side of a data path's fact ring (dataplane/fact-ring.ts): rows in, calls of a RowSink
 * out (the node's SessionRecords, session-records.ts). A session's opening, its totals and its end are calls
 * with the row's words (the builder copies what it keeps into its typed arrays, open-sessions.ts) and the
 * names resolved here: no object and no id text per row. Migrations and denied first packets (few: rate
 * limited, or a path change) go as facts.
 * Names come as NAME rows before the first fact that needs them (per config generation
 * and per consumer epoch, dataplane/fact-writer.ts); they are kept here per ring.
 * A records thread started again takes a new epoch: rows written for the one before (their names unknown
 * here) are skipped until this epoch's GEN row, and counted (`skipped`: lost with the thread that ended).
 */
import { DENY_REASONS, type CloseReason as DpCloseReason, type DenyReason as DpDenyReason } from '../dataplane/events.js';
import {
  COUNTERS_ENTRY, FACT_CLOSED, FACT_COUNTERS, FACT_DENIED, FACT_GEN, FACT_MIGRATED, FACT_NAME, FACT_OPENED, FactRing,
  NAME_APP, NAME_BYTES, NAME_INTERFACE, NAME_PATH, NAME_SERVICE, NAME_TENANT, ROW_WORDS,
} from '../dataplane/fact-ring.js';
import { CLOSE_CODES, MIGRATION_CODES } from '../dataplane/fact-writer.js';
import { uuidString } from '../dataplane/random-pool.js';
import { outerProtocol, roleName } from '../dataplane/session-ops.js';
import { addressText } from '../dataplane/session-tuples.js';
import { pathNames, waypoint, type PathNames, type RowNames } from './open-sessions.js';
import type { CloseReason, DenyReason, InterfaceRef, SessionFact } from './record.js';

/** Where a ring's rows go (SessionRecordBuilder's openRow, totals and end; its apply for the other facts). */
export interface RowSink {
  /** a session opened: the OPENED row at word `w` of `words` (layout: fact-ring.ts), its names resolved (an object the reader reuses) */
  openRow(words: Uint32Array, w: number, atMs: number, names: RowNames): void;
  /** a live session's totals; its id the 4 words at `id` */
  totals(words: Uint32Array, id: number, packetsFwd: number, packetsRev: number, bytesFwd: number, bytesRev: number): void;
  /** a session ended, its id the 4 words at `id` (application: the name a classifier gave it, when it did) */
  end(words: Uint32Array, id: number, atMs: number, reason: CloseReason, packetsFwd: number, packetsRev: number, bytesFwd: number, bytesRev: number, application?: string): void;
  /** a migration or a denied first packet */
  apply(fact: SessionFact): void;
}

/** The data path's close reasons as records name them (IPFIX flowEndReason 3 for both TCP endings). */
export const CLOSE: Readonly<Record<DpCloseReason, CloseReason>> = {
  idle: 'idle', fin: 'fin-rst', rst: 'fin-rst', 'path-lost': 'path-lost', 'handshake-failed': 'handshake-failed',
  replaced: 'replaced', config: 'config', 'no-route': 'no-route', admin: 'admin', shutdown: 'shutdown', standby: 'standby',
};

export const DENY: Readonly<Record<DpDenyReason, DenyReason>> = {
  'no-tenant': 'no-tenant', 'no-service': 'no-service', 'access-denied': 'access-denied', 'tcp-no-session': 'tcp-no-session',
  'no-route': 'no-route', 'no-path-meets-sla': 'no-path-meets-sla', 'waypoint-ports-exhausted': 'waypoint-ports-exhausted',
  'nat-collision': 'nat-collision', 'refused-by-plugin': 'plugin-refused',
};

/** CLOSE by the data path's close code (CLOSE_CODES' index): no lookup by name per row */
const CLOSE_BY_CODE: readonly CloseReason[] = CLOSE_CODES.map((c) => CLOSE[c]);

/** Rows read per call at most (the records thread reads every ring each turn). */
export const READ_ROWS = 4096;

export class FactReader {
  private epoch = 0;
  private synced = false;
  private tenants: string[] = [];
  private services: string[] = [];
  private paths: PathNames[] = [];
  private interfaces: string[] = [];
  private apps: string[] = [];
  /** fact rows of an epoch before this reader's (their records thread ended before it read them) */
  skipped = 0;
  private ifaceRefs: InterfaceRef[] = [];
  private noInterface: InterfaceRef | undefined;
  /** an OPENED row's names, passed to the sink (reused row after row) */
  private readonly names: RowNames = { tenant: '', service: '', application: '', path: undefined, ingressInterface: { name: '', index: -1 }, egressInterface: { name: '', index: -1 } };

  constructor(readonly ring: FactRing) {}

  /** Facts wanted from now on (a new epoch: the data path names everything again). */
  start(): void {
    if (this.epoch !== 0 && this.ring.epoch === this.epoch) return;
    this.ring.touch();
    this.epoch = this.ring.start();
    this.synced = false;
  }

  /** No facts wanted (the data path writes none). */
  stop(): void {
    this.ring.stop();
    this.epoch = 0;
  }

  /** Reads the published rows (at most `maxRows`), each to `sink`; returns the rows read. */
  read(sink: RowSink, maxRows = READ_ROWS): number {
    const ring = this.ring;
    const n = Math.min(ring.available(), maxRows);
    let k = 0;
    while (k < n) {
      const w = ring.row(k);
      const kind = ring.words[w]! & 0xff;
      if (kind === FACT_NAME) {
        const rows = ring.words[w + 3]!;
        if (k + rows > n) break; // its continuation rows in the next read (published with it)
        if (this.synced) this.name(k, w);
        k += rows;
        continue;
      }
      k++;
      if (kind === FACT_GEN) {
        if (ring.words[w + 2] === this.epoch) this.synced = true;
        this.tenants = [];
        this.services = [];
        this.paths = [];
        this.interfaces = [];
        this.ifaceRefs = [];
        this.apps = [];
        continue;
      }
      if (!this.synced) {
        this.skipped += kind === FACT_COUNTERS ? ring.words[w + 1]! : 1;
        continue;
      }
      this.fact(kind, w, sink);
    }
    ring.consume(k);
    return k;
  }

  private fact(kind: number, w: number, sink: RowSink): void {
    const words = this.ring.words;
    const f64 = this.ring.f64;
    const atMs = f64[(w + 2) / 2]!;
    switch (kind) {
      case FACT_OPENED: {
        const names = this.names;
        names.tenant = this.tenants[words[w + 8]! | 0] ?? '';
        names.service = this.services[words[w + 9]! | 0] ?? '';
        names.application = this.apps[words[w + 10]!] ?? '';
        names.path = this.paths[words[w + 11]! - 1];
        names.ingressInterface = this.iface(words[w + 12]! | 0);
        names.egressInterface = this.iface(words[w + 13]! | 0);
        return sink.openRow(words, w, atMs, names);
      }
      case FACT_CLOSED: {
        const app = words[w + 1]!;
        return sink.end(
          words, w + 4, atMs, CLOSE_BY_CODE[(words[w]! >>> 8) & 0xff] ?? 'idle',
          f64[(w + 8) / 2]!, f64[(w + 10) / 2]!, f64[(w + 12) / 2]!, f64[(w + 14) / 2]!, app !== 0 ? this.apps[app] ?? '' : undefined,
        );
      }
      case FACT_MIGRATED: {
        const w0 = words[w]!;
        const to = this.paths[words[w + 9]! - 1];
        const f: SessionFact = {
          kind: 'session.migrated', atMs, sessionId: uuidString(words, w + 4), reason: MIGRATION_CODES[(w0 >>> 8) & 0xff] ?? 'path-down',
          from: this.paths[words[w + 8]! - 1]?.name ?? '', to: to?.name ?? '',
        };
        if (to !== undefined) f.waypoint = waypoint(to, roleName((w0 >>> 16) & 0xff) === 'ingress', words[w + 1]!, outerProtocol(w0 >>> 24));
        return sink.apply(f);
      }
      case FACT_DENIED: {
        const d = w + 4;
        const family = (words[d + 1]! & 0xff) as 4 | 6;
        const tenant = this.tenants[words[d + 3]! - 1];
        const service = this.services[words[d + 4]! - 1];
        const f: SessionFact = {
          kind: 'session.denied', atMs, reason: DENY[DENY_REASONS[words[d]!] ?? 'no-route'],
          forward: { src: addressText(words, d + 6, family), dst: addressText(words, d + 10, family), srcPort: words[d + 5]! >>> 16, dstPort: words[d + 5]! & 0xffff, protocol: words[d + 1]! >>> 8 },
          ingressInterface: this.iface(words[d + 2]!),
        };
        if (tenant !== undefined) f.tenant = tenant;
        if (service !== undefined) f.service = service;
        if (words[w + 1]! > 0) f.suppressed = words[w + 1]!;
        return sink.apply(f);
      }
      case FACT_COUNTERS: {
        const n = words[w + 1]!;
        for (let e = 0; e < n; e++) {
          const o = w + 4 + e * COUNTERS_ENTRY;
          const at = (o + 4) / 2;
          sink.totals(words, o, f64[at]!, f64[at + 1]!, f64[at + 2]!, f64[at + 3]!);
        }
      }
    }
  }

  /** An interface as records name it: one object per interface and generation, shared by the records (they never change it). */
  private iface(index: number): InterfaceRef {
    if (index < 0) return (this.noInterface ??= { name: '', index: -1 });
    let ref = this.ifaceRefs[index];
    if (ref === undefined) this.ifaceRefs[index] = ref = { name: this.interfaces[index] ?? '', index };
    return ref;
  }

  private name(k: number, w: number): void {
    const ring = this.ring;
    const table = (ring.words[w]! >>> 8) & 0xff;
    const id = ring.words[w + 1]!;
    const length = ring.words[w + 2]!;
    const rows = ring.words[w + 3]!;
    const bytes = new Uint8Array(length);
    let at = 0;
    let o = w * 4 + NAME_BYTES;
    let room = ROW_WORDS * 4 - NAME_BYTES;
    for (let r = 1; at < length; r++) {
      const n = Math.min(room, length - at);
      bytes.set(ring.bytes.subarray(o, o + n), at);
      at += n;
      if (r >= rows) break;
      o = ring.row(k + r) * 4;
      room = ROW_WORDS * 4;
    }
    const text = Buffer.from(bytes.buffer, 0, length).toString('utf8');
    switch (table) {
      case NAME_TENANT: this.tenants[id] = text; break;
      case NAME_SERVICE: this.services[id] = text; break;
      case NAME_INTERFACE: this.interfaces[id] = text; break;
      case NAME_APP: this.apps[id] = text; break;
      case NAME_PATH: {
        const [name = '', peer = '', local = '', remote = ''] = text.split('\0');
        this.paths[id] = pathNames(name, peer, local, remote);
      }
    }
  }
}
