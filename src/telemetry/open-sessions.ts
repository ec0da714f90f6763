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

const NONE = -1;
/** path changes of a record without any (shared: a record's lists are replaced, never changed in place) */
const NO_CHANGES = Object.freeze([]) as unknown as PathChange[];
const FIRST_CAPACITY = 1024;
/** Address words of a session (OPENED words 16-31: source, destination, NAT source, NAT destination; 4 words each). */
const ADDRESS_WORDS = 16;

export class OpenSessions {
  private capacity = 0;
  private count = 0;
  private freeHead = NONE;
  private head = NONE;
  private tail = NONE;
  // per slot, numbers
  private idw = new Uint32Array(0);
  private chain = new Int32Array(0);
  private prev = new Int32Array(0);
  private nextSlot = new Int32Array(0);
  /** OPENED word 0 (kind, role, family, flags, protocol), 1 (NAT ports), 14 (ports), 15 (waypoint ports) */
  private w0 = new Uint32Array(0);
  private natPorts = new Uint32Array(0);
  private ports = new Uint32Array(0);
  private wpPorts = new Uint32Array(0);
  private addr = new Uint32Array(0);
  private times = new Float64Array(0);
  /** totals (packets fwd/rev, bytes fwd/rev), then those at the previous record */
  private counts = new Float64Array(0);
  private seqs = new Uint32Array(0);
  /** 1: the id is not a UUID (found by its text) */
  private textId = new Uint8Array(0);
  // per slot, references (shared names; the rare per-session extras)
  private tenant: string[] = [];
  private service: string[] = [];
  private app: string[] = [];
  private path: (PathNames | undefined)[] = [];
  private inIf: (InterfaceRef | undefined)[] = [];
  private outIf: (InterfaceRef | undefined)[] = [];
  private idText: (string | undefined)[] = [];
  /** a session opened by a fact: its static fields */
  private base: (SessionRecord | undefined)[] = [];
  /** after a migration: the paths, path changes and waypoint */
  private moves: (Moves | undefined)[] = [];
  private retrans: (PerDirection | undefined)[] = [];
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
   * page faults (about 240 bytes a slot, ~15 µs a 4 KiB page on a PVM guest) now, not in traffic. No-op when
   * the table is that large already.
   */
  reserve(slots: number): void {
    if (slots <= this.capacity) return;
    let cap = Math.max(FIRST_CAPACITY, this.capacity);
    while (cap < slots) cap *= 2;
    this.grow(cap);
    for (const a of [this.idw, this.prev, this.nextSlot, this.w0, this.natPorts, this.ports, this.wpPorts, this.addr, this.times, this.counts, this.seqs, this.textId]) {
      for (let i = 0, step = 4096 / a.BYTES_PER_ELEMENT; i < a.length; i += step) a[i] = a[i]!; // its page written: no fault later
    }
  }

  /** A session of an OPENED row (at word `w` of `words`); its interim record due at `dueMs`. */
  openRow(words: Uint32Array, w: number, atMs: number, dueMs: number, names: RowNames): number {
    this.drop(this.findWords(words, w + 4));
    const s = this.take(words, w + 4, atMs, dueMs);
    this.index(s);
    this.w0[s] = words[w]!;
    this.natPorts[s] = words[w + 1]!;
    this.ports[s] = words[w + 14]!;
    this.wpPorts[s] = words[w + 15]!;
    for (let k = 0, a = s * ADDRESS_WORDS; k < ADDRESS_WORDS; k++) this.addr[a + k] = words[w + 16 + k]!; // no view made
    this.tenant[s] = names.tenant;
    this.service[s] = names.service;
    this.app[s] = names.application;
    this.path[s] = names.path;
    this.inIf[s] = names.ingressInterface;
    this.outIf[s] = names.egressInterface;
    this.link(s);
    return s;
  }

  /** A session opened by a fact: `record` holds its static fields (kept, never changed). */
  openRecord(record: SessionRecord, dueMs: number): number {
    const id = record.sessionId;
    this.drop(this.findText(id));
    const uuid = this.parse(id);
    const s = this.take(this.idWords, 0, record.startMs, dueMs);
    this.base[s] = record;
    this.app[s] = record.application;
    this.idText[s] = id;
    if (uuid) this.index(s);
    else {
      this.textId[s] = 1;
      this.byText.set(id, s);
    }
    this.link(s);
    return s;
  }

  /** The slot of the session whose id is the 4 words at `at`, or -1. */
  findWords(words: Uint32Array, at: number): number {
    for (let s = this.buckets[keyOf(words, at) & (this.buckets.length - 1)] ?? NONE; s !== NONE; s = this.chain[s]!) {
      const i = s * 4;
      if (this.idw[i] === words[at] && this.idw[i + 1] === words[at + 1] && this.idw[i + 2] === words[at + 2] && this.idw[i + 3] === words[at + 3]) return s;
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
    this.unlink(s);
    if (this.textId[s] === 1) this.byText.delete(this.idText[s]!);
    else {
      const b = keyOf(this.idw, s * 4) & (this.buckets.length - 1);
      let at = this.buckets[b]!;
      if (at === s) this.buckets[b] = this.chain[s]!;
      else {
        while (this.chain[at] !== s) at = this.chain[at]!;
        this.chain[at] = this.chain[s]!;
      }
    }
    this.tenant[s] = this.service[s] = this.app[s] = '';
    this.path[s] = this.inIf[s] = this.outIf[s] = undefined;
    this.idText[s] = undefined;
    this.base[s] = undefined;
    this.moves[s] = undefined;
    this.retrans[s] = undefined;
    this.textId[s] = 0;
    this.chain[s] = this.freeHead;
    this.freeHead = s;
    this.count--;
  }

  setTotals(s: number, packetsFwd: number, packetsRev: number, bytesFwd: number, bytesRev: number): void {
    const c = this.counts;
    const i = s * 8;
    c[i] = packetsFwd;
    c[i + 1] = packetsRev;
    c[i + 2] = bytesFwd;
    c[i + 3] = bytesRev;
  }

  setRetransmissions(s: number, r: PerDirection): void {
    this.retrans[s] = [r[0], r[1]];
  }

  setApplication(s: number, name: string): void {
    this.app[s] = name;
  }

  /** A path change (appended; the path to the paths used, once; the waypoint replaced when given). */
  migrate(s: number, change: PathChange, waypoint: FiveTuple | undefined): void {
    let m = this.moves[s];
    if (m === undefined) {
      const r = this.base[s];
      m = this.moves[s] = { paths: [...(r !== undefined ? r.paths : this.rowPaths(s))], changes: [...(r?.pathChanges ?? [])], waypoint: r !== undefined ? r.waypoint : this.rowWaypoint(s) };
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
    return this.nextSlot[s]!;
  }

  dueMs(s: number): number {
    return this.times[s * 2 + 1]!;
  }

  /** The session's next interim record is due at `dueMs`: to the end of the due order. */
  requeue(s: number, dueMs: number): void {
    this.times[s * 2 + 1] = dueMs;
    this.unlink(s);
    this.link(s);
  }

  /**
   * The session's record of `kind` at `atMs` (a new object), with deltas since its previous record. An
   * interim record is the next record's start (its totals kept, seq + 1); an end record is the last.
   */
  record(s: number, kind: RecordKind, atMs: number, closeReason?: SessionRecord['closeReason']): SessionRecord {
    const c = this.counts;
    const i = s * 8;
    const packets: PerDirection = [c[i]!, c[i + 1]!];
    const bytes: PerDirection = [c[i + 2]!, c[i + 3]!];
    const seq = this.seqs[s]!;
    // the session's first record: its delta is its totals (the same arrays: never changed in place)
    const delta = seq === 0 ? { packets, bytes } : {
      packets: [c[i]! - c[i + 4]!, c[i + 1]! - c[i + 5]!] as PerDirection,
      bytes: [c[i + 2]! - c[i + 6]!, c[i + 3]! - c[i + 7]!] as PerDirection,
    };
    const r: SessionRecord = this.base[s] !== undefined
      ? { ...this.base[s]!, kind, seq, application: this.app[s]!, paths: [...this.base[s]!.paths], packets, bytes, delta, startMs: this.times[s * 2]!, endMs: atMs }
      : this.fromRow(s, kind, seq, packets, bytes, delta, atMs);
    const m = this.moves[s];
    if (m !== undefined) {
      r.paths = [...m.paths];
      r.pathChanges = [...m.changes];
      if (m.waypoint !== undefined) r.waypoint = m.waypoint;
    }
    const t = this.retrans[s];
    if (t !== undefined) r.tcpRetransmissions = [t[0], t[1]];
    if (closeReason !== undefined) r.closeReason = closeReason;
    if (kind === 'interim') {
      c.copyWithin(i + 4, i, i + 4);
      this.seqs[s] = seq + 1;
    }
    return r;
  }

  private fromRow(s: number, kind: RecordKind, seq: number, packets: PerDirection, bytes: PerDirection, delta: SessionRecord['delta'], endMs: number): SessionRecord {
    const w0 = this.w0[s]!;
    const role = roleName((w0 >>> 8) & 0xff);
    const family = ((w0 >>> 16) & 0xf) as 4 | 6;
    const flags = (w0 >>> 20) & 0xf;
    const protocol = w0 >>> 24;
    const a = s * ADDRESS_WORDS;
    const ports = this.ports[s]!;
    const forward: FiveTuple = { src: addressText(this.addr, a, family), dst: addressText(this.addr, a + 4, family), srcPort: ports >>> 16, dstPort: ports & 0xffff, protocol };
    const path = this.path[s];
    const peer = path?.peer ?? '';
    const r: SessionRecord = {
      kind, sessionId: (this.idText[s] ??= uuidString(this.idw, s * 4)), seq, router: this.router, role,
      tenant: this.tenant[s]!, service: this.service[s]!, application: this.app[s]!,
      ingressRouter: role === 'egress' ? peer : this.router, egressRouter: role === 'ingress' ? peer : this.router,
      forward, reverse: forward, paths: this.rowPaths(s), pathChanges: NO_CHANGES, packets, bytes, delta, startMs: this.times[s * 2]!, endMs,
      // in the literal (a row session always has both): properties added later cost a map transition each
      ingressInterface: this.inIf[s]!, egressInterface: this.outIf[s]!,
    };
    const waypoint = this.rowWaypoint(s);
    if (waypoint !== undefined) r.waypoint = waypoint;
    if ((flags & (OPENED_SNAT | OPENED_DNAT)) !== 0) {
      // the server answers the translated 5-tuple
      const natPorts = this.natPorts[s]!;
      const nat: FiveTuple = {
        src: (flags & OPENED_SNAT) !== 0 ? addressText(this.addr, a + 8, family) : forward.src,
        dst: (flags & OPENED_DNAT) !== 0 ? addressText(this.addr, a + 12, family) : forward.dst,
        srcPort: natPorts >>> 16, dstPort: natPorts & 0xffff, protocol,
      };
      r.nat = nat;
      r.reverse = reversed(nat);
    } else r.reverse = reversed(forward);
    return r;
  }

  private role(s: number): SessionRole {
    return roleName((this.w0[s]! >>> 8) & 0xff);
  }

  /** A row session's paths: its first path, unless it is local (shared frozen lists: a record's lists are replaced, never changed in place). */
  private rowPaths(s: number): string[] {
    const path = this.path[s];
    return path !== undefined && this.role(s) !== 'local' ? path.only : NO_PATHS;
  }

  private rowWaypoint(s: number): FiveTuple | undefined {
    const path = this.path[s];
    const role = this.role(s);
    if (path === undefined || role === 'local') return undefined;
    return waypoint(path, role === 'ingress', this.wpPorts[s]!, outerProtocol(this.w0[s]! >>> 24));
  }

  /** The session in `s` found by its id's words from now on. */
  private index(s: number): void {
    const b = keyOf(this.idw, s * 4) & (this.buckets.length - 1);
    this.chain[s] = this.buckets[b]!;
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
    this.freeHead = this.chain[s]!;
    const i = s * 4;
    this.idw[i] = words[at]!;
    this.idw[i + 1] = words[at + 1]!;
    this.idw[i + 2] = words[at + 2]!;
    this.idw[i + 3] = words[at + 3]!;
    this.chain[s] = NONE;
    this.times[s * 2] = atMs;
    this.times[s * 2 + 1] = dueMs;
    const c = this.counts;
    const k = s * 8;
    c[k] = c[k + 1] = c[k + 2] = c[k + 3] = c[k + 4] = c[k + 5] = c[k + 6] = c[k + 7] = 0; // no builtin call
    this.seqs[s] = 0;
    this.w0[s] = 0;
    this.count++;
    return s;
  }

  private link(s: number): void {
    this.prev[s] = this.tail;
    this.nextSlot[s] = NONE;
    if (this.tail === NONE) this.head = s;
    else this.nextSlot[this.tail] = s;
    this.tail = s;
  }

  private unlink(s: number): void {
    const p = this.prev[s]!;
    const n = this.nextSlot[s]!;
    if (p === NONE) this.head = n;
    else this.nextSlot[p] = n;
    if (n === NONE) this.tail = p;
    else this.prev[n] = p;
  }

  private grow(cap = Math.max(FIRST_CAPACITY, this.capacity * 2)): void {
    const old = this.capacity;
    const more = <T extends Uint8Array | Uint32Array | Int32Array | Float64Array>(a: T, per: number): T => {
      const b = new (a.constructor as new (n: number) => T)(cap * per);
      b.set(a);
      return b;
    };
    this.idw = more(this.idw, 4);
    this.chain = more(this.chain, 1);
    this.prev = more(this.prev, 1);
    this.nextSlot = more(this.nextSlot, 1);
    this.w0 = more(this.w0, 1);
    this.natPorts = more(this.natPorts, 1);
    this.ports = more(this.ports, 1);
    this.wpPorts = more(this.wpPorts, 1);
    this.addr = more(this.addr, ADDRESS_WORDS);
    this.times = more(this.times, 2);
    this.counts = more(this.counts, 8);
    this.seqs = more(this.seqs, 1);
    this.textId = more(this.textId, 1);
    // filled by the builtin, not a loop of pushes (growing to 262,144 slots: 0.62-0.67 → 0.43-0.47 s of CPU at load 20;
    // the rest is the typed arrays' first touch)
    for (const a of [this.tenant, this.service, this.app]) a.length = cap;
    for (const a of [this.tenant, this.service, this.app]) a.fill('', old, cap);
    for (const a of [this.path, this.inIf, this.outIf, this.idText, this.base, this.moves, this.retrans] as unknown[][]) {
      a.length = cap;
      a.fill(undefined, old, cap);
    }
    // the new slots, first to last, on the free list
    for (let s = cap - 1; s >= old; s--) {
      this.chain[s] = this.freeHead;
      this.freeHead = s;
    }
    this.capacity = cap;
    // the open sessions found by their words, in twice as many buckets
    this.buckets = new Int32Array(cap * 2).fill(NONE);
    for (let s = this.head; s !== NONE; s = this.nextSlot[s]!) if (this.textId[s] === 0) this.index(s);
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
