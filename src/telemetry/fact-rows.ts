/**
 * The records thread's side of a data path's fact ring (dataplane/fact-ring.ts): rows in, calls of a RowSink
 * out (the node's SessionRecords, session-records.ts). A session's opening becomes its record to be (the one
 * object the builder keeps of it), its end and its totals plain calls with numbers: no fact object between the
 * row and the record. Migrations and denied first packets (few: rate limited, or a path change) go as facts.
 * Names come as NAME rows before the first fact that needs them (per config generation
 * and per consumer epoch, dataplane/fact-writer.ts); they are kept here per ring. Address texts are kept
 * too (IPv4; a router's records name few distinct addresses): the same string object each time, whose hash
 * the exporters' and the history's maps have computed once.
 * A records thread started again takes a new epoch: rows written for the one before (their names unknown
 * here) are skipped until this epoch's GEN row, and counted (`skipped`: lost with the thread that ended).
 */
import { DENY_REASONS, type CloseReason as DpCloseReason, type DenyReason as DpDenyReason } from '../dataplane/events.js';
import {
  COUNTERS_ENTRY, FACT_CLOSED, FACT_COUNTERS, FACT_DENIED, FACT_GEN, FACT_MIGRATED, FACT_NAME, FACT_OPENED, FactRing,
  NAME_APP, NAME_BYTES, NAME_INTERFACE, NAME_PATH, NAME_SERVICE, NAME_TENANT, OPENED_DNAT, OPENED_SNAT, ROW_WORDS,
} from '../dataplane/fact-ring.js';
import { CLOSE_CODES, MIGRATION_CODES } from '../dataplane/fact-writer.js';
import { uuidString } from '../dataplane/random-pool.js';
import { outerProtocol, roleName } from '../dataplane/session-ops.js';
import { addressText } from '../dataplane/session-tuples.js';
import { NO_CHANGES, NO_DELTA, reversed, ZERO, type CloseReason, type DenyReason, type FiveTuple, type InterfaceRef, type SessionFact, type SessionRecord } from './record.js';

/** Where a ring's rows go (SessionRecordBuilder's start, totals and end; its apply for the other facts). */
export interface RowSink {
  /** a session opened: its first record to be (kind `interim`, seq 0, totals 0, endMs its start) */
  start(record: SessionRecord): void;
  /** a live session's totals */
  totals(sessionId: string, packetsFwd: number, packetsRev: number, bytesFwd: number, bytesRev: number): void;
  /** a session ended (application: the name a classifier gave it, when it did) */
  end(sessionId: string, atMs: number, reason: CloseReason, packetsFwd: number, packetsRev: number, bytesFwd: number, bytesRev: number, application?: string): void;
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

interface PathNames {
  name: string;
  peer: string;
  local: string;
  remote: string;
}

/** IPv4 address texts a reader keeps at most. */
const MAX_ADDRESSES = 65_536;

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
  /** IPv4 address texts by their word */
  private readonly v4 = new Map<number, string>();

  constructor(readonly ring: FactRing, private readonly router: string) {}

  /** Facts wanted from now on (a new epoch: the data path names everything again). */
  start(): void {
    if (this.epoch !== 0 && this.ring.epoch === this.epoch) return;
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
        const w0 = words[w]!;
        const role = roleName((w0 >>> 8) & 0xff);
        const family = ((w0 >>> 16) & 0xf) as 4 | 6;
        const flags = (w0 >>> 20) & 0xf;
        const protocol = w0 >>> 24;
        const forward: FiveTuple = {
          src: this.address(w + 16, family), dst: this.address(w + 20, family), srcPort: words[w + 14]! >>> 16, dstPort: words[w + 14]! & 0xffff, protocol,
        };
        const path = this.paths[words[w + 11]! - 1];
        const peer = path?.peer ?? '';
        const onPath = path !== undefined && role !== 'local';
        const r: SessionRecord = {
          kind: 'interim', sessionId: uuidString(words, w + 4), seq: 0, router: this.router, role,
          tenant: this.tenants[words[w + 8]! | 0] ?? '', service: this.services[words[w + 9]! | 0] ?? '', application: this.apps[words[w + 10]!] ?? '',
          ingressRouter: role === 'egress' ? peer : this.router, egressRouter: role === 'ingress' ? peer : this.router,
          forward, reverse: forward, paths: onPath ? [path.name] : [], pathChanges: NO_CHANGES,
          packets: ZERO, bytes: ZERO, delta: NO_DELTA, startMs: atMs, endMs: atMs,
        };
        if (onPath) r.waypoint = waypoint(path, role === 'ingress', words[w + 15]!, outerProtocol(protocol));
        if ((flags & (OPENED_SNAT | OPENED_DNAT)) !== 0) {
          // the server answers the translated 5-tuple
          const nat: FiveTuple = {
            src: (flags & OPENED_SNAT) !== 0 ? this.address(w + 24, family) : forward.src,
            dst: (flags & OPENED_DNAT) !== 0 ? this.address(w + 28, family) : forward.dst,
            srcPort: words[w + 1]! >>> 16, dstPort: words[w + 1]! & 0xffff, protocol,
          };
          r.nat = nat;
          r.reverse = reversed(nat);
        } else r.reverse = reversed(forward);
        r.ingressInterface = this.iface(words[w + 12]! | 0);
        r.egressInterface = this.iface(words[w + 13]! | 0);
        return sink.start(r);
      }
      case FACT_CLOSED: {
        const app = words[w + 1]!;
        return sink.end(
          uuidString(words, w + 4), atMs, CLOSE[CLOSE_CODES[(words[w]! >>> 8) & 0xff] ?? 'idle'],
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
          forward: { src: this.address(d + 6, family), dst: this.address(d + 10, family), srcPort: words[d + 5]! >>> 16, dstPort: words[d + 5]! & 0xffff, protocol: words[d + 1]! >>> 8 },
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
          sink.totals(uuidString(words, o), f64[at]!, f64[at + 1]!, f64[at + 2]!, f64[at + 3]!);
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

  /** The text of the address at word `at`: IPv4 kept by its word for the next time (at most MAX_ADDRESSES); IPv6 made each time. */
  private address(at: number, family: 4 | 6): string {
    const words = this.ring.words;
    if (family === 6) return addressText(words, at, 6);
    const v = words[at]!;
    let text = this.v4.get(v);
    if (text === undefined) {
      if (this.v4.size >= MAX_ADDRESSES) this.v4.clear();
      text = addressText(words, at, 4);
      this.v4.set(v, text);
    }
    return text;
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
        this.paths[id] = { name, peer, local, remote };
      }
    }
  }
}

/** The forward direction's SVR 5-tuple on `path` (ports: local << 16 | peer). */
function waypoint(path: PathNames, ingress: boolean, ports: number, protocol: number): FiveTuple {
  const local = ports >>> 16;
  const peer = ports & 0xffff;
  return ingress
    ? { src: path.local, dst: path.remote, srcPort: local, dstPort: peer, protocol }
    : { src: path.remote, dst: path.local, srcPort: peer, dstPort: local, protocol };
}
