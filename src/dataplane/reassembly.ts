/**
 * IPv4 reassembly in the decode stage (RFC 791 §3.2, RFC 815): a peer's SVR packets that it fragmented to fit
 * the path (svr-out, docs/wan.md "Fragmentation"), and a host's fragmented packets on a LAN, become one packet
 * again before anything reads their ports, metadata or trailer. Fixed memory, no allocation per packet:
 * ENTRIES packets in progress, each with a MAX_PACKET-byte buffer and a bitmap of the 8-byte blocks it has.
 * Keyed by (source, destination, id, protocol, interface). The kernel hashes every fragment of a packet to the
 * same TUN queue (no ports in fragments), so all of them reach the same data path.
 * - fragment with bytes already held (overlap, RFC 5722's rule applied to IPv4) -> the whole packet is dropped;
 * - longer than MAX_PACKET (a slot) -> dropped; a non-last fragment whose length is no multiple of 8 -> dropped;
 * - a packet not complete within TIMEOUT_MS, or the oldest when all entries are busy -> dropped ('expired').
 * Cost: a linear search over ENTRIES keys per fragment (fragments only) and one copy of each fragment's bytes.
 */
import { readU16, readU32, writeU16 } from '../packet/checksum.js';
import { IPV4_MF } from '../packet/ipv4-fragment.js';
import { fillIpv4HeaderChecksum } from '../packet/rewrite.js';
import type { PacketInfo } from '../packet/ip.js';
import { HEADROOM, SLOT, type Batch } from './batch.js';

/** Packets reassembled at the same time per data path. */
export const REASSEMBLY_ENTRIES = 64;
/** The longest packet reassembled: what a batch slot carries. */
export const MAX_PACKET = SLOT - HEADROOM;
/** A packet whose fragments have not all arrived after this long is dropped (a peer's arrive within ms). */
export const REASSEMBLY_TIMEOUT_MS = 3000;

const MAX_HEADER = 60;
const MAP_BYTES = MAX_PACKET / 64;

/** What `add` did with a fragment; the drop reasons index `Reassembly.dropped`. */
export const enum Fragment {
  Overlap,
  TooBig,
  Malformed,
  Expired,
  /** kept; the packet is not complete yet */
  Held,
  /** the packet is complete: written over the fragment's slot */
  Complete,
}

/** Counter names of the drop reasons, by `Fragment` value. */
export const FRAGMENT_DROP_COUNTERS = ['fragment-overlap', 'fragment-too-big', 'fragment-malformed', 'fragment-expired'] as const;

export class Reassembly {
  private readonly used = new Uint8Array(REASSEMBLY_ENTRIES);
  private readonly src = new Uint32Array(REASSEMBLY_ENTRIES);
  private readonly dst = new Uint32Array(REASSEMBLY_ENTRIES);
  private readonly id = new Uint16Array(REASSEMBLY_ENTRIES);
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
  private readonly headerLen = new Uint8Array(REASSEMBLY_ENTRIES);
  private readonly headers = new Uint8Array(REASSEMBLY_ENTRIES * MAX_HEADER);
  private readonly payloads = new Uint8Array(REASSEMBLY_ENTRIES * MAX_PACKET);
  private readonly blocks = new Uint8Array(REASSEMBLY_ENTRIES * MAP_BYTES);
  /** fragments held per entry */
  private readonly frags = new Uint16Array(REASSEMBLY_ENTRIES);
  /** fragments dropped, by reason (Fragment.Overlap..Expired), held ones included: read and reset by the caller */
  readonly dropped = new Uint32Array(FRAGMENT_DROP_COUNTERS.length);

  /** Adds the IPv4 fragment in slot s (parsed into pi, header checksum verified). */
  add(b: Batch, s: number, pi: PacketInfo, now: number): Fragment {
    const d = b.data;
    const l3 = pi.l3;
    const hl = (d[l3]! & 0x0f) * 4;
    const field = readU16(d, l3 + 6);
    const from = (field & 0x1fff) * 8;
    const more = (field & IPV4_MF) !== 0;
    const n = pi.end - l3 - hl;
    if (n <= 0 || (more && (n & 7) !== 0)) {
      this.dropped[Fragment.Malformed]++;
      return Fragment.Malformed;
    }
    const e = this.entry(d, l3, b.ifIndex[s]!, now);
    if (from + n + hl > MAX_PACKET) return this.drop(e, Fragment.TooBig);
    if (!more) {
      if (this.total[e]! >= 0) return this.drop(e, Fragment.Overlap); // a second last fragment
      this.total[e] = from + n;
    }
    if (from + n > this.end[e]!) this.end[e] = from + n;
    if (this.total[e]! >= 0 && this.end[e]! > this.total[e]!) return this.drop(e, Fragment.Malformed); // beyond the end
    if (!this.mark(e, from, n)) return this.drop(e, Fragment.Overlap);
    this.payloads.set(d.subarray(l3 + hl, l3 + hl + n), e * MAX_PACKET + from);
    this.held[e] += n;
    this.frags[e]++;
    if (from === 0) {
      this.headers.set(d.subarray(l3, l3 + hl), e * MAX_HEADER);
      this.headerLen[e] = hl;
    }
    const total = this.total[e]!;
    if (total < 0 || this.held[e] !== total || this.headerLen[e] === 0) return Fragment.Held;
    const h = this.headerLen[e]!;
    if (h + total > MAX_PACKET) {
      this.release(e, Fragment.TooBig); // this fragment is held already
      return Fragment.TooBig;
    }
    const at = s * SLOT + HEADROOM;
    d.set(this.headers.subarray(e * MAX_HEADER, e * MAX_HEADER + h), at);
    d.set(this.payloads.subarray(e * MAX_PACKET, e * MAX_PACKET + total), at + h);
    writeU16(d, at + 2, h + total);
    writeU16(d, at + 6, 0);
    fillIpv4HeaderChecksum(d, at);
    b.off[s] = at;
    b.len[s] = h + total;
    this.frags[e] = 0;
    this.used[e] = 0;
    return Fragment.Complete;
  }

  /** The entry of the fragment's packet: found, or a free one, or the oldest (expired). */
  private entry(d: Uint8Array, l3: number, ifIndex: number, now: number): number {
    const src = readU32(d, l3 + 12), dst = readU32(d, l3 + 16), id = readU16(d, l3 + 4), proto = d[l3 + 9]!;
    let free = -1, oldest = 0;
    for (let e = 0; e < REASSEMBLY_ENTRIES; e++) {
      if (this.used[e] === 1 && now - this.started[e]! > REASSEMBLY_TIMEOUT_MS) this.release(e, Fragment.Expired);
      if (this.used[e] === 0) {
        if (free < 0) free = e;
        continue;
      }
      if (this.src[e] === src && this.dst[e] === dst && this.id[e] === id && this.proto[e] === proto && this.ifIndex[e] === ifIndex) return e;
      if (this.started[e]! < this.started[oldest]!) oldest = e;
    }
    if (free < 0) {
      free = oldest;
      this.release(free, Fragment.Expired);
    }
    this.used[free] = 1;
    this.src[free] = src;
    this.dst[free] = dst;
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
    this.used[e] = 0;
  }
}
