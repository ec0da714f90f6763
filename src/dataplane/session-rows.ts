/**
 * Session rows as bytes, for the standby of a router pair (docs/high-availability.md "Session state"):
 * `collectChanges` encodes the rows marked changed since the last collection (session-table.ts sync marks)
 * and the ids of the rows removed since (tombstones), or every row for a partner that starts empty;
 * `importRows` installs such rows into another table (the node that takes over), between batches. Never
 * per packet: control asks for them once per sync flush.
 *
 * A row (little-endian): version 1 (1) | then each column of COLUMNS in order at its own width | times as
 * ms relative to the export (age of created and lastSeen, expires remaining) (3 x f64) | NAT addresses
 * (2 x 4 words, only with SF_SNAT/SF_DNAT) | per side (in, out): family (1: 0 none, 4, 6) | swapped (1) |
 * key words (KW4 or KW6 x u32).
 * Not carried: a transit row's link to its other leg, the second key of a duplicated session, return keys
 * of service-function chains (such rows are skipped or lose that part); path keys and their sequence and
 * replay state are per path, not per row.
 */
import { KW4, KW6 } from './flow-key.js';
import { SF_ACTIVE, SF_DNAT, SF_SNAT, type SessionTable } from './session-table.js';

const VERSION = 1;

type Column = 'flags' | 'role' | 'family' | 'protocol' | 'tenant' | 'service' | 'path' | 'inIf' | 'outIf' | 'origSrc' | 'origDst'
  | 'origSrcPort' | 'origDstPort' | 'wpLocalPort' | 'wpPeerPort' | 'uuid' | 'chain' | 'tag' | 'app' | 'natSrcPort' | 'natDstPort'
  | 'pktsFwd' | 'pktsRev' | 'bytesFwd' | 'bytesRev';
/** columns copied as they are, with their words per row */
const COLUMNS: readonly [Column, number][] = [
  ['flags', 1], ['role', 1], ['family', 1], ['protocol', 1], ['tenant', 1], ['service', 1], ['path', 1], ['inIf', 1], ['outIf', 1],
  ['origSrc', 4], ['origDst', 4], ['origSrcPort', 1], ['origDstPort', 1], ['wpLocalPort', 1], ['wpPeerPort', 1], ['uuid', 4],
  ['chain', 1], ['tag', 1], ['app', 1], ['natSrcPort', 1], ['natDstPort', 1], ['pktsFwd', 1], ['pktsRev', 1], ['bytesFwd', 1], ['bytesRev', 1],
];

export interface SessionRowBytes {
  /** the session id (16 bytes, as the uuid column's big-endian words) */
  id: Uint8Array;
  row: Uint8Array;
}

export interface ImportResult {
  installed: number;
  /** already in the table (same id) */
  present: number;
  /** malformed, expired, a key owned by another session, or the table full */
  refused: number;
}

function get(v: DataView, o: number, a: ArrayBufferView): number {
  if (a instanceof Float64Array) return v.getFloat64(o, true);
  if (a instanceof Uint32Array) return v.getUint32(o, true);
  if (a instanceof Int16Array) return v.getInt16(o, true);
  if (a instanceof Uint16Array) return v.getUint16(o, true);
  return v.getUint8(o);
}

function put(v: DataView, o: number, a: ArrayBufferView, x: number): void {
  if (a instanceof Float64Array) v.setFloat64(o, x, true);
  else if (a instanceof Uint32Array) v.setUint32(o, x, true);
  else if (a instanceof Int16Array) v.setInt16(o, x, true);
  else if (a instanceof Uint16Array) v.setUint16(o, x, true);
  else v.setUint8(o, x);
}

type Col = Uint8Array | Uint16Array | Int16Array | Uint32Array | Float64Array;
const column = (t: SessionTable, c: Column): Col => t[c] as Col;

/** The size of a row of `t` encoded (the largest: IPv6 keys on both sides and NAT). */
export const MAX_ROW_BYTES = 1 + 25 * 8 + 24 + 32 + 2 * (2 + KW6 * 4);

function encodeRow(t: SessionTable, r: number, now: number): Uint8Array {
  const out = new Uint8Array(MAX_ROW_BYTES);
  const v = new DataView(out.buffer);
  let o = 0;
  v.setUint8(o++, VERSION);
  for (const [name, words] of COLUMNS) {
    const a = column(t, name);
    for (let w = 0; w < words; w++, o += a.BYTES_PER_ELEMENT) put(v, o, a, a[r * words + w]!);
  }
  v.setFloat64(o, now - t.created[r]!, true);
  v.setFloat64(o + 8, now - t.lastSeen[r]!, true);
  v.setFloat64(o + 16, t.expires[r]! - now, true);
  o += 24;
  if ((t.flags[r]! & (SF_SNAT | SF_DNAT)) !== 0) {
    for (let w = 0; w < 4; w++, o += 4) v.setUint32(o, t.natSrc[r * 4 + w]!, true);
    for (let w = 0; w < 4; w++, o += 4) v.setUint32(o, t.natDst[r * 4 + w]!, true);
  }
  for (const side of ['in', 'out'] as const) {
    const k = t.sideKey(r, side);
    v.setUint8(o++, k?.family ?? 0);
    v.setUint8(o++, k?.swapped ?? 0);
    if (k !== undefined) for (const word of k.words) { v.setUint32(o, word, true); o += 4; }
  }
  return out.slice(0, o);
}

/** What one collection found: rows to send (changed or new) and ids of rows removed, oldest change first. */
export interface SessionChanges {
  rows: SessionRowBytes[];
  /** session ids (16 bytes) of rows the partner has that were removed */
  removed: Uint8Array[];
  /** age of the oldest change collected (ms; 0 when none) */
  oldestMs: number;
  /** rows still marked after this collection (beyond `budget`) and the age of the oldest of them (ms) */
  left: number;
  leftOldestMs: number;
}

/** Rows a collection encodes at most (the rest stay marked for the next): it runs between batches, and a
 *  row costs about 13 µs to encode on the loaded 2-core VM (bench/ha-marks.ts, load 21), so 5,000 rows hold
 *  the data path about 65 ms there; at one collection per heartbeat (100 ms) that is 50,000 rows a second, a
 *  full resync of 100,000 sessions in 2 s. */
export const COLLECT_BUDGET = 5_000;

function idOf(words: Uint32Array, at: number): Uint8Array {
  const id = new Uint8Array(16);
  const v = new DataView(id.buffer);
  for (let w = 0; w < 4; w++) v.setUint32(w * 4, words[at + w]!);
  return id;
}

/**
 * The rows of `t` marked changed since the last collection (at most `budget`, oldest mark first) and the
 * tombstones of the removed ones; `full` (a partner that starts empty, or the first collection) marks
 * every active row first and forgets the tombstones. A transit leg is skipped: its two rows are not
 * carried as one.
 */
export function collectChanges(t: SessionTable, now: number, full: boolean, budget = COLLECT_BUDGET): SessionChanges {
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
  }
  const rows: SessionRowBytes[] = [];
  let oldest = now;
  let i = 0;
  for (; i < t.syncDirtyTop && rows.length < budget; i++) {
    const r = t.syncDirty[i]!;
    oldest = Math.min(oldest, t.syncMarkedAt(r));
    t.clearSyncMark(r);
    if (!t.isActive(r) || t.relay[r]! >= 0) continue;
    rows.push({ id: idOf(t.uuid, r * 4), row: encodeRow(t, r, now) });
    t.syncedRow(r);
  }
  let leftOldest = now;
  for (let j = i; j < t.syncDirtyTop; j++) leftOldest = Math.min(leftOldest, t.syncMarkedAt(t.syncDirty[j]!));
  t.syncDirty.copyWithin(0, i, t.syncDirtyTop);
  t.syncDirtyTop -= i;
  const removed: Uint8Array[] = [];
  for (let k = 0; k < t.syncTombTop; k++) removed.push(idOf(t.syncTombs, k * 4));
  t.syncTombTop = 0;
  return { rows, removed, oldestMs: i > 0 ? now - oldest : 0, left: t.syncDirtyTop, leftOldestMs: now - leftOldest };
}

/** Installs one encoded row; its row number, or -1 (refused) or -2 (its id is in the table already). */
function installRow(t: SessionTable, bytes: Uint8Array, now: number): number {
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.length < 1 || v.getUint8(0) !== VERSION) return -1;
  let o = 1;
  const values: number[][] = [];
  try {
    for (const [name, words] of COLUMNS) {
      const a = column(t, name);
      const ws: number[] = [];
      for (let w = 0; w < words; w++, o += a.BYTES_PER_ELEMENT) ws.push(get(v, o, a));
      values.push(ws);
    }
    const uuid = values[COLUMNS.findIndex(([n]) => n === 'uuid')]!;
    const id = new Uint8Array(16);
    const iv = new DataView(id.buffer);
    uuid.forEach((w, i) => iv.setUint32(i * 4, w));
    if (t.rowByUuid(id, 0) >= 0) return -2;
    const [age, idle, remaining] = [v.getFloat64(o, true), v.getFloat64(o + 8, true), v.getFloat64(o + 16, true)];
    o += 24;
    if (!(remaining > 0)) return -1;
    const flags = values[0]![0]!;
    let nat: number[] | undefined;
    if ((flags & (SF_SNAT | SF_DNAT)) !== 0) {
      nat = [];
      for (let w = 0; w < 8; w++, o += 4) nat.push(v.getUint32(o, true));
    }
    const keys: { side: 'in' | 'out'; family: 4 | 6; swapped: number; words: Uint32Array }[] = [];
    for (const side of ['in', 'out'] as const) {
      const family = v.getUint8(o++);
      const swapped = v.getUint8(o++);
      if (family === 0) continue;
      if (family !== 4 && family !== 6) return -1;
      const words = new Uint32Array(family === 4 ? KW4 : KW6);
      for (let w = 0; w < words.length; w++, o += 4) words[w] = v.getUint32(o, true);
      keys.push({ side, family, swapped, words });
    }
    if (o !== bytes.length) return -1;
    const r = t.alloc(now);
    if (r < 0) return -1;
    COLUMNS.forEach(([name, words], i) => {
      const a = column(t, name);
      for (let w = 0; w < words; w++) a[r * words + w] = values[i]![w]!;
    });
    t.flags[r] = flags | SF_ACTIVE;
    t.created[r] = now - age;
    t.lastSeen[r] = now - idle;
    t.expires[r] = now + remaining;
    if (nat !== undefined) {
      t.ensureNatColumns();
      t.natSrc.set(nat.slice(0, 4), r * 4);
      t.natDst.set(nat.slice(4), r * 4);
    }
    for (const k of keys) {
      if (!t.restoreSideKey(r, k.side, k.family, k.words, k.swapped) || t.claimFailed) {
        t.remove(r);
        return -1;
      }
    }
    t.indexUuid(r);
    return r;
  } catch (e) {
    if (e instanceof RangeError) return -1; // cut short
    throw e;
  }
}

/** where wpLocalPort starts in a row: version, then flags .. origDstPort */
const WP_LOCAL_AT = 1 + 2 + 1 + 1 + 1 + 2 + 2 + 2 + 2 + 2 + 16 + 16 + 2 + 2;

/** The local waypoint port of an encoded row (0: none, a local session), -1 when the row is cut short. */
export function rowWaypointPort(bytes: Uint8Array): number {
  return bytes.length < WP_LOCAL_AT + 2 ? -1 : bytes[WP_LOCAL_AT]! | (bytes[WP_LOCAL_AT + 1]! << 8);
}

/**
 * Installs rows exported by another table (the partner's), each refused on its own when it does not fit.
 * `mine(port)`: with several workers, only the rows whose local waypoint port is in this worker's slice
 * (steering sends their WAN packets here; 0 for a local session); the others are left to their worker.
 */
export function importRows(t: SessionTable, rows: readonly Uint8Array[], now: number, mine: (wpLocalPort: number) => boolean = () => true): ImportResult {
  const res: ImportResult = { installed: 0, present: 0, refused: 0 };
  for (const bytes of rows) {
    if (!mine(Math.max(0, rowWaypointPort(bytes)))) continue; // a cut row: the local sessions' worker refuses it
    const r = installRow(t, bytes, now);
    if (r >= 0) res.installed++;
    else if (r === -2) res.present++;
    else res.refused++;
  }
  return res;
}
