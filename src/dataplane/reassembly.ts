/**
 * Reassembly in the decode stage, IPv4 (RFC 791 §3.2, RFC 815) and IPv6 (RFC 8200 §4.5): a peer's SVR
 * packets that it fragmented to fit the path (svr-out, docs/wan.md "Fragmentation"), and a host's fragmented
 * datagrams on a LAN, become one packet again (up to 65,535 bytes) before anything reads their ports,
 * metadata or trailer. Fixed memory, no allocation per packet: ENTRIES packets in progress, their bytes in a
 * shared pool of PAGE-byte pages (`poolBytes` in all, the router's `reassembly-memory`): a packet takes the
 * pages its fragments touch, and a bitmap of the 8-byte blocks it has. Keyed by (source, destination, id,
 * protocol for IPv4, interface). The kernel hashes every fragment of a packet to the same TUN queue (no ports
 * in fragments), so all of them reach the same data path. A complete packet longer than a slot goes to the
 * batch's big area (batch.ts `placeBig`).
 * - IPv6: the unfragmentable part (header and extension headers before the Fragment header) of the first
 *   fragment, its Next Header set from the first fragment's Fragment header; an atomic fragment (offset 0,
 *   M 0; RFC 6946) never gets here (parsed as a whole packet); a first fragment without its upper-layer
 *   header fails the parse before (RFC 7112);
 * - fragment with bytes already held (overlap; RFC 5722, applied to IPv4 too) -> the whole packet is dropped;
 * - past 65,535 bytes -> dropped; a non-last fragment whose length is no multiple of 8 -> dropped;
 * - no page left in the pool, or no room in the batch's big area -> the packet is dropped ('no-memory');
 * - a packet not complete within TIMEOUT_MS (RFC 8200 says 60 s; a peer's and a LAN host's fragments
 *   arrive within ms), or the oldest when all entries are busy -> dropped ('expired').
 * Cost: a linear search over ENTRIES keys per fragment (fragments only) and two copies of each fragment's bytes.
 */
import { readU16, readU32, writeU16 } from '../packet/checksum.js';
import { IPV4_MF } from '../packet/ipv4-fragment.js';
import { fillIpv4HeaderChecksum } from '../packet/rewrite.js';
import type { PacketInfo } from '../packet/ip.js';
import { DEFAULT_REASSEMBLY_MEMORY } from '../model/defaults.js';
import { HEADROOM, PF_REASSEMBLED, SLOT_PACKET, type Batch } from './batch.js';

/** Packets reassembled at the same time per data path. */
export const REASSEMBLY_ENTRIES = 64;
/** The longest packet reassembled (IPv4 total length; IPv6 payload length). */
export const MAX_DATAGRAM = 65535;
/** A packet whose fragments have not all arrived after this long is dropped. */
export const REASSEMBLY_TIMEOUT_MS = 3000;
export const PAGE = 2048;
const PAGE_SHIFT = 11;
const PAGES_PER_ENTRY = 32; // 65,536 / PAGE
/** IPv4 header, or the IPv6 header with the extension headers in front of the Fragment header */
const MAX_HEADER = 256;
const MAP_BYTES = 65536 / 64; // a bit per 8-byte block
const EXT_HOP_BY_HOP = 0, EXT_ROUTING = 43, EXT_FRAGMENT = 44, EXT_DEST_OPTIONS = 60;

/** What `add` did with a fragment; the drop reasons index `Reassembly.dropped`. */
export const enum Fragment {
  Overlap,
  TooBig,
  Malformed,
  Expired,
  NoMemory,
  /** kept; the packet is not complete yet */
  Held,
  /** the packet is complete: in the fragment's slot (or the batch's big area), flagged PF_REASSEMBLED */
  Complete,
}

/** Counter names of the drop reasons, by `Fragment` value. */
export const FRAGMENT_DROP_COUNTERS = ['fragment-overlap', 'fragment-too-big', 'fragment-malformed', 'fragment-expired', 'fragment-no-memory'] as const;

export class Reassembly {
  private readonly used = new Uint8Array(REASSEMBLY_ENTRIES);
  private readonly family = new Uint8Array(REASSEMBLY_ENTRIES);
  /** source words 0-3, destination words 4-7 (IPv4: words 0 and 4) */
  private readonly addr = new Uint32Array(REASSEMBLY_ENTRIES * 8);
  private readonly id = new Uint32Array(REASSEMBLY_ENTRIES);
  /** IPv4 protocol (part of the key), 0 for IPv6 */
  private readonly proto = new Uint8Array(REASSEMBLY_ENTRIES);
  private readonly ifIndex = new Int16Array(REASSEMBLY_ENTRIES);
  private readonly started = new Float64Array(REASSEMBLY_ENTRIES);
  /** payload bytes held */
  private readonly held = new Uint32Array(REASSEMBLY_ENTRIES);
  /** payload length, known once the last fragment arrived; -1 before */
  private readonly total = new Int32Array(REASSEMBLY_ENTRIES);
  /** the furthest payload byte any fragment reached */
  private readonly end = new Uint32Array(REASSEMBLY_ENTRIES);
  /** header length of the first fragment; 0 until it arrived */
  private readonly headerLen = new Uint16Array(REASSEMBLY_ENTRIES);
  /** IPv6: where in the header the Next Header byte naming the Fragment header is, and what it gets */
  private readonly nextAt = new Uint16Array(REASSEMBLY_ENTRIES);
  private readonly nextHeader = new Uint8Array(REASSEMBLY_ENTRIES);
  private readonly headers = new Uint8Array(REASSEMBLY_ENTRIES * MAX_HEADER);
  private readonly blocks = new Uint8Array(REASSEMBLY_ENTRIES * MAP_BYTES);
  /** per entry: its pages in payload order (-1 = none yet) */
  private readonly pageOf = new Int32Array(REASSEMBLY_ENTRIES * PAGES_PER_ENTRY).fill(-1);
  private pool: Uint8Array;
  private free: Int32Array;
  private freeTop = 0;
  /** fragments held per entry */
  private readonly frags = new Uint16Array(REASSEMBLY_ENTRIES);
  /** fragments dropped, by reason (Fragment.Overlap..NoMemory), held ones included: read and reset by the caller */
  readonly dropped = new Uint32Array(FRAGMENT_DROP_COUNTERS.length);
  /** the fragment being added: where its payload starts, its header length, IPv6 Next Header position and value */
  private fPayload = 0;
  private fHeader = 0;
  private fNextAt = 0;
  private fNext = 0;
  private fFrom = 0;
  private fMore = false;
  private fId = 0;

  /** the pool size asked for (the pool holds whole pages of it) */
  private asked = 0;

  constructor(poolBytes = DEFAULT_REASSEMBLY_MEMORY) {
    this.pool = new Uint8Array(0);
    this.free = new Int32Array(0);
    this.configure(poolBytes);
  }

  /** The pool size last configured. */
  get poolBytes(): number {
    return this.asked;
  }

  /** Pages free in the pool (tests, stats). */
  get freePages(): number {
    return this.freeTop;
  }

  /** A new pool size (between batches): packets in progress are dropped ('expired'). */
  configure(poolBytes: number): void {
    for (let e = 0; e < REASSEMBLY_ENTRIES; e++) if (this.used[e] === 1) this.release(e, Fragment.Expired);
    this.asked = poolBytes;
    const pages = Math.max(1, Math.floor(poolBytes / PAGE));
    this.pool = new Uint8Array(pages * PAGE);
    this.free = Int32Array.from({ length: pages }, (_, k) => pages - 1 - k);
    this.freeTop = pages;
    this.pageOf.fill(-1);
  }

  /** Adds the fragment in slot s (parsed into pi; IPv4 header checksum verified). */
  add(b: Batch, s: number, pi: PacketInfo, now: number): Fragment {
    const d = b.data;
    const l3 = pi.l3;
    if (!(pi.family === 6 ? this.readIpv6(d, l3, pi.end) : this.readIpv4(d, l3))) {
      this.dropped[Fragment.Malformed]++;
      return Fragment.Malformed;
    }
    const from = this.fFrom, more = this.fMore;
    const n = pi.end - this.fPayload;
    if (n <= 0 || (more && (n & 7) !== 0)) {
      this.dropped[Fragment.Malformed]++;
      return Fragment.Malformed;
    }
    const e = this.entry(d, pi, b.ifIndex[s]!, now);
    if ((pi.family === 4 ? this.fHeader : 0) + from + n > MAX_DATAGRAM) return this.drop(e, Fragment.TooBig);
    if (!more) {
      if (this.total[e]! >= 0) return this.drop(e, Fragment.Overlap); // a second last fragment
      this.total[e] = from + n;
    }
    if (from + n > this.end[e]!) this.end[e] = from + n;
    if (this.total[e]! >= 0 && this.end[e]! > this.total[e]!) return this.drop(e, Fragment.Malformed); // beyond the end
    if (!this.mark(e, from, n)) return this.drop(e, Fragment.Overlap);
    if (!this.write(e, d, this.fPayload, from, n)) return this.drop(e, Fragment.NoMemory);
    this.held[e] += n;
    this.frags[e]++;
    if (from === 0) {
      this.headers.set(d.subarray(l3, l3 + this.fHeader), e * MAX_HEADER);
      this.headerLen[e] = this.fHeader;
      this.nextAt[e] = this.fNextAt;
      this.nextHeader[e] = this.fNext;
    }
    const total = this.total[e]!;
    if (total < 0 || this.held[e] !== total || this.headerLen[e] === 0) return Fragment.Held;
    return this.complete(b, s, e, total);
  }

  /** Writes the complete packet of entry e over slot s (or into the big area) and frees the entry. */
  private complete(b: Batch, s: number, e: number, total: number): Fragment {
    const h = this.headerLen[e]!;
    const v6 = this.family[e] === 6;
    const len = h + total;
    if ((v6 ? len - 40 : len) > MAX_DATAGRAM) {
      this.release(e, Fragment.TooBig); // this fragment is held already
      return Fragment.TooBig;
    }
    const at = len <= SLOT_PACKET ? b.slotStart(s) + HEADROOM : b.placeBig(s, len);
    if (at < 0) {
      this.release(e, Fragment.NoMemory);
      return Fragment.NoMemory;
    }
    const d = b.data;
    d.set(this.headers.subarray(e * MAX_HEADER, e * MAX_HEADER + h), at);
    for (let pg = 0; pg * PAGE < total; pg++) {
      const page = this.pageOf[e * PAGES_PER_ENTRY + pg]!;
      const m = Math.min(PAGE, total - pg * PAGE);
      d.set(this.pool.subarray(page * PAGE, page * PAGE + m), at + h + pg * PAGE);
    }
    if (v6) {
      d[at + this.nextAt[e]!] = this.nextHeader[e]!; // RFC 8200 §4.5: the Fragment header is gone
      writeU16(d, at + 4, len - 40);
    } else {
      writeU16(d, at + 2, len);
      writeU16(d, at + 6, 0);
      fillIpv4HeaderChecksum(d, at);
    }
    b.off[s] = at;
    b.len[s] = len;
    b.flags[s] |= PF_REASSEMBLED;
    this.frags[e] = 0;
    this.freeEntry(e);
    return Fragment.Complete;
  }

  private readIpv4(d: Uint8Array, l3: number): boolean {
    const hl = (d[l3]! & 0x0f) * 4;
    const field = readU16(d, l3 + 6);
    this.fHeader = hl;
    this.fPayload = l3 + hl;
    this.fFrom = (field & 0x1fff) * 8;
    this.fMore = (field & IPV4_MF) !== 0;
    this.fId = readU16(d, l3 + 4);
    return true;
  }

  /** Finds the Fragment header (RFC 8200 §4.5): false when it sits behind a header it may not follow. */
  private readIpv6(d: Uint8Array, l3: number, end: number): boolean {
    let nextAt = 6, proto = d[l3 + 6]!, at = l3 + 40;
    while (proto !== EXT_FRAGMENT) {
      if ((proto !== EXT_HOP_BY_HOP && proto !== EXT_ROUTING && proto !== EXT_DEST_OPTIONS) || at + 8 > end) return false;
      nextAt = at - l3;
      proto = d[at]!;
      at += (d[at + 1]! + 1) * 8;
    }
    if (at + 8 > end || at - l3 > MAX_HEADER) return false;
    const fo = readU16(d, at + 2);
    this.fHeader = at - l3;
    this.fPayload = at + 8;
    this.fNextAt = nextAt;
    this.fNext = d[at]!;
    this.fFrom = fo & 0xfff8;
    this.fMore = (fo & 1) !== 0;
    this.fId = readU32(d, at + 4);
    return true;
  }

  /** The entry of the fragment's packet: found, or a free one, or the oldest (expired). */
  private entry(d: Uint8Array, pi: PacketInfo, ifIndex: number, now: number): number {
    const fam = pi.family;
    const words = fam === 6 ? 4 : 1;
    const id = this.fId, proto = fam === 6 ? 0 : pi.protocol;
    const a = this.addr;
    let free = -1, oldest = 0;
    for (let e = 0; e < REASSEMBLY_ENTRIES; e++) {
      if (this.used[e] === 1 && now - this.started[e]! > REASSEMBLY_TIMEOUT_MS) this.release(e, Fragment.Expired);
      if (this.used[e] === 0) {
        if (free < 0) free = e;
        continue;
      }
      if (this.started[e]! < this.started[oldest]! || this.used[oldest] === 0) oldest = e;
      if (this.family[e] !== fam || this.id[e] !== id || this.proto[e] !== proto || this.ifIndex[e] !== ifIndex) continue;
      let same = true;
      for (let w = 0; w < words && same; w++) {
        same = a[e * 8 + w] === readU32(d, pi.srcOff + w * 4) && a[e * 8 + 4 + w] === readU32(d, pi.dstOff + w * 4);
      }
      if (same) return e;
    }
    if (free < 0) {
      free = oldest;
      this.release(free, Fragment.Expired);
    }
    this.used[free] = 1;
    this.family[free] = fam;
    for (let w = 0; w < 4; w++) {
      a[free * 8 + w] = w < words ? readU32(d, pi.srcOff + w * 4) : 0;
      a[free * 8 + 4 + w] = w < words ? readU32(d, pi.dstOff + w * 4) : 0;
    }
    this.id[free] = id;
    this.proto[free] = proto;
    this.ifIndex[free] = ifIndex;
    this.started[free] = now;
    this.held[free] = 0;
    this.frags[free] = 0;
    this.end[free] = 0;
    this.total[free] = -1;
    this.headerLen[free] = 0;
    this.blocks.fill(0, free * MAP_BYTES, (free + 1) * MAP_BYTES);
    return free;
  }

  /** Marks the 8-byte blocks [from, from + n) of entry e; false if one was marked already. */
  private mark(e: number, from: number, n: number): boolean {
    const base = e * MAP_BYTES;
    const first = from >> 3, last = (from + n - 1) >> 3;
    for (let k = first; k <= last; k++) if ((this.blocks[base + (k >> 3)]! & (1 << (k & 7))) !== 0) return false;
    for (let k = first; k <= last; k++) this.blocks[base + (k >> 3)] |= 1 << (k & 7);
    return true;
  }

  /** Copies payload bytes [from, from + n) of entry e from d at `at` into its pages; false when the pool is out of pages. */
  private write(e: number, d: Uint8Array, at: number, from: number, n: number): boolean {
    const stop = from + n;
    for (let k = from; k < stop;) {
      const ref = e * PAGES_PER_ENTRY + (k >> PAGE_SHIFT);
      let page = this.pageOf[ref]!;
      if (page < 0) {
        if (this.freeTop === 0) return false;
        page = this.free[--this.freeTop]!;
        this.pageOf[ref] = page;
      }
      const inPage = k & (PAGE - 1);
      const m = Math.min(PAGE - inPage, stop - k);
      this.pool.set(d.subarray(at + k - from, at + k - from + m), page * PAGE + inPage);
      k += m;
    }
    return true;
  }

  /** Drops the packet of entry e with the fragment being added (not held yet). */
  private drop(e: number, why: Fragment): Fragment {
    this.release(e, why);
    this.dropped[why]++;
    return why;
  }

  /** Frees entry e, its held fragments counted as dropped for `why`. */
  private release(e: number, why: Fragment): void {
    this.dropped[why] += this.frags[e]!;
    this.frags[e] = 0;
    this.freeEntry(e);
  }

  /** Frees entry e and gives its pages back to the pool. */
  private freeEntry(e: number): void {
    this.used[e] = 0;
    for (let k = e * PAGES_PER_ENTRY; k < (e + 1) * PAGES_PER_ENTRY; k++) {
      const page = this.pageOf[k]!;
      if (page < 0) continue;
      this.free[this.freeTop++] = page;
      this.pageOf[k] = -1;
    }
  }
}
