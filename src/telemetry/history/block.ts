/**
 * A history block: the records of one write batch in one binary value (one LevelDB put per batch instead of
 * two keys and a JSON value per record).
 *
 *   block = version u8 (1) | rows u32 | string table offset u32 | row offsets (u32 each) | rows | string table
 *   row   = session id (0xff + 16 bytes for a UUID, else a string ref) | flags u16 | fields in a fixed
 *           order, those of absent optional fields left out (flags say which are there)
 *   numbers are zig-zag LEB128 varints (whole numbers up to 2^53; times are kept to the ms); strings are refs (varint) into the block's
 *   string table (each distinct string once: tenants, services, routers, paths, addresses repeat)
 *   string table = count varint | (length varint, UTF-8) per string
 * Rows are decoded one at a time (row(i)), the session id alone without the rest (id(i)).
 */
import type { CloseReason, DenyReason, FiveTuple, InterfaceRef, MigrationReason, PathChange, PerDirection, SessionRecord } from '../record.js';
import type { SessionRole } from '../../dataplane/events.js';
import { SvrError } from '../../errors.js';
import { idHashes, uuidHashes } from './id-index.js';
import { uuidBytes, uuidText } from './keys.js';

export const BLOCK_VERSION = 1;
const UUID_TAG = 0xff;
const STRING_TAG = 0;

const F_END = 1;
const F_WAYPOINT = 2;
const F_NAT = 4;
const F_INGRESS_IF = 8;
const F_EGRESS_IF = 16;
const F_RETRANS = 32;
const F_CLOSE = 64;
const F_DENIED = 128;
const ROLES: readonly SessionRole[] = ['ingress', 'egress', 'local'];
/** BlockWriter's string fields (its last string per field); a tuple's src at S_x, its dst at S_x + 1 */
const S_ROUTER = 0;
const S_TENANT = 1;
const S_SERVICE = 2;
const S_APPLICATION = 3;
const S_INGRESS_ROUTER = 4;
const S_EGRESS_ROUTER = 5;
const S_FORWARD = 6;
const S_REVERSE = 8;
const S_WAYPOINT = 10;
const S_NAT = 12;
const S_INGRESS_IF = 14;
const S_EGRESS_IF = 15;
const S_PATH = 16;
const S_REASON = 17;
const S_OTHER = 18;
const SLOTS = 19;

const utf8 = new TextEncoder();
const utf8Decode = new TextDecoder();

/** Builds one block; reused batch after batch (its buffer grows to the largest block and stays). */
export class BlockWriter {
  private buf = new Uint8Array(1 << 16);
  private at = 0;
  private readonly offsets: number[] = [];
  private readonly strings = new Map<string, number>();
  private readonly list: string[] = [];
  /** per field (S_*): the last string and its ref in this block */
  private readonly lastStr: (string | undefined)[] = new Array<string | undefined>(SLOTS).fill(undefined);
  private readonly lastRef = new Int32Array(SLOTS);

  /**
   * Appends a record; returns its row number. `idWords` (at `idAt`): the session id's 4 words, when the caller has
   * them (a fact ring's row: the same bytes as r.sessionId parsed, without parsing it).
   */
  add(r: SessionRecord, idWords?: Uint32Array, idAt = 0): number {
    const row = this.offsets.length;
    this.offsets.push(this.at);
    this.ensure(64);
    if (idWords !== undefined) {
      const b = this.buf;
      let at = this.at;
      b[at++] = UUID_TAG;
      for (let k = 0; k < 4; k++) {
        const w = idWords[idAt + k]!;
        b[at++] = w >>> 24;
        b[at++] = (w >>> 16) & 0xff;
        b[at++] = (w >>> 8) & 0xff;
        b[at++] = w & 0xff;
      }
      this.at = at;
    } else if (uuidBytes(r.sessionId, this.buf, this.at + 1)) {
      this.buf[this.at] = UUID_TAG;
      this.at += 17;
    } else {
      this.buf[this.at++] = STRING_TAG;
      this.str(r.sessionId, S_OTHER);
    }
    const flags = (r.kind === 'end' ? F_END : 0) | (r.waypoint !== undefined ? F_WAYPOINT : 0) | (r.nat !== undefined ? F_NAT : 0) |
      (r.ingressInterface !== undefined ? F_INGRESS_IF : 0) | (r.egressInterface !== undefined ? F_EGRESS_IF : 0) |
      (r.tcpRetransmissions !== undefined ? F_RETRANS : 0) | (r.closeReason !== undefined ? F_CLOSE : 0) | (r.deniedReason !== undefined ? F_DENIED : 0);
    this.buf[this.at++] = flags & 0xff;
    this.buf[this.at++] = flags >> 8;
    this.num(r.seq);
    this.num(ROLES.indexOf(r.role));
    this.str(r.router, S_ROUTER);
    this.str(r.tenant, S_TENANT);
    this.str(r.service, S_SERVICE);
    this.str(r.application, S_APPLICATION);
    this.str(r.ingressRouter, S_INGRESS_ROUTER);
    this.str(r.egressRouter, S_EGRESS_ROUTER);
    this.tuple(r.forward, S_FORWARD);
    this.tuple(r.reverse, S_REVERSE);
    if (r.waypoint !== undefined) this.tuple(r.waypoint, S_WAYPOINT);
    if (r.nat !== undefined) this.tuple(r.nat, S_NAT);
    if (r.ingressInterface !== undefined) this.iface(r.ingressInterface, S_INGRESS_IF);
    if (r.egressInterface !== undefined) this.iface(r.egressInterface, S_EGRESS_IF);
    this.num(r.paths.length);
    for (const p of r.paths) this.str(p, S_PATH);
    this.num(r.pathChanges.length);
    for (const c of r.pathChanges) {
      this.ensure(64);
      this.num(c.atMs);
      this.str(c.from, S_OTHER);
      this.str(c.to, S_OTHER);
      this.str(c.reason, S_OTHER);
    }
    this.ensure(128);
    this.pair(r.packets);
    this.pair(r.bytes);
    this.pair(r.delta.packets);
    this.pair(r.delta.bytes);
    if (r.tcpRetransmissions !== undefined) this.pair(r.tcpRetransmissions);
    this.num(r.startMs);
    this.num(r.endMs);
    if (r.closeReason !== undefined) this.str(r.closeReason, S_REASON);
    if (r.deniedReason !== undefined) this.str(r.deniedReason, S_OTHER);
    return row;
  }

  get rows(): number {
    return this.offsets.length;
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
    const tableAt = 9 + rows * 4 + this.at;
    // the string table: room for each string as UTF-8 at its longest (3 bytes a UTF-16 unit) and its length
    let tableBytes = 10;
    for (const s of this.list) tableBytes += s.length * 3 + 5;
    const out = new Uint8Array(tableAt + tableBytes);
    const view = new DataView(out.buffer);
    out[0] = BLOCK_VERSION;
    view.setUint32(1, rows);
    view.setUint32(5, tableAt);
    const base = 9 + rows * 4;
    for (let i = 0; i < rows; i++) view.setUint32(9 + i * 4, base + this.offsets[order === undefined ? i : order[i]!]!);
    out.set(this.buf.subarray(0, this.at), base);
    let at = writeVarint(out, tableAt, this.list.length);
    for (const s of this.list) at = writeUtf8(out, at, s);
    this.at = 0;
    this.offsets.length = 0;
    this.strings.clear();
    this.list.length = 0;
    this.lastStr.fill(undefined);
    return out.subarray(0, at);
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

  /**
   * A string's ref into the table; `slot` (the field) remembers the last string and its ref: most fields
   * repeat record after record (router, destination, waypoint, interfaces, path, reason), and comparing the
   * same string object costs less than a map lookup.
   */
  private str(s: string, slot: number): void {
    let ref: number;
    if (s === this.lastStr[slot]) ref = this.lastRef[slot]!;
    else {
      const known = this.strings.get(s);
      if (known === undefined) {
        ref = this.list.length;
        this.strings.set(s, ref);
        this.list.push(s);
      } else ref = known;
      this.lastStr[slot] = s;
      this.lastRef[slot] = ref;
    }
    this.ensure(8);
    this.at = writeVarint(this.buf, this.at, ref);
  }

  /** a 5-tuple; its addresses in `slot` and `slot + 1` */
  private tuple(t: FiveTuple, slot: number): void {
    this.ensure(64);
    this.str(t.src, slot);
    this.str(t.dst, slot + 1);
    this.num(t.srcPort);
    this.num(t.dstPort);
    this.num(t.protocol);
  }

  private iface(i: InterfaceRef, slot: number): void {
    this.ensure(32);
    this.str(i.name, slot);
    this.num(i.index);
  }

  private pair(p: PerDirection): void {
    this.num(p[0]);
    this.num(p[1]);
  }
}

/** A block read back: rows decoded on demand. */
export class Block {
  readonly rows: number;
  private readonly strings: string[] = [];
  private readonly view: DataView;
  private at = 0;

  constructor(private readonly bytes: Uint8Array) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    if (bytes.length < 9 || bytes[0] !== BLOCK_VERSION) {
      throw new SvrError('SVR_ERR_HISTORY_STORE', `a session history block has version ${bytes[0]} (this node reads ${BLOCK_VERSION}): the history was written by another version`);
    }
    this.rows = this.view.getUint32(1);
    this.at = this.view.getUint32(5);
    const count = this.varint();
    for (let i = 0; i < count; i++) {
      const len = this.varint();
      this.strings.push(utf8Decode.decode(bytes.subarray(this.at, this.at + len)));
      this.at += len;
    }
  }

  /** The session id of row `i`. */
  id(i: number): string {
    this.at = this.view.getUint32(9 + i * 4);
    return this.sessionId();
  }

  /** Row `i` as a record. */
  row(i: number): SessionRecord {
    this.at = this.view.getUint32(9 + i * 4);
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
      const b = this.bytes[this.at++]!;
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
