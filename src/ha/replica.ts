/**
 * The partner's state as synced to this node (docs/high-availability.md "Session state"): records by kind
 * and key, applied a state batch at a time straight from its framed records (sync-wire.ts), with no object
 * per record: its kind, key (up to 16 bytes) and value length in 6 words of a slot page, its value in a cell of
 * SHORT_CELL bytes (an IPv4 session row) or, longer, VALUE_SLOT bytes (an IPv6 one), 4,096 slots and cells a page,
 * a page made when first written: growing adds pages and never copies slots or values (doubled key and length
 * arrays left the old ones as garbage, new ArrayBuffer bytes that count toward the standby's next mark-compact);
 * a longer value, rare: in a side map. An open-addressing index over them (linear probing, backward-shift
 * deletion, doubling when half full; each position holds its slot and its key's hash, so a probe passes other
 * keys and the index moves without reading their keys: a synced session's upsert and removal each look a key
 * up, and the keys are random, so every read of a slot is a cache miss: its key and length share it). A record
 * with a longer key is refused and counted. Zero means empty in the slot pages and the index (nothing filled
 * ahead: the kernel gives their pages as rows first reach them), slots are handed out in order (a freed one
 * first), and a value is copied a word at a time (no object per record). The pages and the index are
 * SharedArrayBuffers: V8 does not count their bytes as the heap's external memory (an ArrayBuffer's it does: a
 * standby filling up with the partner's new sessions ran a mark-compact per ~9 MB of new pages, ha21; 169 MB of
 * 576 KB ArrayBuffers in a fresh node: 2 mark-compacts and 9 scavenges, as SharedArrayBuffers none). They are freed
 * as ArrayBuffers are, once their last view is collected.
 */
import { OP_DELETE, OP_PURGE, OP_UPSERT, RECORD_HEAD } from './sync-wire.js';

/** per record: kind | key length << 8, then the key's bytes in 4 words (zero padded) */
const KEY_WORDS = 5;
/** per slot in its page: the key's words, then the value's length + 1 (0: a free slot) */
const SLOT_WORDS = KEY_WORDS + 1;
/** value bytes a record keeps in its slot (a session row: dataplane/session-rows.ts MAX_ROW_BYTES + 1) */
export const VALUE_SLOT = 256;
/** a value this long or shorter goes into a short cell (an IPv4 session row, 129 bytes, 137 with NAT): the pages
 *  a replica of IPv4 sessions touches are 144 bytes a row, not 256. A standby that fills up with the partner's
 *  new sessions takes a page fault per 4 KB it touches first (1.5 µs each on the benchmark's VM, docs/performance.md
 *  "HA", ha19; ha17 took them for 17-18 µs). */
export const SHORT_CELL = 144;
/** value cells a page holds (576 KB of short ones, 1 MB of long ones; slot s is in page s >> PAGE_BITS) */
const PAGE_BITS = 12;
const PAGE_SLOTS = 1 << PAGE_BITS;
const PAGE_MASK = PAGE_SLOTS - 1;
/** a page not made yet */
const EMPTY = new DataView(new ArrayBuffer(0));

/** `bytes` zeroed bytes outside V8's count of external memory (see the top). */
function shared(bytes: number): SharedArrayBuffer {
  return new SharedArrayBuffer(bytes);
}

/** Copies `len` bytes from `at` of `from` to `o` of `to` a word at a time: a view per record (`subarray`) was the
 *  standby's one allocation per synced row. */
function copyBytes(from: DataView, at: number, to: DataView, o: number, len: number): void {
  let k = 0;
  for (; k + 4 <= len; k += 4) to.setUint32(o + k, from.getUint32(at + k, true), true);
  for (; k < len; k++) to.setUint8(o + k, from.getUint8(at + k));
}

export class SyncReplica {
  size = 0;
  /** records refused: a key longer than 16 bytes */
  refused = 0;
  /** slots handed out so far (a page of slots is made when its first is handed out) */
  private top = 0;
  /** SLOT_WORDS per slot, PAGE_SLOTS a page (slot s in page s >> PAGE_BITS) */
  private slots: Uint32Array[] = [];
  /** value cells, PAGE_SLOTS a page, short (SHORT_CELL) and long (VALUE_SLOT) ones: growing adds pages, it never
   *  copies the values (a standby that fills up with the partner's sessions: doubling one array copied every row
   *  again at each step); a page is made when a value is first written into it (a replica of IPv4 sessions has
   *  no long ones) */
  private shortPages: DataView[] = [];
  private longPages: DataView[] = [];
  private readonly long = new Map<number, Uint8Array>();
  /** slots freed, reused first (doubled as removals need) */
  private free = new Int32Array(1024);
  private freeTop = 0;
  /** per index position its slot + 1 (0: empty) and its key's hash (hashOf) */
  private index = new Int32Array(shared(8 * 64));
  /** index positions - 1 */
  private mask = 63;
  /** the probe's hash (find) */
  private probeHash = 0;
  private readonly probe = new Uint32Array(KEY_WORDS);
  /** records per kind (a kind is one byte) */
  private readonly perKind = new Int32Array(256);

  /** Applies a state batch's framed records in order: upserts, deletes, purges (the body checked by decodeSync;
   *  its records read in one loop here, no call per record). */
  apply(body: Uint8Array): void {
    const view = new DataView(body.buffer, body.byteOffset, body.byteLength);
    for (let o = 0; o < body.length;) {
      const kind = body[o]!;
      const op = body[o + 1]!;
      const keyLength = body[o + 2]!;
      const valueLength = (body[o + 3]! << 8) | body[o + 4]!;
      const keyAt = o + RECORD_HEAD;
      o = keyAt + keyLength + valueLength;
      if (op === OP_PURGE) this.purge(kind, body.subarray(keyAt, keyAt + keyLength));
      else if (!this.setProbe(kind, body, keyAt, keyLength)) this.refused++;
      else if (op === OP_UPSERT) this.upsert(body, view, keyAt + keyLength, valueLength);
      else if (op === OP_DELETE) this.remove();
    }
  }

  /** Records of `kind`. */
  count(kind: number): number {
    return this.perKind[kind & 0xff]!;
  }

  /** The value of (kind, key), a copy; undefined without one. */
  get(kind: number, key: Uint8Array): Uint8Array | undefined {
    if (!this.setProbe(kind, key, 0, key.length)) return undefined;
    const pos = this.find();
    return pos < 0 ? undefined : this.value(this.index[2 * pos]! - 1).slice();
  }

  /** Calls `record(key, value)` for every record of `kind` (views: copy what you keep). */
  forEach(kind: number, record: (key: Uint8Array, value: Uint8Array) => void): void {
    const key = new Uint8Array(16);
    const kv = new DataView(key.buffer);
    for (let s = 0; s < this.top; s++) {
      const page = this.slots[s >>> PAGE_BITS]!;
      const o = (s & PAGE_MASK) * SLOT_WORDS;
      if (page[o + KEY_WORDS] === 0 || (page[o]! & 0xff) !== kind) continue;
      for (let w = 0; w < 4; w++) kv.setUint32(w * 4, page[o + 1 + w]!);
      record(key.subarray(0, page[o]! >>> 8), this.value(s));
    }
  }

  /** Empties the replica; its pages are dropped. */
  clear(): void {
    this.size = 0;
    this.top = 0;
    this.slots = [];
    this.shortPages = [];
    this.longPages = [];
    this.long.clear();
    this.freeTop = 0;
    this.index = new Int32Array(shared(8 * 64));
    this.mask = 63;
    this.perKind.fill(0);
  }

  private value(s: number): Uint8Array {
    const len = this.slots[s >>> PAGE_BITS]![(s & PAGE_MASK) * SLOT_WORDS + KEY_WORDS]! - 1;
    if (len > VALUE_SLOT) return this.long.get(s)!;
    const cell = len > SHORT_CELL ? VALUE_SLOT : SHORT_CELL;
    const at = (s & PAGE_MASK) * cell;
    const page = this.page(s, cell);
    return new Uint8Array(page.buffer, at, len);
  }

  /** The page of slot s's cells of size `cell` (made when first asked for). */
  private page(s: number, cell: number): DataView {
    const pages = cell === SHORT_CELL ? this.shortPages : this.longPages;
    const p = s >>> PAGE_BITS;
    while (pages.length <= p) pages.push(EMPTY);
    if (pages[p] === EMPTY) pages[p] = new DataView(shared(PAGE_SLOTS * cell));
    return pages[p]!;
  }

  /** Deletes every record of `kind` whose value starts with `prefix` (a scan: rare, e.g. a worker lost). */
  private purge(kind: number, prefix: Uint8Array): void {
    for (let s = 0; s < this.top; s++) {
      const page = this.slots[s >>> PAGE_BITS]!;
      const o = (s & PAGE_MASK) * SLOT_WORDS;
      if (page[o + KEY_WORDS]! - 1 < prefix.length || (page[o]! & 0xff) !== kind) continue;
      const v = this.value(s);
      let i = 0;
      while (i < prefix.length && v[i] === prefix[i]) i++;
      if (i < prefix.length) continue;
      this.probe.set(page.subarray(o, o + KEY_WORDS));
      this.remove();
    }
  }

  private setProbe(kind: number, b: Uint8Array, at: number, len: number): boolean {
    if (len > 16) return false;
    const p = this.probe;
    p[0] = (kind & 0xff) | (len << 8);
    if (len === 16) { // a session id: its 4 words straight
      for (let w = 0, o = at; w < 4; w++, o += 4) p[1 + w] = ((b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!) >>> 0;
      return true;
    }
    for (let w = 0; w < 4; w++) {
      let x = 0;
      for (let i = 0; i < 4; i++) {
        const k = w * 4 + i;
        x = (x << 8) | (k < len ? b[at + k]! : 0);
      }
      p[1 + w] = x >>> 0;
    }
    return true;
  }

  /** The hash of the key at `o` of `words` (an int32; its low bits are the key's home position). */
  private hashOf(words: Uint32Array, o: number): number {
    let h = words[o]!;
    for (let w = 1; w < KEY_WORDS; w++) {
      h = Math.imul(h ^ words[o + w]!, 0x9e3779b1);
      h ^= h >>> 15;
    }
    h = Math.imul(h ^ (h >>> 13), 0x85ebca6b);
    return (h ^ (h >>> 16)) | 0;
  }

  /** The index position of the probe's record, -1 when absent (`probeHash` set either way). */
  private find(): number {
    const p = this.probe;
    const h = this.hashOf(p, 0);
    this.probeHash = h;
    const x = this.index;
    for (let i = h & this.mask; ; i = (i + 1) & this.mask) {
      const s = x[2 * i]!;
      if (s === 0) return -1;
      if (x[2 * i + 1] !== h) continue;
      const k = this.slots[(s - 1) >>> PAGE_BITS]!;
      const o = ((s - 1) & PAGE_MASK) * SLOT_WORDS;
      if (k[o] === p[0] && k[o + 1] === p[1] && k[o + 2] === p[2] && k[o + 3] === p[3] && k[o + 4] === p[4]) return i;
    }
  }

  private upsert(b: Uint8Array, view: DataView, at: number, len: number): void {
    let s: number;
    const pos = this.find();
    if (pos >= 0) {
      s = this.index[2 * pos]! - 1;
      this.long.delete(s);
    } else {
      s = this.allocSlot();
      const page = this.slots[s >>> PAGE_BITS]!;
      const p = this.probe;
      const o = (s & PAGE_MASK) * SLOT_WORDS;
      page[o] = p[0]!;
      page[o + 1] = p[1]!;
      page[o + 2] = p[2]!;
      page[o + 3] = p[3]!;
      page[o + 4] = p[4]!;
      this.insert(s, this.probeHash);
      this.size++;
      this.perKind[this.probe[0]! & 0xff]!++;
    }
    this.slots[s >>> PAGE_BITS]![(s & PAGE_MASK) * SLOT_WORDS + KEY_WORDS] = len + 1;
    if (len > VALUE_SLOT) this.long.set(s, b.slice(at, at + len));
    else {
      const cell = len > SHORT_CELL ? VALUE_SLOT : SHORT_CELL;
      copyBytes(view, at, this.page(s, cell), (s & PAGE_MASK) * cell, len);
    }
  }

  private remove(): void {
    let i = this.find();
    if (i < 0) return;
    const x = this.index;
    const s = x[2 * i]! - 1;
    // backward-shift deletion: move up every later record of the run that may sit at i
    for (let j = (i + 1) & this.mask; x[2 * j] !== 0; j = (j + 1) & this.mask) {
      const home = x[2 * j + 1]! & this.mask;
      if (((j - home) & this.mask) >= ((j - i) & this.mask)) {
        x[2 * i] = x[2 * j]!;
        x[2 * i + 1] = x[2 * j + 1]!;
        i = j;
      }
    }
    x[2 * i] = 0;
    const page = this.slots[s >>> PAGE_BITS]!;
    const o = (s & PAGE_MASK) * SLOT_WORDS;
    page[o + KEY_WORDS] = 0;
    this.long.delete(s);
    if (this.freeTop === this.free.length) {
      const free = new Int32Array(this.free.length * 2);
      free.set(this.free);
      this.free = free;
    }
    this.free[this.freeTop++] = s;
    this.size--;
    this.perKind[page[o]! & 0xff]!--;
  }

  /** Indexes slot s, its key's hash `h`. */
  private insert(s: number, h: number): void {
    if ((this.size + 1) * 2 > this.mask + 1) this.growIndex();
    this.place(this.index, s + 1, h);
  }

  /** Puts slot + 1 `s1` with its hash `h` at the first empty position of its run. */
  private place(x: Int32Array, s1: number, h: number): void {
    let i = h & this.mask;
    while (x[2 * i] !== 0) i = (i + 1) & this.mask;
    x[2 * i] = s1;
    x[2 * i + 1] = h;
  }

  /** Twice the positions; the slots move by their hashes (their keys are not read). */
  private growIndex(): void {
    const old = this.index;
    this.index = new Int32Array(shared(8 * old.length));
    this.mask = this.index.length / 2 - 1;
    for (let i = 0; i < old.length; i += 2) if (old[i] !== 0) this.place(this.index, old[i]!, old[i + 1]!);
  }

  /** A freed slot, else the next never used (a page of them made when its first is). */
  private allocSlot(): number {
    if (this.freeTop > 0) return this.free[--this.freeTop]!;
    if ((this.top & PAGE_MASK) === 0) this.slots.push(new Uint32Array(shared(4 * PAGE_SLOTS * SLOT_WORDS)));
    return this.top++;
  }
}
