/**
 * A history block: the records of one write batch in one binary value (one LevelDB put per batch instead of
 * two keys and a JSON value per record).
 *
 *   block  = version u8 (2) | rows u32 | tables offset u32 | base ms f64 | row offsets (u32 each) | rows |
 *            string table | names table
 *   row    = session id (0xff + 16 bytes for a UUID, else a string ref) | flags u8 | names ref | what does not
 *            follow from the names or the row's other fields: [seq] | client address ref, port | [waypoint
 *            ports] | [NAT 5-tuple] | [reply 5-tuple] | [path changes] | packets, bytes | [deltas] |
 *            [retransmissions] | end - base ms | end - start ms | [deny reason]
 *   names  = what repeats session after session, once per block: role, router, tenant, service, application,
 *            ingress and egress router, server address, port and protocol, paths, close reason, interfaces,
 *            waypoint addresses and protocol; a row names its entry
 *   left out when it follows (a flag says it is there when not): the reply 5-tuple (the NAT one, else the
 *   forward one, reversed), the deltas (the totals: a session's first record), seq (0)
 *   numbers are zig-zag LEB128 varints (whole numbers up to 2^53; times are kept to the ms, relative to the
 *   block's base: the fast 30-bit form); strings are refs (varint) into the block's string table
 *   string table = count varint | (length varint, UTF-8) per string;  names table = count varint | entries
 * Version 1 (histories of format 3 to 5) wrote every field in every row; it is read as it is (rowV1).
 * Rows are decoded one at a time (row(i)), the session id alone without the rest (id(i)).
 * Measured (records-cost 100,000 `history`, 2026-12-07): a version-1 row was 14 % of the records thread.
 */
import { reversed, type CloseReason, type DenyReason, type FiveTuple, type InterfaceRef, type MigrationReason, type PathChange, type PerDirection, type SessionRecord } from '../record.js';
import type { SessionRole } from '../../dataplane/events.js';
import { OPENED_DNAT, OPENED_SNAT } from '../../dataplane/fact-ring.js';
import { outerProtocol, roleName } from '../../dataplane/session-ops.js';
import { addressText } from '../../dataplane/session-tuples.js';
import { SvrError } from '../../errors.js';
import type { PlainRow } from '../open-sessions.js';
import { idHashes, uuidHashes } from './id-index.js';
import { uuidBytes, uuidText } from './keys.js';

export const BLOCK_VERSION = 2;
/** every field in every row (the blocks of histories of format 3 to 5) */
const BLOCK_V1 = 1;
const HEAD_V1 = 9;
const HEAD = 17;
const UUID_TAG = 0xff;
const STRING_TAG = 0;

/** version 1's flags (u16) */
const F_END = 1;
const F_WAYPOINT = 2;
const F_NAT = 4;
const F_INGRESS_IF = 8;
const F_EGRESS_IF = 16;
const F_RETRANS = 32;
const F_CLOSE = 64;
const F_DENIED = 128;
/** version 2's flags (u8): F_END, F_NAT, F_RETRANS, F_DENIED as above, and what is there because it does not follow */
const G_SEQ = 2;
const G_REVERSE = 8;
const G_DELTA = 16;
const G_CHANGES = 64;
const ROLES: readonly SessionRole[] = ['ingress', 'egress', 'local'];
/** BlockWriter's string fields (its last string per field); a tuple's src at S_x, its dst at S_x + 1 */
const S_SOURCE = 0;
const S_REVERSE = 2;
const S_NAT = 4;
const S_OTHER = 6;
const SLOTS = 7;

const utf8 = new TextEncoder();
const utf8Decode = new TextDecoder();

/** A names entry: the strings and numbers a row does not repeat (the writer compares the next row's with them). */
export interface Names {
  role: SessionRole;
  router: string;
  tenant: string;
  service: string;
  application: string;
  ingressRouter: string;
  egressRouter: string;
  dst: string;
  dstPort: number;
  protocol: number;
  paths: readonly string[];
  closeReason: CloseReason | undefined;
  ingressInterface: InterfaceRef | undefined;
  egressInterface: InterfaceRef | undefined;
  /** the waypoint's addresses and protocol (its ports are the row's) */
  waypoint: Pick<FiveTuple, 'src' | 'dst' | 'protocol'> | undefined;
}

/** the entries a writer compares a row with before making a new one: the last used and this many before it */
const NAMES_LOOKBACK = 8;

const sameInterface = (a: InterfaceRef | undefined, b: InterfaceRef | undefined): boolean =>
  a === b || (a !== undefined && b !== undefined && a.name === b.name && a.index === b.index);

function samePaths(a: readonly string[], b: readonly string[]): boolean {
  if (a === b) return true;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Whether a row's repeated fields `r` are the entry's (strings compared as the same object first: a row session's names are). */
function named(n: Names, r: Names): boolean {
  const w = r.waypoint;
  const nw = n.waypoint;
  return n.router === r.router && n.tenant === r.tenant && n.service === r.service && n.application === r.application &&
    n.dst === r.dst && n.dstPort === r.dstPort && n.protocol === r.protocol && n.role === r.role &&
    n.ingressRouter === r.ingressRouter && n.egressRouter === r.egressRouter && n.closeReason === r.closeReason &&
    sameInterface(n.ingressInterface, r.ingressInterface) && sameInterface(n.egressInterface, r.egressInterface) &&
    (w === undefined ? nw === undefined : nw !== undefined && nw.src === w.src && nw.dst === w.dst && nw.protocol === w.protocol) &&
    samePaths(n.paths, r.paths);
}

/** the paths of a local plain session's rows */
const NO_PATHS: readonly string[] = Object.freeze([]);

/** A names entry to fill (BlockWriter's row at hand). */
const emptyNames = (): Names => ({
  role: 'ingress', router: '', tenant: '', service: '', application: '', ingressRouter: '', egressRouter: '', dst: '', dstPort: 0, protocol: 0,
  paths: NO_PATHS, closeReason: undefined, ingressInterface: undefined, egressInterface: undefined, waypoint: undefined,
});

/** Whether `t` is `of` reversed (a reply 5-tuple that follows from the forward or NAT one). */
const reverseOf = (t: FiveTuple, of: FiveTuple): boolean =>
  t.src === of.dst && t.dst === of.src && t.srcPort === of.dstPort && t.dstPort === of.srcPort && t.protocol === of.protocol;

const sameCounts = (d: SessionRecord['delta'], r: SessionRecord): boolean =>
  d.packets[0] === r.packets[0] && d.packets[1] === r.packets[1] && d.bytes[0] === r.bytes[0] && d.bytes[1] === r.bytes[1];

/** Builds one block; reused batch after batch (its buffers grow to the largest block and stay). */
export class BlockWriter {
  private buf = new Uint8Array(1 << 16);
  private at = 0;
  private readonly offsets: number[] = [];
  private readonly strings = new Map<string, number>();
  private readonly list: string[] = [];
  /** per field (S_*): the last string and its ref in this block */
  private readonly lastStr: (string | undefined)[] = new Array<string | undefined>(SLOTS).fill(undefined);
  private readonly lastRef = new Int32Array(SLOTS);
  /** the names entries, encoded as they are made (names), and the one the last row used */
  private readonly names: Names[] = [];
  private nameBuf = new Uint8Array(1024);
  private nameAt = 0;
  private lastNames = -1;
  /** the first row's end time: the others' are written relative to it */
  private baseMs = 0;
  /** the row at hand's names (filled row by row: an entry is made of a copy only when none matches) */
  private readonly rowNames = emptyNames();
  /** a plain row's waypoint addresses and protocol (rowNames.waypoint) */
  private readonly rowWaypoint: NonNullable<Names['waypoint']> = { src: '', dst: '', protocol: 0 };

  /**
   * Appends a record; returns its row number. `idWords` (at `idAt`): the session id's 4 words, when the caller has
   * them (a fact ring's row: the same bytes as r.sessionId parsed, without parsing it).
   */
  add(r: SessionRecord, idWords?: Uint32Array, idAt = 0): number {
    const row = this.begin(r.endMs);
    if (idWords !== undefined) this.uuid(idWords, idAt);
    else if (uuidBytes(r.sessionId, this.buf, this.at + 1)) {
      this.buf[this.at] = UUID_TAG;
      this.at += 17;
    } else {
      this.buf[this.at++] = STRING_TAG;
      this.str(r.sessionId, S_OTHER);
    }
    const reverse = !reverseOf(r.reverse, r.nat ?? r.forward);
    const delta = !sameCounts(r.delta, r);
    const flags = (r.kind === 'end' ? F_END : 0) | (r.seq !== 0 ? G_SEQ : 0) | (r.nat !== undefined ? F_NAT : 0) | (reverse ? G_REVERSE : 0) |
      (delta ? G_DELTA : 0) | (r.tcpRetransmissions !== undefined ? F_RETRANS : 0) | (r.pathChanges.length > 0 ? G_CHANGES : 0) |
      (r.deniedReason !== undefined ? F_DENIED : 0);
    this.buf[this.at++] = flags;
    const n = this.rowNames;
    ({
      role: n.role, router: n.router, tenant: n.tenant, service: n.service, application: n.application, ingressRouter: n.ingressRouter, egressRouter: n.egressRouter,
      paths: n.paths, closeReason: n.closeReason, ingressInterface: n.ingressInterface, egressInterface: n.egressInterface, waypoint: n.waypoint,
    } = r);
    ({ dst: n.dst, dstPort: n.dstPort, protocol: n.protocol } = r.forward);
    this.num(this.namesOf(n));
    if (r.seq !== 0) this.num(r.seq);
    this.str(r.forward.src, S_SOURCE);
    this.num(r.forward.srcPort);
    if (r.waypoint !== undefined) {
      this.num(r.waypoint.srcPort);
      this.num(r.waypoint.dstPort);
    }
    if (r.nat !== undefined) this.tuple(r.nat, S_NAT);
    if (reverse) this.tuple(r.reverse, S_REVERSE);
    if (r.pathChanges.length > 0) {
      this.num(r.pathChanges.length);
      for (const c of r.pathChanges) {
        this.ensure(64);
        this.num(c.atMs);
        this.str(c.from, S_OTHER);
        this.str(c.to, S_OTHER);
        this.str(c.reason, S_OTHER);
      }
    }
    this.ensure(128);
    this.pair(r.packets);
    this.pair(r.bytes);
    if (delta) {
      this.pair(r.delta.packets);
      this.pair(r.delta.bytes);
    }
    if (r.tcpRetransmissions !== undefined) this.pair(r.tcpRetransmissions);
    this.times(r.endMs, r.startMs);
    if (r.deniedReason !== undefined) this.str(r.deniedReason, S_OTHER);
    return row;
  }

  /**
   * Appends a plain session's end (open-sessions.ts `plain`, its slot's words `words` read into `p`), ended at `endMs`
   * for `reason`: the row add() writes of its end record (OpenSessions.record), from the slot. What a plain end record
   * leaves out is left out here: seq (0), the reply 5-tuple (the NAT or forward one reversed), the deltas (its
   * totals), path changes, retransmissions, a deny reason. Returns its row number.
   */
  addPlain(words: Uint32Array, p: PlainRow, endMs: number, reason: CloseReason): number {
    const row = this.begin(endMs);
    this.uuid(words, p.idAt);
    const nat = p.natFlags !== 0;
    this.buf[this.at++] = F_END | (nat ? F_NAT : 0);
    const n = this.rowNames;
    const role = roleName(p.role);
    const path = p.path;
    const onPath = path !== undefined && role !== 'local';
    const peer = path?.peer ?? '';
    const a = p.addrAt;
    n.role = role;
    n.router = p.router;
    n.tenant = p.tenant;
    n.service = p.service;
    n.application = p.application;
    n.ingressRouter = role === 'egress' ? peer : p.router;
    n.egressRouter = role === 'ingress' ? peer : p.router;
    n.dst = addressText(words, a + 4, p.family);
    n.dstPort = p.ports & 0xffff;
    n.protocol = p.protocol;
    n.paths = onPath ? path.only : NO_PATHS;
    n.closeReason = reason;
    n.ingressInterface = p.ingressInterface;
    n.egressInterface = p.egressInterface;
    n.waypoint = undefined;
    if (onPath) {
      // the forward direction's SVR 5-tuple (open-sessions.ts waypoint)
      const w = this.rowWaypoint;
      w.src = role === 'ingress' ? path.local : path.remote;
      w.dst = role === 'ingress' ? path.remote : path.local;
      w.protocol = outerProtocol(p.protocol);
      n.waypoint = w;
    }
    this.num(this.namesOf(n));
    const src = addressText(words, a, p.family);
    this.str(src, S_SOURCE);
    this.num(p.ports >>> 16);
    if (onPath) {
      const local = p.wpPorts >>> 16;
      const remote = p.wpPorts & 0xffff;
      this.num(role === 'ingress' ? local : remote);
      this.num(role === 'ingress' ? remote : local);
    }
    if (nat) {
      const natSrc = (p.natFlags & OPENED_SNAT) !== 0 ? addressText(words, a + 8, p.family) : src;
      const natDst = (p.natFlags & OPENED_DNAT) !== 0 ? addressText(words, a + 12, p.family) : n.dst;
      this.fields(natSrc, natDst, p.natPorts >>> 16, p.natPorts & 0xffff, p.protocol, S_NAT);
    }
    this.ensure(128);
    this.num(p.packetsFwd);
    this.num(p.packetsRev);
    this.num(p.bytesFwd);
    this.num(p.bytesRev);
    this.times(endMs, p.startMs);
    return row;
  }

  /** A row at the end (its offset; the block's base time at its first): its number. */
  private begin(endMs: number): number {
    const row = this.offsets.length;
    if (row === 0) this.baseMs = Math.round(endMs);
    this.offsets.push(this.at);
    this.ensure(64);
    return row;
  }

  /** A UUID session id: its 4 words at `at` of `words`. */
  private uuid(words: Uint32Array, at: number): void {
    const b = this.buf;
    let i = this.at;
    b[i++] = UUID_TAG;
    for (let k = 0; k < 4; k++) {
      const w = words[at + k]!;
      b[i++] = w >>> 24;
      b[i++] = (w >>> 16) & 0xff;
      b[i++] = (w >>> 8) & 0xff;
      b[i++] = w & 0xff;
    }
    this.at = i;
  }

  /** A row's end, relative to the block's base, and its length (both to the ms). */
  private times(endMs: number, startMs: number): void {
    const end = Math.round(endMs);
    this.num(end - this.baseMs);
    this.num(end - Math.round(startMs));
  }

  get rows(): number {
    return this.offsets.length;
  }

  /** The names entry of the row added last (its postings but the client's address follow from it: open-block.ts). */
  get entry(): number {
    return this.lastNames;
  }

  /** The names of entry `entry`. */
  entryNames(entry: number): Names {
    return this.names[entry]!;
  }

  /** The client's address of the row added last (its forward source, as the block holds it). */
  get source(): string {
    return this.lastStr[S_SOURCE]!;
  }

  /** Each row's id hashes as a filter of format 5 takes them (id-index.ts), row r's at 2r of `out`: a UUID's from its 16 bytes here. */
  idHashes(out: Uint32Array): void {
    const b = this.buf;
    for (let row = 0; row < this.offsets.length; row++) {
      const at = this.offsets[row]!;
      if (b[at] === UUID_TAG) uuidHashes(b, at + 1, out, row * 2);
      else {
        let ref = 0;
        for (let i = at + 1, shift = 0; ; i++, shift += 7) {
          ref |= (b[i]! & 0x7f) << shift;
          if (b[i]! < 0x80) break;
        }
        idHashes(this.list[ref]!, out, row * 2);
      }
    }
  }

  /** The block (a new buffer), its rows in `order` (row numbers as added; default: as added), and the writer empty again. */
  finish(order?: readonly number[]): Uint8Array {
    const rows = this.offsets.length;
    const tableAt = HEAD + rows * 4 + this.at;
    // the string table: room for each string as UTF-8 at its longest (3 bytes a UTF-16 unit) and its length
    let tableBytes = 10 + 5 + this.nameAt;
    for (const s of this.list) tableBytes += s.length * 3 + 5;
    const out = new Uint8Array(tableAt + tableBytes);
    const view = new DataView(out.buffer);
    out[0] = BLOCK_VERSION;
    view.setUint32(1, rows);
    view.setUint32(5, tableAt);
    view.setFloat64(9, this.baseMs);
    const base = HEAD + rows * 4;
    for (let i = 0; i < rows; i++) view.setUint32(HEAD + i * 4, base + this.offsets[order === undefined ? i : order[i]!]!);
    out.set(this.buf.subarray(0, this.at), base);
    let at = writeVarint(out, tableAt, this.list.length);
    for (const s of this.list) at = writeUtf8(out, at, s);
    at = writeVarint(out, at, this.names.length);
    out.set(this.nameBuf.subarray(0, this.nameAt), at);
    at += this.nameAt;
    this.at = 0;
    this.offsets.length = 0;
    this.strings.clear();
    this.list.length = 0;
    this.lastStr.fill(undefined);
    this.names.length = 0;
    this.nameAt = 0;
    this.lastNames = -1;
    return out.subarray(0, at);
  }

  /** The names entry of a row's names `r`: the last row's, one of the few before it, or a new one (a copy of `r`). */
  private namesOf(r: Names): number {
    const names = this.names;
    if (this.lastNames >= 0 && named(names[this.lastNames]!, r)) return this.lastNames;
    for (let i = names.length - 1; i >= 0 && i >= names.length - NAMES_LOOKBACK; i--) {
      if (i !== this.lastNames && named(names[i]!, r)) return (this.lastNames = i);
    }
    const w = r.waypoint;
    const n: Names = { ...r, waypoint: w === undefined ? undefined : { src: w.src, dst: w.dst, protocol: w.protocol } };
    names.push(n);
    this.encodeNames(n);
    return (this.lastNames = names.length - 1);
  }

  /** A names entry into nameBuf: role, strings as refs, an optional one as 0 or ref + 1, numbers zig-zag (a local session's egress interface is -1). */
  private encodeNames(n: Names): void {
    const need = this.nameAt + 5 * (24 + n.paths.length);
    if (need > this.nameBuf.length) {
      const bigger = new Uint8Array(need * 2);
      bigger.set(this.nameBuf.subarray(0, this.nameAt));
      this.nameBuf = bigger;
    }
    const put = (v: number): void => {
      this.nameAt = writeVarint(this.nameBuf, this.nameAt, v);
    };
    put(zigzag(ROLES.indexOf(n.role)));
    for (const s of [n.router, n.tenant, n.service, n.application, n.ingressRouter, n.egressRouter, n.dst]) put(this.ref(s));
    put(zigzag(n.dstPort));
    put(zigzag(n.protocol));
    put(n.paths.length);
    for (const p of n.paths) put(this.ref(p));
    put(n.closeReason === undefined ? 0 : this.ref(n.closeReason) + 1);
    for (const i of [n.ingressInterface, n.egressInterface]) {
      put(i === undefined ? 0 : this.ref(i.name) + 1);
      if (i !== undefined) put(zigzag(i.index));
    }
    put(n.waypoint === undefined ? 0 : this.ref(n.waypoint.src) + 1);
    if (n.waypoint !== undefined) {
      put(this.ref(n.waypoint.dst));
      put(zigzag(n.waypoint.protocol));
    }
  }

  private ensure(n: number): void {
    if (this.at + n <= this.buf.length) return;
    const bigger = new Uint8Array(Math.max(this.buf.length * 2, this.at + n));
    bigger.set(this.buf.subarray(0, this.at));
    this.buf = bigger;
  }

  /** whole numbers (times in ms are rounded to the ms) */
  private num(n: number): void {
    if ((n & 0x3fffffff) === n) {
      // 0 to 2^30 - 1 (all but times): zig-zag and varint in 32-bit operations
      let z = n << 1;
      const buf = this.buf;
      let at = this.at;
      while (z >= 0x80) {
        buf[at++] = (z & 0x7f) | 0x80;
        z >>>= 7;
      }
      buf[at++] = z;
      this.at = at;
    } else this.at = writeVarint(this.buf, this.at, zigzag(Math.round(n)));
  }

  /** A string's ref in the table, added when new. */
  private ref(s: string): number {
    let ref = this.strings.get(s);
    if (ref === undefined) {
      ref = this.list.length;
      this.strings.set(s, ref);
      this.list.push(s);
    }
    return ref;
  }

  /**
   * A string's ref into the table; `slot` (the field) remembers the last string and its ref: the client's
   * address repeats record after record, and comparing the same string object costs less than a map lookup.
   */
  private str(s: string, slot: number): void {
    let ref: number;
    if (s === this.lastStr[slot]) ref = this.lastRef[slot]!;
    else {
      ref = this.ref(s);
      this.lastStr[slot] = s;
      this.lastRef[slot] = ref;
    }
    this.ensure(8);
    this.at = writeVarint(this.buf, this.at, ref);
  }

  /** a 5-tuple; its addresses in `slot` and `slot + 1` */
  private tuple(t: FiveTuple, slot: number): void {
    this.fields(t.src, t.dst, t.srcPort, t.dstPort, t.protocol, slot);
  }

  /** a 5-tuple's fields (tuple) */
  private fields(src: string, dst: string, srcPort: number, dstPort: number, protocol: number, slot: number): void {
    this.ensure(64);
    this.str(src, slot);
    this.str(dst, slot + 1);
    this.num(srcPort);
    this.num(dstPort);
    this.num(protocol);
  }

  private pair(p: PerDirection): void {
    this.num(p[0]);
    this.num(p[1]);
  }
}

/** A block read back (version 2, or 1 as it was written): rows decoded on demand. */
export class Block {
  readonly rows: number;
  private readonly version: number;
  private readonly head: number;
  private readonly baseMs: number;
  private readonly strings: string[] = [];
  private readonly names: Names[] = [];
  private readonly view: DataView;
  private at = 0;

  constructor(private readonly bytes: Uint8Array) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.version = bytes[0] ?? 0;
    if ((this.version !== BLOCK_VERSION && this.version !== BLOCK_V1) || bytes.length < (this.version === BLOCK_V1 ? HEAD_V1 : HEAD)) {
      throw new SvrError('SVR_ERR_HISTORY_STORE', `a session history block has version ${bytes[0]} (this node reads ${BLOCK_V1} and ${BLOCK_VERSION}): the history was written by another version`);
    }
    this.head = this.version === BLOCK_V1 ? HEAD_V1 : HEAD;
    this.baseMs = this.version === BLOCK_V1 ? 0 : this.view.getFloat64(9);
    this.rows = this.view.getUint32(1);
    this.at = this.view.getUint32(5);
    const count = this.varint();
    for (let i = 0; i < count; i++) {
      const len = this.varint();
      this.strings.push(utf8Decode.decode(bytes.subarray(this.at, this.at + len)));
      this.at += len;
    }
    if (this.version === BLOCK_VERSION) for (let n = this.varint(); n > 0; n--) this.names.push(this.namesEntry());
  }

  /** The session id of row `i`. */
  id(i: number): string {
    this.at = this.view.getUint32(this.head + i * 4);
    return this.sessionId();
  }

  /** Row `i` as a record. */
  row(i: number): SessionRecord {
    return this.version === BLOCK_V1 ? this.rowV1(i) : this.rowV2(i);
  }

  private rowV2(i: number): SessionRecord {
    this.at = this.view.getUint32(this.head + i * 4);
    const sessionId = this.sessionId();
    const flags = this.bytes[this.at++]!;
    const n = this.names[this.num()];
    if (n === undefined) throw new SvrError('SVR_ERR_HISTORY_STORE', `row ${i} of a session history block names an entry the block does not hold: the block is damaged`);
    const seq = (flags & G_SEQ) !== 0 ? this.num() : 0;
    const forward: FiveTuple = { src: this.str(), dst: n.dst, srcPort: this.num(), dstPort: n.dstPort, protocol: n.protocol };
    const w = n.waypoint;
    const waypoint = w !== undefined ? { src: w.src, dst: w.dst, srcPort: this.num(), dstPort: this.num(), protocol: w.protocol } : undefined;
    const nat = (flags & F_NAT) !== 0 ? this.tuple() : undefined;
    const reverse = (flags & G_REVERSE) !== 0 ? this.tuple() : reversed(nat ?? forward);
    const pathChanges: PathChange[] = [];
    if ((flags & G_CHANGES) !== 0) {
      for (let k = this.num(); k > 0; k--) pathChanges.push({ atMs: this.num(), from: this.str(), to: this.str(), reason: this.str() as MigrationReason });
    }
    const packets = this.pair();
    const bytes = this.pair();
    const delta = (flags & G_DELTA) !== 0 ? { packets: this.pair(), bytes: this.pair() } : { packets: [packets[0], packets[1]] as PerDirection, bytes: [bytes[0], bytes[1]] as PerDirection };
    const r: SessionRecord = {
      kind: (flags & F_END) !== 0 ? 'end' : 'interim', sessionId, seq, router: n.router, role: n.role, tenant: n.tenant, service: n.service,
      application: n.application, ingressRouter: n.ingressRouter, egressRouter: n.egressRouter,
      forward, reverse, paths: [...n.paths], pathChanges, packets, bytes, delta, startMs: 0, endMs: 0,
    };
    if (waypoint !== undefined) r.waypoint = waypoint;
    if (nat !== undefined) r.nat = nat;
    if (n.ingressInterface !== undefined) r.ingressInterface = { ...n.ingressInterface };
    if (n.egressInterface !== undefined) r.egressInterface = { ...n.egressInterface };
    if ((flags & F_RETRANS) !== 0) r.tcpRetransmissions = this.pair();
    r.endMs = this.baseMs + this.num();
    r.startMs = r.endMs - this.num();
    if (n.closeReason !== undefined) r.closeReason = n.closeReason;
    if ((flags & F_DENIED) !== 0) r.deniedReason = this.str() as DenyReason;
    return r;
  }

  /** A names entry (BlockWriter.encodeNames). */
  private namesEntry(): Names {
    const role = ROLES[this.num()] ?? 'ingress';
    const [router, tenant, service, application, ingressRouter, egressRouter, dst] = [this.str(), this.str(), this.str(), this.str(), this.str(), this.str(), this.str()];
    const dstPort = this.num();
    const protocol = this.num();
    const paths: string[] = [];
    for (let k = this.varint(); k > 0; k--) paths.push(this.str());
    const reason = this.varint();
    const closeReason = reason === 0 ? undefined : (this.strings[reason - 1] as CloseReason | undefined);
    const iface = (): InterfaceRef | undefined => {
      const name = this.varint();
      return name === 0 ? undefined : { name: this.strings[name - 1] ?? '', index: this.num() };
    };
    const ingressInterface = iface();
    const egressInterface = iface();
    const wp = this.varint();
    const waypoint = wp === 0 ? undefined : { src: this.strings[wp - 1] ?? '', dst: this.str(), protocol: this.num() };
    return { role, router, tenant, service, application, ingressRouter, egressRouter, dst, dstPort, protocol, paths, closeReason, ingressInterface, egressInterface, waypoint };
  }

  /** Row `i` of a version-1 block: every field in the row. */
  private rowV1(i: number): SessionRecord {
    this.at = this.view.getUint32(HEAD_V1 + i * 4);
    const sessionId = this.sessionId();
    const flags = this.bytes[this.at]! | (this.bytes[this.at + 1]! << 8);
    this.at += 2;
    const seq = this.num();
    const role = ROLES[this.num()] ?? 'ingress';
    const router = this.str();
    const tenant = this.str();
    const service = this.str();
    const application = this.str();
    const ingressRouter = this.str();
    const egressRouter = this.str();
    const forward = this.tuple();
    const reverse = this.tuple();
    const waypoint = (flags & F_WAYPOINT) !== 0 ? this.tuple() : undefined;
    const nat = (flags & F_NAT) !== 0 ? this.tuple() : undefined;
    const ingressInterface = (flags & F_INGRESS_IF) !== 0 ? this.iface() : undefined;
    const egressInterface = (flags & F_EGRESS_IF) !== 0 ? this.iface() : undefined;
    const paths: string[] = [];
    for (let n = this.num(); n > 0; n--) paths.push(this.str());
    const pathChanges: PathChange[] = [];
    for (let n = this.num(); n > 0; n--) pathChanges.push({ atMs: this.num(), from: this.str(), to: this.str(), reason: this.str() as MigrationReason });
    const packets = this.pair();
    const bytes = this.pair();
    const delta = { packets: this.pair(), bytes: this.pair() };
    const r: SessionRecord = {
      kind: (flags & F_END) !== 0 ? 'end' : 'interim', sessionId, seq, router, role, tenant, service, application, ingressRouter, egressRouter,
      forward, reverse, paths, pathChanges, packets, bytes, delta, startMs: 0, endMs: 0,
    };
    if (waypoint !== undefined) r.waypoint = waypoint;
    if (nat !== undefined) r.nat = nat;
    if (ingressInterface !== undefined) r.ingressInterface = ingressInterface;
    if (egressInterface !== undefined) r.egressInterface = egressInterface;
    if ((flags & F_RETRANS) !== 0) r.tcpRetransmissions = this.pair();
    r.startMs = this.num();
    r.endMs = this.num();
    if ((flags & F_CLOSE) !== 0) r.closeReason = this.str() as CloseReason;
    if ((flags & F_DENIED) !== 0) r.deniedReason = this.str() as DenyReason;
    return r;
  }

  private sessionId(): string {
    if (this.bytes[this.at] === UUID_TAG) {
      const id = uuidText(this.bytes, this.at + 1);
      this.at += 17;
      return id;
    }
    this.at++;
    return this.str();
  }

  private varint(): number {
    let n = 0;
    let scale = 1;
    for (;;) {
      const b = this.bytes[this.at++];
      if (b === undefined) throw new SvrError('SVR_ERR_HISTORY_STORE', 'a session history block ends inside a number: the block is damaged');
      n += (b & 0x7f) * scale;
      if (b < 0x80) return n;
      scale *= 128;
    }
  }

  private num(): number {
    const z = this.varint();
    return z % 2 === 0 ? z / 2 : -(z + 1) / 2;
  }

  private str(): string {
    return this.strings[this.varint()] ?? '';
  }

  private tuple(): FiveTuple {
    return { src: this.str(), dst: this.str(), srcPort: this.num(), dstPort: this.num(), protocol: this.num() };
  }

  private iface(): InterfaceRef {
    return { name: this.str(), index: this.num() };
  }

  private pair(): PerDirection {
    return [this.num(), this.num()];
  }
}

/** Whole numbers, negative ones too, as unsigned (0, -1, 1, -2 ... -> 0, 1, 2, 3 ...). */
const zigzag = (n: number): number => (n >= 0 ? n * 2 : -n * 2 - 1);

/** `s` as length varint and UTF-8 at `at` (room for 3 bytes a UTF-16 unit and 5 of length); returns the end. ASCII byte by byte. */
function writeUtf8(out: Uint8Array, at: number, s: string): number {
  const n = s.length;
  if (n < 0x80) {
    let i = 0;
    for (; i < n; i++) {
      const c = s.charCodeAt(i);
      if (c >= 0x80) break;
      out[at + 1 + i] = c;
    }
    if (i === n) {
      out[at] = n;
      return at + 1 + n;
    }
  }
  const bytes = utf8.encode(s);
  at = writeVarint(out, at, bytes.length);
  out.set(bytes, at);
  return at + bytes.length;
}

/**
 * A whole number as LEB128. Above 28 bits (times: about 2^42 after zig-zag) the low 28 bits go as four 7-bit bytes
 * per division, the rest in 32-bit operations: a byte by `%` and `Math.floor` on doubles took ~3 % of the records thread.
 */
function writeVarint(buf: Uint8Array, at: number, n: number): number {
  while (n >= 0x10000000) {
    const high = Math.floor(n / 0x10000000);
    let low = n - high * 0x10000000;
    for (let k = 0; k < 4; k++, low >>>= 7) buf[at++] = (low & 0x7f) | 0x80;
    n = high;
  }
  while (n >= 0x80) {
    buf[at++] = (n & 0x7f) | 0x80;
    n >>>= 7;
  }
  buf[at++] = n;
  return at;
}
