/**
 * The session table's columns (session-table.ts): one typed array per field, indexed by row.
 * Memory: with the native addon the columns are reserved for the limit (row-memory.ts: a page is resident
 * once written, no copy to grow) and a segment of SEGMENT_ROWS whose rows are all removed gives its pages back
 * (session-table.ts); without it the columns grow by doubling.
 * A row is 154 B for an IPv4 session without NAT, transit, plugin tags or metadata-only signing: the columns of
 * those are made by their first use (IPv6 addresses 32 B a row more; 8 B for each native steady path that marks
 * a row: markedWithin/setMarked). The HA sync arrays are made when control first collects (session-sync.ts).
 */
import { readU32 } from '../packet/checksum.js';
import { KW4, KW6 } from './flow-key.js';
import { rowMemory } from './row-memory.js';
import { IdCounts } from './session-counts.js';
import { MARK_OUT, msSince, RET_KEYS, SEGMENT_ROWS, SF_ACTIVE } from './session-defs.js';

/** Float64 words of a row's sync state (syncRows): mark, expiry, flags, padding (32 B: never across two cache lines;
 *  native/flow-table.h reads the same layout). */
export const SYNC_WORDS = 4;

export type Column = Uint8Array | Uint16Array | Int16Array | Uint32Array | Float64Array | Int32Array;
export interface ColumnType<T extends Column> {
  new (n: number): T;
  new (b: ArrayBuffer): T;
  readonly BYTES_PER_ELEMENT: number;
}

/** log2 of SEGMENT_ROWS: a row's segment is `r >>> SEGMENT_SHIFT`. */
export const SEGMENT_SHIFT = 14;

/** Columns of `cap` rows are reserved (row-memory.ts: pages resident once written) from this many rows on. */
export const reservedFrom = (cap: number): boolean => rowMemory !== null && cap >= SEGMENT_ROWS;

/** A column of `cap` rows of `width` words with `old`'s contents at its start (the table grows, rows keep their index). */
export function grownColumn<T extends Column>(old: T | undefined, ctor: ColumnType<T>, cap: number, width: number): T {
  const next = reservedFrom(cap) ? new ctor(rowMemory!.reserve(cap * width * ctor.BYTES_PER_ELEMENT)) : new ctor(cap * width);
  if (old) (next as unknown as { set(a: T): void }).set(old);
  return next;
}

/** The columns of the rows and their memory (the layers above: session-sync.ts, session-keys.ts, session-table.ts). */
export class SessionColumns {
  /** rows [0, capacity) have been handed out (the others were never written): loops over rows stop here */
  capacity = 0;
  /** rows the columns hold: the session limit when they are reserved (row-memory.ts), else the table grows by
   *  doubling up to the limit */
  protected held = 0;
  flags!: Uint16Array;
  role!: Uint8Array;
  family!: Uint8Array;
  protocol!: Uint8Array;
  /** write tenant and service through setClass, path through setPath: the counts below follow */
  tenant!: Int16Array;
  service!: Int16Array;
  path!: Int16Array;
  /** active sessions per tenant, service and path id (session-counts.ts): read without a walk over the rows */
  readonly perTenant = new IdCounts();
  readonly perService = new IdCounts();
  readonly perPath = new IdCounts();
  inIf!: Int16Array;
  outIf!: Int16Array;
  /** original client -> server addresses: an IPv4 row's here, one word a row; an IPv6 row's in origSrc6/origDst6,
   *  4 words a row, allocated with the first IPv6 session (24 bytes a session less than 4 words for every row).
   *  Read them through srcWords/dstWords (the column of the row's family and `wordsAt`), write them through
   *  setOrigin/setOriginWords. */
  origSrc4!: Uint32Array;
  origDst4!: Uint32Array;
  origSrc6 = new Uint32Array(0);
  origDst6 = new Uint32Array(0);
  /** the first word of the address srcWords/dstWords last returned */
  wordsAt = 0;
  origSrcPort!: Uint16Array;
  origDstPort!: Uint16Array;
  /** this router's waypoint port and the peer's, for the session's path */
  wpLocalPort!: Uint16Array;
  wpPeerPort!: Uint16Array;
  uuid!: Uint32Array;
  /** service-chain bits (plugin stages this session runs through) */
  chain!: Uint32Array;
  /** application id (index into the context's application names; 0 = unknown) */
  app!: Uint16Array;
  /** 1: an ingress session toward a peer behind NAT whose packets ride the peer's control binding until the
   *  peer's reverse packet opens the session's own (docs/wan.md "Sessions toward a router behind NAT") */
  natRelay!: Uint8Array;
  /** NAT of the LAN side toward the server (SF_SNAT / SF_DNAT), 4 words per address; made with the first NATed
   *  session (ensureNatColumns), read only where the row's flags say so */
  natSrc = new Uint32Array(0);
  natDst = new Uint32Array(0);
  natSrcPort = new Uint16Array(0);
  natDstPort = new Uint16Array(0);
  created!: Float64Array;
  /** when the last packet counted and when the session expires, as u32 ms: the data path's clock modulo 2^32
   *  (4 B each instead of 8). Write them with the clock (`= now`, `= now + timeout`: the typed array wraps);
   *  read them through msSince/msUntil (signed distance from now: exact within 24 days, and idle timeouts are
   *  at most 2,147,483 s, docs/configuration.md). */
  lastSeen!: Uint32Array;
  expires!: Uint32Array;
  pktsFwd!: Uint32Array;
  pktsRev!: Uint32Array;
  bytesFwd!: Float64Array;
  bytesRev!: Float64Array;
  /** incremented on every reuse of a row, so control can tell a stale reference */
  gen!: Uint32Array;
  /** the expiry wheel: next/previous row in the same slot, the slot (-1: none) and when it is due */
  dueNext!: Int32Array;
  duePrev!: Int32Array;
  dueSlot!: Int16Array;
  /** the wheel tick (WHEEL_TICK_MS) it is due, from `tickBase` (int32: 17 years of ticks; DUE_NEVER at most) */
  dueTick!: Int32Array;
  /** Columns few sessions use, made by their first write (16 bytes a session less on routers without them;
   *  an unwritten page reads as 0, so 0 means "none" in each): a u32 plugins may set (tagOf/setTag); when
   *  this router last sent a signed packet of the session, on metadata-only paths (signedAtOf/setSignedAt);
   *  transit (multi-hop SVR, transit.ts): the row of the other leg of the session + 1 (relayOf/setRelay). */
  protected tags = new Uint32Array(0);
  protected signed = new Float64Array(0);
  protected relays = new Int32Array(0);
  /** per row, 2 words for each native steady path that marks rows (markedWithin/setMarked; MARK_OUT: svr-out's,
   *  native-mark.ts, MARK_IN: svr-in's, native-mark-in.ts): when it last marked the row (u32 ms, the clock modulo
   *  2^32) and its table's generation then (from 1; 0: never). Made by the first mark; reserved and given back with
   *  the rows (arrays of their own grew to the highest row used and kept it: 12 + 16 B a row at any fill). */
  protected marksOut = new Uint32Array(0);
  protected marksIn = new Uint32Array(0);
  /** keys of the two sides, as written at insert, for removal: per side its family (0: none) | the key's swapped
   *  bit << 3 (what copySideKey returns: HA export reads it here, not in the flow table); IPv4 keys here (KW4
   *  words a row), IPv6 keys in v6Keys (rare; 48 bytes a session less than KW6 columns) */
  inKeyInfo!: Uint8Array;
  outKeyInfo!: Uint8Array;
  inKey!: Uint32Array;
  outKey!: Uint32Array;

  /** return keys: family (0 = free) and key words, RET_KEYS slots per row; empty until first used */
  retFamily = new Uint8Array(0);
  retKey = new Uint32Array(0);
  /** HA sync marks (session-sync.ts): on once control collects changes; the columns exist from then */
  syncing = false;
  /** per row, SYNC_WORDS together (a packet looks at one cache line more): when it was marked changed since it
   *  was last collected (ms, the data path's clock; -1: not marked), then what the partner has of it: idle
   *  expiry and flags (a path or waypoint port change is a migration: marked by emitMigrated, or comes with a flag) */
  syncRows = new Float64Array(0);
  /** 1 when the partner has row r (its removal sends a tombstone) */
  syncSent = new Uint8Array(0);
  /** rows marked changed, in the order marked (each at most once: its mark says so) */
  syncDirty = new Int32Array(0);
  /** [0]: syncDirty's length in use (an array: native/flow-table.h marks rows in these arrays too, same thread) */
  readonly syncTop = new Int32Array(1);
  /** session ids (4 words each) of removed rows the partner has, not yet collected */
  syncTombs = new Uint32Array(0);
  syncTombTop = 0;
  /** called after resize replaced the columns or the HA sync arrays (native-forward.ts follows them: native/fwd.c
   *  accounts and marks in them) */
  onColumns: (() => void) | null = null;
  /** per segment (SEGMENT_ROWS rows): rows in use; its removed rows to hand out again, a list through duePrev
   *  (a free row is in no wheel slot; its dueNext is left as it was for a sweep that walks on from it), -1:
   *  none; rows written since it was created or gave its memory back, from its start */
  protected segActive = new Int32Array(0);
  protected segFree = new Int32Array(0);
  protected segFresh = new Int32Array(0);

  constructor(initialCapacity = 1024) {
    this.resize(initialCapacity);
  }

  protected resize(cap: number): void {
    const grow = <T extends Column>(old: T | undefined, ctor: ColumnType<T>, width = 1): T => grownColumn(old, ctor, cap, width);
    const old = this.held;
    this.flags = grow(this.flags, Uint16Array);
    this.role = grow(this.role, Uint8Array);
    this.family = grow(this.family, Uint8Array);
    this.protocol = grow(this.protocol, Uint8Array);
    this.tenant = grow(this.tenant, Int16Array);
    this.service = grow(this.service, Int16Array);
    this.path = grow(this.path, Int16Array);
    this.inIf = grow(this.inIf, Int16Array);
    this.outIf = grow(this.outIf, Int16Array);
    this.origSrc4 = grow(this.origSrc4, Uint32Array);
    this.origDst4 = grow(this.origDst4, Uint32Array);
    if (this.origSrc6.length > 0) this.allocateV6(cap);
    this.origSrcPort = grow(this.origSrcPort, Uint16Array);
    this.origDstPort = grow(this.origDstPort, Uint16Array);
    this.wpLocalPort = grow(this.wpLocalPort, Uint16Array);
    this.wpPeerPort = grow(this.wpPeerPort, Uint16Array);
    this.uuid = grow(this.uuid, Uint32Array, 4);
    this.chain = grow(this.chain, Uint32Array);
    this.app = grow(this.app, Uint16Array);
    this.natRelay = grow(this.natRelay, Uint8Array);
    if (this.natSrc.length > 0) this.allocateNat(cap);
    this.created = grow(this.created, Float64Array);
    this.lastSeen = grow(this.lastSeen, Uint32Array);
    this.expires = grow(this.expires, Uint32Array);
    this.pktsFwd = grow(this.pktsFwd, Uint32Array);
    this.pktsRev = grow(this.pktsRev, Uint32Array);
    this.bytesFwd = grow(this.bytesFwd, Float64Array);
    this.bytesRev = grow(this.bytesRev, Float64Array);
    this.gen = grow(this.gen, Uint32Array);
    this.dueNext = grow(this.dueNext, Int32Array);
    this.duePrev = grow(this.duePrev, Int32Array);
    this.dueSlot = grow(this.dueSlot, Int16Array);
    this.dueTick = grow(this.dueTick, Int32Array);
    if (this.tags.length > 0) this.tags = grow(this.tags, Uint32Array);
    if (this.signed.length > 0) this.signed = grow(this.signed, Float64Array);
    if (this.relays.length > 0) this.relays = grow(this.relays, Int32Array);
    if (this.marksOut.length > 0) this.marksOut = grow(this.marksOut, Uint32Array, 2);
    if (this.marksIn.length > 0) this.marksIn = grow(this.marksIn, Uint32Array, 2);
    this.inKeyInfo = grow(this.inKeyInfo, Uint8Array);
    this.outKeyInfo = grow(this.outKeyInfo, Uint8Array);
    this.inKey = grow(this.inKey, Uint32Array, KW4);
    this.outKey = grow(this.outKey, Uint32Array, KW4);
    if (this.retFamily.length > 0) this.growReturnKeys(cap);
    if (this.syncing) this.growSync(cap, old);
    this.held = cap;
    const segs = Math.ceil(cap / SEGMENT_ROWS);
    const n = this.segFree.length;
    this.segActive = grownColumn(this.segActive, Int32Array, segs, 1);
    this.segFresh = grownColumn(this.segFresh, Int32Array, segs, 1);
    this.segFree = grownColumn(this.segFree, Int32Array, segs, 1);
    this.segFree.fill(-1, n);
    this.onColumns?.();
  }

  /** Row r's original source address (family[r] set): the column holding it, its first word at `wordsAt`
   *  (IPv4: one word, IPv6: four). */
  srcWords(r: number): Uint32Array {
    if (this.family[r] === 6) {
      this.wordsAt = r * 4;
      return this.origSrc6;
    }
    this.wordsAt = r;
    return this.origSrc4;
  }

  /** Row r's original destination address, as srcWords. */
  dstWords(r: number): Uint32Array {
    if (this.family[r] === 6) {
      this.wordsAt = r * 4;
      return this.origDst6;
    }
    this.wordsAt = r;
    return this.origDst4;
  }

  /** Sets row r's family and original addresses from packet bytes (big-endian, at srcOff of buf and dstOff of
   *  dstBuf). */
  setOrigin(r: number, family: 4 | 6, buf: Uint8Array, srcOff: number, dstOff: number, dstBuf = buf): void {
    this.family[r] = family;
    if (family === 4) {
      this.origSrc4[r] = readU32(buf, srcOff);
      this.origDst4[r] = readU32(dstBuf, dstOff);
      return;
    }
    this.ensureV6Columns();
    for (let w = 0; w < 4; w++) {
      this.origSrc6[r * 4 + w] = readU32(buf, srcOff + w * 4);
      this.origDst6[r * 4 + w] = readU32(dstBuf, dstOff + w * 4);
    }
  }

  /** Sets row r's family and original addresses from address words (IPv4: one word, IPv6: four). */
  setOriginWords(r: number, family: 4 | 6, src: Uint32Array, srcAt: number, dst: Uint32Array, dstAt: number): void {
    this.family[r] = family;
    if (family === 4) {
      this.origSrc4[r] = src[srcAt]!;
      this.origDst4[r] = dst[dstAt]!;
      return;
    }
    this.ensureV6Columns();
    for (let w = 0; w < 4; w++) {
      this.origSrc6[r * 4 + w] = src[srcAt + w]!;
      this.origDst6[r * 4 + w] = dst[dstAt + w]!;
    }
  }

  private ensureV6Columns(): void {
    if (this.origSrc6.length === 0) this.allocateV6(this.held);
  }

  private allocateV6(cap: number): void {
    this.origSrc6 = grownColumn(this.origSrc6, Uint32Array, cap, 4);
    this.origDst6 = grownColumn(this.origDst6, Uint32Array, cap, 4);
  }

  /** The u32 a plugin set on row r (0: none). */
  tagOf(r: number): number {
    return r < this.tags.length ? this.tags[r]! : 0;
  }

  setTag(r: number, v: number): void {
    if (this.tags.length === 0) this.tags = grownColumn(undefined, Uint32Array, this.held, 1);
    this.tags[r] = v >>> 0;
  }

  /** When this router last sent a signed packet of row r on a metadata-only path (-Infinity: none since the
   *  peer last signalled; its next packet is signed). */
  signedAtOf(r: number): number {
    const at = r < this.signed.length ? this.signed[r]! : 0;
    return at === 0 ? -Infinity : at;
  }

  /** Row r sent a signed packet at `now`; -Infinity: its next packet is signed. */
  setSignedAt(r: number, now: number): void {
    if (this.signed.length === 0) {
      if (now === -Infinity) return; // nothing to forget
      this.signed = grownColumn(undefined, Float64Array, this.held, 1);
    }
    this.signed[r] = now === -Infinity ? 0 : now;
  }

  /** Transit: the row of the other leg of row r's session, -1 for none. */
  relayOf(r: number): number {
    return r < this.relays.length ? this.relays[r]! - 1 : -1;
  }

  /** Links row r to `leg` (-1: unlinks it). */
  setRelay(r: number, leg: number): void {
    if (this.relays.length === 0) {
      if (leg < 0) return;
      this.relays = grownColumn(undefined, Int32Array, this.held, 1);
    }
    this.relays[r] = leg + 1;
  }

  /** Whether native steady path `side` (MARK_OUT, MARK_IN) marked row r in its table's generation `gen` less
   *  than `ms` before `now`. */
  markedWithin(side: number, r: number, gen: number, now: number, ms: number): boolean {
    const m = side === MARK_OUT ? this.marksOut : this.marksIn;
    if (r * 2 >= m.length || m[r * 2 + 1] !== gen) return false;
    const d = msSince(now, m[r * 2]!);
    return d >= 0 && d < ms;
  }

  /** Native steady path `side` marked row r at `now` in its table's generation `gen`. */
  setMarked(side: number, r: number, gen: number, now: number): void {
    let m = side === MARK_OUT ? this.marksOut : this.marksIn;
    if (m.length === 0) {
      m = grownColumn(undefined, Uint32Array, this.held, 2);
      if (side === MARK_OUT) this.marksOut = m;
      else this.marksIn = m;
    }
    m[r * 2] = now;
    m[r * 2 + 1] = gen;
  }

  /** NAT columns exist once a session is NATed (36 bytes a session less on routers without NAT). */
  ensureNatColumns(): void {
    if (this.natSrc.length === 0) this.allocateNat(this.held);
  }

  private allocateNat(cap: number): void {
    this.natSrc = grownColumn(this.natSrc, Uint32Array, cap, 4);
    this.natDst = grownColumn(this.natDst, Uint32Array, cap, 4);
    this.natSrcPort = grownColumn(this.natSrcPort, Uint16Array, cap, 1);
    this.natDstPort = grownColumn(this.natDstPort, Uint16Array, cap, 1);
  }

  protected growSync(cap: number, old: number): void {
    const grow = <T extends Column>(a: T, ctor: ColumnType<T>, width = 1): T => grownColumn(a, ctor, cap, width);
    this.syncRows = grow(this.syncRows, Float64Array, SYNC_WORDS);
    for (let r = old; r < Math.min(cap, this.capacity); r++) this.syncRows[r * SYNC_WORDS] = -1; // rows never used: alloc
    this.syncSent = grow(this.syncSent, Uint8Array);
    this.syncDirty = grow(this.syncDirty, Int32Array);
    this.syncTombs = grow(this.syncTombs, Uint32Array, 4);
  }

  protected growReturnKeys(cap: number): void {
    this.retFamily = grownColumn(this.retFamily, Uint8Array, cap, RET_KEYS);
    this.retKey = grownColumn(this.retKey, Uint32Array, cap, RET_KEYS * KW6);
  }

  /** Gives back the memory of rows [from, from + rows) in every column (reserved columns: a segment of free rows). */
  protected releaseRows(from: number, rows: number): void {
    const columns: Column[] = [
      this.flags, this.role, this.family, this.protocol, this.tenant, this.service, this.path, this.inIf, this.outIf,
      this.origSrc4, this.origDst4, this.origSrc6, this.origDst6, this.origSrcPort, this.origDstPort, this.wpLocalPort, this.wpPeerPort, this.uuid,
      this.chain, this.tags, this.app, this.gen, this.natRelay, this.natSrc, this.natDst, this.natSrcPort, this.natDstPort,
      this.created, this.lastSeen, this.expires, this.pktsFwd, this.pktsRev, this.bytesFwd, this.bytesRev,
      this.signed, this.dueNext, this.duePrev, this.dueSlot, this.dueTick, this.relays, this.marksOut, this.marksIn,
      this.inKeyInfo, this.outKeyInfo, this.inKey, this.outKey, this.retFamily, this.retKey,
    ];
    for (const c of columns) {
      if (c.length === 0) continue;
      const perRow = c.byteLength / this.held;
      rowMemory!.release(c.buffer, c.byteOffset + from * perRow, rows * perRow);
    }
  }

  /** Row r's tenant and service ids (its counts follow). */
  setClass(r: number, tenant: number, service: number): void {
    this.perTenant.move(this.tenant[r]!, tenant);
    this.perService.move(this.service[r]!, service);
    this.tenant[r] = tenant;
    this.service[r] = service;
  }

  /** Row r's path id (-1: none, a local session; its count follows). */
  setPath(r: number, p: number): void {
    this.perPath.move(this.path[r]!, p);
    this.path[r] = p;
  }

  isActive(r: number): boolean {
    return r >= 0 && r < this.capacity && (this.flags[r]! & SF_ACTIVE) !== 0;
  }
}
