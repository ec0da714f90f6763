/**
 * The session table: one row per session (both directions), columns in typed arrays, plus two flow
 * tables (IPv4, IPv6) that map each side's flow key to `row << 2 | alt << 1 | fwdSwapped` (see flowRow).
 *
 * A session has two keys: its "in" side (where its first packet arrived) and its "out" side (where it
 * leaves). Ingress router: in = LAN (original 5-tuple), out = WAN (waypoint 5-tuple). Egress router:
 * in = WAN (waypoint 5-tuple), out = LAN (restored original 5-tuple). Local: in and out are LAN.
 * A packet is forward when its key's swapped bit equals the one stored for the forward direction.
 * A third, optional "alt" key is the session's second waypoint 5-tuple when it is duplicated on two paths
 * (packet-duplication); its state lives in a side map, since few sessions have one.
 * Transit router (multi-hop SVR, transit.ts): a session is two linked rows, egress from the previous router
 * (in = its waypoint 5-tuple) and ingress toward the next (out = our waypoint 5-tuple), no LAN key.
 * Return keys (service-function chaining): (function return interface, 5-tuple as diverted) -> row, up to
 * RET_KEYS per row, so a packet coming back from an external function finds its session; installed on
 * the first divert, removed with the row. Their columns are allocated on first use.
 * Bounded: at most `limit` rows (alloc returns -1 beyond: the caller refuses the session and counts it).
 * Memory: with the native addon the columns are reserved for the limit (row-memory.ts: a page is resident
 * once written, no copy to grow), rows are handed out from the lowest segment of SEGMENT_ROWS with room,
 * and a segment whose rows are all removed gives its pages back; without it the columns grow by doubling.
 * The flow tables and the session-id index hold 5 bytes a slot (the keys stay in the rows) and resize
 * incrementally (flow-table.ts). A row is 154 B for an IPv4 session without NAT, transit, plugin tags or
 * metadata-only signing: the columns of those are made by their first use (IPv6 addresses 32 B a row more;
 * 8 B for each native steady path that marks a row: markedWithin/setMarked).
 * 176 B a session in r1's table at 50 % and 99 % of a 1 M limit, 209.5 B at 25 % (bench/memory.ts, with the
 * flow tables' distance bytes; 170 and 198 B without them, 178 and 206 B with 8-byte lastSeen/expires, 218 and
 * 247 B with 4-word address columns, 504, 299 and 1,184 B before reserved rows).
 * Idle expiry: a timer wheel of WHEEL_SLOTS slots of WHEEL_TICK_MS. Every row sits in the slot of the
 * time it may next have expired; a sweep visits only the slots that came due and, in them, only their rows:
 * a row whose `expires` passed is expired, any other moves to the slot of its `expires` (packets move
 * `expires` forward without touching the wheel). So a sweep's work follows the expiries due, whatever the
 * table's size: one visit per row and idle timeout, plus one at its start.
 * HA sync marks (a router pair's active node, docs/high-availability.md "Session state"): off until control
 * first collects (session-rows.ts collectChanges); then a row is marked changed when it is created, when it moves
 * to another path (emitMigrated), when its flags differ from what the partner has or its idle expiry moved
 * SYNC_EXPIRY_MS from the one sent (checkSync, per packet: two compares; the native steady paths' own accounting does
 * the same in these arrays, native/flow-table.h); a removed row that was sent leaves a tombstone
 * (its id). Both lists live in typed arrays sized to the table: no allocation per packet.
 */
import { totalmem } from 'node:os';
import { readU32 } from '../packet/checksum.js';
import { FlowTable, type FlowKeys } from './flow-table.js';
import { KW4, KW6, writeKey } from './flow-key.js';
import { KEY_LAN, KEY_WAN_OURS, KEY_WAN_THEIRS, type Ownership } from './ownership.js';
import { residentBytes, rowMemory } from './row-memory.js';
import { IdCounts } from './session-counts.js';

export const ROLE_INGRESS = 1;
export const ROLE_EGRESS = 2;
export const ROLE_LOCAL = 3;

export const SF_ACTIVE = 0x0001;
/** ingress: forward packets carry metadata until reverse metadata arrives (§5.2 FWD_SIGNAL) */
export const SF_NEEDS_META = 0x0002;
/** egress: reverse packets carry metadata until a forward packet without it arrives (§5.2 REV_SIGNAL) */
export const SF_REV_SIGNAL = 0x0004;
/** egress moved the session to another path itself: reverse metadata names the session id until confirmed */
export const SF_SEND_UUID = 0x0400;
/** the LAN side toward the server uses a translated source (natSrc/natSrcPort) */
export const SF_SNAT = 0x0800;
/** ... and a translated destination (natDst/natDstPort) */
export const SF_DNAT = 0x1000;
/** the session's service encrypts payloads end to end: data packets carry a 1-byte key id trailer */
export const SF_PAYLOAD = 0x2000;
/** ... and this session's payloads are encrypted (TLV 11); cleared when adaptive encryption skips it */
export const SF_ENC_ON = 0x4000;
/** ... and the adaptive decision (already TLS/IPsec or not) has been made */
export const SF_ENC_DECIDED = 0x8000;
/** closing (FIN both ways or RST): removed after a short linger */
export const SF_CLOSING = 0x0008;
export const SF_SYN = 0x0010;
export const SF_SYNACK = 0x0020;
export const SF_ESTABLISHED = 0x0040;
export const SF_FIN_FWD = 0x0080;
export const SF_FIN_REV = 0x0100;
/** the session's protocol has no ports (ICMP): carried as UDP between routers, metadata on every packet */
export const SF_TRANSFORMED = 0x0200;

/** The native steady paths that mark rows (SessionTable.markedWithin/setMarked): svr-out's and svr-in's. */
export const MARK_OUT = 0;
export const MARK_IN = 1;

/** Return keys per row: one per packet form the chain sees (two when NAT makes the directions differ). */
export const RET_KEYS = 2;

/** Memory one session costs, rounded up: at most about 240 B RSS per session and router at 25-99 % table fill
 *  (bench/memory.ts, docs/performance.md), with room for NAT, HA sync, IPv6 and the other columns made on
 *  first use. */
export const SESSION_BYTES = 512;
/** Rows one data path's table can address (control tags a row with its worker in the bits above 24). */
export const MAX_ROWS = (1 << 24) - 1;

/**
 * The session limit of one of `workers` data paths: its share of the router's `session-capacity`, or by
 * default of what a quarter of the host's memory holds (at least 65,536 sessions).
 */
export function sessionLimit(configured: number, workers: number, memory = totalmem()): number {
  const router = configured > 0 ? configured : Math.max(65_536, Math.floor(memory / 4 / SESSION_BYTES));
  return Math.min(MAX_ROWS, Math.max(1, Math.ceil(router / Math.max(1, workers))));
}

/** A synced row's idle expiry moved this far from the one the partner has: sent again (native/flow-table.h too). The row carries its
 *  expiry relative to the export, so the partner's copy never runs out; this only keeps its times and
 *  counters roughly current (100,000 busy sessions: about 1,700 records a second). */
export const SYNC_EXPIRY_MS = 60_000;

/** Float64 words of a row's sync state (syncRows): mark, expiry, flags, padding (32 B: never across two cache lines;
 *  native/flow-table.h reads the same layout). */
const SYNC_WORDS = 4;

type Column = Uint8Array | Uint16Array | Int16Array | Uint32Array | Float64Array | Int32Array;
interface ColumnType<T extends Column> {
  new (n: number): T;
  new (b: ArrayBuffer): T;
  readonly BYTES_PER_ELEMENT: number;
}

/** Rows per segment: the rows are handed out from the lowest segment with room, and a segment whose rows are
 *  all free gives its memory back (reserved columns, row-memory.ts). 16,384 rows: whole pages in every
 *  column (a 1-byte column's segment is 4 pages). */
export const SEGMENT_ROWS = 1 << 14;
const SEGMENT_SHIFT = 14;

/** Columns of `cap` rows are reserved (row-memory.ts: pages resident once written) from this many rows on. */
const reservedFrom = (cap: number): boolean => rowMemory !== null && cap >= SEGMENT_ROWS;

/** A column of `cap` rows of `width` words with `old`'s contents at its start (the table grows, rows keep their index). */
function grownColumn<T extends Column>(old: T | undefined, ctor: ColumnType<T>, cap: number, width: number): T {
  const next = reservedFrom(cap) ? new ctor(rowMemory!.reserve(cap * width * ctor.BYTES_PER_ELEMENT)) : new ctor(cap * width);
  if (old) (next as unknown as { set(a: T): void }).set(old);
  return next;
}

/** Granularity of idle expiry (a session expires at most this much after its timeout). */
export const WHEEL_TICK_MS = 250;
/** Old index slots a sweep moves to a resized index (flow-table.ts migrate), about as long as expiring
 *  SWEEP_BUDGET rows: a table of 1 M keys resizes within 128 sweeps. */
const MIGRATE_PER_SWEEP = 8192;
/** Wheel slots: 1024 s ahead at 250 ms; a later expiry is looked at once per turn and moved on. */
const WHEEL_SLOTS = 4096;
const WHEEL_MASK = WHEEL_SLOTS - 1;
/** dueTick of a row due at no time (looked at once per turn of the wheel) */
const DUE_NEVER = 0x7fffffff;

/** ms from u32 time `at` (lastSeen, expires: the clock modulo 2^32) to `now`, signed. */
export const msSince = (now: number, at: number): number => ((now >>> 0) - at) | 0;
/** ms from `now` to u32 time `at`, signed: <= 0 once it passed. */
export const msUntil = (now: number, at: number): number => (at - (now >>> 0)) | 0;

/** Row of a flow-table value. */
export const flowRow = (v: number): number => v >>> 2;
/** 1 when the key was stored for a forward packet whose endpoints were swapped by normalization. */
export const flowSwapped = (v: number): number => v & 1;
/** 1 when the value belongs to the session's alternate (second path) key. */
export const flowAlt = (v: number): number => (v >>> 1) & 1;

/** Which of its row's keys a flow-table slot is (FlowKeys): the in or out side, the alternate key, return key j
 *  (KEY_RET + j). */
const KEY_IN = 0;
const KEY_OUT = 1;
const KEY_ALT = 2;
const KEY_RET = 3;

/** The second waypoint 5-tuple of a duplicated session. */
export interface AltPath {
  path: number;
  localPort: number;
  peerPort: number;
  family: 4 | 6;
  key: Uint32Array;
  /** ingress: metadata on this path until reverse metadata came back on it */
  needsMeta: boolean;
  /** egress: reverse metadata on this path until a forward packet without it arrived on it */
  revSignal: boolean;
}

/** How the key of `side` of a session of `role` is owned by default (see ownership.ts). */
function keyKind(role: number, side: 'in' | 'out'): number {
  if (role === ROLE_INGRESS) return side === 'in' ? KEY_LAN : KEY_WAN_OURS;
  if (role === ROLE_EGRESS) return side === 'in' ? KEY_WAN_THEIRS : KEY_LAN;
  return KEY_LAN;
}

export interface SideKey {
  family: 4 | 6;
  src: Uint32Array; srcOff: number;
  dst: Uint32Array; dstOff: number;
  srcPort: number; dstPort: number; protocol: number; ifIndex: number;
}

export class SessionTable {
  /** rows [0, capacity) have been handed out (the others were never written): loops over rows stop here */
  capacity = 0;
  /** rows the columns hold: the session limit when they are reserved (row-memory.ts), else the table grows by
   *  doubling up to the limit */
  private held = 0;
  active = 0;
  /** most rows this table holds (setLimit); alloc refuses beyond */
  limit = MAX_ROWS;
  readonly v4: FlowTable = new FlowTable(KW4, this.rowKeys(4), 4096);
  readonly v6: FlowTable = new FlowTable(KW6, this.rowKeys(6), 256);
  /** session id -> row: finds a session when it reappears on another path */
  readonly byUuid: FlowTable = new FlowTable(4, this.uuidKeys(), 4096);

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
  /** where the generations of new rows start (a restarted worker: its predecessor's rows stay stale) */
  private genBase = 0;
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
  private tags = new Uint32Array(0);
  private signed = new Float64Array(0);
  private relays = new Int32Array(0);
  /** per row, 2 words for each native steady path that marks rows (markedWithin/setMarked; MARK_OUT: svr-out's,
   *  native-mark.ts, MARK_IN: svr-in's, native-mark-in.ts): when it last marked the row (u32 ms, the clock modulo
   *  2^32) and its table's generation then (from 1; 0: never). Made by the first mark; reserved and given back with
   *  the rows (arrays of their own grew to the highest row used and kept it: 12 + 16 B a row at any fill). */
  private marksOut = new Uint32Array(0);
  private marksIn = new Uint32Array(0);
  /** keys of the two sides, as written at insert, for removal: per side its family (0: none) | the key's swapped
   *  bit << 3 (what copySideKey returns: HA export reads it here, not in the flow table); IPv4 keys here (KW4
   *  words a row), IPv6 keys in v6Keys (rare; 48 bytes a session less than KW6 columns) */
  inKeyInfo!: Uint8Array;
  outKeyInfo!: Uint8Array;
  inKey!: Uint32Array;
  outKey!: Uint32Array;
  private readonly v6Keys = new Map<number, Uint32Array>();

  /** return keys: family (0 = free) and key words, RET_KEYS slots per row; empty until first used */
  retFamily = new Uint8Array(0);
  retKey = new Uint32Array(0);

  /** set when several workers share steering: keys are claimed/released as they are installed/removed */
  ownership: Ownership | null = null;
  /** a key of the row being set up could not be recorded for steering (the table is full): refuse it */
  claimFailed = false;
  /** HA sync marks (see the top): on once control collects changes; the columns exist from then */
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
  /** alternate keys of duplicated sessions, by row */
  readonly alt = new Map<number, AltPath>();
  /** called after resize replaced the columns or the HA sync arrays (native-forward.ts follows them: native/fwd.c
   *  accounts and marks in them) */
  onColumns: (() => void) | null = null;
  /** per segment (SEGMENT_ROWS rows): rows in use; its removed rows to hand out again, a list through duePrev
   *  (a free row is in no wheel slot; its dueNext is left as it was for a sweep that walks on from it), -1:
   *  none; rows written since it was created or gave its memory back, from its start */
  private segActive = new Int32Array(0);
  private segFree = new Int32Array(0);
  private segFresh = new Int32Array(0);
  /** no segment below this one has a row to hand out */
  private segHint = 0;
  /** the highest generation handed out (a row of a segment that gave its memory back starts above it) */
  private genTop = 0;
  /** segments emptied during a sweep, given back when it ends (the sweep may walk on through their rows) */
  private readonly emptied: number[] = [];
  private sweeping = false;
  /** first row of each wheel slot (-1: empty) */
  private readonly heads = new Int32Array(WHEEL_SLOTS).fill(-1);
  /** the tick dueTick counts from: the first one a row was due at */
  private tickBase = NaN;
  /** the last wheel tick (ms / WHEEL_TICK_MS) swept; -1 before the first row or sweep */
  private sweptTick = -1;

  constructor(initialCapacity = 1024) {
    this.resize(initialCapacity);
  }

  /** The flow tables' keys are the rows' own (FlowKeys): IPv4 in/out keys in inKey/outKey, IPv6 ones in
   *  v6Keys, alternate keys in `alt`, return keys in retKey. */
  private rowKeys(family: 4 | 6): FlowKeys {
    const keys: FlowKeys = {
      keyOffset: 0,
      keyArray: (value: number, which: number): Uint32Array => {
        const r = flowRow(value);
        if (which >= KEY_RET) {
          keys.keyOffset = (r * RET_KEYS + which - KEY_RET) * KW6;
          return this.retKey;
        }
        keys.keyOffset = which === KEY_ALT || family === 6 ? 0 : r * KW4;
        if (which === KEY_ALT) return this.alt.get(r)!.key;
        if (family === 6) return this.v6Keys.get(r * 2 + which)!;
        return which === KEY_IN ? this.inKey : this.outKey;
      },
    };
    return keys;
  }

  /** The session-id index's keys: the uuid column (values are rows). */
  private uuidKeys(): FlowKeys {
    const keys: FlowKeys = {
      keyOffset: 0,
      keyArray: (row: number): Uint32Array => {
        keys.keyOffset = row * 4;
        return this.uuid;
      },
    };
    return keys;
  }

  /** Writes row r's session id into the session-id index's key. */
  private uuidKeyOf(r: number): void {
    for (let w = 0; w < 4; w++) this.byUuid.key[w] = this.uuid[r * 4 + w]!;
  }

  private resize(cap: number): void {
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

  /** Bytes held by the table (rows + flow tables; of reserved columns, the resident pages), for the memory
   *  benchmark. */
  get bytes(): number {
    let n = 0;
    for (const v of Object.values(this)) if (ArrayBuffer.isView(v)) n += residentBytes(v); // every column
    return n + this.v4.bytes + this.v6.bytes + this.byUuid.bytes + this.v6Keys.size * KW6 * 4;
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

  /** Starts the HA sync marks (the columns, every row unmarked and unsent). */
  startSync(): void {
    if (this.syncing) return;
    this.syncing = true;
    this.growSync(this.held, 0);
    this.onColumns?.();
  }

  get syncDirtyTop(): number {
    return this.syncTop[0]!;
  }

  set syncDirtyTop(n: number) {
    this.syncTop[0] = n;
  }

  private growSync(cap: number, old: number): void {
    const grow = <T extends Column>(a: T, ctor: ColumnType<T>, width = 1): T => grownColumn(a, ctor, cap, width);
    this.syncRows = grow(this.syncRows, Float64Array, SYNC_WORDS);
    for (let r = old; r < Math.min(cap, this.capacity); r++) this.syncRows[r * SYNC_WORDS] = -1; // rows never used: alloc
    this.syncSent = grow(this.syncSent, Uint8Array);
    this.syncDirty = grow(this.syncDirty, Int32Array);
    this.syncTombs = grow(this.syncTombs, Uint32Array, 4);
  }

  /** Marks row r changed for the partner (once until collected). */
  markSync(r: number, now: number): void {
    if (!this.syncing || this.syncRows[r * SYNC_WORDS]! >= 0) return;
    this.syncRows[r * SYNC_WORDS] = now;
    this.syncDirty[this.syncTop[0]!++] = r;
  }

  /** When row r was marked changed (ms), -1 when it is not. */
  syncMarkedAt(r: number): number {
    return this.syncRows[r * SYNC_WORDS]!;
  }

  /** Unmarks row r (collected; or removed, its tombstone, if any, already taken). */
  clearSyncMark(r: number): void {
    this.syncRows[r * SYNC_WORDS] = -1;
  }

  /** Per packet (after its counters, expiry and state): marks row r when the partner's copy is out of date. */
  checkSync(r: number, now: number): void {
    if (!this.syncing) return;
    const at = r * SYNC_WORDS;
    const s = this.syncRows;
    if (s[at]! >= 0) return;
    if (this.flags[r] !== s[at + 2] || Math.abs((this.expires[r]! - s[at + 1]!) | 0) >= SYNC_EXPIRY_MS) this.markSync(r, now);
  }

  /** Row r was collected for the partner: what it has now, unmarked (session-rows.ts collectChanges). */
  syncedRow(r: number): void {
    const at = r * SYNC_WORDS;
    this.syncRows[at] = -1;
    this.syncRows[at + 1] = this.expires[r]!;
    this.syncRows[at + 2] = this.flags[r]!;
    this.syncSent[r] = 1;
  }

  private growReturnKeys(cap: number): void {
    this.retFamily = grownColumn(this.retFamily, Uint8Array, cap, RET_KEYS);
    this.retKey = grownColumn(this.retKey, Uint32Array, cap, RET_KEYS * KW6);
  }

  /**
   * Makes the key just written into keyScratch(family) (by a packet of row r; `fwdSwapped` as insertKey
   * stores it) lead to row r: a compare when it is one of r's return keys already, else an insert.
   * false when another session owns the key or r has RET_KEYS return keys already.
   */
  ensureReturnKey(r: number, family: 4 | 6, fwdSwapped: number): boolean {
    if (this.retFamily.length === 0) this.growReturnKeys(this.held);
    const t = this.table(family);
    const kw = t.kw;
    const k = t.key;
    let free = -1;
    for (let j = r * RET_KEYS; j < (r + 1) * RET_KEYS; j++) {
      const f = this.retFamily[j]!;
      if (f === 0) {
        if (free < 0) free = j;
        continue;
      }
      if (f !== family) continue;
      let i = 0;
      const at = j * KW6;
      while (i < kw && this.retKey[at + i] === k[i]) i++;
      if (i === kw) return true;
    }
    if (free < 0) return false;
    const v = t.get();
    if (v >= 0) return flowRow(v) === r;
    if (!this.claim(k, family, KEY_LAN)) return false; // steering full: the divert is refused
    this.retKey.set(k, free * KW6);
    this.retFamily[free] = family;
    t.set((r << 2) | fwdSwapped, KEY_RET + free - r * RET_KEYS);
    return true;
  }

  private removeReturnKeys(r: number): void {
    if (this.retFamily.length === 0) return;
    for (let j = r * RET_KEYS; j < (r + 1) * RET_KEYS; j++) {
      const f = this.retFamily[j]!;
      if (f === 0) continue;
      const t = this.table(f);
      for (let i = 0; i < t.kw; i++) t.key[i] = this.retKey[j * KW6 + i]!;
      const v = t.get();
      if (v >= 0 && flowRow(v) === r) {
        t.delete();
        this.ownership?.release(t.key, f);
      }
      this.retFamily[j] = 0;
    }
  }

  /** At most `rows` sessions from now on (fewer than are active: new ones are refused until enough end). */
  setLimit(rows: number): void {
    this.limit = Math.max(1, Math.floor(rows));
  }

  /** Row generations start at `base` from now on (an empty table: a worker thread that replaces one that died). */
  startGenerations(base: number): void {
    this.genBase = base >>> 0;
    this.gen.fill(this.genBase, 0, this.capacity);
    this.genTop = this.genBase;
  }

  /** A fresh row (zeroed counters, new generation), or -1 when the table holds `limit` sessions. */
  alloc(now: number): number {
    if (this.active >= this.limit) return -1;
    const s = this.segmentWithRoom();
    let r = this.segFree[s]!;
    if (r >= 0) {
      this.segFree[s] = this.duePrev[r]!;
      const g = (this.gen[r]! + 1) >>> 0;
      this.gen[r] = g;
      if (g > this.genTop) this.genTop = g;
    } else { // a row not written since its segment was created or gave its memory back: its pages become resident
      r = s * SEGMENT_ROWS + this.segFresh[s]!++;
      this.dueSlot[r] = -1;
      if (r >= this.capacity) { // never used
        this.capacity = r + 1;
        this.gen[r] = (this.genBase + 1) >>> 0;
        if (this.syncing) this.syncRows[r * SYNC_WORDS] = -1;
      } else this.gen[r] = (Math.max(this.genTop, this.genBase) + 1) >>> 0; // above any reference to the row before
      if (this.gen[r]! > this.genTop) this.genTop = this.gen[r]!;
    }
    this.segActive[s]++;
    this.flags[r] = SF_ACTIVE;
    this.created[r] = now;
    this.lastSeen[r] = now;
    this.expires[r] = now; // due until its first packet sets it (a stale u32 could read as far ahead)
    this.pktsFwd[r] = this.pktsRev[r] = 0;
    this.bytesFwd[r] = this.bytesRev[r] = 0;
    this.tenant[r] = this.service[r] = this.path[r] = -1; // not counted until set (setClass, setPath)
    this.chain[r] = 0;
    this.app[r] = 0;
    this.natRelay[r] = 0;
    // (a 0 is not written: a page never written stays out of memory)
    if (this.tags.length > 0 && this.tags[r] !== 0) this.tags[r] = 0;
    if (this.signed.length > 0 && this.signed[r] !== 0) this.signed[r] = 0;
    if (this.relays.length > 0 && this.relays[r] !== 0) this.relays[r] = 0;
    if (this.marksOut.length > 0 && this.marksOut[r * 2 + 1] !== 0) this.marksOut[r * 2 + 1] = 0; // unmarked
    if (this.marksIn.length > 0 && this.marksIn[r * 2 + 1] !== 0) this.marksIn[r * 2 + 1] = 0;
    this.inKeyInfo[r] = 0;
    this.outKeyInfo[r] = 0;
    this.claimFailed = false;
    this.active++;
    if (this.sweptTick < 0) this.sweptTick = Math.floor(now / WHEEL_TICK_MS) - 1;
    this.dueTick[r] = DUE_NEVER;
    this.checkBy(r, now + WHEEL_TICK_MS); // its expiry is set by its first packet: look at it one tick on
    if (this.syncing) {
      this.syncSent[r] = 0;
      this.markSync(r, now);
    }
    return r;
  }

  /** The lowest segment with a row to hand out (the columns grow when every row is in use). */
  private segmentWithRoom(): number {
    let s = this.segHint;
    for (;;) {
      if (s === this.segFree.length) {
        this.resize(reservedFrom(this.limit) ? Math.max(this.limit, this.held + 1) : Math.max(this.held + 1, Math.min(this.held * 2, this.limit)));
        s = Math.max(0, s - 1); // the last segment may have grown
      }
      if (this.segFree[s]! >= 0 || this.segFresh[s]! < Math.min(SEGMENT_ROWS, this.held - s * SEGMENT_ROWS)) break;
      s++;
    }
    this.segHint = s;
    return s;
  }

  /** Gives back the memory of segment s's rows when they are all free (reserved columns only; the HA sync
   *  state stays: it outlives a row; its rows' generations start above genTop when used again). */
  private releaseSegment(s: number): void {
    if (this.segActive[s] !== 0 || !reservedFrom(this.held)) return;
    const from = s * SEGMENT_ROWS;
    const rows = Math.min(SEGMENT_ROWS, this.held - from);
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
    this.segFree[s] = -1;
    this.segFresh[s] = 0;
  }

  private claim(k: Uint32Array, family: number, kind: number): boolean {
    if (this.ownership === null || this.ownership.claim(k, family, kind)) return true;
    this.claimFailed = true;
    return false;
  }

  /** Makes sure row r is looked at by `at` (ms): trackTcp calls it when a close shortens a row's expiry. */
  checkBy(r: number, at: number): void {
    this.dueBy(r, Math.floor(at / WHEEL_TICK_MS));
  }

  /** Links row r into the slot of wheel tick `tick` (or the next one swept), unless it is due by then already. */
  private dueBy(r: number, tick: number): void {
    if (Number.isNaN(this.tickBase) && Number.isFinite(tick)) this.tickBase = tick;
    const due = Math.min(tick - this.tickBase, DUE_NEVER);
    if (this.dueSlot[r]! >= 0 && this.dueTick[r]! <= due) return;
    this.unlinkDue(r);
    this.dueTick[r] = due;
    const slot = Math.max(tick, this.sweptTick + 1) & WHEEL_MASK;
    const head = this.heads[slot]!;
    this.dueNext[r] = head;
    this.duePrev[r] = -1;
    if (head >= 0) this.duePrev[head] = r;
    this.heads[slot] = r;
    this.dueSlot[r] = slot;
  }

  private unlinkDue(r: number): void {
    const slot = this.dueSlot[r]!;
    if (slot < 0) return;
    const next = this.dueNext[r]!;
    const prev = this.duePrev[r]!;
    if (prev >= 0) this.dueNext[prev] = next;
    else this.heads[slot] = next;
    if (next >= 0) this.duePrev[next] = prev;
    this.dueSlot[r] = -1;
  }

  private table(family: number): FlowTable {
    return family === 6 ? this.v6 : this.v4;
  }

  /** Looks up a key already written into `keyScratch(family)`; returns the flow value (flowRow/flowSwapped/flowAlt) or -1.
   *  `memo` (a batch slot): a miss is kept under it, and the same key's next look under it is answered without a
   *  probe while that miss holds (FlowTable.get); the insert right after a miss takes its empty slot. */
  lookup(family: 4 | 6, memo = -1): number {
    return this.table(family).get(memo);
  }

  /** lookup() of a key whose hash (`keyHash`) was taken before, with the rest of its frame's, and its home slot
   *  loaded (`touchKey`). */
  lookupHashed(family: 4 | 6, memo: number, h: number): number {
    return this.table(family).getHashed(h, memo);
  }

  /** The hash of the key in `keyScratch(family)`. */
  keyHash(family: 4 | 6): number {
    return this.table(family).keyHash();
  }

  /** Loads the home slot of hash h (FlowTable.touch): a frame's loads then run side by side. */
  touchKey(family: 4 | 6, h: number): number {
    return this.table(family).touch(h);
  }

  /** Flow keys set or deleted so far (both families): a lookup's result holds while this has not moved. */
  get keyChanges(): number {
    return this.v4.changes + this.v6.changes;
  }

  /** The scratch key array for lookups of `family`. */
  keyScratch(family: 4 | 6): Uint32Array {
    return this.table(family).key;
  }

  /** Installs the key of one side of row `r` (in = the side its first packet arrived on). Returns false when
   *  another session already owns that key (the caller decides). */
  insertKey(r: number, side: 'in' | 'out', k: SideKey): boolean {
    const t = this.table(k.family);
    const swapped = writeKey(t.key, k.family, k.src, k.srcOff, k.dst, k.dstOff, k.srcPort, k.dstPort, k.protocol, k.ifIndex);
    if ((side === 'in' ? this.inKeyInfo[r]! : this.outKeyInfo[r]!) === 0 && k.family === 4) return this.addSideKey(r, side, swapped);
    const existing = t.get();
    if (existing >= 0 && flowRow(existing) !== r) return false;
    return this.storeSideKey(r, side, k.family, t.key, swapped);
  }

  /** A new session's side key (the side has none yet; IPv4): placed in one probe, or refused when another row owns
   *  it; the row's key column written after the probe (nothing reads the new slot before). */
  private addSideKey(r: number, side: 'in' | 'out', swapped: number): boolean {
    const t = this.v4;
    const which = side === 'in' ? KEY_IN : KEY_OUT;
    const value = (r << 2) | (swapped & 1);
    const existing = t.add(value, which);
    if (existing >= 0 && flowRow(existing) !== r) return false;
    (side === 'in' ? this.inKey : this.outKey).set(t.key, r * KW4);
    if (existing >= 0) t.set(value, which); // r's other side has the same key: this side takes it, as storeSideKey does
    this.keyed(r, side, 4, swapped);
    return true;
  }

  /** Installs side `side` of row r (which has no key on that side yet) only when no session holds the key,
   *  the own row included: one probe for IPv4 (an owner check then an insert took two); false when it is
   *  held (nothing changes). A new session's waypoint key: WanKeys tries port pairs with it. */
  placeFreeKey(r: number, side: 'in' | 'out', k: SideKey): boolean {
    const t = this.table(k.family);
    const swapped = writeKey(t.key, k.family, k.src, k.srcOff, k.dst, k.dstOff, k.srcPort, k.dstPort, k.protocol, k.ifIndex);
    if (k.family === 6) return t.get() < 0 && this.storeSideKey(r, side, 6, t.key, swapped);
    if (t.add((r << 2) | (swapped & 1), side === 'in' ? KEY_IN : KEY_OUT) >= 0) return false;
    (side === 'in' ? this.inKey : this.outKey).set(t.key, r * KW4);
    this.keyed(r, side, 4, swapped);
    return true;
  }

  /** Side `side` of row r has the key in its family's scratch key now: its info, and the steering claim. */
  private keyed(r: number, side: 'in' | 'out', family: 4 | 6, swapped: number): void {
    const info = family | ((swapped & 1) << 3);
    if (side === 'in') this.inKeyInfo[r] = info;
    else this.outKeyInfo[r] = info;
    this.claim(this.table(family).key, family, keyKind(this.role[r]!, side)); // a failure marks the row: its creator refuses it
  }

  /** Puts the key in `words` (the family's table's scratch key or a copy) as side `side` of row r: the row's
   *  key first (the flow table reads it there), a key the side had before removed. */
  private storeSideKey(r: number, side: 'in' | 'out', family: 4 | 6, words: Uint32Array, swapped: number): boolean {
    const t = this.table(family);
    if ((side === 'in' ? this.inKeyInfo[r]! : this.outKeyInfo[r]!) !== 0) {
      const save = words === t.key ? t.key.slice() : words;
      this.removeSideKey(r, side);
      t.key.set(save);
    }
    const which = side === 'in' ? KEY_IN : KEY_OUT;
    if (family === 4) (side === 'in' ? this.inKey : this.outKey).set(t.key, r * KW4);
    else this.v6Keys.set(r * 2 + which, t.key.slice());
    t.set((r << 2) | (swapped & 1), which);
    this.keyed(r, side, family, swapped);
    return true;
  }

  /** Copies the stored flow key of one side of row r into `out` (room for KW6 words; HA export, no
   *  allocation, no flow-table probe); returns its family (0: the side has no key) | its swapped bit << 3. */
  copySideKey(r: number, side: 'in' | 'out', out: Uint32Array): number {
    const info = side === 'in' ? this.inKeyInfo[r]! : this.outKeyInfo[r]!;
    const family = info & 7;
    if (family === 4) {
      const store = side === 'in' ? this.inKey : this.outKey;
      for (let i = 0; i < KW4; i++) out[i] = store[r * KW4 + i]!;
    } else if (family === 6) out.set(this.v6Keys.get(r * 2 + (side === 'in' ? 0 : 1))!);
    else return 0;
    return info;
  }

  /** Installs a side key as copySideKey gave it (HA import, between batches); false when another row owns it. */
  restoreSideKey(r: number, side: 'in' | 'out', family: 4 | 6, words: Uint32Array, swapped: number): boolean {
    const t = this.table(family);
    if (words.length !== t.kw) return false;
    t.key.set(words);
    const existing = t.get();
    if (existing >= 0 && flowRow(existing) !== r) return false;
    return this.storeSideKey(r, side, family, t.key, swapped);
  }

  /** Row currently owning the key described by `k`, or -1. */
  ownerOf(k: SideKey): number {
    const t = this.table(k.family);
    writeKey(t.key, k.family, k.src, k.srcOff, k.dst, k.dstOff, k.srcPort, k.dstPort, k.protocol, k.ifIndex);
    const v = t.get();
    return v < 0 ? -1 : flowRow(v);
  }

  /** Indexes row r by its session id (call once the uuid column is set). */
  indexUuid(r: number): void {
    this.uuidKeyOf(r);
    this.byUuid.set(r, 0); // an older row with the same id is replaced
  }

  /** Row of the session id at buf[off, off+16) (big-endian words), or -1. */
  rowByUuid(buf: Uint8Array, off: number): number {
    this.uuidKeyFrom(buf, off);
    const r = this.byUuid.get();
    return r >= 0 && this.isActive(r) ? r : -1;
  }

  /** Loads the home slot of the session id at buf[off, off+16) in the id index (FlowTable.touch): a frame's ids
   *  touched one after the other before rowByUuid looks each up miss side by side. */
  touchUuid(buf: Uint8Array, off: number): number {
    this.uuidKeyFrom(buf, off);
    return this.byUuid.touch(this.byUuid.keyHash());
  }

  private uuidKeyFrom(buf: Uint8Array, off: number): void {
    const k = this.byUuid.key;
    for (let w = 0; w < 4; w++) {
      const o = off + 4 * w;
      k[w] = ((buf[o]! << 24) | (buf[o + 1]! << 16) | (buf[o + 2]! << 8) | buf[o + 3]!) >>> 0;
    }
  }

  /** Installs (or replaces) the alternate key of row r: its second waypoint 5-tuple. */
  insertAltKey(r: number, k: SideKey, path: number, localPort: number, peerPort: number): boolean {
    this.removeAltKey(r);
    const t = this.table(k.family);
    const swapped = writeKey(t.key, k.family, k.src, k.srcOff, k.dst, k.dstOff, k.srcPort, k.dstPort, k.protocol, k.ifIndex);
    if (t.get() >= 0) return false;
    this.alt.set(r, { path, localPort, peerPort, family: k.family, key: t.key.slice(), needsMeta: true, revSignal: true });
    t.set((r << 2) | 2 | swapped, KEY_ALT);
    this.claim(t.key, k.family, this.role[r] === ROLE_INGRESS ? KEY_WAN_OURS : KEY_WAN_THEIRS); // WAN keys: never recorded
    return true;
  }

  removeAltKey(r: number): void {
    const a = this.alt.get(r);
    if (a === undefined) return;
    const t = this.table(a.family);
    t.key.set(a.key.subarray(0, t.kw));
    const v = t.get();
    if (v >= 0 && flowRow(v) === r) t.delete();
    this.ownership?.release(t.key, a.family);
    this.alt.delete(r);
  }

  /** Removes one side's key of row r (migration moves a session's waypoint key to another path). */
  removeSideKey(r: number, side: 'in' | 'out'): void {
    if (side === 'in') {
      this.deleteKey(r, this.inKeyInfo[r]! & 7, this.inKey);
      this.inKeyInfo[r] = 0;
    } else {
      this.deleteKey(r, this.outKeyInfo[r]! & 7, this.outKey);
      this.outKeyInfo[r] = 0;
    }
  }

  private deleteKey(r: number, family: number, store: Uint32Array): void {
    if (family === 0) return;
    const t = this.table(family);
    const at = r * 2 + (store === this.inKey ? 0 : 1);
    if (family === 4) {
      for (let i = 0; i < KW4; i++) t.key[i] = store[r * KW4 + i]!;
    } else {
      t.key.set(this.v6Keys.get(at)!);
    }
    // deleted only while it is this row's own side key (row r, not the alternate: r << 2 | swapped), one probe
    if (t.deleteIf(r << 2, ~1) >= 0) this.ownership?.release(t.key, family);
    if (family === 6) this.v6Keys.delete(at); // after the delete: the flow table reads keys where the row keeps them
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

  /** Removes row r and both its keys; the row returns to the free list. */
  remove(r: number): void {
    if ((this.flags[r]! & SF_ACTIVE) === 0) return;
    this.deleteKey(r, this.inKeyInfo[r]! & 7, this.inKey);
    this.deleteKey(r, this.outKeyInfo[r]! & 7, this.outKey);
    this.removeAltKey(r);
    this.removeReturnKeys(r);
    this.uuidKeyOf(r);
    this.byUuid.deleteIf(r, -1); // unless a newer row holds the id
    this.unlinkDue(r);
    if (this.syncing && this.syncSent[r] === 1) { // the partner has it: a tombstone (its mark, if any, is skipped when collected)
      for (let w = 0; w < 4; w++) this.syncTombs[this.syncTombTop * 4 + w] = this.uuid[r * 4 + w]!;
      this.syncTombTop++;
      this.syncSent[r] = 0;
    }
    this.flags[r] = 0;
    this.perTenant.move(this.tenant[r]!, -1);
    this.perService.move(this.service[r]!, -1);
    this.perPath.move(this.path[r]!, -1);
    const s = r >>> SEGMENT_SHIFT;
    this.duePrev[r] = this.segFree[s]!;
    this.segFree[s] = r;
    if (s < this.segHint) this.segHint = s;
    this.active--;
    if (--this.segActive[s]! === 0) {
      if (this.sweeping) this.emptied.push(s);
      else this.releaseSegment(s);
    }
  }

  isActive(r: number): boolean {
    return r >= 0 && r < this.capacity && (this.flags[r]! & SF_ACTIVE) !== 0;
  }

  /**
   * Looks at the rows of the wheel slots due by `now`, at most `budget` of them, and calls `expire(row)`
   * for each whose `expires` passed (expire removes it); the others move to the slot of their expiry.
   * Returns true when due rows are left (call again: the work follows the expiries due, see above).
   */
  sweep(now: number, budget: number, expire: (row: number) => void): boolean {
    this.sweeping = true;
    try {
      const more = this.sweepDue(now, budget, expire);
      return this.tidy() || more;
    } finally {
      this.sweeping = false;
      while (this.emptied.length > 0) this.releaseSegment(this.emptied.pop()!);
    }
  }

  /** Moves indexes being resized on (flow-table.ts; part of every sweep, between batches); true while some
   *  are left. */
  tidy(budget = MIGRATE_PER_SWEEP): boolean {
    const v4 = this.v4.migrate(budget);
    const v6 = this.v6.migrate(budget);
    return this.byUuid.migrate(budget) || v4 || v6;
  }

  private sweepDue(now: number, budget: number, expire: (row: number) => void): boolean {
    const nowTick = Math.floor(now / WHEEL_TICK_MS);
    if (this.sweptTick < 0) this.sweptTick = nowTick - 1;
    if (nowTick - this.sweptTick > WHEEL_SLOTS) this.sweptTick = nowTick - WHEEL_SLOTS; // a clock jump: every slot once
    let visited = 0;
    while (this.sweptTick < nowTick) {
      const tick = this.sweptTick + 1;
      const slot = tick & WHEEL_MASK;
      let r = this.heads[slot]!;
      this.heads[slot] = -1; // rows moved within this tick land in the next one (sweptTick + 1 below)
      this.sweptTick = tick;
      while (r >= 0) {
        const next = this.dueNext[r]!;
        this.dueSlot[r] = -1;
        if (visited === budget) {
          this.sweptTick = tick - 1; // the rest of this slot next time: back into it
          while (r >= 0) {
            const after = this.dueNext[r]!;
            this.dueSlot[r] = -1;
            this.dueBy(r, this.dueTick[r]! + this.tickBase);
            r = after;
          }
          return true;
        }
        visited++;
        if ((this.flags[r]! & SF_ACTIVE) !== 0) {
          const left = msUntil(now, this.expires[r]!);
          if (left <= 0) expire(r);
          else this.checkBy(r, now + left);
        }
        r = next;
      }
    }
    return false;
  }
}
