/**
 * Session rows as bytes, for the standby of a router pair (docs/high-availability.md "Session state"):
 * `collectChanges` encodes the rows marked changed since the last collection (session-table.ts sync marks)
 * and the ids of the rows removed since (tombstones), or every row for a partner that starts empty, into one
 * buffer (packed rows: no object per row; a worker hands the buffer over, not a copy per row);
 * `importRows` installs packed rows into another table (the node that takes over), between batches. Never
 * per packet: control asks for them when the sync link has room.
 *
 * Packed rows, one after the other, each framed as the sync link's record of a session upsert (ha/sync-wire.ts
 * frameRecord; control queues them as they are, no work per row on its thread): kind 1 (a session) | op 1
 * (upsert) | key length 16 | value length (u16 BE: 1 + the row's) | session id (16, the uuid column's
 * big-endian words) | source (1: the worker that holds the row) | row.
 * A row (version 2, little-endian), a fixed head of ROW_HEAD bytes:
 *   0 version | 1 flags u16 | 3 role | 4 family | 5 protocol | 6 tenant, service, path, inIf, outIf (i16 each)
 *   16 origSrcPort, origDstPort, wpLocalPort, wpPeerPort, app, natSrcPort, natDstPort (u16 each)
 *   30 chain, tag, pktsFwd, pktsRev (u32 each) | 46 bytesFwd, bytesRev (f64)
 *   62 times as ms relative to the export: age of created, age of lastSeen, expires remaining (f64 each)
 *   86 in key: family (0 none, 4, 6) | swapped << 3 | 87 the same of the out key
 * then the addresses at the family's width (IPv4 1 word, IPv6 4): origSrc, origDst, natSrc and natDst (these
 * only with SF_SNAT/SF_DNAT); then the in and out keys' words (KW4 or KW6 each, none without a key).
 * Not carried: a transit row's link to its other leg, the second key of a duplicated session, return keys
 * of service-function chains (such rows are skipped or lose that part); path keys and their sequence and
 * replay state are per path, not per row.
 * Cost: 0.2-0.3 µs a row to encode (the version 1 encoding, a DataView call per column word through a type
 * switch and an array per row, 3.4 µs; side by side in process at load 20).
 */
import { KW4, KW6 } from './flow-key.js';
import { msSince, msUntil, SF_ACTIVE, SF_DNAT, SF_SNAT, type SessionTable } from './session-table.js';

const VERSION = 2;
export const ROW_HEAD = 88;
/** record head (5) | session id | source */
export const PACKED_HEAD = 22;
/** the sync record's kind and op of a packed row (node/ha-sessions.ts SYNC_KIND_SESSION, ha/sync-wire.ts OP_UPSERT) */
export const PACKED_KIND = 1;
const PACKED_OP = 1;
const WP_LOCAL_AT = 20;
/** The largest row: IPv6 addresses, NAT, IPv6 keys on both sides. */
export const MAX_ROW_BYTES = ROW_HEAD + 4 * 16 + 2 * KW6 * 4;

/** What one collection found, packed (see the top): rows to send (changed or new), oldest change first,
 *  and the ids of rows removed (16 bytes each). */
export interface SessionChanges {
  rows: Uint8Array;
  rowCount: number;
  removed: Uint8Array;
  /** age of the oldest change collected (ms; 0 when none) */
  oldestMs: number;
  /** rows still marked after this collection (beyond `budget`) and the age of the oldest of them (ms) */
  left: number;
  leftOldestMs: number;
  /** sources (workers) whose rows were all lost since the last collection (a replaced worker thread): the
   *  partner drops every row of theirs it has (filled in by the worker host) */
  lost: number[];
}

export interface ImportResult {
  installed: number;
  /** already in the table (same id) */
  present: number;
  /** malformed, expired, a key owned by another session, or the table full */
  refused: number;
}

/** Rows a collection encodes at most (the rest stay marked for the next): it runs between batches of the
 *  data path; 1,700 rows of 100,000 took 0.33 ms, a full collection of 100,000 55 ms (bench/ha-marks.ts,
 *  load 26; version 1 rows: 5-6 ms and 1.3 s), so 5,000 rows hold the data path about 1 ms. */
export const COLLECT_BUDGET = 5_000;

/** Where a collection encodes its rows and tombstones (grown, never shrunk). */
export interface CollectBuffers {
  rows: Uint8Array;
  removed: Uint8Array;
}

/** Buffers for collectChanges' `into`: one set per caller that consumes each answer before its next collection. */
export function collectBuffers(): CollectBuffers {
  return { rows: new Uint8Array(0), removed: new Uint8Array(0) };
}

/** where collectChanges encodes without `into`; its answer is then a copy of the part used (transferred by a worker) */
const copied = collectBuffers();
const keyScratch = new Uint32Array(KW6);
const key4 = new Uint32Array(KW4);
/** an imported row's two original addresses, 4 words each */
const addrScratch = new Uint32Array(8);

function writeAddress(v: DataView, at: number, words: number, a: Uint32Array, from: number): number {
  for (let w = 0; w < words; w++) v.setUint32(at + w * 4, a[from + w]!, true);
  return at + words * 4;
}

/** Writes row r of `t` at `o` of `out` (MAX_ROW_BYTES room); returns where it ends. */
function encodeRow(t: SessionTable, r: number, now: number, v: DataView, o: number): number {
  v.setUint8(o, VERSION);
  v.setUint16(o + 1, t.flags[r]!, true);
  v.setUint8(o + 3, t.role[r]!);
  const family = t.family[r]!;
  v.setUint8(o + 4, family);
  v.setUint8(o + 5, t.protocol[r]!);
  v.setInt16(o + 6, t.tenant[r]!, true);
  v.setInt16(o + 8, t.service[r]!, true);
  v.setInt16(o + 10, t.path[r]!, true);
  v.setInt16(o + 12, t.inIf[r]!, true);
  v.setInt16(o + 14, t.outIf[r]!, true);
  v.setUint16(o + 16, t.origSrcPort[r]!, true);
  v.setUint16(o + 18, t.origDstPort[r]!, true);
  v.setUint16(o + 20, t.wpLocalPort[r]!, true);
  v.setUint16(o + 22, t.wpPeerPort[r]!, true);
  v.setUint16(o + 24, t.app[r]!, true);
  const natted = (t.flags[r]! & (SF_SNAT | SF_DNAT)) !== 0;
  v.setUint16(o + 26, natted ? t.natSrcPort[r]! : 0, true);
  v.setUint16(o + 28, natted ? t.natDstPort[r]! : 0, true);
  v.setUint32(o + 30, t.chain[r]!, true);
  v.setUint32(o + 34, t.tagOf(r), true);
  v.setUint32(o + 38, t.pktsFwd[r]!, true);
  v.setUint32(o + 42, t.pktsRev[r]!, true);
  v.setFloat64(o + 46, t.bytesFwd[r]!, true);
  v.setFloat64(o + 54, t.bytesRev[r]!, true);
  v.setFloat64(o + 62, now - t.created[r]!, true);
  v.setFloat64(o + 70, msSince(now, t.lastSeen[r]!), true);
  v.setFloat64(o + 78, msUntil(now, t.expires[r]!), true);
  const keysAt = o + 86;
  let at = o + ROW_HEAD;
  const words = family === 4 ? 1 : 4;
  at = writeAddress(v, at, words, t.srcWords(r), t.wordsAt);
  at = writeAddress(v, at, words, t.dstWords(r), t.wordsAt);
  if ((t.flags[r]! & (SF_SNAT | SF_DNAT)) !== 0) {
    at = writeAddress(v, at, words, t.natSrc, r * 4);
    at = writeAddress(v, at, words, t.natDst, r * 4);
  }
  for (let side = 0; side < 2; side++) {
    const k = t.copySideKey(r, side === 0 ? 'in' : 'out', keyScratch);
    v.setUint8(keysAt + side, k);
    const n = (k & 7) === 4 ? KW4 : (k & 7) === 6 ? KW6 : 0;
    for (let w = 0; w < n; w++, at += 4) v.setUint32(at, keyScratch[w]!, true);
  }
  return at;
}

/** The oldest mark of the rows left marked from `from` on (`now` when none). A function of its own, as the
 *  tombstones' loop below: a loop that a collection's first runs skip (no type feedback yet) made the optimized
 *  collectChanges deopt at it on every later collection (`--trace-deopt` on a pair's active node: 60 times in
 *  one case run, "insufficient type feedback for generic keyed access"), the rest of each run interpreted. */
function oldestMark(t: SessionTable, from: number, now: number): number {
  let oldest = now;
  for (let j = from; j < t.syncDirtyTop; j++) {
    const marked = t.syncMarkedAt(t.syncDirty[j]!);
    if (marked < oldest) oldest = marked; // not Math.min: see collectChanges
  }
  return oldest;
}

/** Writes the tombstones (16 bytes each) into `bufs.removed` (grown as needed) and forgets them; their bytes. */
function takeTombstones(t: SessionTable, bufs: CollectBuffers): number {
  const bytes = t.syncTombTop * 16;
  if (bufs.removed.length < bytes) bufs.removed = new Uint8Array(Math.max(bytes, 2 * bufs.removed.length));
  const rv = new DataView(bufs.removed.buffer);
  for (let k = 0; k < t.syncTombTop * 4; k++) rv.setUint32(k * 4, t.syncTombs[k]!);
  t.syncTombTop = 0;
  return bytes;
}

/**
 * The rows of `t` marked changed since the last collection (at most `budget`, oldest mark first, only those
 * marked at least `minAgeMs` ago: a row changing again meanwhile goes once), packed, with `source` (the
 * worker), and the tombstones of the removed ones; `full` (a partner that starts empty, or the first
 * collection) marks every active row first and forgets the tombstones. A transit leg is skipped: its two
 * rows are not carried as one. With `into`, `rows` and `removed` are views of its buffers, valid until the
 * next collection into them (the in-thread host, whose caller copies them into the sync link at once): no
 * new buffer per collection. Without, they are copies (a worker transfers them): ~100 KB every 20 ms at
 * 30,000 sessions/s, ArrayBuffer bytes that V8 counts toward the active's next mark-compact.
 */
export function collectChanges(t: SessionTable, now: number, full: boolean, budget = COLLECT_BUDGET, source = 0, minAgeMs = 0, into?: CollectBuffers): SessionChanges {
  if (!t.syncing) {
    t.startSync();
    full = true;
  }
  if (full) {
    t.syncTombTop = 0;
    for (let r = 0; r < t.capacity; r++) {
      t.syncSent[r] = 0;
      if (t.isActive(r)) t.markSync(r, now);
    }
    minAgeMs = 0;
  }
  const bufs = into ?? copied;
  const room = Math.min(budget, t.syncDirtyTop) * (PACKED_HEAD + MAX_ROW_BYTES);
  if (bufs.rows.length < room) bufs.rows = new Uint8Array(Math.max(room, 2 * bufs.rows.length));
  const out = bufs.rows;
  const v = new DataView(out.buffer);
  let o = 0;
  let rowCount = 0;
  let oldest = now;
  let i = 0;
  const youngest = now - minAgeMs;
  for (; i < t.syncDirtyTop && rowCount < budget; i++) {
    const r = t.syncDirty[i]!;
    const marked = t.syncMarkedAt(r);
    if (marked > youngest) break; // marks are in time order: the rest are younger still
    if (marked < oldest) oldest = marked; // Math.min of the two doubles made a heap number a row (16 B of garbage, node 20's optimized code)
    t.clearSyncMark(r);
    if (!t.isActive(r) || t.relayOf(r) >= 0) continue;
    for (let w = 0; w < 4; w++) v.setUint32(o + 5 + w * 4, t.uuid[r * 4 + w]!);
    out[o + 21] = source;
    const end = encodeRow(t, r, now, v, o + PACKED_HEAD);
    packedHead(out, o, end - o - PACKED_HEAD);
    o = end;
    rowCount++;
    t.syncedRow(r);
  }
  const leftOldest = oldestMark(t, i, now);
  t.syncDirty.copyWithin(0, i, t.syncDirtyTop);
  t.syncDirtyTop -= i;
  const tombBytes = takeTombstones(t, bufs);
  return {
    rows: into === undefined ? out.slice(0, o) : out.subarray(0, o), rowCount,
    removed: into === undefined ? bufs.removed.slice(0, tombBytes) : bufs.removed.subarray(0, tombBytes),
    oldestMs: i > 0 ? now - oldest : 0, left: t.syncDirtyTop, leftOldestMs: now - leftOldest, lost: [],
  };
}

/** Calls `row(at, source, rowAt, rowLength)` for each packed row (`at`: its session id's 16 bytes); false
 *  when the buffer is cut short or holds another record (the rows before are visited). */
export function forEachPackedRow(packed: Uint8Array, row: (at: number, source: number, rowAt: number, rowLength: number) => void): boolean {
  let o = 0;
  while (o < packed.length) {
    if (packed.length - o < PACKED_HEAD || packed[o] !== PACKED_KIND || packed[o + 1] !== PACKED_OP || packed[o + 2] !== 16) return false;
    const len = ((packed[o + 3]! << 8) | packed[o + 4]!) - 1;
    if (len < 0 || packed.length - o - PACKED_HEAD < len) return false;
    row(o + 5, packed[o + 21]!, o + PACKED_HEAD, len);
    o += PACKED_HEAD + len;
  }
  return true;
}

/** Writes a packed row's head at `o` of `out` (its session id, source and `rowLength` bytes of row follow:
 *  the caller writes them at `o + 5`, `o + 21`, `o + PACKED_HEAD`); returns where the id goes. */
export function packedHead(out: Uint8Array, o: number, rowLength: number): number {
  out[o] = PACKED_KIND;
  out[o + 1] = PACKED_OP;
  out[o + 2] = 16;
  out[o + 3] = (rowLength + 1) >> 8;
  out[o + 4] = (rowLength + 1) & 0xff;
  return o + 5;
}

/** Packs rows (tests, tools): the inverse of unpackRows. */
export function packRows(rows: readonly { id: Uint8Array; source: number; row: Uint8Array }[]): Uint8Array {
  const out = new Uint8Array(rows.reduce((n, r) => n + PACKED_HEAD + r.row.length, 0));
  let o = 0;
  for (const r of rows) {
    out.set(r.id.subarray(0, 16), packedHead(out, o, r.row.length));
    out[o + 21] = r.source;
    out.set(r.row, o + PACKED_HEAD);
    o += PACKED_HEAD + r.row.length;
  }
  return out;
}

/** The packed rows as objects (tests, tools; a copy each). */
export function unpackRows(packed: Uint8Array): { id: Uint8Array; source: number; row: Uint8Array }[] {
  const rows: { id: Uint8Array; source: number; row: Uint8Array }[] = [];
  forEachPackedRow(packed, (at, source, rowAt, len) => rows.push({ id: packed.slice(at, at + 16), source, row: packed.slice(rowAt, rowAt + len) }));
  return rows;
}

/** Installs one encoded row under the id at `idAt`; its row number, or -1 (refused) or -2 (its id is in the
 *  table already). */
function installRow(t: SessionTable, b: Uint8Array, idAt: number, o: number, len: number, now: number): number {
  if (len < ROW_HEAD || b[o] !== VERSION) return -1;
  if (t.rowByUuid(b, idAt) >= 0) return -2;
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const remaining = v.getFloat64(o + 78, true);
  if (!(remaining > 0)) return -1;
  const flags = v.getUint16(o + 1, true);
  const family = v.getUint8(o + 4);
  if (family !== 4 && family !== 6) return -1;
  const words = family === 4 ? 1 : 4;
  const nat = (flags & (SF_SNAT | SF_DNAT)) !== 0;
  const inKey = v.getUint8(o + 86);
  const outKey = v.getUint8(o + 87);
  const keyWords = (k: number): number => ((k & 7) === 4 ? KW4 : (k & 7) === 6 ? KW6 : (k & 7) === 0 ? 0 : -1);
  const inWords = keyWords(inKey);
  const outWords = keyWords(outKey);
  if (inWords < 0 || outWords < 0 || len !== ROW_HEAD + (nat ? 4 : 2) * words * 4 + (inWords + outWords) * 4) return -1;
  const r = t.alloc(now);
  if (r < 0) return -1;
  t.flags[r] = flags | SF_ACTIVE;
  t.role[r] = v.getUint8(o + 3);
  t.protocol[r] = v.getUint8(o + 5);
  t.setClass(r, v.getInt16(o + 6, true), v.getInt16(o + 8, true));
  t.setPath(r, v.getInt16(o + 10, true));
  t.inIf[r] = v.getInt16(o + 12, true);
  t.outIf[r] = v.getInt16(o + 14, true);
  t.origSrcPort[r] = v.getUint16(o + 16, true);
  t.origDstPort[r] = v.getUint16(o + 18, true);
  t.wpLocalPort[r] = v.getUint16(o + 20, true);
  t.wpPeerPort[r] = v.getUint16(o + 22, true);
  t.app[r] = v.getUint16(o + 24, true);
  t.chain[r] = v.getUint32(o + 30, true);
  const tag = v.getUint32(o + 34, true);
  if (tag !== 0) t.setTag(r, tag);
  t.pktsFwd[r] = v.getUint32(o + 38, true);
  t.pktsRev[r] = v.getUint32(o + 42, true);
  t.bytesFwd[r] = v.getFloat64(o + 46, true);
  t.bytesRev[r] = v.getFloat64(o + 54, true);
  t.created[r] = now - v.getFloat64(o + 62, true);
  t.lastSeen[r] = now - v.getFloat64(o + 70, true);
  t.expires[r] = now + remaining;
  for (let w = 0; w < 4; w++) t.uuid[r * 4 + w] = v.getUint32(idAt + w * 4);
  let at = readAddress(v, o + ROW_HEAD, words, addrScratch, 0);
  at = readAddress(v, at, words, addrScratch, 4);
  t.setOriginWords(r, family, addrScratch, 0, addrScratch, 4);
  if (nat) {
    t.ensureNatColumns();
    t.natSrcPort[r] = v.getUint16(o + 26, true);
    t.natDstPort[r] = v.getUint16(o + 28, true);
    at = readAddress(v, at, words, t.natSrc, r * 4);
    at = readAddress(v, at, words, t.natDst, r * 4);
  }
  for (let side = 0; side < 2; side++) {
    const k = side === 0 ? inKey : outKey;
    const n = side === 0 ? inWords : outWords;
    if (n === 0) continue;
    const scratch = n === KW4 ? key4 : keyScratch;
    for (let w = 0; w < n; w++, at += 4) scratch[w] = v.getUint32(at, true);
    if (!t.restoreSideKey(r, side === 0 ? 'in' : 'out', (k & 7) as 4 | 6, scratch, k >> 3) || t.claimFailed) {
      t.remove(r);
      return -1;
    }
  }
  t.indexUuid(r);
  return r;
}

/** Reads an address of `words` words (1: IPv4 in word 0, the others 0) into 4 words of `a` from `to`; where it ends. */
function readAddress(v: DataView, at: number, words: number, a: Uint32Array, to: number): number {
  for (let w = 0; w < 4; w++) a[to + w] = w < words ? v.getUint32(at + w * 4, true) : 0;
  return at + words * 4;
}

/** The local waypoint port of an encoded row at `o` (0: none, a local session), -1 when the row is too short. */
export function rowWaypointPort(b: Uint8Array, o: number, len: number): number {
  return len < ROW_HEAD ? -1 : b[o + WP_LOCAL_AT]! | (b[o + WP_LOCAL_AT + 1]! << 8);
}

/**
 * Installs packed rows exported by another table (the partner's), each refused on its own when it does not
 * fit (a buffer cut short: its last row refused). `mine(port)`: with several workers, only the rows whose
 * local waypoint port is in this worker's slice (steering sends their WAN packets here; 0 for a local
 * session); the others are left to their worker. `installed(row)` after each row installed (the plugins'
 * installed hooks: a NAT plugin takes the row's port).
 */
export function importRows(t: SessionTable, packed: Uint8Array, now: number, mine: (wpLocalPort: number) => boolean = () => true, installed: (row: number) => void = () => {}): ImportResult {
  const res: ImportResult = { installed: 0, present: 0, refused: 0 };
  const whole = forEachPackedRow(packed, (idAt, _source, o, len) => {
    if (!mine(Math.max(0, rowWaypointPort(packed, o, len)))) return; // a cut row: the local sessions' worker refuses it
    const r = installRow(t, packed, idAt, o, len, now);
    if (r >= 0) {
      res.installed++;
      installed(r);
    }
    else if (r === -2) res.present++;
    else res.refused++;
  });
  if (!whole && mine(0)) res.refused++;
  return res;
}
