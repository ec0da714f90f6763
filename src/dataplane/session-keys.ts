/**
 * The session table's keys (session-table.ts): two flow tables (IPv4, IPv6) map each side's flow key to
 * `row << 2 | alt << 1 | fwdSwapped` (see flowRow); the keys themselves stay in the rows (FlowKeys).
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
 * The flow tables and the session-id index hold 5 bytes a slot and resize incrementally (flow-table.ts).
 */
import { FlowTable, type FlowKeys } from './flow-table.js';
import { KW4, KW6, writeKey } from './flow-key.js';
import { KEY_LAN, KEY_WAN_OURS, KEY_WAN_THEIRS, type Ownership } from './ownership.js';
import { residentBytes } from './row-memory.js';
import { flowRow, RET_KEYS, ROLE_EGRESS, ROLE_INGRESS, type AltPath, type SideKey } from './session-defs.js';
import { SessionSync } from './session-sync.js';

/** Which of its row's keys a flow-table slot is (FlowKeys): the in or out side, the alternate key, return key j
 *  (KEY_RET + j). */
const KEY_IN = 0;
const KEY_OUT = 1;
const KEY_ALT = 2;
const KEY_RET = 3;

/** How the key of `side` of a session of `role` is owned by default (see ownership.ts). */
function keyKind(role: number, side: 'in' | 'out'): number {
  if (role === ROLE_INGRESS) return side === 'in' ? KEY_LAN : KEY_WAN_OURS;
  if (role === ROLE_EGRESS) return side === 'in' ? KEY_WAN_THEIRS : KEY_LAN;
  return KEY_LAN;
}

export class SessionKeys extends SessionSync {
  readonly v4: FlowTable = new FlowTable(KW4, this.rowKeys(4), 4096);
  readonly v6: FlowTable = new FlowTable(KW6, this.rowKeys(6), 256);
  /** session id -> row: finds a session when it reappears on another path */
  readonly byUuid: FlowTable = new FlowTable(4, this.uuidKeys(), 4096);
  protected readonly v6Keys = new Map<number, Uint32Array>();
  /** set when several workers share steering: keys are claimed/released as they are installed/removed */
  ownership: Ownership | null = null;
  /** a key of the row being set up could not be recorded for steering (the table is full): refuse it */
  claimFailed = false;
  /** alternate keys of duplicated sessions, by row */
  readonly alt = new Map<number, AltPath>();

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
  protected uuidKeyOf(r: number): void {
    for (let w = 0; w < 4; w++) this.byUuid.key[w] = this.uuid[r * 4 + w]!;
  }

  /** Bytes held by the table (rows + flow tables; of reserved columns, the resident pages), for the memory
   *  benchmark. */
  get bytes(): number {
    let n = 0;
    for (const v of Object.values(this)) if (ArrayBuffer.isView(v)) n += residentBytes(v); // every column
    return n + this.v4.bytes + this.v6.bytes + this.byUuid.bytes + this.v6Keys.size * KW6 * 4;
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

  protected removeReturnKeys(r: number): void {
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

  private claim(k: Uint32Array, family: number, kind: number): boolean {
    if (this.ownership === null || this.ownership.claim(k, family, kind)) return true;
    this.claimFailed = true;
    return false;
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
    const k = this.byUuid.key;
    for (let w = 0; w < 4; w++) {
      const o = off + 4 * w;
      k[w] = ((buf[o]! << 24) | (buf[o + 1]! << 16) | (buf[o + 2]! << 8) | buf[o + 3]!) >>> 0;
    }
    const r = this.byUuid.get();
    return r >= 0 && this.isActive(r) ? r : -1;
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

  protected deleteKey(r: number, family: number, store: Uint32Array): void {
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
}
