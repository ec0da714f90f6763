/**
 * The record builder's open sessions (record.ts) in typed arrays indexed by a slot, not an object per
 * session: a session that lives for seconds leaves nothing for the old generation's collector (a record
 * object, its 5-tuples, path list and id text per open session did). A slot of an ended session is reused
 * (free list); the arrays double when full, or are sized once when records start (`reserve`: growing from
 * 65,536 to 131,072 slots took 255 ms of one call in traffic, nearly all first-touched pages at ~15 µs each).
 *
 *   open (a fact ring's OPENED row: its words copied; names by reference, the reader's per generation)
 *     -> totals, migrations change the slot -> record(slot) when an interim record is due or the session ends:
 *        the record object is made then (short-lived: it goes to the exporters and the history at once)
 * A session opened by a fact (SessionOpened: text addresses, any id) keeps its static fields as a record.
 * Ids are found by their four words (hashed to a bucket: its first slot, the slots of a bucket chained);
 * ids that are not UUIDs by their text. The id's text is made once, when the session's first record is.
 * Slots are also a doubly linked list in the order of their next interim record's due time.
 */
import type { SessionRole } from '../dataplane/events.js';
import { OPENED_DNAT, OPENED_SNAT } from '../dataplane/fact-ring.js';
import { uuidString } from '../dataplane/random-pool.js';
import { rowMemory } from '../dataplane/row-memory.js';
import { outerProtocol, roleName } from '../dataplane/session-ops.js';
import { addressText } from '../dataplane/session-tuples.js';
import { uuidBytes } from './history/keys.js';
import type { FiveTuple, InterfaceRef, PathChange, PerDirection, RecordKind, SessionRecord } from './record.js';

/** A peer path as records name it (a NAME row of the fact ring). */
export interface PathNames {
  name: string;
  peer: string;
  local: string;
  remote: string;
  /** `[name]`, frozen: the paths of every record of a session that used this path alone (no array per record) */
  only: string[];
}

/** the paths of a local session's records (frozen, shared) */
const NO_PATHS = Object.freeze([]) as unknown as string[];

/** A path's names as the fact rows name it (PathNames with its shared one-path list). */
export function pathNames(name: string, peer: string, local: string, remote: string): PathNames {
  return { name, peer, local, remote, only: Object.freeze([name]) as unknown as string[] };
}

/** The names of an OPENED row, resolved by the ring's reader (one object it reuses row after row). */
export interface RowNames {
  tenant: string;
  service: string;
  application: string;
  /** undefined: none */
  path: PathNames | undefined;
  ingressInterface: InterfaceRef;
  egressInterface: InterfaceRef;
}

/** A row session's names (RowNames) and its role (the data path's number: session-table.ts ROLE_*). */
export interface SlotNames extends RowNames {
  role: number;
}

/**
 * A plain session's numbers and names as its history row takes them (OpenSessions.plainRow fills one, reused): what
 * its end record would hold, without the record (history/block.ts BlockWriter.addPlain).
 */
export interface PlainRow extends SlotNames {
  router: string;
  /** in slotWords: its id's 4 words; its addresses, 4 words each: source, destination, NAT source, NAT destination */
  idAt: number;
  addrAt: number;
  family: 4 | 6;
  protocol: number;
  /** the OPENED row's OPENED_SNAT and OPENED_DNAT flags */
  natFlags: number;
  /** source port << 16 | destination port: the client's, after NAT, and on the path (local << 16 | peer) */
  ports: number;
  natPorts: number;
  wpPorts: number;
  startMs: number;
  packetsFwd: number;
  packetsRev: number;
  bytesFwd: number;
  bytesRev: number;
}

/** A PlainRow to fill. */
export function plainRow(): PlainRow {
  return {
    tenant: '', service: '', application: '', path: undefined, ingressInterface: { name: '', index: -1 }, egressInterface: { name: '', index: -1 }, role: 0,
    router: '', idAt: 0, addrAt: 0, family: 4, protocol: 0, natFlags: 0, ports: 0, natPorts: 0, wpPorts: 0, startMs: 0, packetsFwd: 0, packetsRev: 0, bytesFwd: 0, bytesRev: 0,
  };
}

const NONE = -1;
/** path changes of a record without any (shared: a record's lists are replaced, never changed in place) */
const NO_CHANGES = Object.freeze([]) as unknown as PathChange[];
const FIRST_CAPACITY = 1024;
/**
 * Tables of this many slots and more (27 MiB at a node's 131,072) are one mapping in 2 MiB pages where the kernel gives
 * them (rowMemory, MADV_HUGEPAGE), their buckets in it: an end's bucket and slot are random pages of it, and with 4 KiB
 * pages both missed the TLB (a nested page walk on this KVM guest). Memory: every page is written at reserve() either way.
 */
const HUGE_FROM = 1 << 14;
/**
 * A slot's numbers, in one buffer: SLOT_WORDS 32-bit words (208 bytes, at most four cache lines) per slot. A session's
 * open and end touch its own lines (and its bucket's, and its due-order neighbours' first line), not one line in
 * each of 20 arrays: with tens of thousands open, each of those was a cache miss (vis18).
 *   words 0-3 id, 4 chain (next slot of the bucket, or of the free list), 5 prev, 6 next (due order),
 *   7 OPENED word 0 (kind, role, family, flags, protocol), 8 NAT ports, 9 ports, 10 waypoint ports, 11 seq,
 *   12 text id (1: the id is not a UUID, found by its text), 16-31 addresses (OPENED words 16-31: source,
 *   destination, NAT source, NAT destination; 4 words each), 32-51 ten doubles: start, due, totals (packets
 *   fwd/rev, bytes fwd/rev), then those at the previous record.
 */
const SLOT_WORDS = 52;
const CHAIN = 4;
const PREV = 5;
const NEXT = 6;
const W0 = 7;
const NAT_PORTS = 8;
const PORTS = 9;
const WP_PORTS = 10;
const SEQ = 11;
const TEXT_ID = 12;
const ADDR = 16;
/** Address words of a session (4 addresses of 4 words). */
const ADDRESS_WORDS = 16;
/** a slot's doubles (Float64Array index s * SLOT_DOUBLES + F_...) */
const SLOT_DOUBLES = SLOT_WORDS / 2;
const F_START = 16;
const F_DUE = 17;
const F_COUNTS = 18;
/** A slot's references, REF_COUNT in a row of one array: tenant, service, application (shared names), path,
 *  interfaces, the id's text, and the rare per-session extras (a session opened by a fact: its static fields;
 *  after a migration: paths, path changes, waypoint; TCP retransmissions). */
const REF_COUNT = 10;
const R_TENANT = 0;
const R_SERVICE = 1;
const R_APP = 2;
const R_PATH = 3;
const R_IN_IF = 4;
const R_OUT_IF = 5;
const R_ID_TEXT = 6;
const R_BASE = 7;
const R_MOVES = 8;
const R_RETRANS = 9;

export class OpenSessions {
  private capacity = 0;
  private count = 0;
  private freeHead = NONE;
  private head = NONE;
  private tail = NONE;
  /** the slots' numbers (SLOT_WORDS a slot): three views of one buffer */
  private u32 = new Uint32Array(0);
  private i32 = new Int32Array(0);
  private f64 = new Float64Array(0);
  /** the slots' references (REF_COUNT a slot) */
  private refs: unknown[] = [];
  /** the first slot of each bucket of ids (a bucket: a key's low bits), -1 none; 2 buckets per slot */
  private buckets = new Int32Array(0);
  private readonly byText = new Map<string, number>();
  private readonly idBytes = new Uint8Array(16);
  private readonly idWords = new Uint32Array(4);

  constructor(private readonly router: string) {}

  get size(): number {
    return this.count;
  }

  /**
   * At least `slots` slots (the next power of two) in one step, every page of the arrays written once: their
   * page faults (about 300 bytes a slot, ~15 µs a 4 KiB page on a PVM guest) now, not in traffic. No-op when
   * the table is that large already.
   */
  reserve(slots: number): void {
    if (slots <= this.capacity) return;
    let cap = Math.max(FIRST_CAPACITY, this.capacity);
    while (cap < slots) cap *= 2;
    this.grow(cap);
    for (let i = 0; i < this.u32.length; i += 1024) this.u32[i] = this.u32[i]!; // its page written: no fault later
  }

  /** A session of an OPENED row (at word `w` of `words`); its interim record due at `dueMs`. */
  openRow(words: Uint32Array, w: number, atMs: number, dueMs: number, names: RowNames): number {
    this.drop(this.findWords(words, w + 4));
    const s = this.take(words, w + 4, atMs, dueMs);
    this.index(s);
    const u = this.u32;
    const o = s * SLOT_WORDS;
    u[o + W0] = words[w]!;
    u[o + NAT_PORTS] = words[w + 1]!;
    u[o + PORTS] = words[w + 14]!;
    u[o + WP_PORTS] = words[w + 15]!;
    for (let k = 0; k < ADDRESS_WORDS; k++) u[o + ADDR + k] = words[w + 16 + k]!; // no view made
    const refs = this.refs;
    const r = s * REF_COUNT;
    refs[r + R_TENANT] = names.tenant;
    refs[r + R_SERVICE] = names.service;
    refs[r + R_APP] = names.application;
    refs[r + R_PATH] = names.path;
    refs[r + R_IN_IF] = names.ingressInterface;
    refs[r + R_OUT_IF] = names.egressInterface;
    this.link(s);
    return s;
  }

  /** A session opened by a fact: `record` holds its static fields (kept, never changed). */
  openRecord(record: SessionRecord, dueMs: number): number {
    const id = record.sessionId;
    this.drop(this.findText(id));
    const uuid = this.parse(id);
    const s = this.take(this.idWords, 0, record.startMs, dueMs);
    const r = s * REF_COUNT;
    this.refs[r + R_BASE] = record;
    this.refs[r + R_APP] = record.application;
    this.refs[r + R_ID_TEXT] = id;
    if (uuid) this.index(s);
    else {
      this.u32[s * SLOT_WORDS + TEXT_ID] = 1;
      this.byText.set(id, s);
    }
    this.link(s);
    return s;
  }

  /** The slot of the session whose id is the 4 words at `at`, or -1. */
  findWords(words: Uint32Array, at: number): number {
    const u = this.u32;
    for (let s = this.buckets[keyOf(words, at) & (this.buckets.length - 1)] ?? NONE; s !== NONE; s = this.i32[s * SLOT_WORDS + CHAIN]!) {
      const i = s * SLOT_WORDS;
      if (u[i] === words[at] && u[i + 1] === words[at + 1] && u[i + 2] === words[at + 2] && u[i + 3] === words[at + 3]) return s;
    }
    return NONE;
  }

  /** The slot of the session with id `id`, or -1. */
  findText(id: string): number {
    if (this.parse(id)) return this.findWords(this.idWords, 0);
    return this.byText.get(id) ?? NONE;
  }

  /** The session is forgotten (its slot free again). */
  drop(s: number): void {
    if (s === NONE) return;
    this.detach(s);
    this.free(s);
  }

  /** The session is found no more and has no interim record due; its slot is kept (record() reads it) until free(). */
  detach(s: number): void {
    this.unlink(s);
    const o = s * SLOT_WORDS;
    const r = s * REF_COUNT;
    const refs = this.refs;
    const i32 = this.i32;
    if (this.u32[o + TEXT_ID] === 1) this.byText.delete(refs[r + R_ID_TEXT] as string);
    else {
      const b = keyOf(this.u32, o) & (this.buckets.length - 1);
      let at = this.buckets[b]!;
      if (at === s) this.buckets[b] = i32[o + CHAIN]!;
      else {
        while (i32[at * SLOT_WORDS + CHAIN] !== s) at = i32[at * SLOT_WORDS + CHAIN]!;
        i32[at * SLOT_WORDS + CHAIN] = i32[o + CHAIN]!;
      }
    }
  }

  /** A detached session's slot free again. */
  free(s: number): void {
    const o = s * SLOT_WORDS;
    const r = s * REF_COUNT;
    const refs = this.refs;
    refs[r + R_TENANT] = refs[r + R_SERVICE] = refs[r + R_APP] = '';
    refs[r + R_PATH] = refs[r + R_IN_IF] = refs[r + R_OUT_IF] = refs[r + R_ID_TEXT] = refs[r + R_BASE] = refs[r + R_MOVES] = refs[r + R_RETRANS] = undefined;
    this.u32[o + TEXT_ID] = 0;
    this.i32[o + CHAIN] = this.freeHead;
    this.freeHead = s;
    this.count--;
  }

  /**
   * The session's record would hold nothing but its opening row, its totals and its end: no interim record before,
   * no migration, no TCP retransmissions, opened by a row of IPv4 or IPv6 (its flows can be written from the slot: plain-flows.ts).
   */
  plain(s: number): boolean {
    const r = s * REF_COUNT;
    const refs = this.refs;
    const family = (this.u32[s * SLOT_WORDS + W0]! >>> 16) & 0xf;
    return this.u32[s * SLOT_WORDS + SEQ] === 0 && refs[r + R_BASE] === undefined && refs[r + R_MOVES] === undefined && refs[r + R_RETRANS] === undefined &&
      (family === 4 || family === 6);
  }

  /** Where the session's id is in slotWords (its 4 words). */
  idAt(s: number): number {
    return s * SLOT_WORDS;
  }

  /** The slots' numbers (native/ipfix-flows.c reads a slot's), replaced when the table grows. */
  get slotWords(): Uint32Array {
    return this.u32;
  }

  /** A row session's names and role into `out` (plain-flows.ts's shape of its flows). */
  names(s: number, out: SlotNames): void {
    const refs = this.refs;
    const r = s * REF_COUNT;
    out.tenant = refs[r + R_TENANT] as string;
    out.service = refs[r + R_SERVICE] as string;
    out.application = refs[r + R_APP] as string;
    out.path = refs[r + R_PATH] as PathNames | undefined;
    out.ingressInterface = refs[r + R_IN_IF] as InterfaceRef;
    out.egressInterface = refs[r + R_OUT_IF] as InterfaceRef;
    out.role = (this.u32[s * SLOT_WORDS + W0]! >>> 8) & 0xff;
  }

  /** A plain session's row (`plain`) into `out`: its names, where its id and addresses are, its numbers. */
  plainRow(s: number, out: PlainRow): void {
    this.names(s, out);
    const u = this.u32;
    const o = s * SLOT_WORDS;
    const w0 = u[o + W0]!;
    out.router = this.router;
    out.idAt = o;
    out.addrAt = o + ADDR;
    out.family = ((w0 >>> 16) & 0xf) as 4 | 6;
    out.natFlags = (w0 >>> 20) & (OPENED_SNAT | OPENED_DNAT);
    out.protocol = w0 >>> 24;
    out.ports = u[o + PORTS]!;
    out.natPorts = u[o + NAT_PORTS]!;
    out.wpPorts = u[o + WP_PORTS]!;
    const c = this.f64;
    const f = s * SLOT_DOUBLES;
    out.startMs = c[f + F_START]!;
    out.packetsFwd = c[f + F_COUNTS]!;
    out.packetsRev = c[f + F_COUNTS + 1]!;
    out.bytesFwd = c[f + F_COUNTS + 2]!;
    out.bytesRev = c[f + F_COUNTS + 3]!;
  }

  setTotals(s: number, packetsFwd: number, packetsRev: number, bytesFwd: number, bytesRev: number): void {
    const c = this.f64;
    const i = s * SLOT_DOUBLES + F_COUNTS;
    c[i] = packetsFwd;
    c[i + 1] = packetsRev;
    c[i + 2] = bytesFwd;
    c[i + 3] = bytesRev;
  }

  setRetransmissions(s: number, r: PerDirection): void {
    this.refs[s * REF_COUNT + R_RETRANS] = [r[0], r[1]];
  }

  setApplication(s: number, name: string): void {
    this.refs[s * REF_COUNT + R_APP] = name;
  }

  /** A path change (appended; the path to the paths used, once; the waypoint replaced when given). */
  migrate(s: number, change: PathChange, waypoint: FiveTuple | undefined): void {
    const at = s * REF_COUNT + R_MOVES;
    let m = this.refs[at] as Moves | undefined;
    if (m === undefined) {
      const r = this.base(s);
      m = { paths: [...(r !== undefined ? r.paths : this.rowPaths(s))], changes: [...(r?.pathChanges ?? [])], waypoint: r !== undefined ? r.waypoint : this.rowWaypoint(s) };
      this.refs[at] = m;
    }
    m.changes.push(change);
    if (!m.paths.includes(change.to)) m.paths.push(change.to);
    if (waypoint !== undefined) m.waypoint = waypoint;
  }

  // due order

  first(): number {
    return this.head;
  }

  last(): number {
    return this.tail;
  }

  after(s: number): number {
    return this.i32[s * SLOT_WORDS + NEXT]!;
  }

  dueMs(s: number): number {
    return this.f64[s * SLOT_DOUBLES + F_DUE]!;
  }

  /** The session's next interim record is due at `dueMs`: to the end of the due order. */
  requeue(s: number, dueMs: number): void {
    this.f64[s * SLOT_DOUBLES + F_DUE] = dueMs;
    this.unlink(s);
    this.link(s);
  }

  /**
   * The session's record of `kind` at `atMs` (a new object), with deltas since its previous record. An
   * interim record is the next record's start (its totals kept, seq + 1); an end record is the last.
   */
  record(s: number, kind: RecordKind, atMs: number, closeReason?: SessionRecord['closeReason']): SessionRecord {
    const c = this.f64;
    const i = s * SLOT_DOUBLES + F_COUNTS;
    const packets: PerDirection = [c[i]!, c[i + 1]!];
    const bytes: PerDirection = [c[i + 2]!, c[i + 3]!];
    const seq = this.u32[s * SLOT_WORDS + SEQ]!;
    // the session's first record: its delta is its totals (the same arrays: never changed in place)
    const delta = seq === 0 ? { packets, bytes } : {
      packets: [c[i]! - c[i + 4]!, c[i + 1]! - c[i + 5]!] as PerDirection,
      bytes: [c[i + 2]! - c[i + 6]!, c[i + 3]! - c[i + 7]!] as PerDirection,
    };
    const base = this.base(s);
    const startMs = c[s * SLOT_DOUBLES + F_START]!;
    const r: SessionRecord = base !== undefined
      ? { ...base, kind, seq, application: this.refs[s * REF_COUNT + R_APP] as string, paths: [...base.paths], packets, bytes, delta, startMs, endMs: atMs }
      : this.fromRow(s, kind, seq, packets, bytes, delta, atMs);
    const m = this.refs[s * REF_COUNT + R_MOVES] as Moves | undefined;
    if (m !== undefined) {
      r.paths = [...m.paths];
      r.pathChanges = [...m.changes];
      if (m.waypoint !== undefined) r.waypoint = m.waypoint;
    }
    const t = this.refs[s * REF_COUNT + R_RETRANS] as PerDirection | undefined;
    if (t !== undefined) r.tcpRetransmissions = [t[0], t[1]];
    if (closeReason !== undefined) r.closeReason = closeReason;
    if (kind === 'interim') {
      c.copyWithin(i + 4, i, i + 4);
      this.u32[s * SLOT_WORDS + SEQ] = seq + 1;
    }
    return r;
  }

  private base(s: number): SessionRecord | undefined {
    return this.refs[s * REF_COUNT + R_BASE] as SessionRecord | undefined;
  }

  private fromRow(s: number, kind: RecordKind, seq: number, packets: PerDirection, bytes: PerDirection, delta: SessionRecord['delta'], endMs: number): SessionRecord {
    const u = this.u32;
    const o = s * SLOT_WORDS;
    const refs = this.refs;
    const ro = s * REF_COUNT;
    const w0 = u[o + W0]!;
    const role = roleName((w0 >>> 8) & 0xff);
    const family = ((w0 >>> 16) & 0xf) as 4 | 6;
    const flags = (w0 >>> 20) & 0xf;
    const protocol = w0 >>> 24;
    const a = o + ADDR;
    const ports = u[o + PORTS]!;
    const forward: FiveTuple = { src: addressText(u, a, family), dst: addressText(u, a + 4, family), srcPort: ports >>> 16, dstPort: ports & 0xffff, protocol };
    const path = refs[ro + R_PATH] as PathNames | undefined;
    const peer = path?.peer ?? '';
    let idText = refs[ro + R_ID_TEXT] as string | undefined;
    if (idText === undefined) refs[ro + R_ID_TEXT] = idText = uuidString(u, o);
    const r: SessionRecord = {
      kind, sessionId: idText, seq, router: this.router, role,
      tenant: refs[ro + R_TENANT] as string, service: refs[ro + R_SERVICE] as string, application: refs[ro + R_APP] as string,
      ingressRouter: role === 'egress' ? peer : this.router, egressRouter: role === 'ingress' ? peer : this.router,
      forward, reverse: forward, paths: this.rowPaths(s), pathChanges: NO_CHANGES, packets, bytes, delta, startMs: this.f64[s * SLOT_DOUBLES + F_START]!, endMs,
      // in the literal (a row session always has both): properties added later cost a map transition each
      ingressInterface: refs[ro + R_IN_IF] as InterfaceRef, egressInterface: refs[ro + R_OUT_IF] as InterfaceRef,
    };
    const waypoint = this.rowWaypoint(s);
    if (waypoint !== undefined) r.waypoint = waypoint;
    if ((flags & (OPENED_SNAT | OPENED_DNAT)) !== 0) {
      // the server answers the translated 5-tuple
      const natPorts = u[o + NAT_PORTS]!;
      const nat: FiveTuple = {
        src: (flags & OPENED_SNAT) !== 0 ? addressText(u, a + 8, family) : forward.src,
        dst: (flags & OPENED_DNAT) !== 0 ? addressText(u, a + 12, family) : forward.dst,
        srcPort: natPorts >>> 16, dstPort: natPorts & 0xffff, protocol,
      };
      r.nat = nat;
      r.reverse = reversed(nat);
    } else r.reverse = reversed(forward);
    return r;
  }

  private role(s: number): SessionRole {
    return roleName((this.u32[s * SLOT_WORDS + W0]! >>> 8) & 0xff);
  }

  /** A row session's paths: its first path, unless it is local (shared frozen lists: a record's lists are replaced, never changed in place). */
  private rowPaths(s: number): string[] {
    const path = this.refs[s * REF_COUNT + R_PATH] as PathNames | undefined;
    return path !== undefined && this.role(s) !== 'local' ? path.only : NO_PATHS;
  }

  private rowWaypoint(s: number): FiveTuple | undefined {
    const path = this.refs[s * REF_COUNT + R_PATH] as PathNames | undefined;
    const role = this.role(s);
    if (path === undefined || role === 'local') return undefined;
    const o = s * SLOT_WORDS;
    return waypoint(path, role === 'ingress', this.u32[o + WP_PORTS]!, outerProtocol(this.u32[o + W0]! >>> 24));
  }

  /** The session in `s` found by its id's words from now on. */
  private index(s: number): void {
    const b = keyOf(this.u32, s * SLOT_WORDS) & (this.buckets.length - 1);
    this.i32[s * SLOT_WORDS + CHAIN] = this.buckets[b]!;
    this.buckets[b] = s;
  }

  /** `id` as four words into idWords; false when it is not a UUID. */
  private parse(id: string): boolean {
    if (!uuidBytes(id, this.idBytes, 0)) return false;
    const b = this.idBytes;
    for (let k = 0; k < 4; k++) this.idWords[k] = ((b[k * 4]! << 24) | (b[k * 4 + 1]! << 16) | (b[k * 4 + 2]! << 8) | b[k * 4 + 3]!) >>> 0;
    return true;
  }

  /** A free slot for a session with the id at `at` (not yet found by it), counts zero. */
  private take(words: Uint32Array, at: number, atMs: number, dueMs: number): number {
    if (this.freeHead === NONE) this.grow();
    const s = this.freeHead;
    const o = s * SLOT_WORDS;
    const u = this.u32;
    this.freeHead = this.i32[o + CHAIN]!;
    u[o] = words[at]!;
    u[o + 1] = words[at + 1]!;
    u[o + 2] = words[at + 2]!;
    u[o + 3] = words[at + 3]!;
    this.i32[o + CHAIN] = NONE;
    u[o + SEQ] = 0;
    u[o + W0] = 0;
    const c = this.f64;
    const f = s * SLOT_DOUBLES;
    c[f + F_START] = atMs;
    c[f + F_DUE] = dueMs;
    const k = f + F_COUNTS;
    c[k] = c[k + 1] = c[k + 2] = c[k + 3] = c[k + 4] = c[k + 5] = c[k + 6] = c[k + 7] = 0; // no builtin call
    this.count++;
    return s;
  }

  private link(s: number): void {
    const i32 = this.i32;
    const o = s * SLOT_WORDS;
    i32[o + PREV] = this.tail;
    i32[o + NEXT] = NONE;
    if (this.tail === NONE) this.head = s;
    else i32[this.tail * SLOT_WORDS + NEXT] = s;
    this.tail = s;
  }

  private unlink(s: number): void {
    const i32 = this.i32;
    const o = s * SLOT_WORDS;
    const p = i32[o + PREV]!;
    const n = i32[o + NEXT]!;
    if (p === NONE) this.head = n;
    else i32[p * SLOT_WORDS + NEXT] = n;
    if (n === NONE) this.tail = p;
    else i32[n * SLOT_WORDS + PREV] = p;
  }

  private grow(cap = Math.max(FIRST_CAPACITY, this.capacity * 2)): void {
    const old = this.capacity;
    const bytes = cap * SLOT_WORDS * 4;
    const memory = cap >= HUGE_FROM ? rowMemory : null;
    const huge = memory !== null;
    // the buckets (2 a slot) after the slots, in the same pages
    const numbers = huge ? memory.reserve(bytes + cap * 8, true) : new ArrayBuffer(bytes);
    const u32 = new Uint32Array(numbers, 0, cap * SLOT_WORDS);
    u32.set(this.u32);
    this.u32 = u32;
    this.i32 = new Int32Array(numbers, 0, cap * SLOT_WORDS);
    this.f64 = new Float64Array(numbers, 0, cap * SLOT_DOUBLES);
    // filled by the builtin, not a loop of pushes (growing to 262,144 slots: 0.62-0.67 → 0.43-0.47 s of CPU at load 20)
    const refs = this.refs;
    refs.length = cap * REF_COUNT;
    refs.fill(undefined, old * REF_COUNT);
    for (let s = old; s < cap; s++) refs[s * REF_COUNT + R_TENANT] = refs[s * REF_COUNT + R_SERVICE] = refs[s * REF_COUNT + R_APP] = '';
    // the new slots, first to last, on the free list
    for (let s = cap - 1; s >= old; s--) {
      this.i32[s * SLOT_WORDS + CHAIN] = this.freeHead;
      this.freeHead = s;
    }
    this.capacity = cap;
    // the open sessions found by their words, in twice as many buckets
    this.buckets = (huge ? new Int32Array(numbers, bytes, cap * 2) : new Int32Array(cap * 2)).fill(NONE);
    for (let s = this.head; s !== NONE; s = this.i32[s * SLOT_WORDS + NEXT]!) if (this.u32[s * SLOT_WORDS + TEXT_ID] === 0) this.index(s);
  }
}

interface Moves {
  paths: string[];
  changes: PathChange[];
  waypoint: FiveTuple | undefined;
}

/** A key of the id at `at` (its buckets: the low bits). */
function keyOf(words: Uint32Array, at: number): number {
  return words[at]! ^ words[at + 1]! ^ words[at + 2]! ^ words[at + 3]!;
}

/** The same flow seen from the other end. */
export function reversed(t: FiveTuple): FiveTuple {
  return { src: t.dst, dst: t.src, srcPort: t.dstPort, dstPort: t.srcPort, protocol: t.protocol };
}

/** The forward direction's SVR 5-tuple on `path` (ports: local << 16 | peer). */
export function waypoint(path: PathNames, ingress: boolean, ports: number, protocol: number): FiveTuple {
  const local = ports >>> 16;
  const peer = ports & 0xffff;
  return ingress
    ? { src: path.local, dst: path.remote, srcPort: local, dstPort: peer, protocol }
    : { src: path.remote, dst: path.local, srcPort: peer, dstPort: local, protocol };
}
