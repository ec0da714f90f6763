/**
 * The facts a session always has (session.created, session.removed, session.reverseSeen) as typed records
 * rather than objects: the data path writes one record of REC_WORDS words and REC_NUMS numbers per fact, and
 * control reads them in place before the batch's next one (`Dataplane` option `onRecords`); strings, tuples and
 * the DpEvent object are built only for a reader that asks (`event(i)`, `sessionId(i)`, `forward(i)`).
 * An object per fact was ~1.4 KB of garbage per UDP session over both routers, enough to grow V8's young
 * generation during a fill (docs/performance.md "wave 19, rss5").
 * Names resolve through the tables the data path had when it delivered (`deliver`), so a reload's removals,
 * delivered before the swap, name the old tables' services.
 * Order: `before(i)` is how many of the batch's object events came before record i (`forEachFact`).
 */
import { CLOSE_REASONS, type CloseReason, type DpEvent, type FiveTuple, type SessionRole } from './events.js';
import { uuidString } from './random-pool.js';
import { addressText } from './session-tuples.js';
import { ROLE_EGRESS, ROLE_INGRESS, SF_DNAT, SF_SNAT, type SessionTable } from './session-table.js';
import { PROTO_ICMP, PROTO_ICMPV6, PROTO_UDP } from '../packet/ip.js';

export const REC_CREATED = 1;
export const REC_REMOVED = 2;
export const REC_REVERSE = 3;
export type SessionRecordKind = typeof REC_CREATED | typeof REC_REMOVED | typeof REC_REVERSE;

// word offsets of a record (Uint32)
const W_KIND = 0, W_ROW = 1, W_GEN = 2, W_BEFORE = 3, W_ROLE = 4, W_TENANT = 5, W_SERVICE = 6, W_APP = 7, W_PATH = 8;
const W_INIF = 9, W_OUTIF = 10, W_REASON = 11, W_FAMILY = 12, W_PROTO = 13, W_FLAGS = 14, W_SPORT = 15, W_DPORT = 16;
const W_WPLOCAL = 17, W_WPPEER = 18, W_NATSPORT = 19, W_NATDPORT = 20, W_UUID = 21, W_SRC = 25, W_DST = 29, W_NATSRC = 33, W_NATDST = 37;
export const REC_WORDS = 41;
// number offsets (Float64)
const N_AT = 0, N_AGE = 1, N_PKTS = 2, N_BYTES = 4;
export const REC_NUMS = 6;
const NONE = 0xffffffff;

/** The names a record's ids resolve through: the data path's tables, or their names as a worker thread sent them (workers/record-wire.ts). */
export interface RecordTables {
  readonly tenants: readonly string[];
  readonly services: readonly { readonly name: string }[];
  readonly paths: readonly { readonly name: string; readonly peer: number }[];
  readonly peers: readonly { readonly name: string }[];
  readonly interfaces: readonly { readonly name: string }[];
}
/** Application names by id (dataplane/applications.ts ApplicationNames, or a worker's list of them). */
export interface RecordApplications {
  name(id: number): string;
}

const ROLES: readonly SessionRole[] = ['local', 'ingress', 'egress'];
const roleIndex = (role: number): number => (role === ROLE_INGRESS ? 1 : role === ROLE_EGRESS ? 2 : 0);

export class SessionRecords {
  count = 0;
  words = new Uint32Array(64 * REC_WORDS);
  nums = new Float64Array(64 * REC_NUMS);
  /** what names resolve through, set at delivery */
  tables: RecordTables | null = null;
  applications: RecordApplications | null = null;
  pathText: readonly { local: string; remote: string }[] = [];

  /** Room for one more record; its index. Doubles when full (a sweep writes up to its budget of removals). */
  private next(kind: SessionRecordKind, t: SessionTable, r: number, before: number): number {
    if ((this.count + 1) * REC_WORDS > this.words.length) {
      const w = new Uint32Array(this.words.length * 2); w.set(this.words); this.words = w;
      const n = new Float64Array(this.nums.length * 2); n.set(this.nums); this.nums = n;
    }
    const i = this.count++;
    const w = this.words, o = i * REC_WORDS;
    w[o + W_KIND] = kind; w[o + W_ROW] = r; w[o + W_GEN] = t.gen[r]!; w[o + W_BEFORE] = before;
    return i;
  }

  private common(i: number, t: SessionTable, r: number): void {
    const w = this.words, o = i * REC_WORDS;
    w[o + W_ROLE] = roleIndex(t.role[r]!);
    w[o + W_TENANT] = t.tenant[r]! >>> 0; w[o + W_SERVICE] = t.service[r]! >>> 0; w[o + W_APP] = t.app[r]!; w[o + W_PATH] = t.path[r]! >>> 0;
    for (let k = 0; k < 4; k++) w[o + W_UUID + k] = t.uuid[r * 4 + k]!;
  }

  /** session.created of row r (its tuples' words kept: the row may be gone by the batch's end). */
  created(t: SessionTable, r: number, before: number): void {
    const i = this.next(REC_CREATED, t, r, before);
    this.common(i, t, r);
    const w = this.words, o = i * REC_WORDS;
    w[o + W_INIF] = t.inIf[r]!; w[o + W_OUTIF] = t.outIf[r]!; w[o + W_FAMILY] = t.family[r]!; w[o + W_PROTO] = t.protocol[r]!;
    w[o + W_FLAGS] = t.flags[r]!; w[o + W_SPORT] = t.origSrcPort[r]!; w[o + W_DPORT] = t.origDstPort[r]!;
    w[o + W_WPLOCAL] = t.wpLocalPort[r]!; w[o + W_WPPEER] = t.wpPeerPort[r]!;
    const nw = t.family[r] === 6 ? 4 : 1; // an IPv4 address is one word of its column
    let c = t.srcWords(r), at = t.wordsAt;
    for (let k = 0; k < nw; k++) w[o + W_SRC + k] = c[at + k]!;
    c = t.dstWords(r); at = t.wordsAt;
    for (let k = 0; k < nw; k++) w[o + W_DST + k] = c[at + k]!;
    if ((t.flags[r]! & (SF_SNAT | SF_DNAT)) !== 0) {
      w[o + W_NATSPORT] = t.natSrcPort[r]!; w[o + W_NATDPORT] = t.natDstPort[r]!;
      for (let k = 0; k < 4; k++) {
        w[o + W_NATSRC + k] = t.natSrc[r * 4 + k]!;
        w[o + W_NATDST + k] = t.natDst[r * 4 + k]!;
      }
    }
    this.nums[i * REC_NUMS + N_AT] = t.created[r]!;
  }

  /** session.removed of row r (before the row is freed). */
  removed(t: SessionTable, r: number, reason: CloseReason, atMs: number, ageMs: number, before: number): void {
    const i = this.next(REC_REMOVED, t, r, before);
    this.common(i, t, r);
    this.words[i * REC_WORDS + W_REASON] = CLOSE_REASONS.indexOf(reason);
    const n = this.nums, p = i * REC_NUMS;
    n[p + N_AT] = atMs; n[p + N_AGE] = ageMs;
    n[p + N_PKTS] = t.pktsFwd[r]!; n[p + N_PKTS + 1] = t.pktsRev[r]!; n[p + N_BYTES] = t.bytesFwd[r]!; n[p + N_BYTES + 1] = t.bytesRev[r]!;
  }

  /** session.reverseSeen of row r (its id came with session.created). */
  reverseSeen(t: SessionTable, r: number, before: number): void {
    this.next(REC_REVERSE, t, r, before);
  }

  /** Names resolve through these until the next delivery. */
  deliver(tables: RecordTables, applications: RecordApplications, pathText: readonly { local: string; remote: string }[]): void {
    this.tables = tables;
    this.applications = applications;
    this.pathText = pathText;
  }

  clear(): void {
    this.count = 0;
  }

  kind(i: number): SessionRecordKind { return this.words[i * REC_WORDS + W_KIND] as SessionRecordKind; }
  row(i: number): number { return this.words[i * REC_WORDS + W_ROW]!; }
  gen(i: number): number { return this.words[i * REC_WORDS + W_GEN]!; }
  /** how many of the batch's object events came before record i */
  before(i: number): number { return this.words[i * REC_WORDS + W_BEFORE]!; }
  role(i: number): SessionRole { return ROLES[this.words[i * REC_WORDS + W_ROLE]!]!; }
  /** where record i's session id starts in `words` (4 big-endian words) */
  uuidAt(i: number): number { return i * REC_WORDS + W_UUID; }
  /** builds the id's text (a string per call) */
  sessionId(i: number): string { return uuidString(this.words, i * REC_WORDS + W_UUID); }
  atMs(i: number): number { return this.nums[i * REC_NUMS + N_AT]!; }
  reason(i: number): CloseReason { return CLOSE_REASONS[this.words[i * REC_WORDS + W_REASON]!] ?? 'idle'; }
  tenant(i: number): string { return this.tables?.tenants[this.words[i * REC_WORDS + W_TENANT]!] ?? ''; }
  service(i: number): string { return this.tables?.services[this.words[i * REC_WORDS + W_SERVICE]!]?.name ?? ''; }
  application(i: number): string { return this.applications?.name(this.words[i * REC_WORDS + W_APP]!) ?? ''; }
  private pathId(i: number): number { const p = this.words[i * REC_WORDS + W_PATH]!; return p === NONE ? -1 : p; }
  path(i: number): string { return this.tables?.paths[this.pathId(i)]?.name ?? ''; }
  peer(i: number): string {
    const p = this.tables?.paths[this.pathId(i)];
    return p !== undefined ? this.tables?.peers[p.peer]?.name ?? '' : '';
  }
  private iface(i: number, w: number): string { return this.tables?.interfaces[this.words[i * REC_WORDS + w]!]?.name ?? ''; }

  /** The client's 5-tuple (session.created), built. */
  forward(i: number): FiveTuple {
    const w = this.words, o = i * REC_WORDS, fam = w[o + W_FAMILY] as 4 | 6;
    return { src: addressText(w, o + W_SRC, fam), dst: addressText(w, o + W_DST, fam), srcPort: w[o + W_SPORT]!, dstPort: w[o + W_DPORT]!, protocol: w[o + W_PROTO]! };
  }

  /** The forward waypoint 5-tuple (session.created), built; undefined for a local session (session-tuples.ts waypointTuple). */
  waypoint(i: number): FiveTuple | undefined {
    const w = this.words, o = i * REC_WORDS, p = this.pathId(i), role = w[o + W_ROLE]!;
    const text = this.pathText[p];
    if (role === 0 || text === undefined) return undefined;
    const proto = w[o + W_PROTO]!;
    const protocol = proto === PROTO_ICMP || proto === PROTO_ICMPV6 ? PROTO_UDP : proto;
    return role === 1
      ? { src: text.local, dst: text.remote, srcPort: w[o + W_WPLOCAL]!, dstPort: w[o + W_WPPEER]!, protocol }
      : { src: text.remote, dst: text.local, srcPort: w[o + W_WPPEER]!, dstPort: w[o + W_WPLOCAL]!, protocol };
  }

  /** The forward 5-tuple after NAT (session.created), built; undefined without NAT (session-tuples.ts natTuple). */
  nat(i: number): FiveTuple | undefined {
    const w = this.words, o = i * REC_WORDS, f = w[o + W_FLAGS]!, fam = w[o + W_FAMILY] as 4 | 6;
    const snat = (f & SF_SNAT) !== 0, dnat = (f & SF_DNAT) !== 0;
    if (!snat && !dnat) return undefined;
    return {
      src: addressText(w, o + (snat ? W_NATSRC : W_SRC), fam), dst: addressText(w, o + (dnat ? W_NATDST : W_DST), fam),
      srcPort: snat ? w[o + W_NATSPORT]! : w[o + W_SPORT]!, dstPort: dnat ? w[o + W_NATDPORT]! : w[o + W_DPORT]!, protocol: w[o + W_PROTO]!,
    };
  }

  /** Record i as the DpEvent it stands for (objects, strings: for a reader that wants them). */
  event(i: number): DpEvent {
    const row = this.row(i), gen = this.gen(i), kind = this.kind(i);
    if (kind === REC_REVERSE) return { kind: 'session.reverseSeen', row, gen };
    const n = this.nums, p = i * REC_NUMS;
    if (kind === REC_REMOVED) {
      return {
        kind: 'session.removed', row, gen, sessionId: this.sessionId(i), reason: this.reason(i), role: this.role(i), tenant: this.tenant(i),
        service: this.service(i), application: this.application(i), path: this.path(i), atMs: n[p + N_AT]!, ageMs: n[p + N_AGE]!,
        packets: [n[p + N_PKTS]!, n[p + N_PKTS + 1]!], bytes: [n[p + N_BYTES]!, n[p + N_BYTES + 1]!],
      };
    }
    const o = i * REC_WORDS;
    return {
      kind: 'session.created', row, gen, sessionId: this.sessionId(i), role: this.role(i), service: this.service(i), tenant: this.tenant(i),
      atMs: n[p + N_AT]!, application: this.application(i), forward: this.forward(i), waypoint: this.waypoint(i), nat: this.nat(i),
      inIf: this.words[o + W_INIF]!, inInterface: this.iface(i, W_INIF), outIf: this.words[o + W_OUTIF]!, outInterface: this.iface(i, W_OUTIF),
      path: this.path(i), peer: this.peer(i),
    };
  }
}

/** Visits a batch's object events and session records in the order the data path made them. */
export interface FactVisitor {
  event(e: DpEvent): void;
  record(s: SessionRecords, i: number): void;
}

export function forEachFact(events: readonly DpEvent[], s: SessionRecords, v: FactVisitor): void {
  let k = 0;
  for (let i = 0; i < s.count; i++) {
    const before = s.before(i);
    while (k < before && k < events.length) v.event(events[k++]!);
    v.record(s, i);
  }
  while (k < events.length) v.event(events[k++]!);
}

/** The batch as objects, in order (a listener that takes objects: a host without onRecords, tests). */
export function factEvents(events: DpEvent[], s: SessionRecords): DpEvent[] {
  if (s.count === 0) return events;
  const out: DpEvent[] = [];
  forEachFact(events, s, { event: (e) => out.push(e), record: (r, i) => out.push(r.event(i)) });
  return out;
}
